using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Processes;
using Calico.Nftables;
using Microsoft.Extensions.Logging;
using Polly;

namespace Calico.Dataplane.Linux.Components;

/// <summary>
/// One entry of the dataplane's ordered component list: how to build the component on a kernel, or null when that
/// kernel or the options leave it out (policy off); and how its options class is bound.
/// </summary>
public sealed record DataplaneComponentRegistration(string Name, Func<DataplaneComponentContext, IDataplaneComponent?> Create)
{
    /// <summary>The component's own options class, bound and validated by AddCalicoLinuxDataplane; null: it has none.</summary>
    public FeatureOptionsBinding? Options { get; init; }
}

/// <summary>
/// What a component is built from: the kernel's facilities, the dataplane's options and each component's own, the one
/// retry pipeline, logging, time.
/// </summary>
public sealed record DataplaneComponentContext(DataplaneKernel Kernel, DataplaneOptions Options, FeatureOptions Features,
    ResiliencePipeline Retry, ILoggerFactory Loggers, TimeProvider Time);

/// <summary>
/// The kernel facilities the components program: the real ones in the configured namespace, or fakes in tests.
/// </summary>
/// <param name="Netlink">Routes, links, neighbours, addresses (thread-safe: DHCP's restart timer uses it too).</param>
/// <param name="Sysctls">Interface and host sysctls.</param>
/// <param name="Processes">Where supervised programs run (dnsmasq), in the same namespace.</param>
/// <param name="Nftables">nftables, when policy is on.</param>
/// <param name="Links">Link notifications, when watched.</param>
/// <param name="Owned">Disposed with the dataplane, after its components.</param>
/// <param name="TrafficControl">qdiscs and filters, for QoS; null on kernels without it (the unit tests' fake): no QoS component.</param>
public sealed record DataplaneKernel(INetlink Netlink, ISysctlWriter Sysctls, IProcessHost Processes, INftables? Nftables = null,
    ILinkNotifications? Links = null, IDisposable? Owned = null, ITrafficControl? TrafficControl = null);
