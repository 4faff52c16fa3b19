using System.Net;
using System.Net.Sockets;

namespace Calico.Topology.Kernel;

/// <summary>
/// HTTP from this process to a server inside a topology namespace, without giving this process (or the machine's
/// namespace) any address or route: every TCP connection's socket is created on a thread that has entered the
/// namespace (<see cref="Calico.Netlink.Namespaces.NetworkNamespace"/>), and a socket stays in the
/// namespace it was created in, so its connect, its routing and all its packets happen there. Only literal
/// addresses: there is no name resolution inside a topology. Proxies are never used.
/// </summary>
public static class NamespacedHttp
{
    public static HttpClient CreateClient(Netns ns, TimeSpan timeout) =>
        new(CreateHandler(ns), disposeHandler: true) { Timeout = timeout };

    public static SocketsHttpHandler CreateHandler(Netns ns) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        // A restarted server is a new peer: do not keep connections to the old one around for long.
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
        ConnectCallback = (context, cancellationToken) => ConnectAsync(ns, context.DnsEndPoint, cancellationToken),
    };

    public static async ValueTask<Stream> ConnectAsync(Netns ns, DnsEndPoint endpoint, CancellationToken cancellationToken)
    {
        if (!IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var address))
            throw new HttpRequestException($"'{endpoint.Host}' is not an IP address; connections into namespace {ns} use literal addresses only");
        var socket = await CreateSocketAsync(ns, address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            // connect(2) routes with the socket's namespace (fixed at creation), whichever thread calls it.
            await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A socket that lives in <paramref name="ns"/>: created on a thread that entered it.</summary>
    public static async Task<Socket> CreateSocketAsync(Netns ns, AddressFamily family, SocketType type, ProtocolType protocol)
    {
        // Awaited before the handle is disposed: the thread that enters the namespace uses it.
        using var handle = ns.Open();
        return await handle.RunAsync(() => new Socket(family, type, protocol));
    }
}
