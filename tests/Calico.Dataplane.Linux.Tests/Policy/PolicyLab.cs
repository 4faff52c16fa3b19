using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Desired;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>
/// One compute host with two VMs and the outside world, each a network namespace of the test's own (always deleted):
/// <code>
///  outside 172.18.203.1 (eth0) ── fab0 172.18.203.44  host  tapvma00000001 ── eth0 vm-a 10.65.0.3 fa:16:3e:00:00:03
///                                                          tapvmb00000002 ── eth0 vm-b 10.65.0.4 fa:16:3e:00:00:04
/// </code>
/// The host routes each VM's /32 to its tap and answers ARP by proxy, as the interface and route reconcilers make it
/// (set up here with iproute2, so these tests exercise the policy alone); the outside routes the workload and
/// floating ranges via the host. Probes are sockets opened inside a namespace, or ping run in it; no packet ever
/// leaves these namespaces.
/// </summary>
internal sealed class PolicyLab : IDisposable
{
    public const string TapA = "tapvma00000001";
    public const string TapB = "tapvmb00000002";
    public const string MacA = "fa:16:3e:00:00:03";
    public const string MacB = "fa:16:3e:00:00:04";
    public static readonly IPAddress A = IPAddress.Parse("10.65.0.3");
    public static readonly IPAddress B = IPAddress.Parse("10.65.0.4");
    public static readonly IPAddress HostAddress = IPAddress.Parse("172.18.203.44");
    public static readonly IPAddress OutsideAddress = IPAddress.Parse("172.18.203.1");
    public static readonly IPAddress FloatingA = IPAddress.Parse("172.24.4.10");

    private readonly List<IDisposable> _owned = [];

    /// <param name="programmedByHand">
    /// Whether the host's VM routes and proxy ARP are set up here (policy tests), or left to the Linux dataplane's
    /// own reconcilers (driver tests).
    /// </param>
    public PolicyLab(bool programmedByHand = true)
    {
        Host = TestNamespace.Create("cal-host");
        try
        {
            Outside = TestNamespace.Create("cal-out");
            VmA = TestNamespace.Create("cal-vm");
            VmB = TestNamespace.Create("cal-vm");
            Host.AddVethPair("fab0", "eth0", Outside);
            Host.Ip("addr", "add", "172.18.203.44/24", "dev", "fab0");
            Outside.Ip("addr", "add", "172.18.203.1/24", "dev", "eth0");
            Outside.Ip("route", "add", "10.65.0.0/16", "via", "172.18.203.44");
            Outside.Ip("route", "add", "172.24.4.0/24", "via", "172.18.203.44");
            // The outside is the host's way to everything else (as a real host's default route), so the host
            // answers ARP for any address by proxy, 169.254.169.254 included.
            Host.Ip("route", "add", "default", "via", "172.18.203.1");
            Host.Exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            Vm(VmA, TapA, MacA, "10.65.0.3", programmedByHand);
            Vm(VmB, TapB, MacB, "10.65.0.4", programmedByHand);
            using var handle = Host.Open();
            Kernel = NftablesKernel.Open(handle);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNamespace Host { get; }

    public TestNamespace Outside { get; } = null!;

    public TestNamespace VmA { get; } = null!;

    public TestNamespace VmB { get; } = null!;

    public NftablesKernel Kernel { get; } = null!;

    public static readonly IPAddress A6 = IPAddress.Parse("fd00:65::3");
    public static readonly IPAddress Outside6 = IPAddress.Parse("fd00:18::1");

    /// <summary>
    /// IPv6 as well: fab0 fd00:18::44/64, the outside fd00:18::1 routing fd00:65::/64 via the host, vm-a fd00:65::3
    /// routed to its tap, its default route via the tap's fe80::1. Addresses without DAD, so nothing waits.
    /// </summary>
    public void EnableIpv6()
    {
        Host.Exec("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
        Host.Ip("-6", "addr", "add", "fd00:18::44/64", "dev", "fab0", "nodad");
        Outside.Ip("-6", "addr", "add", "fd00:18::1/64", "dev", "eth0", "nodad");
        Outside.Ip("-6", "route", "add", "fd00:65::/64", "via", "fd00:18::44");
        Host.Ip("-6", "addr", "add", "fe80::1/64", "dev", TapA, "nodad");
        Host.Ip("-6", "route", "add", "fd00:65::3/128", "dev", TapA);
        VmA.Ip("-6", "addr", "add", "fd00:65::3/128", "dev", "eth0", "nodad");
        VmA.Ip("-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0");
    }

    /// <summary>The policy of the host, on the host namespace's nftables; metadata goes to the outside namespace.</summary>
    public WorkloadPolicy Policy(PolicySettings? settings = null) =>
        new(Kernel, settings ?? PolicySettings.Default with { MetadataAddress = OutsideAddress, MetadataPort = 8775 });

    private void Vm(TestNamespace vm, string tap, string mac, string address, bool programmedByHand)
    {
        Host.AddVethPair(tap, "eth0", vm);
        vm.Ip("link", "set", "eth0", "address", mac);
        vm.Ip("addr", "add", address + "/24", "dev", "eth0");
        vm.Ip("route", "add", "default", "dev", "eth0");
        if (!programmedByHand) return;
        Host.Ip("route", "add", address + "/32", "dev", tap);
        Host.Exec("sysctl", "-q", "-w", $"net.ipv4.conf.{tap}.proxy_arp=1", $"net.ipv4.neigh.{tap}.proxy_delay=0");
    }

    // ---- Probes ----

    /// <summary>A TCP listener inside <paramref name="ns"/> that records the source address of every connection.</summary>
    public Listener ListenTcp(TestNamespace ns, IPAddress address, int port)
    {
        var listener = Listener.Tcp(ns, address, port);
        _owned.Add(listener);
        return listener;
    }

    /// <summary>A UDP server inside <paramref name="ns"/> that answers every datagram and records its source.</summary>
    public Listener ListenUdp(TestNamespace ns, IPAddress address, int port)
    {
        var listener = Listener.Udp(ns, address, port);
        _owned.Add(listener);
        return listener;
    }

    /// <summary>Whether a TCP connection from <paramref name="ns"/> is established in time.</summary>
    public static async Task<bool> ConnectsAsync(TestNamespace ns, IPAddress to, int port, IPAddress? from = null, int timeoutMs = 1500)
    {
        using var socket = OpenSocket(ns, to.AddressFamily, SocketType.Stream, ProtocolType.Tcp, from);
        using var timeout = new CancellationTokenSource(timeoutMs);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(to, port), timeout.Token);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    /// <summary>Whether a UDP datagram from <paramref name="ns"/> is answered in time.</summary>
    public static async Task<bool> AnsweredAsync(TestNamespace ns, IPAddress to, int port, IPAddress? from = null, int timeoutMs = 1500)
    {
        using var socket = OpenSocket(ns, to.AddressFamily, SocketType.Dgram, ProtocolType.Udp, from);
        using var timeout = new CancellationTokenSource(timeoutMs);
        try
        {
            await socket.SendToAsync(new byte[] { 1, 2, 3 }, new IPEndPoint(to, port), timeout.Token);
            var buffer = new byte[16];
            await socket.ReceiveFromAsync(buffer, new IPEndPoint(to.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0), timeout.Token);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    /// <summary>Sends one UDP datagram from <paramref name="ns"/> and waits for nothing.</summary>
    public static async Task SendAsync(TestNamespace ns, IPAddress to, int port, IPAddress? from = null)
    {
        using var socket = OpenSocket(ns, to.AddressFamily, SocketType.Dgram, ProtocolType.Udp, from);
        await socket.SendToAsync(new byte[] { 1 }, new IPEndPoint(to, port));
    }

    /// <summary>Whether one ping from <paramref name="ns"/> is answered within a second.</summary>
    public static Task<bool> PingsAsync(TestNamespace ns, IPAddress to) => Task.Run(() =>
    {
        try
        {
            ns.Exec("ping", "-n", "-q", "-c", "1", "-W", "1", to.ToString());
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    });

    private static Socket OpenSocket(TestNamespace ns, AddressFamily family, SocketType type, ProtocolType protocol, IPAddress? from)
    {
        using var handle = ns.Open();
        return handle.Run(() =>
        {
            var socket = new Socket(family, type, protocol);
            if (from is not null) socket.Bind(new IPEndPoint(from, 0));
            return socket;
        });
    }

    public void Dispose()
    {
        foreach (var owned in _owned) owned.Dispose();
        Kernel?.Dispose();
        VmB?.Dispose();
        VmA?.Dispose();
        Outside?.Dispose();
        Host.Dispose();
    }

    /// <summary>A server socket inside a namespace, serving until disposed; it records who reached it.</summary>
    internal sealed class Listener : IDisposable
    {
        private readonly Socket _socket;
        private readonly CancellationTokenSource _stop = new();

        private Listener(Socket socket) => _socket = socket;

        public ConcurrentQueue<IPAddress> Peers { get; } = new();

        public static Listener Tcp(TestNamespace ns, IPAddress address, int port)
        {
            using var handle = ns.Open();
            var socket = handle.Run(() =>
            {
                var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                s.Bind(new IPEndPoint(address, port));
                s.Listen(16);
                return s;
            });
            var listener = new Listener(socket);
            _ = Task.Run(listener.AcceptLoopAsync);
            return listener;
        }

        public static Listener Udp(TestNamespace ns, IPAddress address, int port)
        {
            using var handle = ns.Open();
            var socket = handle.Run(() =>
            {
                var s = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(address, port));
                return s;
            });
            var listener = new Listener(socket);
            _ = Task.Run(listener.EchoLoopAsync);
            return listener;
        }

        /// <summary>Whether a connection or datagram from <paramref name="source"/> arrived, waiting up to <paramref name="waitMs"/> for one.</summary>
        public async Task<bool> SawAsync(IPAddress source, int waitMs = 1000)
        {
            for (var waited = 0; waited < waitMs && !Peers.Contains(source); waited += 20) await Task.Delay(20);
            return Peers.Contains(source);
        }

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var client = await _socket.AcceptAsync(_stop.Token);
                    Peers.Enqueue(((IPEndPoint)client.RemoteEndPoint!).Address);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task EchoLoopAsync()
        {
            var buffer = new byte[64];
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var received = await _socket.ReceiveFromAsync(buffer, new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0), _stop.Token);
                    var peer = (IPEndPoint)received.RemoteEndPoint;
                    Peers.Enqueue(peer.Address);
                    await _socket.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), peer, _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
            _stop.Dispose();
        }
    }
}

/// <summary>Desired state helpers for the lab's two VMs.</summary>
internal static class LabState
{
    public static WorkloadInterfaceItem VmA(params string[] groups) =>
        PolicySamples.Endpoint(PolicyLab.TapA, PolicyLab.MacA, ["10.65.0.3"], groups);

    public static WorkloadInterfaceItem VmB(params string[] groups) =>
        PolicySamples.Endpoint(PolicyLab.TapB, PolicyLab.MacB, ["10.65.0.4"], groups);
}
