using System.Net.NetworkInformation;
using System.Net.Sockets;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Kernel;
using Calico.Model.Desired;
using Calico.Netlink;
using Calico.Netlink.Namespaces;
using Microsoft.Extensions.Logging;
using Polly;

namespace Calico.Dataplane.Linux.Interfaces;

/// <summary>
/// Prepares each local workload's tap interface the way Calico does: proxy ARP (answered at once), forwarding,
/// route_localnet, rp_filter as configured, no router advertisements and proxy NDP for IPv6; the link set up; a
/// permanent neighbour entry for each of the workload's addresses (so the host never has to ARP for it).
/// Also turns host forwarding on. The taps of a live migration (on its source and on its target) also skip routes
/// while they have no carrier (ignore_routes_with_linkdown), so that the kernel itself moves the VM's traffic between
/// the source's tap route and the standby routes the moment the VM stops on one side and runs on the other; set back
/// to the kernel's default (0) once the migration is over; every other workload interface is held at 0 too, so a
/// migration's setting left behind by an agent that restarted meanwhile is set back from what the kernel shows.
/// Owns: those sysctls of workload interfaces named in the desired state; PERMANENT neighbour entries on them.
/// Never touches: other interfaces (it does not create or delete links: the hypervisor does), other neighbours.
/// An interface that is not there yet is reported Missing and configured as soon as an update or resync finds it.
/// Work is done only for interfaces that changed (item, index) since they were last configured; a resync forgets
/// that and checks everything again, which repairs drift; a link notice forgets it for the interfaces it names.
/// </summary>
public sealed partial class InterfaceReconciler(INetlink kernel, ISysctlWriter sysctls, InterfaceOptions options,
    ResiliencePipeline retry, ILogger logger)
{
    private readonly Dictionary<string, (int Index, WorkloadInterfaceItem Item, bool Migrating)> _configured = new(StringComparer.Ordinal);
    private readonly ReportedFailures<string> _reported = new(
        (name, reason) => LogFailed(logger, name, reason), name => LogRecovered(logger, name), StringComparer.Ordinal);
    private bool _hostConfigured;
    private bool _countDrift;

    /// <summary>Forget what was configured; the next reconcile checks every interface against the kernel.</summary>
    public void Invalidate()
    {
        _configured.Clear();
        _hostConfigured = false;
        _countDrift = true;
    }

    /// <summary>
    /// Forget what was configured on these interfaces only (the kernel said they came, went, or went up or down):
    /// the next reconcile checks them against the kernel again.
    /// </summary>
    public void Recheck(IEnumerable<string> names)
    {
        foreach (var name in names) _configured.Remove(name);
    }

    /// <param name="desired">The workload interfaces.</param>
    /// <param name="migrating">Those of a live migration (its source's or its target's): none if null.</param>
    public Dictionary<string, InterfaceResult> Reconcile(IReadOnlyCollection<WorkloadInterfaceItem> desired, IReadOnlySet<string>? migrating = null)
    {
        var drift = _countDrift;
        _countDrift = false;
        var links = retry.Execute(kernel.ListLinks).ToDictionary(l => l.Name, StringComparer.Ordinal);
        // Host forwarding is turned on with the first workload, not before: a node with none is left as it was.
        if (!_hostConfigured && desired.Count > 0) ConfigureHost(desired, drift);

        var results = new Dictionary<string, InterfaceResult>(StringComparer.Ordinal);
        foreach (var item in desired)
        {
            if (!links.TryGetValue(item.Name, out var link))
            {
                _configured.Remove(item.Name);
                results[item.Name] = new InterfaceResult(InterfaceState.Missing, 0, $"interface {item.Name} does not exist yet");
                continue;
            }
            // QoS is the QoS component's: a port whose limits alone changed needs nothing done here.
            var isMigrating = migrating?.Contains(item.Name) ?? false;
            if (_configured.TryGetValue(item.Name, out var done) && done.Index == link.Index && done.Item == item with { Qos = done.Item.Qos }
                && done.Migrating == isMigrating)
            {
                results[item.Name] = new InterfaceResult(InterfaceState.Ready, link.Index, null, WorkloadLinkWatch.IsLive(link));
                continue;
            }
            try
            {
                Configure(item, link, drift, isMigrating);
                _configured[item.Name] = (link.Index, item, isMigrating);
                results[item.Name] = new InterfaceResult(InterfaceState.Ready, link.Index, null, WorkloadLinkWatch.IsLive(link));
                Recovered(item.Name);
            }
            catch (Exception ex) when (ex is NetlinkException or IOException or UnauthorizedAccessException)
            {
                _configured.Remove(item.Name);
                results[item.Name] = new InterfaceResult(InterfaceState.Failed, link.Index, ex.Message);
                Failed(item.Name, ex.Message);
            }
        }
        // A set, not desired.Any per name: at 500 interfaces that was 250,000 comparisons in every pass.
        var names = desired.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _configured.Keys.Where(n => !names.Contains(n)).ToList()) _configured.Remove(gone);
        return results;
    }

    /// <summary>What <see cref="Reconcile"/> would do, read from the kernel, changing nothing.</summary>
    public List<string> Plan(IReadOnlyCollection<WorkloadInterfaceItem> desired, IReadOnlySet<string>? migrating = null)
    {
        var plan = new List<string>();
        var links = kernel.ListLinks().ToDictionary(l => l.Name, StringComparer.Ordinal);
        var settings = desired.Count > 0 ? HostSettings(desired) : [];
        foreach (var item in desired)
        {
            if (!links.TryGetValue(item.Name, out var link))
            {
                plan.Add($"wait   interface {item.Name} (does not exist yet; its routes wait for it)");
                continue;
            }
            settings.AddRange(InterfaceSettings(item, migrating?.Contains(item.Name) ?? false));
            if (!link.IsUp) plan.Add($"change link {item.Name} up");
            var (add, remove) = NeighbourChanges(item, link.Index);
            plan.AddRange(add.Select(n => $"add    neighbour {n.Destination} lladdr {item.MacAddress} dev {item.Name} permanent"));
            plan.AddRange(remove.Select(n => $"remove neighbour {n.Destination} dev {item.Name}"));
        }
        foreach (var setting in settings)
        {
            var current = sysctls.Read(setting.Key);
            if (current?.Trim() != setting.Value) plan.Add($"change sysctl {setting} (is {current?.Trim() ?? "missing"})");
        }
        return plan;
    }

    private static List<SysctlSetting> HostSettings(IReadOnlyCollection<WorkloadInterfaceItem> desired)
    {
        var settings = new List<SysctlSetting> { new("net/ipv4/ip_forward", "1") };
        if (desired.Any(i => i.Addresses.Any(a => a.Version == 6))) settings.Add(new SysctlSetting("net/ipv6/conf/all/forwarding", "1"));
        return settings;
    }

    private void ConfigureHost(IReadOnlyCollection<WorkloadInterfaceItem> desired, bool drift)
    {
        Count("sysctl", sysctls.Apply(HostSettings(desired)).Count, drift);
        _hostConfigured = true;
    }

    private List<SysctlSetting> InterfaceSettings(WorkloadInterfaceItem item, bool migrating)
    {
        var name = item.Name;
        var settings = new List<SysctlSetting>
        {
            Sysctls.IPv4ProxyArp(name, true),
            Sysctls.IPv4NeighbourProxyDelay(name, 0),
            Sysctls.IPv4Forwarding(name, true),
            Sysctls.IPv4RouteLocalnet(name, true),
            Sysctls.IPv4ReversePathFilter(name, options.ReversePathFilter),
        };
        if (item.Addresses.Any(a => a.Version == 6))
        {
            settings.Add(Sysctls.IPv6AcceptRouterAdvertisements(name, 0));
            settings.Add(Sysctls.IPv6Forwarding(name, true));
            settings.Add(Sysctls.IPv6ProxyNdp(name, true));
        }
        // Always stated, not only while migrating: what this agent set before a restart is read back from the kernel and
        // set back, instead of being remembered in memory only.
        settings.Add(Sysctls.IPv4IgnoreRoutesWithLinkdown(name, migrating));
        if (item.Addresses.Any(a => a.Version == 6)) settings.Add(Sysctls.IPv6IgnoreRoutesWithLinkdown(name, migrating));
        return settings;
    }

    /// <summary>Permanent neighbour entries: the workload's addresses at its MAC, nothing else of ours on this interface.</summary>
    private (List<Neighbour> Add, List<Neighbour> Remove) NeighbourChanges(WorkloadInterfaceItem item, int index)
    {
        var mac = PhysicalAddress.Parse(item.MacAddress.Replace(':', '-').ToUpperInvariant());
        var wanted = item.Addresses.Select(a => a.Address).ToHashSet();
        var present = retry.Execute(() => kernel.ListNeighbours(AddressFamily.Unspecified, index))
            .Where(n => n.State == NeighbourState.Permanent && !n.IsProxy).ToList();
        var add = wanted.Where(a => !present.Any(n => n.Destination.Equals(a) && mac.Equals(n.LinkAddress)))
            .Select(a => Neighbour.Permanent(index, a, mac)).ToList();
        return (add, present.Where(n => !wanted.Contains(n.Destination)).ToList());
    }

    private void Configure(WorkloadInterfaceItem item, Link link, bool drift, bool migrating)
    {
        Count("sysctl", sysctls.Apply(InterfaceSettings(item, migrating)).Count, drift);

        if (!link.IsUp)
        {
            retry.Execute(() => kernel.SetLinkUp(link.Index));
            Count("link", 1, drift);
        }

        var (add, remove) = NeighbourChanges(item, link.Index);
        foreach (var neighbour in add)
        {
            retry.Execute(() => kernel.ReplaceNeighbour(neighbour));
            Count("neighbour", 1, drift);
        }
        foreach (var stale in remove)
        {
            retry.Execute(() => kernel.DeleteNeighbour(stale));
            Count("neighbour", 1, drift);
        }
    }

    private static void Count(string kind, int written, bool drift)
    {
        if (written == 0) return;
        DataplaneTelemetry.Operations.Add(written, DataplaneTelemetry.Kind(kind), DataplaneTelemetry.Operation("write"));
        if (drift) DataplaneTelemetry.DriftRepairs.Add(written, DataplaneTelemetry.Kind(kind));
    }

    private void Failed(string name, string reason)
    {
        DataplaneTelemetry.Failures.Add(1, DataplaneTelemetry.Kind("interface"));
        _reported.Failed(name, reason);
    }

    private void Recovered(string name) => _reported.Recovered(name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot configure workload interface {Interface}: {Reason} (logged again only if the reason changes)")]
    private static partial void LogFailed(ILogger logger, string @interface, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workload interface {Interface} is configured again")]
    private static partial void LogRecovered(ILogger logger, string @interface);
}
