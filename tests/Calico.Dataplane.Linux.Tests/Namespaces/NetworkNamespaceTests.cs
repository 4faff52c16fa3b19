using Calico.Netlink;
using Calico.Netlink.Namespaces;

namespace Calico.Dataplane.Linux.Tests.Namespaces;

public class NetworkNamespaceTests
{
    [Fact]
    public void Client_socket_stays_in_the_namespace_while_the_process_stays_where_it_is()
    {
        using var ns = TestNamespace.Create();
        ns.Ip("link", "add", "only-here0", "type", "veth", "peer", "name", "only-here1");
        var before = NamespaceOf("/proc/self/ns/net");
        var threadBefore = NamespaceOf("/proc/thread-self/ns/net");

        using var inside = ns.OpenRouteClient();
        using var here = NetlinkRouteClient.Open(); // listing only: nothing is ever written outside test namespaces

        Assert.Contains(inside.ListLinks(), l => l.Name == "only-here0");
        Assert.DoesNotContain(here.ListLinks(), l => l.Name == "only-here0");
        Assert.Equal(before, NamespaceOf("/proc/self/ns/net"));
        Assert.Equal(threadBefore, NamespaceOf("/proc/thread-self/ns/net"));
    }

    [Fact]
    public async Task Run_executes_the_delegate_inside_on_its_own_thread()
    {
        using var ns = TestNamespace.Create();
        using var handle = ns.Open();
        var caller = NamespaceOf("/proc/thread-self/ns/net");
        var callerThread = Environment.CurrentManagedThreadId;

        var (inside, thread) = handle.Run(() => (NamespaceOf("/proc/thread-self/ns/net"), Environment.CurrentManagedThreadId));

        Assert.NotEqual(caller, inside);
        Assert.NotEqual(callerThread, thread);
        Assert.Equal(caller, NamespaceOf("/proc/thread-self/ns/net"));
        Assert.Equal(inside, await handle.RunAsync(() => NamespaceOf("/proc/thread-self/ns/net")));
    }

    [Fact]
    public void Run_rethrows_what_the_delegate_throws()
    {
        using var ns = TestNamespace.Create();
        using var handle = ns.Open();

        var error = Assert.Throws<InvalidOperationException>(() => handle.Run(() => throw new InvalidOperationException("inside")));

        Assert.Equal("inside", error.Message);
    }

    [Fact]
    public void Opening_a_namespace_that_does_not_exist_or_a_path_as_a_name_fails_clearly()
    {
        TestNamespace.RequireRoot();

        var missing = Assert.Throws<FileNotFoundException>(() => NetworkNamespace.Open("cal-t-does-not-exist"));
        Assert.Contains("/var/run/netns/cal-t-does-not-exist", missing.Message);
        Assert.Throws<ArgumentException>(() => NetworkNamespace.Open("../etc"));
    }

    private static string NamespaceOf(string path) => new FileInfo(path).LinkTarget ?? throw new InvalidOperationException(path);
}
