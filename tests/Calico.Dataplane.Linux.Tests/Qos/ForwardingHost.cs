using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Microsoft.Extensions.Logging.Abstractions;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Qos;

/// <summary>
/// A host namespace of the test's own with one VM namespace behind its tap, and another machine on the fabric that
/// routes the VMs via this host, so that the VM's traffic is forwarded by the host as in a cloud. The three namespaces
/// are removed on dispose (and if the set-up fails).
/// </summary>
internal sealed class ForwardingHost : IDisposable
{
    public ForwardingHost(string tap, string mac, string hostAddress, string vmAddress, string remoteAddress)
    {
        Host = TestNamespace.Create("cal-host");
        Vm = TestNamespace.Create("cal-vm");
        Remote = TestNamespace.Create("cal-rem");
        try
        {
            Host.AddVethPair("fab0", "eth0", Remote);
            Host.Ip("addr", "add", $"{hostAddress}/24", "dev", "fab0");
            Remote.Ip("addr", "add", $"{remoteAddress}/24", "dev", "eth0");
            Remote.Ip("route", "add", "10.65.0.0/16", "via", hostAddress);
            Host.AddVethPair(tap, "eth0", Vm);
            Vm.Ip("addr", "add", $"{vmAddress}/24", "dev", "eth0");
            Vm.Ip("link", "set", "eth0", "address", mac);
            Vm.Ip("route", "add", "default", "dev", "eth0");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNamespace Host { get; }

    public TestNamespace Vm { get; }

    public TestNamespace Remote { get; }

    /// <summary>The whole Linux dataplane, programming <see cref="Host"/>.</summary>
    public LinuxDataplane Dataplane(FeatureOptions features) =>
        new(Microsoft.Extensions.Options.Options.Create(Options(Host.Name)), NullLoggerFactory.Instance, features);

    public void Dispose()
    {
        Vm.Dispose();
        Remote.Dispose();
        Host.Dispose();
    }
}
