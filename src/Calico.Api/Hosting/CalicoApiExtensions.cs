using Calico.Api.Agents;
using Calico.Api.Auth;
using Calico.Api.FloatingIps;
using Calico.Api.Http;
using Calico.Api.Networks;
using Calico.Api.Nova;
using Calico.Api.Ports;
using Calico.Api.SecurityGroups;
using Calico.Api.Quotas;
using Calico.Api.Routers;
using Calico.Api.Subnets;
using Calico.Api.SubnetPools;
using Calico.Api.Qos;
using Calico.Api.Tags;
using Calico.Model.Resources;
using Calico.Api.Versions;
using Calico.Grains.Hosts;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Calico.Api.Hosting;

public static class CalicoApiExtensions
{
    /// <summary>
    /// The Neutron-compatible API's services and options (section <see cref="CalicoApiOptions.Section"/>, validated at
    /// start). Needs, from the silo it runs in: the grain factory, the datastore's catalog, and the Hosts options; it
    /// uses the silo's TimeProvider (the system clock if there is none).
    /// </summary>
    public static IServiceCollection AddCalicoApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CalicoApiOptions>().Bind(configuration.GetSection(CalicoApiOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CalicoApiOptions>, CalicoApiOptionsValidator>());
        services.AddOptions<HostLivenessOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ApiAuthenticator>();
        // Keystone (Api:Auth=keystone): its HTTP client comes from the factory, so connections are pooled and renewed.
        services.AddHttpClient(KeystoneClient.HttpClientName);
        services.TryAddSingleton<KeystoneClient>();
        services.TryAddSingleton<KeystoneServiceToken>();
        services.TryAddSingleton<KeystoneAuthenticator>();
        services.TryAddSingleton<RequestBody>();
        services.TryAddSingleton<ResourceStore>();
        services.TryAddSingleton<References>();
        services.TryAddSingleton<DefaultSecurityGroups>();
        services.TryAddSingleton<PortAddresses>();
        services.TryAddSingleton<NetworkPorts>();
        services.TryAddSingleton<NetworkEndpoints>();
        services.TryAddSingleton<SubnetEndpoints>();
        services.TryAddSingleton<SecurityGroupEndpoints>();
        services.TryAddSingleton<SecurityGroupRuleEndpoints>();
        services.TryAddSingleton<PortEndpoints>();
        services.TryAddSingleton<FloatingIpEndpoints>();
        services.TryAddSingleton<FloatingIpRouters>();
        services.TryAddSingleton<RouterPorts>();
        services.TryAddSingleton<RouterEndpoints>();
        services.TryAddSingleton<RouterInterfaces>();
        services.TryAddSingleton<AgentEndpoints>();
        services.TryAddSingleton<SegmentEndpoints>();
        services.TryAddSingleton<SubnetPoolEndpoints>();
        services.TryAddSingleton<QosPolicyEndpoints>();
        services.TryAddSingleton<ProjectQuotas>();
        AddNova(services, configuration);
        return services;
    }

    /// <summary>The Nova notifier (section <see cref="NovaOptions.Section"/>): told of port transitions by the host grains of this silo.</summary>
    private static void AddNova(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NovaOptions>().Bind(configuration.GetSection(NovaOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NovaOptions>, NovaOptionsValidator>());
        services.AddHttpClient(nameof(NovaNotifier));
        // Nova:Auth=keystone: the API's own service token (its validator requires Api:Auth=keystone).
        services.TryAddSingleton<INovaTokenSource>(sp => sp.GetRequiredService<IOptions<NovaOptions>>().Value.Auth == NovaAuthModes.Keystone
            ? sp.GetRequiredService<KeystoneServiceToken>()
            : new NoNovaToken());
        services.TryAddSingleton<NovaNotifier>();
        services.AddSingleton<IEndpointTransitionListener>(sp => sp.GetRequiredService<NovaNotifier>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<NovaNotifier>());
    }

    /// <summary>
    /// Maps <c>GET /</c> (version discovery) and everything under <c>/v2.0</c>. Every /v2.0 endpoint authenticates
    /// (see <see cref="CalicoApiOptions.Auth"/>) and answers errors as <c>{"NeutronError": {...}}</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapCalicoApi(this IEndpointRouteBuilder app)
    {
        VersionEndpoints.Map(app);
        var api = app.MapGroup("/v2.0");
        api.AddEndpointFilter<NeutronEndpointFilter>();
        ExtensionEndpoints.Map(api);
        api.MapCollection<NetworkEndpoints>("networks");
        api.MapCollection<SubnetEndpoints>("subnets");
        api.MapCollection<PortEndpoints>("ports");
        api.MapCollection<SecurityGroupEndpoints>("security-groups");
        api.MapCollection<SecurityGroupRuleEndpoints>("security-group-rules");
        api.MapCollection<FloatingIpEndpoints>("floatingips");
        api.MapCollection<RouterEndpoints>("routers");
        RouterInterfaces.Map(api);
        api.MapCollection<AgentEndpoints>("agents");
        api.MapCollection<SegmentEndpoints>("segments");
        api.MapCollection<SubnetPoolEndpoints>("subnetpools");
        app.ServiceProvider.GetRequiredService<SubnetPoolEndpoints>().MapPrefixOperations(api);
        api.MapCollection<QosPolicyEndpoints>("qos/policies");
        app.ServiceProvider.GetRequiredService<QosPolicyEndpoints>().MapRules(api);
        QuotaEndpoints.Map(api);
        api.MapTags<NetworkEndpoints, Network>("networks");
        api.MapTags<SubnetEndpoints, Subnet>("subnets");
        api.MapTags<PortEndpoints, WorkloadEndpoint>("ports");
        api.MapTags<SecurityGroupEndpoints, SecurityGroup>("security-groups");
        api.MapTags<FloatingIpEndpoints, FloatingIp>("floatingips");
        api.MapTags<SubnetPoolEndpoints, SubnetPool>("subnetpools");
        api.MapTags<QosPolicyEndpoints, QosPolicy>("qos/policies");
        api.MapTags<RouterEndpoints, Router>("routers");
        api.MapFallback(() => Task.FromResult<IResult>(
            NeutronErrors.Result(StatusCodes.Status404NotFound, "HTTPNotFound", "The resource could not be found.")));
        return app;
    }
}
