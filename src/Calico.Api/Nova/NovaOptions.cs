using Microsoft.Extensions.Options;

namespace Calico.Api.Nova;

/// <summary>
/// Telling Nova about ports (section "Nova"), as Neutron's server does through Nova's os-server-external-events:
/// network-vif-plugged when a bound port of an instance becomes ACTIVE (Nova waits for it before it starts the
/// instance), network-vif-unplugged when it stops being ACTIVE, network-vif-deleted when it is deleted. Off unless
/// <see cref="Url"/> is set.
/// </summary>
public sealed class NovaOptions
{
    public const string Section = "Nova";

    /// <summary>Nova's compute API, e.g. <c>http://controller:8774/v2.1</c>; empty: Nova is not told.</summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// <c>keystone</c> (default): each request carries a token of the API's own Keystone service user
    /// (<c>Api:Keystone</c>); <c>none</c>: no token (a Nova without authentication, for development).
    /// </summary>
    public string Auth { get; set; } = NovaAuthModes.Keystone;

    /// <summary>How long events gather before they go in one request (Neutron's send_events_interval is 2 s).</summary>
    public TimeSpan BatchInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The most events in one request; more wait for the next.</summary>
    public int MaxEventsPerRequest { get; set; } = 100;

    /// <summary>
    /// A port seen ACTIVE in the first report a host grain receives after its activation (a controller restart) is
    /// announced only if the port was written within this window: Nova waits for network-vif-plugged at most
    /// vif_plugging_timeout (300 s by default), so an older port's instance is no longer waiting.
    /// </summary>
    public TimeSpan ReplayWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts of one request when Nova cannot be reached or answers 5xx or 429, with exponential backoff.</summary>
    public int Attempts { get; set; } = 5;

    /// <summary>The first pause between attempts.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Events waiting to be sent, at most; beyond it the oldest are dropped (and counted).</summary>
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>One request's timeout.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => Url.Length > 0;
}

public static class NovaAuthModes
{
    public const string Keystone = "keystone";
    public const string None = "none";
}

/// <summary>Refuses Nova settings that cannot work, naming the key.</summary>
public sealed class NovaOptionsValidator(IOptions<Hosting.CalicoApiOptions> api) : IValidateOptions<NovaOptions>
{
    public ValidateOptionsResult Validate(string? name, NovaOptions o)
    {
        var errors = new List<string>();
        if (o.Enabled && o.Auth == NovaAuthModes.Keystone && api.Value.Auth != NovaAuthModes.Keystone)
            errors.Add($"Nova:Auth=keystone takes its tokens as the API's Keystone service user, so it needs Api:Auth=keystone (got Api:Auth={api.Value.Auth}); or set Nova:Auth=none for a Nova without authentication.");
        if (o.Url.Length > 0 && (!Uri.TryCreate(o.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            errors.Add($"Nova:Url must be an absolute http or https URL (got '{o.Url}').");
        if (o.Auth is not (NovaAuthModes.Keystone or NovaAuthModes.None))
            errors.Add($"Nova:Auth must be '{NovaAuthModes.Keystone}' or '{NovaAuthModes.None}' (got '{o.Auth}').");
        if (o.BatchInterval < TimeSpan.Zero) errors.Add($"Nova:BatchInterval must not be negative (got {o.BatchInterval}).");
        if (o.MaxEventsPerRequest < 1) errors.Add($"Nova:MaxEventsPerRequest must be at least 1 (got {o.MaxEventsPerRequest}).");
        if (o.ReplayWindow < TimeSpan.Zero) errors.Add($"Nova:ReplayWindow must not be negative (got {o.ReplayWindow}).");
        if (o.Attempts < 1) errors.Add($"Nova:Attempts must be at least 1 (got {o.Attempts}).");
        if (o.RetryBaseDelay < TimeSpan.Zero) errors.Add($"Nova:RetryBaseDelay must not be negative (got {o.RetryBaseDelay}).");
        if (o.QueueCapacity < 1) errors.Add($"Nova:QueueCapacity must be at least 1 (got {o.QueueCapacity}).");
        if (o.RequestTimeout <= TimeSpan.Zero) errors.Add($"Nova:RequestTimeout must be positive (got {o.RequestTimeout}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
