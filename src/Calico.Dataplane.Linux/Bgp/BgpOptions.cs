using Calico.Dataplane.Linux.Components;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Bgp;

/// <summary>BGP (one BIRD per host, or per Dataplane:NetworkNamespace, in BGP routing mode); keys in section "Dataplane".</summary>
public sealed class BgpOptions
{
    /// <summary>
    /// Where BIRD's configuration, control socket and pid file live (created 0755); never /etc/bird or /run/bird. With
    /// Dataplane:NetworkNamespace set, a subdirectory netns/NAME of it, so BIRDs of different namespaces never share a socket.
    /// </summary>
    public string BirdStateDirectory { get; set; } = "/var/lib/calico/bird";

    /// <summary>The BIRD 2 daemon: a path, or a name looked up on PATH, then in /usr/sbin and /sbin.</summary>
    public string BirdPath { get; set; } = "bird";

    /// <summary>BIRD's control client, used to reload a changed configuration (`birdc -s SOCKET configure`).</summary>
    public string BirdcPath { get; set; } = "birdc";

    /// <summary>The pause before restarting a BIRD that exited; it doubles with each exit in a row, up to <see cref="BirdMaxRestartDelay"/>.</summary>
    public TimeSpan BirdRestartDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause between restarts; a BIRD that ran longer than this starts the doubling afresh.</summary>
    public TimeSpan BirdMaxRestartDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a (re)started BIRD waits for its peers before it synchronises the kernel (graceful restart recovery):
    /// until then the routes it left in the kernel stay.
    /// </summary>
    public TimeSpan BirdGracefulRestartWait { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// How long a BGP session may go without a message before it is taken down (hold time, whole seconds, 3-65535;
    /// keepalives every third of it). A host that goes away without closing its sessions (its machine hangs or loses
    /// power, its link is cut) has its routes withdrawn by its peers when this ends: an expired hold timer is no
    /// graceful restart, so nothing is kept as stale (measured: 4.0 s with 3 s, BgpKernelTests). BIRD's default, 240 s.
    /// </summary>
    public TimeSpan BgpHoldTime { get; set; } = TimeSpan.FromSeconds(240);

    /// <summary>
    /// How long this host's peers keep its routes (as stale) after its BIRD's connection closed without a BGP
    /// notification (BIRD killed or crashed: the restart time of its graceful restart capability, whole seconds,
    /// 0-4095). A restarted BIRD is back well within it; one that does not come back is withdrawn when it ends. BIRD's
    /// default, 120 s.
    /// </summary>
    public TimeSpan BirdGracefulRestartTime { get; set; } = TimeSpan.FromSeconds(120);
}

public sealed class BgpOptionsValidator : IValidateOptions<BgpOptions>
{
    private const string S = DataplaneOptions.Section;

    public ValidateOptionsResult Validate(string? name, BgpOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.BirdStateDirectory) || !Path.IsPathFullyQualified(o.BirdStateDirectory) ||
            Path.TrimEndingDirectorySeparator(o.BirdStateDirectory) == "/" || o.BirdStateDirectory.StartsWith("/etc/", StringComparison.Ordinal))
            errors.Add($"{S}:BirdStateDirectory '{o.BirdStateDirectory}' must be an absolute path of a directory of its own (not in /etc), e.g. /var/lib/calico/bird.");
        // A unix socket path is at most 107 bytes; leave room for netns/NAME/bird.ctl.
        else if (o.BirdStateDirectory.Length > 60)
            errors.Add($"{S}:BirdStateDirectory '{o.BirdStateDirectory}' is longer than 60 characters: BIRD's control socket inside it must fit a unix socket path (107 bytes).");
        if (string.IsNullOrWhiteSpace(o.BirdPath)) errors.Add($"{S}:BirdPath must name the BIRD 2 executable, e.g. bird.");
        if (string.IsNullOrWhiteSpace(o.BirdcPath)) errors.Add($"{S}:BirdcPath must name BIRD's control client, e.g. birdc.");
        if (o.BirdRestartDelay <= TimeSpan.Zero) errors.Add($"{S}:BirdRestartDelay must be positive, e.g. 00:00:01.");
        if (o.BirdMaxRestartDelay < o.BirdRestartDelay)
            errors.Add($"{S}:BirdMaxRestartDelay {o.BirdMaxRestartDelay} must be at least {S}:BirdRestartDelay {o.BirdRestartDelay}.");
        if (o.BirdGracefulRestartWait < TimeSpan.FromSeconds(1) || o.BirdGracefulRestartWait > TimeSpan.FromHours(1))
            errors.Add($"{S}:BirdGracefulRestartWait {o.BirdGracefulRestartWait} must be between 00:00:01 and 01:00:00.");
        if (o.BgpHoldTime < TimeSpan.FromSeconds(3) || o.BgpHoldTime > TimeSpan.FromSeconds(65535))
            errors.Add($"{S}:BgpHoldTime {o.BgpHoldTime} must be between 00:00:03 and 18:12:15 (3 to 65535 seconds, BGP's range).");
        if (o.BirdGracefulRestartTime < TimeSpan.Zero || o.BirdGracefulRestartTime > TimeSpan.FromSeconds(4095))
            errors.Add($"{S}:BirdGracefulRestartTime {o.BirdGracefulRestartTime} must be between 00:00:00 and 01:08:15 (0 to 4095 seconds, what the capability carries).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
