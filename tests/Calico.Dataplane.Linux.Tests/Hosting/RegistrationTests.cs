using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Interfaces;
using Calico.Dataplane.Linux.Policy;
using Calico.Dataplane.Linux.Routes;
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
        foreach (var each in new[] { typeof(InterfaceOptions), typeof(PolicyOptions), typeof(RouteOptions), typeof(DhcpOptions) })
            Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<>).MakeGenericType(each));
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
        var refused = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<RouteOptions>>().Value);
        Assert.Contains("Dataplane:RouteProtocol 3", refused.Message);
    }

    [Fact]
    public void Each_component_reads_its_own_options_from_the_Dataplane_keys_they_always_had()
    {
        using var services = new ServiceCollection()
            .AddCalicoLinuxDataplane(Configuration(("Dataplane:RouteProtocol", "90"), ("Dataplane:RouteTable", "100"),
                ("Dataplane:ReversePathFilter", "2"), ("Dataplane:PolicyEnabled", "false"), ("Dataplane:MetadataPort", "8776"),
                ("Dataplane:DnsmasqPath", "/opt/dnsmasq"), ("Dataplane:DhcpLeaseTime", "00:10:00"), ("Dataplane:WorkloadInterfacePrefix", "vif")))
            .BuildServiceProvider();

        var routes = services.GetRequiredService<IOptions<RouteOptions>>().Value;
        Assert.Equal((90, 100u), (routes.RouteProtocol, routes.RouteTable));
        Assert.Equal(2, services.GetRequiredService<IOptions<InterfaceOptions>>().Value.ReversePathFilter);
        var policy = services.GetRequiredService<IOptions<PolicyOptions>>().Value;
        Assert.Equal((false, 8776), (policy.PolicyEnabled, policy.MetadataPort));
        var dhcp = services.GetRequiredService<IOptions<DhcpOptions>>().Value;
        Assert.Equal(("/opt/dnsmasq", TimeSpan.FromMinutes(10)), (dhcp.DnsmasqPath, dhcp.DhcpLeaseTime));
        Assert.Equal("vif", services.GetRequiredService<IOptions<DataplaneOptions>>().Value.WorkloadInterfacePrefix);
    }

    [Fact]
    public void A_bad_setting_of_any_component_is_refused_naming_it()
    {
        Refused<InterfaceOptions>("Dataplane:ReversePathFilter", "3");
        Refused<PolicyOptions>("Dataplane:MetadataPort", "0");
        Refused<DhcpOptions>("Dataplane:DhcpLeaseTime", "00:00:10");
        Refused<RouteOptions>("Dataplane:RouteTable", "255");

        static void Refused<T>(string key, string value) where T : class
        {
            using var services = new ServiceCollection().AddCalicoLinuxDataplane(Configuration((key, value))).BuildServiceProvider();
            var refused = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<T>>().Value);
            Assert.Contains(key, refused.Message);
        }
    }
}
