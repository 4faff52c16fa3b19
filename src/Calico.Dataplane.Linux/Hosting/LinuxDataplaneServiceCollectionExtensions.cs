using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Model.Desired;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Hosting;

public static class LinuxDataplaneServiceCollectionExtensions
{
    /// <summary>
    /// The Linux dataplane as the host's <see cref="IDataplane"/>: its options (section "Dataplane", validated at start
    /// with messages that say how to fix them), its components in apply order (<see cref="LinuxDataplaneComponents"/>),
    /// and the driver that runs them. Safe to call twice: nothing is registered twice.
    /// </summary>
    public static IServiceCollection AddCalicoLinuxDataplane(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<DataplaneOptions>().Bind(configuration.GetSection(DataplaneOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DataplaneOptions>, DataplaneOptionsValidator>());
        foreach (var component in LinuxDataplaneComponents.All) services.AddDataplaneComponent(component);
        services.TryAddSingleton<IDataplane>(sp => new LinuxDataplane(sp.GetRequiredService<IOptions<DataplaneOptions>>(),
            sp.GetRequiredService<ILoggerFactory>(), sp.GetServices<DataplaneComponentRegistration>(), sp.GetService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// Appends a component to the dataplane's ordered list (after those registered before it), unless one of that name
    /// is registered already.
    /// </summary>
    public static IServiceCollection AddDataplaneComponent(this IServiceCollection services, DataplaneComponentRegistration component)
    {
        ArgumentNullException.ThrowIfNull(component);
        if (!services.Any(d => d.ServiceType == typeof(DataplaneComponentRegistration) &&
                d.ImplementationInstance is DataplaneComponentRegistration r && r.Name == component.Name))
            services.AddSingleton(component);
        return services;
    }
}
