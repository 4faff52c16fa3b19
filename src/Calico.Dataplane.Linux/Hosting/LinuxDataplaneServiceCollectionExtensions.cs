using Calico.Dataplane.Linux.Driver;
using Calico.Model.Desired;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Hosting;

public static class LinuxDataplaneServiceCollectionExtensions
{
    /// <summary>
    /// The Linux dataplane as the host's <see cref="IDataplane"/>: its options (section "Dataplane", validated at start
    /// with messages that say how to fix them) and the driver. Safe to call twice: nothing is registered twice.
    /// </summary>
    public static IServiceCollection AddCalicoLinuxDataplane(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<DataplaneOptions>().Bind(configuration.GetSection(DataplaneOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DataplaneOptions>, DataplaneOptionsValidator>());
        services.TryAddSingleton<IDataplane, LinuxDataplane>();
        return services;
    }
}
