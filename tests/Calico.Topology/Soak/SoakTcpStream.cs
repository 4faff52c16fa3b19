using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

namespace Calico.Topology.Soak;

/// <summary>What the long-lived TCP stream saw; <see cref="FlowingAtEnd"/> is the check, reconnects are reported.</summary>
public sealed record TcpStreamReport(string From, string To, long Echoed, int Connections, IReadOnlyList<string> Reconnects,
    double LongestStallSeconds, bool FlowingAtEnd)
{
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"tcp: {From} -> {To}: {Echoed} lines of {SoakTcpStream.LineBytes} bytes echoed intact over {Connections} connection(s), " +
        $"{Reconnects.Count} reconnect(s){(Reconnects.Count == 0 ? "" : " (" + string.Join("; ", Reconnects.Take(5)) + ")")}; " +
        $"longest wait for an echo {LongestStallSeconds:0.0} s; flowing at the end: {(FlowingAtEnd ? "yes" : "NO")}");
}

/// <summary>
/// Real traffic besides the pings: one TCP connection from a steady VM to an echo server in another steady VM (the
/// next rack's in BGP mode), both sockets inside the VMs' namespaces, carrying a numbered line every 50 ms whose echo
/// must come back intact and in order. Nothing here times a read out: a connection black-holed by a fault waits in
/// TCP's own retransmissions, and shows as a long wait for an echo. A connection the kernel ends (reset, refused) is
/// reopened after a second and counted as a reconnect with its reason. At the end the stream must still carry echoes.
/// </summary>
internal sealed class SoakTcpStream : IAsyncDisposable
{
    public const int LineBytes = 1024;
    public const int Port = 5001;

    private readonly VirtualMachine _client;
    private readonly VirtualMachine _server;
    private readonly TcpEchoServer _echo;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<string> _reconnects = [];
    private readonly Lock _gate = new();
    private readonly Action<string> _log;
    private Task _loop = Task.CompletedTask;
    private long _echoed;
    private int _connections;
    private TimeSpan _lastEcho;
    private TimeSpan _longestStall;
    private string? _corrupt;

    private SoakTcpStream(VirtualMachine client, VirtualMachine server, TcpEchoServer echo, Action<string> log)
    {
        (_client, _server, _echo, _log) = (client, server, echo, log);
    }

    public static async Task<SoakTcpStream> StartAsync(VirtualMachine client, VirtualMachine server, Action<string> log)
    {
        var echo = await TcpEchoServer.StartAsync(server.Namespace, new IPEndPoint(server.Address!, Port));
        var stream = new SoakTcpStream(client, server, echo, log);
        stream._loop = stream.RunAsync();
        return stream;
    }

    /// <summary>Any echo that was not the line sent (a failure of its own: data changed or lost inside one connection).</summary>
    public string? Corrupt { get { lock (_gate) return _corrupt; } }

    /// <summary>Waits until an echo arrives after now, up to <paramref name="within"/>; true if one did.</summary>
    public async Task<bool> FlowsAsync(TimeSpan within)
    {
        var since = _clock.Elapsed;
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            lock (_gate) if (_lastEcho > since) return true;
            await Task.Delay(200);
        }
        return false;
    }

    public TcpStreamReport Report(bool flowingAtEnd)
    {
        lock (_gate)
        {
            var stall = _clock.Elapsed - _lastEcho;
            return new TcpStreamReport($"{_client.Name} on {_client.Host.Name}", $"{_server.Name} on {_server.Host.Name} ({_server.Address}:{Port})",
                _echoed, _connections, [.. _reconnects], Math.Max(_longestStall.TotalSeconds, stall.TotalSeconds), flowingAtEnd);
        }
    }

    private async Task RunAsync()
    {
        var payload = new string('x', LineBytes - 12);
        lock (_gate) _lastEcho = _clock.Elapsed;
        long serial = 0;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var socket = await NamespacedHttp.CreateSocketAsync(_client.Namespace, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using (var connect = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    connect.CancelAfter(TimeSpan.FromSeconds(10));
                    await socket.ConnectAsync(new IPEndPoint(_server.Address!, Port), connect.Token);
                }
                lock (_gate) _connections++;
                await using var stream = new NetworkStream(socket);
                using var reader = new StreamReader(stream, Encoding.ASCII);
                await using var writer = new StreamWriter(stream, Encoding.ASCII) { AutoFlush = true };
                while (!_stop.IsCancellationRequested)
                {
                    var line = $"{++serial:D10} {payload}";
                    await writer.WriteLineAsync(line.AsMemory(), _stop.Token);
                    var echo = await reader.ReadLineAsync(_stop.Token) ?? throw new IOException("closed by the server");
                    var now = _clock.Elapsed;
                    lock (_gate)
                    {
                        if (echo != "echo: " + line) _corrupt ??= $"line {serial} came back as '{echo[..Math.Min(40, echo.Length)]}…'";
                        _echoed++;
                        if (now - _lastEcho > _longestStall) _longestStall = now - _lastEcho;
                        _lastEcho = now;
                    }
                    await Task.Delay(50, _stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                var what = string.Create(CultureInfo.InvariantCulture, $"at {_clock.Elapsed.TotalSeconds:0} s: {(e is OperationCanceledException ? "connect timed out" : e.Message)}");
                lock (_gate) _reconnects.Add(what);
                _log($"tcp stream {_client.Name} -> {_server.Name}: connection lost {what}; reconnecting");
                try { await Task.Delay(1000, _stop.Token); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        await _echo.DisposeAsync();
        _stop.Dispose();
    }
}
