using System.Net;
using System.Net.Sockets;
using System.Text;
using Calico.Topology.Kernel;

namespace Calico.Topology.Probes;

/// <summary>
/// A tiny TCP echo server whose listening socket lives in a VM's namespace (created there by this process, so no
/// tool such as nc is needed): it answers every line with "echo: " and the line.
/// </summary>
public sealed class TcpEchoServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _accepted;

    private TcpEchoServer(Socket listener, IPEndPoint endpoint)
    {
        _listener = listener;
        Endpoint = endpoint;
        _loop = AcceptLoopAsync();
    }

    public IPEndPoint Endpoint { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    public static async Task<TcpEchoServer> StartAsync(Netns ns, IPEndPoint endpoint)
    {
        var socket = await NamespacedHttp.CreateSocketAsync(ns, endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(16);
            return new TcpEchoServer(socket, endpoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            Interlocked.Increment(ref _accepted);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                await using var stream = new NetworkStream(client);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
                while (await reader.ReadLineAsync(_stop.Token) is { } line) await writer.WriteLineAsync("echo: " + line);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _loop;
        _stop.Dispose();
    }
}

public static class TcpProbe
{
    /// <summary>Connects from inside <paramref name="from"/> to <paramref name="to"/>, sends one line and returns the answer line.</summary>
    public static async Task<string> ExchangeAsync(Netns from, IPEndPoint to, string message, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var socket = await NamespacedHttp.CreateSocketAsync(from, to.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(to, cts.Token);
        await using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
        await writer.WriteLineAsync(message.AsMemory(), cts.Token);
        return await reader.ReadLineAsync(cts.Token) ?? throw new IOException($"{to} closed the connection without answering");
    }

    /// <summary><see cref="ExchangeAsync"/>, returning null instead of throwing when the connection or the answer fails.</summary>
    public static async Task<string?> TryExchangeAsync(Netns from, IPEndPoint to, string message, TimeSpan timeout)
    {
        try
        {
            return await ExchangeAsync(from, to, message, timeout);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }
}

/// <summary>UDP sockets in a namespace: to show what does (unicast) and does not (broadcast) cross between VMs.</summary>
public sealed class UdpEndpoint : IDisposable
{
    private readonly Socket _socket;

    private UdpEndpoint(Socket socket) => _socket = socket;

    public static async Task<UdpEndpoint> OpenAsync(Netns ns, IPEndPoint bind, bool broadcast = false)
    {
        var socket = await NamespacedHttp.CreateSocketAsync(ns, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.EnableBroadcast = broadcast;
            socket.Bind(bind);
            return new UdpEndpoint(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task SendAsync(IPEndPoint to, string text) => await _socket.SendToAsync(Encoding.UTF8.GetBytes(text), to);

    /// <summary>The next datagram's text, or null if none arrives within <paramref name="timeout"/>.</summary>
    public async Task<string?> ReceiveAsync(TimeSpan timeout)
    {
        var buffer = new byte[2048];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var result = await _socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            return Encoding.UTF8.GetString(buffer, 0, result.ReceivedBytes);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose() => _socket.Dispose();
}
