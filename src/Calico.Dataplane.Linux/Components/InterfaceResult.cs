namespace Calico.Dataplane.Linux.Components;

/// <summary>Where a workload interface stands after a reconcile.</summary>
public enum InterfaceState { Ready, Missing, Failed }

/// <summary>
/// How one workload interface stands, as the interfaces component publishes it in a pass for the components after it
/// (a local route needs the interface's index).
/// </summary>
public sealed record InterfaceResult(InterfaceState State, int Index, string? Reason);
