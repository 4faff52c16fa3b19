using System.Collections.Concurrent;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>The link monitor against the real kernel, in namespaces these tests create.</summary>
public sealed class LinkMonitorKernelTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TestNamespace _ns = TestNamespace.Create();

    public void Dispose() => _ns.Dispose();

    /// <summary>What a monitor raised, in order; waits for what a test expects without a timing assertion.</summary>
    private sealed class Recorder
    {
        private readonly BlockingCollection<object> _raised = [];
        private readonly ConcurrentQueue<object> _all = new();

        public Recorder(NetlinkLinkMonitor monitor)
        {
            monitor.LinkChanged += (_, e) => Add(e);
            monitor.NotificationsLost += (_, e) => Add(e);
        }

        public IReadOnlyCollection<object> All => _all;

        private void Add(object raised)
        {
            _all.Enqueue(raised);
            _raised.Add(raised);
        }

        /// <summary>The next notice that satisfies <paramref name="wanted"/>, skipping others; fails after a generous wait.</summary>
        public T Next<T>(Func<T, bool> wanted, string what)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (_raised.TryTake(out var raised, deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero))
            {
                if (raised is T notice && wanted(notice)) return notice;
            }
            Assert.Fail($"no {what} within {Patience.TotalSeconds} s; raised: {string.Join("; ", _all)}");
            return default!;
        }
    }

    private NetlinkLinkMonitor OpenMonitor(int receiveBufferBytes = NetlinkLinkMonitor.DefaultReceiveBufferBytes)
    {
        using var ns = _ns.Open();
        return NetlinkLinkMonitor.Open(ns, receiveBufferBytes);
    }

    [Fact]
    public void Sees_a_tap_created_set_up_and_deleted_in_its_own_namespace_only()
    {
        using var other = TestNamespace.Create();
        using var monitor = OpenMonitor();
        var recorder = new Recorder(monitor);
        monitor.Start();

        // Created first, in another namespace: if the monitor listened there, this would be the first thing it saw.
        other.Ip("link", "add", "tapother0-00", "type", "veth", "peer", "name", "other-peer");
        _ns.Ip("link", "add", "tap1234abcd-ef", "type", "veth", "peer", "name", "tap-peer");
        var created = recorder.Next<LinkEvent>(e => e.Link.Name == "tap1234abcd-ef", "RTM_NEWLINK of the tap");
        _ns.Ip("link", "set", "tap-peer", "up");
        _ns.Ip("link", "set", "tap1234abcd-ef", "up");
        var up = recorder.Next<LinkEvent>(e => e.Link.Name == "tap1234abcd-ef" && e.Link.IsUp, "RTM_NEWLINK of the tap up");
        _ns.Ip("link", "del", "tap1234abcd-ef");
        var deleted = recorder.Next<LinkEvent>(e => e.Link.Name == "tap1234abcd-ef" && e.Kind == LinkEventKind.Deleted, "RTM_DELLINK of the tap");

        Assert.Equal(LinkEventKind.Changed, created.Kind);
        Assert.False(created.Link.IsUp);
        Assert.Equal("veth", created.Link.Kind);
        Assert.Equal(created.Link.Index, up.Link.Index);
        Assert.Equal(LinkEventKind.Changed, up.Kind);
        Assert.Equal(created.Link.Index, deleted.Link.Index);
        Assert.DoesNotContain(recorder.All, raised => raised is LinkEvent e && e.Link.Name is "tapother0-00" or "other-peer");
        Assert.DoesNotContain(recorder.All, raised => raised is LinkNotificationsLost);
    }

    [Fact]
    public void Created_before_start_is_still_seen_since_the_group_is_joined_at_open()
    {
        using var monitor = OpenMonitor();
        _ns.Ip("link", "add", "tapearly000-00", "type", "veth", "peer", "name", "early-peer");
        var recorder = new Recorder(monitor);
        monitor.Start();

        var created = recorder.Next<LinkEvent>(e => e.Link.Name == "tapearly000-00", "RTM_NEWLINK of a tap created before Start");
        Assert.Equal(_ns.IndexOf("tapearly000-00"), created.Link.Index);
    }

    [Fact]
    public void An_overrun_is_reported_and_notices_keep_coming_after_it()
    {
        // A receive buffer far too small for the notices queued before the thread starts reading: the kernel drops
        // what does not fit and says so with ENOBUFS at the next read.
        using var monitor = OpenMonitor(receiveBufferBytes: 4096);
        for (var i = 0; i < 20; i++) _ns.Ip("link", "add", $"tapburst{i:d2}-00", "type", "veth", "peer", "name", $"burst-peer{i:d2}");
        var recorder = new Recorder(monitor);
        monitor.Start();

        var lost = recorder.Next<LinkNotificationsLost>(_ => true, "an overrun report");
        _ns.Ip("link", "add", "tapafter00-00", "type", "veth", "peer", "name", "after-peer");
        recorder.Next<LinkEvent>(e => e.Link.Name == "tapafter00-00", "RTM_NEWLINK after the overrun");

        Assert.False(lost.Stopped);
        Assert.Contains("ENOBUFS", lost.Reason, StringComparison.Ordinal);
        Assert.True(monitor.IsRunning);
    }

    [Fact]
    public void Dispose_ends_the_reading_thread_and_nothing_is_raised_after()
    {
        var monitor = OpenMonitor();
        var recorder = new Recorder(monitor);
        monitor.Start();
        _ns.Ip("link", "add", "tapbefore0-00", "type", "veth", "peer", "name", "before-peer");
        recorder.Next<LinkEvent>(e => e.Link.Name == "tapbefore0-00", "RTM_NEWLINK before Dispose");
        Assert.True(monitor.IsRunning);

        monitor.Dispose();
        var raisedBefore = recorder.All.Count;
        _ns.Ip("link", "add", "tapafter00-00", "type", "veth", "peer", "name", "after-peer");
        _ns.Ip("link", "del", "tapafter00-00");

        Assert.False(monitor.IsRunning);
        Assert.Equal(raisedBefore, recorder.All.Count);
        monitor.Dispose();
    }

    [Fact]
    public void A_handler_may_dispose_the_monitor_from_its_own_thread()
    {
        var monitor = OpenMonitor();
        using var disposed = new ManualResetEventSlim();
        monitor.LinkChanged += (_, _) =>
        {
            monitor.Dispose();
            disposed.Set();
        };
        monitor.Start();

        _ns.Ip("link", "add", "tapself000-00", "type", "veth", "peer", "name", "self-peer");

        Assert.True(disposed.Wait(Patience), "the handler never ran");
        var deadline = DateTime.UtcNow + Patience;
        while (monitor.IsRunning && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Assert.False(monitor.IsRunning);
    }
}
