using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Calico.Grains.Ipam;

/// <summary>IP address management settings (section "Ipam").</summary>
public sealed class IpamOptions
{
    public const string Section = "Ipam";

    /// <summary>How many blocks one host may claim in one subnet; beyond it the host borrows addresses (as Calico: 20).</summary>
    public int MaxBlocksPerHost { get; set; } = 20;

    /// <summary>
    /// The most allocations and releases one subnet stores in one round of writes. Requests that arrive while a
    /// round is being stored wait for the next one; 1 stores every request on its own (the benchmark's baseline).
    /// </summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>
    /// At a port's first bind (created unbound, as Nova does, then given binding:host_id without fixed_ips), move each
    /// address IPAM chose for it while it had no host into the new host's blocks, so that the host's block route covers
    /// it and no other host needs a /32 for it (Neutron's deferred IP allocation reaches the same outcome).
    /// </summary>
    public bool ReassignOnFirstBind { get; set; } = true;

    /// <summary>How old an allocation must be before an audit may call it leaked (an API call may be between allocating and writing its port).</summary>
    public TimeSpan LeakGracePeriod { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often each controller runs the IPAM audit and releases the leaks it confirms (allocations older than
    /// <see cref="LeakGracePeriod"/> that no port or floating IP holds: left by a request that failed between
    /// allocating and storing, or between deleting and releasing, e.g. while the datastore restarted). Zero: never
    /// (the audit then runs only on demand, <c>calicoctl ipam audit --release-leaks</c>).
    /// </summary>
    public TimeSpan LeakCollectionInterval { get; set; } = TimeSpan.FromMinutes(10);
}

public sealed class IpamOptionsValidator : IValidateOptions<IpamOptions>
{
    public ValidateOptionsResult Validate(string? name, IpamOptions o)
    {
        var errors = new List<string>();
        if (o.MaxBlocksPerHost < 1)
            errors.Add($"Ipam:MaxBlocksPerHost must be at least 1 (is {o.MaxBlocksPerHost}); Calico's default is 20.");
        if (o.MaxBatchSize < 1)
            errors.Add($"Ipam:MaxBatchSize must be at least 1 (is {o.MaxBatchSize}); 512 is the default.");
        if (o.LeakGracePeriod < TimeSpan.Zero)
            errors.Add($"Ipam:LeakGracePeriod must not be negative (is {o.LeakGracePeriod}).");
        if (o.LeakCollectionInterval < TimeSpan.Zero)
            errors.Add($"Ipam:LeakCollectionInterval must not be negative (is {o.LeakCollectionInterval}); zero turns the collection off.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class IpamServiceCollectionExtensions
{
    /// <summary>The IPAM grains' options, bound from the "Ipam" section and validated at start.</summary>
    public static IServiceCollection AddCalicoIpam(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IpamOptions>().Bind(configuration.GetSection(IpamOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IpamOptions>, IpamOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
