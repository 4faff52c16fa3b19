using System.Net;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Kernel;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Microsoft.Extensions.Logging.Abstractions;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>Desired states in the shape the control plane sends, for the dataplane tests.</summary>
public static class Desired
{
    public static WorkloadInterfaceItem Interface(string name, string mac, params string[] addresses) =>
        new(name, "port-" + name, mac, addresses.Select(a => IpPrefix.Host(IPAddress.Parse(a))).ToValueList(),
            true, ValueList<string>.Empty, ValueList<Calico.Model.Resources.AllowedAddressPair>.Empty, 1500);

    public static RouteItem Local(string prefix, string device) => RouteItem.Local(IpPrefix.Parse(prefix), device);

    public static RouteItem Via(string prefix, string gateway) => RouteItem.Via(IpPrefix.Parse(prefix), IPAddress.Parse(gateway), "h");

    public static RouteItem Blackhole(string prefix) => RouteItem.Blackhole(IpPrefix.Parse(prefix));

    public static Dictionary<DesiredKey, DesiredItem> State(params DesiredItem[] items) => items.ToDictionary(i => i.Key);

    public static DataplaneOptions Options(string? ns = null) => new() { NetworkNamespace = ns, RetryBaseDelay = TimeSpan.FromMilliseconds(1) };

    public static LinuxDataplane On(FakeKernel kernel, DataplaneOptions? options = null)
    {
        options ??= Options();
        return new LinuxDataplane(kernel, kernel, options, NullLoggerFactory.Instance, options.Retry());
    }

    public static Task<DataplaneResult> ApplyAsync(this IDataplane dataplane, Dictionary<DesiredKey, DesiredItem> state) =>
        dataplane.ApplyAsync(state, state.Values.Select(i => new DesiredChange(i.Key, i)).ToList(), true, CancellationToken.None);
}
