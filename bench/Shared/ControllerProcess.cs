using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Calico.Bench;

/// <summary>The loopback ports a controller listens on; kept across a restart so that clients find it again.</summary>
internal sealed record ControllerPorts(int Http, int Silo, int Gateway)
{
    public static ControllerPorts Free() => new(FreePort(), FreePort(), FreePort());

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// calico-silo as a one-machine controller runs it (role controller, the embedded SQLite store on a file), on
/// loopback ports. Disposing it stops it (Ctrl-C, then kill) and keeps its output for failure messages. Shared by
/// the benchmarks that drive a controller through its API (linked into each project).
/// </summary>
internal sealed partial class ControllerProcess : IAsyncDisposable
{
    private const int OutputLimit = 256 * 1024;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ControllerProcess(Process process, ControllerPorts ports)
    {
        _process = process;
        Ports = ports;
        BaseUrl = $"http://127.0.0.1:{ports.Http}";
    }

    public string BaseUrl { get; }

    public ControllerPorts Ports { get; }

    public int ProcessId => _process.Id;

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>
    /// Starts the controller on <paramref name="dataDirectory"/> (a restart when it already holds a store), on
    /// <paramref name="ports"/> or free ones, with extra settings as environment variables (<c>CALICO_…</c>), and
    /// waits until it answers /readyz.
    /// </summary>
    public static async Task<ControllerProcess> StartAsync(string dataDirectory, ControllerPorts? ports = null,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? readyTimeout = null)
    {
        ports ??= ControllerPorts.Free();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "calico-silo.dll"));
        foreach (var a in new[]
        {
            "--role", "controller", "--datastore", "sqlite", "--data-dir", dataDirectory, "--name", "bench-controller",
            "--silo-port", $"{ports.Silo}", "--gateway-port", $"{ports.Gateway}", "--listen", $"http://127.0.0.1:{ports.Http}",
        }) info.ArgumentList.Add(a);
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var process = new Process { StartInfo = info };
        var silo = new ControllerProcess(process, ports);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await silo.WaitReadyAsync(readyTimeout ?? TimeSpan.FromSeconds(90));
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
        return silo;
    }

    /// <summary>CPU time the process has used so far, user and system (/proc/PID/stat, in clock ticks of 1/100 s).</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        // Fields after the command name (which may hold spaces, in parentheses): state is the 3rd; utime the 14th, stime the 15th.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>Resident set size now and its peak (VmRSS, VmHWM from /proc), in bytes.</summary>
    public (long Rss, long Peak) ResidentMemory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kilobytes(line);
        }
        return (rss, peak);

        static long Kilobytes(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"calico-silo exited ({_process.ExitCode}):\n{Output}");
            try
            {
                if ((await http.GetAsync(BaseUrl + "/readyz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"calico-silo was not ready within {timeout.TotalSeconds:F0} s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            // A long run at scale logs warnings; the tail is what explains a failure.
            if (_output.Length > OutputLimit) _output.Remove(0, _output.Length - OutputLimit / 2);
            _output.AppendLine(line);
        }
    }

    /// <summary>Ends the process at once (SIGKILL), for a benchmark that is itself being stopped.</summary>
    public void Kill()
    {
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM, as a service manager stops it: the silo leaves the cluster and closes the store. (Not SIGINT: a
            // process started in the background by a non-interactive shell inherits SIGINT ignored, and then this
            // waited its whole grace and killed it.)
            _ = Kill(_process.Id, 15 /* SIGTERM */);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
