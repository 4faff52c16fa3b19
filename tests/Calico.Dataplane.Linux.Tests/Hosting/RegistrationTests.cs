using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Hosting;
using Calico.Model.Desired;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Tests.Hosting;

/// <summary>The dataplane registers itself and its options, validated, once however often it is asked to.</summary>
public sealed class RegistrationTests
{
    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();

    [Fact]
    public void Registering_twice_registers_one_validator_and_one_driver()
    {
        var services = new ServiceCollection();
        var configuration = Configuration();

        services.AddCalicoLinuxDataplane(configuration).AddCalicoLinuxDataplane(configuration);

        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<DataplaneOptions>));
        Assert.Single(services, d => d.ServiceType == typeof(IDataplane));
    }

    [Fact]
    public void Options_come_from_the_Dataplane_section_and_bad_ones_are_refused_with_the_setting_named()
    {
        using var good = new ServiceCollection()
            .AddCalicoLinuxDataplane(Configuration(("Dataplane:TransientRetries", "2"), ("Dataplane:RetryBaseDelay", "00:00:00.5")))
            .BuildServiceProvider();
        var options = good.GetRequiredService<IOptions<DataplaneOptions>>().Value;
        Assert.Equal(2, options.TransientRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.RetryBaseDelay);

        using var bad = new ServiceCollection()
            .AddCalicoLinuxDataplane(Configuration(("Dataplane:RouteProtocol", "3")))
            .BuildServiceProvider();
        var refused = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<DataplaneOptions>>().Value);
        Assert.Contains("Dataplane:RouteProtocol 3", refused.Message);
    }
}
