using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Calico.Silo.Tests;

/// <summary>
/// A real calico-silo process, as an operator starts it, on loopback ports chosen free for this test.
/// Disposing it stops it (Ctrl-C, then kill if it does not exit) and keeps its output for failure messages.
/// </summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public int SiloPort { get; }
    public int GatewayPort { get; }
    public int HttpPort { get; }
    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    private SiloProcess(Process process, int siloPort, int gatewayPort, int httpPort)
    {
        _process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        HttpPort = httpPort;
    }

    public static SiloProcess Start(params string[] args) => Start(FreePort(), FreePort(), FreePort(), args);

    public static SiloProcess Start(int siloPort, int gatewayPort, int httpPort, params string[] args) =>
        Start(null, siloPort, gatewayPort, httpPort, args);

    /// <summary>Started inside network namespace <paramref name="networkNamespace"/> (`ip netns exec`), which the test made.</summary>
    public static SiloProcess StartInNamespace(string networkNamespace, params string[] args) =>
        Start(networkNamespace, FreePort(), FreePort(), FreePort(), args);

    private static SiloProcess Start(string? networkNamespace, int siloPort, int gatewayPort, int httpPort, string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "calico-silo.dll");
        var info = new ProcessStartInfo(networkNamespace is null ? "dotnet" : "ip") { WorkingDirectory = Path.GetTempPath() };
        if (networkNamespace is not null) foreach (var a in new[] { "netns", "exec", networkNamespace, "dotnet" }) info.ArgumentList.Add(a);
        info.ArgumentList.Add(dll);
        foreach (var a in new[] { "--silo-port", $"{siloPort}", "--gateway-port", $"{gatewayPort}", "--listen", $"http://127.0.0.1:{httpPort}" }.Concat(args))
            info.ArgumentList.Add(a);
        // Quiet but informative logs; no telemetry export from tests.
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__Calico"] = "Information";
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        // These silos run in the machine's own namespace: they must never program its kernel.
        info.Environment["CALICO_Compute__Dataplane"] = "memory";
        return Launch(info, siloPort, gatewayPort, httpPort);
    }

    /// <summary>
    /// An installed calico-silo (a package unpacked into a root) started as its systemd unit starts it, inside network
    /// namespace <paramref name="networkNamespace"/> that the test made: the unit's arguments and environment, and no
    /// more (the ports are the configuration's, hence 0 here).
    /// </summary>
    public static SiloProcess StartInstalled(string networkNamespace, string executable, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("ip") { WorkingDirectory = workingDirectory };
        foreach (var a in new[] { "netns", "exec", networkNamespace, executable }.Concat(args)) info.ArgumentList.Add(a);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("CALICO_", StringComparison.Ordinal) || k.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return Launch(info, 0, 0, 0);
    }

    private static SiloProcess Launch(ProcessStartInfo info, int siloPort, int gatewayPort, int httpPort)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = new Process { StartInfo = info };
        var silo = new SiloProcess(process, siloPort, gatewayPort, httpPort);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until GET path answers 200; fails with the process output if it exits or takes over 60 s.</summary>
    public async Task WaitForAsync(string path = "/readyz")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (_process.HasExited) Assert.Fail($"calico-silo exited with {_process.ExitCode} before {path} was ready:\n{Output}");
            try
            {
                if ((await http.GetAsync($"http://127.0.0.1:{HttpPort}{path}")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) Assert.Fail($"{path} not ready after 60 s:\n{Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// Waits until <paramref name="url"/>, asked with curl inside <paramref name="networkNamespace"/>, answers 200; fails
    /// with the process output if it exits or takes over 60 s.
    /// </summary>
    public async Task WaitInNamespaceAsync(string networkNamespace, string url)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (_process.HasExited) Assert.Fail($"calico-silo exited with {_process.ExitCode} before {url} was ready:\n{Output}");
            var curl = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "netns", "exec", networkNamespace, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", url })
                curl.ArgumentList.Add(a);
            using (var probe = Process.Start(curl)!)
            {
                var status = await probe.StandardOutput.ReadToEndAsync();
                await probe.WaitForExitAsync();
                if (status.Trim() == "200") return;
            }
            if (DateTime.UtcNow > deadline) Assert.Fail($"{url} not ready after 60 s:\n{Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>Ctrl-C, as an operator would; returns whether it exited by itself within the time given.</summary>
    public async Task<bool> InterruptAsync(TimeSpan within)
    {
        if (!_process.HasExited) _ = Kill(_process.Id, 2 /* SIGINT */);
        using var cts = new CancellationTokenSource(within);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL, as a crash or a power cut: no shutdown at all.</summary>
    public void Crash()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
    }

    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited && !await InterruptAsync(TimeSpan.FromSeconds(20)))
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
