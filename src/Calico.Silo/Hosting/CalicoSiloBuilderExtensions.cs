using Calico.Dataplane.Linux.Hosting;
using Calico.Grains;
using Calico.Grains.DesiredState;
using Calico.Grains.Hosts;
using Calico.Grains.Ipam;
using Calico.Model.Desired;
using Calico.Silo.Compute;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Calico.Silo.Hosting;

public static class CalicoSiloBuilderExtensions
{
    /// <summary>
    /// Everything a Calico silo needs for its roles, apart from clustering and the datastore (which the host
    /// chooses: <c>AddCalicoDatastore</c>): grain options, grain-call tracing, and for the compute role the host
    /// agent and dataplane.
    /// A silo without the controller role hosts no Calico grains, so control-plane state never lands on a compute node.
    /// </summary>
    public static ISiloBuilder AddCalico(this ISiloBuilder silo, IConfiguration configuration, SiloRoles roles)
    {
        silo.AddActivityPropagation();
        silo.AddIncomingGrainCallFilter<TransientFailureFilter>();
        var services = silo.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<HostLivenessOptions>().Bind(configuration.GetSection(HostLivenessOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HostLivenessOptions>, HostLivenessOptionsValidator>());
        services.AddOptions<CalculatorOptions>().Bind(configuration.GetSection(CalculatorOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CalculatorOptions>, CalculatorOptionsValidator>());
        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>());
        services.TryAddSingleton<StoreReader>();
        services.AddCalicoIpam(configuration);

        if (roles.HasFlag(SiloRoles.Controller)) services.AddHostedService<IpamLeakCollector>();

        if (!roles.HasFlag(SiloRoles.Controller))
        {
            services.Configure<GrainTypeOptions>(o =>
                o.Classes.RemoveWhere(t => t.Assembly == typeof(HostDesiredStateGrain).Assembly));
        }

        if (roles.HasFlag(SiloRoles.Compute))
        {
            services.AddOptions<ComputeOptions>().Bind(configuration.GetSection(ComputeOptions.Section)).ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ComputeOptions>, ComputeOptionsValidator>());
            var driver = configuration.GetSection(ComputeOptions.Section)[nameof(ComputeOptions.Dataplane)] ?? new ComputeOptions().Dataplane;
            if (driver == "linux") services.AddCalicoLinuxDataplane(configuration);
            else services.TryAddSingleton<IDataplane, InMemoryDataplane>();
            services.AddSingleton<HostAgent>();
            services.AddHostedService(sp => sp.GetRequiredService<HostAgent>());
        }
        return silo;
    }
}
