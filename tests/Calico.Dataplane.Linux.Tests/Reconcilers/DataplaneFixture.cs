using System.Net;
using Calico.Dataplane.Linux.Bgp;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Tests.Processes;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Nftables;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

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

    /// <summary>
    /// The unit tests' driver: on fakes — rtnetlink and sysctls (<see cref="FakeKernel"/>), processes
    /// (<see cref="FakeProcessHost"/>, a new one when none is given), nftables when given (policy on, as
    /// Dataplane:PolicyEnabled would have it), link notices when given — with every component production has
    /// (<see cref="LinuxDataplaneComponents.All"/>, or <paramref name="components"/>). DHCP's files go to the directory
    /// <paramref name="features"/> gives, or else to one under the temporary directory that exists only if DHCP is
    /// applied: never to the machine's /var/lib/calico; BIRD's likewise.
    /// </summary>
    public static LinuxDataplane On(FakeKernel kernel, DataplaneOptions? options = null, ResiliencePipeline? retry = null,
        INftables? nftables = null, ILinkNotifications? links = null, FakeProcessHost? processes = null, FeatureOptions? features = null,
        TimeProvider? time = null, IEnumerable<DataplaneComponentRegistration>? components = null)
    {
        options ??= Options();
        features ??= FeatureOptions.Defaults;
        var dhcp = features.Get<DhcpOptions>();
        if (dhcp.DhcpStateDirectory == new DhcpOptions().DhcpStateDirectory)
            features = features.With(new DhcpOptions
            {
                DhcpStateDirectory = Path.Combine(Path.GetTempPath(), "calico-unit-dhcp-" + Guid.NewGuid().ToString("N")),
                DnsmasqPath = dhcp.DnsmasqPath,
                DhcpLeaseTime = dhcp.DhcpLeaseTime,
                DhcpRestartDelay = dhcp.DhcpRestartDelay,
                DhcpMaxRestartDelay = dhcp.DhcpMaxRestartDelay,
            });
        if (features.Get<BgpOptions>().BirdStateDirectory == new BgpOptions().BirdStateDirectory)
            features = features.With(new BgpOptions { BirdStateDirectory = Path.Combine(Path.GetTempPath(), "cal-unit-bird-" + Guid.NewGuid().ToString("N")[..12]) });
        return new LinuxDataplane(new DataplaneKernel(kernel, kernel, processes ?? new FakeProcessHost(), nftables, links), options,
            NullLoggerFactory.Instance, retry ?? options.Retry(), components ?? LinuxDataplaneComponents.All, time, features);
    }

    public static Task<DataplaneResult> ApplyAsync(this IDataplane dataplane, Dictionary<DesiredKey, DesiredItem> state) =>
        dataplane.ApplyAsync(state, state.Values.Select(i => new DesiredChange(i.Key, i)).ToList(), true, CancellationToken.None);
}
