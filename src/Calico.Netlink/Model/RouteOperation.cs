namespace Calico.Netlink;

public enum RouteOperationKind
{
    /// <summary>Create or overwrite the route with the same key (NLM_F_CREATE | NLM_F_REPLACE): idempotent.</summary>
    Replace,
    /// <summary>Create only (NLM_F_CREATE | NLM_F_EXCL): EEXIST if the key is taken.</summary>
    Add,
    /// <summary>Delete the route with the key, and only if its protocol matches (when the route names one): ESRCH otherwise.</summary>
    Delete,
}

/// <summary>One write of a batch (<see cref="NetlinkRouteClient.Apply"/>).</summary>
public readonly record struct RouteOperation(RouteOperationKind Kind, Route Route)
{
    public static RouteOperation Replace(Route route) => new(RouteOperationKind.Replace, route);

    public static RouteOperation Add(Route route) => new(RouteOperationKind.Add, route);

    public static RouteOperation Delete(Route route) => new(RouteOperationKind.Delete, route);

    /// <summary>"replace route 10.65.0.3/32 via ...", "delete route 10.65.0.0/26 proto bird".</summary>
    internal string Describe(Func<int, string> interfaceName) => Kind switch
    {
        RouteOperationKind.Delete => $"delete route {RouteText.FormatKey(Route.Key, Route.Protocol)}",
        RouteOperationKind.Add => $"add route {RouteText.Format(Route, interfaceName)}",
        _ => $"replace route {RouteText.Format(Route, interfaceName)}",
    };

    public override string ToString() => Describe(static index => $"if{index}");
}

/// <summary>The outcome of one operation of a batch: <see cref="Error"/> is null when the kernel accepted it.</summary>
public readonly record struct RouteOperationResult(RouteOperation Operation, NetlinkException? Error)
{
    public bool Succeeded => Error is null;
}
