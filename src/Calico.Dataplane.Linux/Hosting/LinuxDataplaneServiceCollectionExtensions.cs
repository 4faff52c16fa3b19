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
    /// The Linux dataplane as the host's <see cref="IDataplane"/>: its options and each component's own (section
    /// "Dataplane", each class validated at start with messages that say how to fix them), its components in apply order
    /// (<see cref="LinuxDataplaneComponents"/>), and the driver that runs them. Safe to call twice: nothing is
    /// registered twice.
    /// </summary>
    public static IServiceCollection AddCalicoLinuxDataplane(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<DataplaneOptions>().Bind(configuration.GetSection(DataplaneOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DataplaneOptions>, DataplaneOptionsValidator>());
        foreach (var component in LinuxDataplaneComponents.All) services.AddDataplaneComponent(component, configuration);
        services.TryAddSingleton<IDataplane>(sp =>
        {
            var components = sp.GetServices<DataplaneComponentRegistration>().ToList();
            var features = new FeatureOptions(components.Select(c => c.Options).OfType<FeatureOptionsBinding>()
                .DistinctBy(b => b.Type).Select(b => b.Resolve(sp)));
            return new LinuxDataplane(sp.GetRequiredService<IOptions<DataplaneOptions>>(), sp.GetRequiredService<ILoggerFactory>(), components,
                sp.GetService<TimeProvider>(), features);
        });
        return services;
    }

    /// <summary>
    /// Appends a component to the dataplane's ordered list (after those registered before it), with its options class
    /// bound from <paramref name="configuration"/> and validated at start, unless one of that name is registered already.
    /// </summary>
    public static IServiceCollection AddDataplaneComponent(this IServiceCollection services, DataplaneComponentRegistration component,
        IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(component);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(DataplaneComponentRegistration) &&
                d.ImplementationInstance is DataplaneComponentRegistration r && r.Name == component.Name))
            return services;
        services.AddSingleton(component);
        if (component.Options is { } options && !services.Any(d => d.ServiceType == typeof(IValidateOptions<>).MakeGenericType(options.Type)))
            options.Add(services, configuration);
        return services;
    }
}
