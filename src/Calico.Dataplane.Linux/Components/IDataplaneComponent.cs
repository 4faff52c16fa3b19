using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Components;

/// <summary>
/// One part of the host's dataplane (workload interfaces, policy, routes, DHCP, and the coming ones), each owning a
/// bounded set of kernel objects, as Felix's dataplane managers do. The driver (<c>LinuxDataplane</c>) drives the
/// ordered list (<c>LinuxDataplaneComponents</c>) through one loop: apply, resync, kernel notices, plan,
/// statuses, disposal. Every call is made under the driver's gate, one component after the other, in list order, so a
/// component may read what an earlier one published in the pass (the interfaces' states, for routes).
/// </summary>
public interface IDataplaneComponent : IDisposable
{
    /// <summary>For logs and traces ("routes").</summary>
    string Name { get; }

    /// <summary>
    /// When several components find something wrong with one endpoint, the reason of the lowest shows: the most basic
    /// object first (link 0, route 1, policy 2, service 3), whatever the apply order.
    /// </summary>
    int StatusPrecedence { get; }

    /// <summary>The kinds of desired item it reads; the changes of an update it is handed are only of these kinds (a snapshot is every item).</summary>
    IReadOnlySet<DesiredKind> Consumes { get; }

    /// <summary>
    /// Makes the kernel hold what <see cref="DataplanePass.Desired"/> says, for the objects it owns. A failure that
    /// concerns endpoints is kept for <see cref="ReportStatuses"/>, not thrown.
    /// </summary>
    void Apply(DataplanePass pass);

    /// <summary>Forgets what it believes the kernel holds: the resync's <see cref="Apply"/> that follows reads it back.</summary>
    void Invalidate();

    /// <summary>The kernel said workload links came, went, or went up or down: reconcile what depends on them, if anything.</summary>
    void ReconcileLinks(LinkChangePass pass);

    /// <summary>What applying <see cref="PlanPass.Desired"/> would change, one line each; reads the kernel, writes nothing.</summary>
    IEnumerable<string> Plan(PlanPass pass);

    /// <summary>Adds what its last apply or reconcile left to the endpoints' statuses.</summary>
    void ReportStatuses(EndpointStatuses statuses);
}

/// <summary>One apply or resync, handed to each component in order.</summary>
public sealed class DataplanePass(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, bool drift,
    IReadOnlyList<DesiredChange>? changes, bool isSnapshot)
{
    /// <summary>The whole desired state of the host.</summary>
    public IReadOnlyDictionary<DesiredKey, DesiredItem> Desired { get; } = desired;

    /// <summary>A resync: beliefs were dropped, and what differs is drift (counted as such).</summary>
    public bool Drift { get; } = drift;

    /// <summary>A snapshot (or a resync): no change list to go by.</summary>
    public bool IsSnapshot { get; } = isSnapshot;

    /// <summary>What moved since the previous apply (null for a resync; every item for a snapshot): a hint, never the truth.</summary>
    public IReadOnlyList<DesiredChange>? Changes { get; } = changes;

    /// <summary>The items of one type.</summary>
    public List<T> Items<T>() where T : DesiredItem => Desired.Values.OfType<T>().ToList();

    /// <summary>Each desired workload interface and how it stands, published by the interfaces component for those after it.</summary>
    public IReadOnlyDictionary<string, InterfaceResult> Interfaces
    {
        get => _published.Interfaces;
        set => _published.Interfaces = value;
    }

    /// <summary>What components publish for those after them: shared by every component's view of one pass.</summary>
    private Published _published = new();

    /// <summary>This pass for a component: the changes only of the kinds it consumes (all of them for a snapshot, where every item is new).</summary>
    internal DataplanePass For(IDataplaneComponent component) =>
        Changes is null || IsSnapshot ? this
            : new DataplanePass(Desired, Drift, [.. Changes.Where(c => component.Consumes.Contains(c.Key.Kind))], IsSnapshot) { _published = _published };

    private sealed class Published
    {
        public IReadOnlyDictionary<string, InterfaceResult> Interfaces { get; set; } = new Dictionary<string, InterfaceResult>();
    }
}

/// <summary>A reconcile after link notices, handed to each component in order.</summary>
/// <param name="Noticed">The workload interfaces the notices named.</param>
public sealed class LinkChangePass(IReadOnlySet<string> noticed)
{
    public IReadOnlySet<string> Noticed { get; } = noticed;

    /// <summary>The interfaces whose state the interfaces component found changed (the noticed ones included), for those after it.</summary>
    public IReadOnlySet<string> Affected { get; set; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>How the interfaces stood before this reconcile, and how they stand after it.</summary>
    public IReadOnlyDictionary<string, InterfaceResult> Before { get; set; } = new Dictionary<string, InterfaceResult>();

    public IReadOnlyDictionary<string, InterfaceResult> After { get; set; } = new Dictionary<string, InterfaceResult>();
}

/// <summary>A plan, handed to each component in order.</summary>
public sealed class PlanPass(IReadOnlyDictionary<DesiredKey, DesiredItem> desired)
{
    public IReadOnlyDictionary<DesiredKey, DesiredItem> Desired { get; } = desired;

    public List<T> Items<T>() where T : DesiredItem => Desired.Values.OfType<T>().ToList();
}

/// <summary>
/// Every local endpoint's status, built from what the components report, in list order. An endpoint starts ACTIVE
/// (DOWN when administratively down); the first <see cref="Fail"/> decides its status; a <see cref="Degrade"/> turns an
/// ACTIVE endpoint to ERROR and is added to an ERROR's message, but leaves a DOWN one down (nothing to degrade).
/// </summary>
public sealed class EndpointStatuses
{
    private readonly Dictionary<string, EndpointProgramming> _statuses = new(StringComparer.Ordinal);
    private readonly HashSet<string> _decided = new(StringComparer.Ordinal);
    private readonly List<(string Endpoint, string Reason)> _degraded = [];
    private readonly HashSet<string> _arrived = new(StringComparer.Ordinal);

    internal EndpointStatuses(IReadOnlyList<WorkloadInterfaceItem> endpoints)
    {
        Endpoints = endpoints;
        foreach (var endpoint in endpoints)
            _statuses[endpoint.EndpointId] = endpoint.AdminUp
                ? new EndpointProgramming(EndpointStatusKind.Active, null)
                : new EndpointProgramming(EndpointStatusKind.Down, "administratively down");
    }

    /// <summary>The local endpoints (desired workload interfaces) of the last apply.</summary>
    public IReadOnlyList<WorkloadInterfaceItem> Endpoints { get; }

    /// <summary>The endpoint cannot be ACTIVE, for <paramref name="reason"/>; unless an earlier component already said why not.</summary>
    public void Fail(string endpointId, EndpointStatusKind status, string? reason)
    {
        if (!_statuses.ContainsKey(endpointId) || !_decided.Add(endpointId)) return;
        _statuses[endpointId] = new EndpointProgramming(status, reason);
    }

    /// <summary>
    /// The endpoint is a live migration's, this host its target, and its VM has arrived (the routes component took its
    /// routes over). Kept whatever its status: the control plane hears of the arrival with the status.
    /// </summary>
    public void MarkArrived(string endpointId)
    {
        if (_statuses.ContainsKey(endpointId)) _arrived.Add(endpointId);
    }

    /// <summary>Part of the endpoint's service is missing (DHCP), whatever else stands.</summary>
    public void Degrade(string endpointId, string reason)
    {
        if (_statuses.ContainsKey(endpointId)) _degraded.Add((endpointId, reason));
    }

    internal Dictionary<string, EndpointProgramming> Build()
    {
        foreach (var (endpoint, reason) in _degraded)
        {
            var status = _statuses[endpoint];
            _statuses[endpoint] = status.Status switch
            {
                EndpointStatusKind.Active => new EndpointProgramming(EndpointStatusKind.Error, reason),
                EndpointStatusKind.Error => status with { Message = $"{status.Message}; {reason}" },
                _ => status,
            };
        }
        foreach (var endpoint in _arrived) _statuses[endpoint] = _statuses[endpoint] with { Arrived = true };
        return _statuses;
    }
}
