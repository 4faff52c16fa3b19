using System.Diagnostics;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Interfaces;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Policy;
using Calico.Dataplane.Linux.Processes;
using Calico.Nftables;
using Calico.Model;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Netlink;
using Calico.Netlink.Namespaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace Calico.Dataplane.Linux.Driver;

/// <summary>
/// The host's dataplane on Linux: the loop that drives the ordered list of components (<see cref="LinuxDataplaneComponents"/>:
/// interfaces, policy, routes, DHCP), each owning one kind of kernel object — apply, resync, kernel notices, plan,
/// statuses, disposal — and turns what they report into per-endpoint statuses. Calls are serialised by one gate;
/// the kernel work runs off the caller's thread. Between calls it listens to the kernel's link notices, and
/// reconciles a workload interface that came, went, or went up or down as soon as it is asked
/// (LinuxDataplane.LinkChanges.cs). Touches only what its components own (see their headers); with nothing desired it
/// writes nothing at all.
/// </summary>
public sealed partial class LinuxDataplane : IDataplane, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly IReadOnlyList<IDataplaneComponent> _components;
    private readonly IReadOnlyList<IDataplaneComponent> _byStatusPrecedence;
    private readonly WorkloadLinkWatch? _linkWatch;
    private readonly DataplaneOptions _options;
    private readonly ILogger _logger;
    private readonly IDisposable? _owned;
    private readonly TimeProvider _time;
    private IReadOnlyDictionary<DesiredKey, DesiredItem> _desired = new Dictionary<DesiredKey, DesiredItem>();
    private IReadOnlyList<WorkloadInterfaceItem> _endpoints = [];
    private long _sequence;

    /// <summary>
    /// On the real kernel, in Dataplane:NetworkNamespace, with the components registered (AddCalicoLinuxDataplane) and
    /// their options (<paramref name="features"/>; null: each component's defaults).
    /// </summary>
    public LinuxDataplane(IOptions<DataplaneOptions> options, ILoggerFactory loggers, IEnumerable<DataplaneComponentRegistration> components,
        TimeProvider? time = null, FeatureOptions? features = null)
        : this(OpenKernel(options.Value, features ?? FeatureOptions.Defaults, loggers), options.Value, loggers, options.Value.Retry(), components,
            time, features)
    {
    }

    /// <summary>On the real kernel with every component (one-shot commands).</summary>
    public LinuxDataplane(IOptions<DataplaneOptions> options, ILoggerFactory loggers, FeatureOptions? features = null)
        : this(options, loggers, LinuxDataplaneComponents.All, features: features)
    {
    }

    /// <summary>
    /// On any kernel, with the given components in order (those whose registration gives null on this kernel are left
    /// out). Link notifications are started here, once subscribed to; without them, workload interfaces that appear or
    /// go are found by the next apply or resync only.
    /// </summary>
    public LinuxDataplane(DataplaneKernel kernel, DataplaneOptions options, ILoggerFactory loggers, ResiliencePipeline retry,
        IEnumerable<DataplaneComponentRegistration> components, TimeProvider? time = null, FeatureOptions? features = null)
    {
        _options = options;
        _logger = loggers.CreateLogger<LinuxDataplane>();
        _owned = kernel.Owned;
        _time = time ?? TimeProvider.System;
        var context = new DataplaneComponentContext(kernel, options, features ?? FeatureOptions.Defaults, retry, loggers, _time);
        _components = [.. components.Select(r => r.Create(context)).OfType<IDataplaneComponent>()];
        _byStatusPrecedence = [.. _components.OrderBy(c => c.StatusPrecedence)];
        DataplaneTelemetry.RecordZeros();
        if (kernel.Links is { } links)
        {
            _linkWatch = new WorkloadLinkWatch(links, options.WorkloadInterfacePrefix, loggers.CreateLogger<WorkloadLinkWatch>(),
                kernel.Netlink.GetLink, options.ArrivalPollInterval);
            links.Start();
        }
    }

    public TimeSpan ResyncInterval => _options.RouteResyncInterval;

    /// <summary>The components this dataplane drives, in apply order.</summary>
    public IReadOnlyList<string> Components => [.. _components.Select(c => c.Name)];

    /// <summary>The BGP sessions of our BIRD (null without the BGP component, or in direct mode); read outside the apply lock.</summary>
    public IReadOnlyList<BgpSession>? ReadBgpSessions() =>
        _components.OfType<Bgp.BgpComponent>().FirstOrDefault()?.Reconciler.ReadSessions(DateOnly.FromDateTime(_time.GetLocalNow().DateTime));

    private static DataplaneKernel OpenKernel(DataplaneOptions options, FeatureOptions features, ILoggerFactory loggers)
    {
        var ns = options.NetworkNamespace is { Length: > 0 } name ? NetworkNamespace.Open(name) : null;
        var client = ns is null ? NetlinkRouteClient.Open() : NetlinkRouteClient.Open(ns);
        var kernel = new NetlinkKernel(client);
        var nftables = !features.Get<PolicyOptions>().PolicyEnabled ? null : ns is null ? NftablesKernel.Open() : NftablesKernel.Open(ns);
        var links = options.WatchLinks ? OpenLinkNotifications(ns, loggers) : null;
        // Disposed in this order: notifications first (no handler runs after), the namespace handle last.
        IDisposable?[] owned = [links, nftables, kernel, ns];
        // DHCP shares the rtnetlink client (thread-safe) and starts dnsmasq inside the namespace.
        return new DataplaneKernel(kernel, new ProcSysctls(ns is null ? new Sysctls() : new Sysctls(ns)), new LinuxProcessHost(ns), nftables, links,
            new Owned([.. owned.OfType<IDisposable>()]), TrafficControl: kernel);
    }

    /// <summary>The link monitor; without it (a kernel that refuses) new taps are found by applies and resyncs only.</summary>
    private static NetlinkLinkNotifications? OpenLinkNotifications(NetworkNamespace? ns, ILoggerFactory loggers)
    {
        try
        {
            return new NetlinkLinkNotifications(NetlinkLinkMonitor.Open(ns));
        }
        catch (NetlinkException e)
        {
            LogNoLinkWatch(loggers.CreateLogger<LinuxDataplane>(), e.Message);
            return null;
        }
    }

    public async Task<DataplaneResult> ApplyAsync(IReadOnlyDictionary<DesiredKey, DesiredItem> desired,
        IReadOnlyList<DesiredChange> changes, bool isSnapshot, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var sw = Stopwatch.StartNew();
            var result = await Task.Run(() => Reconcile(new DataplanePass(desired, drift: false, changes, isSnapshot)), cancellationToken);
            _desired = desired;
            DataplaneTelemetry.ApplyDuration.Record(sw.Elapsed.TotalMilliseconds);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<DataplaneResult> ResyncAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await ResyncLockedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets every belief and reads the kernel back; called with the gate held.</summary>
    private async Task<DataplaneResult> ResyncLockedAsync(CancellationToken cancellationToken)
    {
        using var activity = CalicoTelemetry.Source.StartActivity("dataplane.resync");
        var sw = Stopwatch.StartNew();
        foreach (var component in _components) component.Invalidate();
        var result = await Task.Run(() => Reconcile(new DataplanePass(_desired, drift: true, changes: null, isSnapshot: true)), cancellationToken);
        DataplaneTelemetry.ResyncDuration.Record(sw.Elapsed.TotalMilliseconds);
        return result;
    }

    /// <summary>Each component in order, then every endpoint's status.</summary>
    private DataplaneResult Reconcile(DataplanePass pass)
    {
        foreach (var component in _components) component.Apply(pass.For(component));
        _endpoints = pass.Items<WorkloadInterfaceItem>();
        // A live migration's target takes over when its tap goes live (its VM's first frame): worth a reconcile.
        _linkWatch?.WatchCarrierOf(pass.Items<RouteItem>().Where(r => r is { Kind: Calico.Model.Desired.RouteKind.Local, Standby: true })
            .Select(r => r.InterfaceName!).ToHashSet(StringComparer.Ordinal));
        LogApplied(_logger, pass.Drift ? "resync" : "apply", _components.Count, _endpoints.Count);
        return Statuses();
    }

    /// <summary>Every endpoint's status from what the components report; numbered, as results are computed under the gate.</summary>
    private DataplaneResult Statuses()
    {
        var statuses = new EndpointStatuses(_endpoints);
        foreach (var component in _byStatusPrecedence) component.ReportStatuses(statuses);
        return new DataplaneResult(statuses.Build()) { Sequence = ++_sequence };
    }

    /// <summary>
    /// What applying <paramref name="desired"/> would change, one line each ("add route ...", "change sysctl ..."),
    /// read from the kernel; nothing is written. The same components and translation as an apply.
    /// </summary>
    public async Task<IReadOnlyList<string>> PlanAsync(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await Task.Run(() =>
            {
                var pass = new PlanPass(desired);
                return (IReadOnlyList<string>)[.. _components.SelectMany(c => c.Plan(pass))];
            }, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        for (var i = _components.Count - 1; i >= 0; i--) _components[i].Dispose();
        _owned?.Dispose();
        _gate.Dispose();
    }

    private sealed class Owned(params IDisposable[] parts) : IDisposable
    {
        public void Dispose()
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dataplane {Kind}: {Components} components applied; {Interfaces} workload interfaces")]
    private static partial void LogApplied(ILogger logger, string kind, int components, int interfaces);
}
