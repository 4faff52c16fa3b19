using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Calico.Bench.Api;

/// <summary>
/// calico-silo as a one-machine controller runs it (role controller, the embedded SQLite store on a file), on free
/// loopback ports. Disposing it stops it (Ctrl-C, then kill) and keeps its output for failure messages.
/// </summary>
internal sealed partial class ControllerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ControllerProcess(Process process, int httpPort)
    {
        _process = process;
        BaseUrl = $"http://127.0.0.1:{httpPort}";
    }

    public string BaseUrl { get; }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public static async Task<ControllerProcess> StartAsync(string dataDirectory)
    {
        var httpPort = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "calico-silo.dll"));
        foreach (var a in new[]
        {
            "--role", "controller", "--datastore", "sqlite", "--data-dir", dataDirectory, "--name", "bench-controller",
            "--silo-port", $"{FreePort()}", "--gateway-port", $"{FreePort()}", "--listen", $"http://127.0.0.1:{httpPort}",
        }) info.ArgumentList.Add(a);
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        var process = new Process { StartInfo = info };
        var silo = new ControllerProcess(process, httpPort);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await silo.WaitReadyAsync();
        return silo;
    }

    private async Task WaitReadyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
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
        throw new TimeoutException($"calico-silo was not ready within 90 s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGINT: the silo leaves the cluster and closes the store as on Ctrl-C.
            _ = Kill(_process.Id, 2 /* SIGINT */);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
