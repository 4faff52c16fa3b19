namespace Calico.Dataplane.Linux.Components;

/// <summary>Where a workload interface stands after a reconcile.</summary>
public enum InterfaceState { Ready, Missing, Failed }

/// <summary>
/// How one workload interface stands, as the interfaces component publishes it in a pass for the components after it
/// (a local route needs the interface's index). <see cref="Live"/>: up, with carrier (IFF_LOWER_UP), and having
/// received a frame (IFLA_STATS64 rx_packets), as the link listing showed it: a VM runs at its other end and has spoken,
/// which is how a live migration's target knows the VM has arrived (carrier alone only says that a process holds the
/// tap open: <see cref="Interfaces.WorkloadLinkWatch.IsLive"/>).
/// </summary>
public sealed record InterfaceResult(InterfaceState State, int Index, string? Reason, bool Live = false);
