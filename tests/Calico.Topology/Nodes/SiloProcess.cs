using System.Diagnostics;
using System.Net;
using System.Text;
using Calico.Topology.Kernel;

namespace Calico.Topology.Nodes;

/// <summary>
/// One calico-silo process running inside a topology namespace (<c>ip netns exec NS setsid dotnet calico-silo.dll ...</c>;
/// ip execs, so the process id is the silo's own; setsid keeps the terminal's Ctrl-C away from it, so the harness
/// alone decides when it stops). Its output goes to a log file in the run's temporary directory and to a short
/// in-memory tail for failure messages.
/// <para>
/// Supervised like a systemd unit with Restart=always: when it exits without having been told to (a crash, or Orleans
/// terminating it because the primary silo's membership was lost), it is started again after a second. The faults
/// a test injects (<see cref="KillAsync"/>) suspend that until the test starts it again.
/// </para>
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private const int TailLines = 400;
    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Queue<string> _tail = new();
    private readonly List<string> _events = [];
    private readonly RunLedger _ledger;
    private readonly Action<string> _log;
    private StreamWriter? _logFile;
    private Process? _process;
    private bool _stopping;
    private bool _disposed;
    private long _lines;
    private long _startMark;
    private int _starts;
    private bool _wasReady;

    public SiloProcess(string name, Netns ns, string siloDll, IReadOnlyList<string> arguments, string workingDirectory,
        Uri healthBase, RunLedger ledger, Action<string> log)
    {
        Name = name;
        Namespace = ns;
        SiloDll = siloDll;
        Arguments = arguments;
        WorkingDirectory = workingDirectory;
        HealthBase = healthBase;
        LogPath = Path.Combine(workingDirectory, "silo.log");
        _ledger = ledger;
        _log = log;
    }

    public string Name { get; }

    public Netns Namespace { get; }

    public string SiloDll { get; }

    public IReadOnlyList<string> Arguments { get; }

    public string WorkingDirectory { get; }

    /// <summary>Where its HTTP listener answers inside its namespace (/healthz, /readyz).</summary>
    public Uri HealthBase { get; }

    public string LogPath { get; }

    /// <summary>Restart it when it exits unexpectedly (default on).</summary>
    public bool Supervised { get; set; } = true;

    /// <summary>How many times it was started (restarts by the supervisor included).</summary>
    public int Starts { get { lock (_gate) return _starts; } }

    /// <summary>Starts, exits and restarts, one line each, for reports.</summary>
    public IReadOnlyList<string> Events { get { lock (_gate) return [.. _events]; } }

    public int? ProcessId { get { lock (_gate) return _process is { HasExited: false } p ? p.Id : null; } }

    public bool IsRunning => ProcessId is not null;

    /// <summary>How many output lines it has written so far, to wait for a line written after a given moment.</summary>
    public long OutputMark { get { lock (_gate) return _lines; } }

    /// <summary>The <see cref="OutputMark"/> when it was last started: lines after it come from the process running now.</summary>
    public long StartMark { get { lock (_gate) return _startMark; } }

    /// <summary>The whole command line, as a user would type it.</summary>
    public string CommandLine => Shell.Describe("ip", CommandArguments());

    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_process is { HasExited: false }) throw new InvalidOperationException($"{Name} is already running (pid {_process.Id})");
            _process?.Dispose();
            _stopping = false;
            _starts++;
            _startMark = _lines;
            _logFile ??= new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            Note($"start #{_starts}: {CommandLine}");
            var info = Shell.StartInfo("ip", CommandArguments());
            info.WorkingDirectory = WorkingDirectory;
            // Several silos share two cores here: workstation GC keeps each one small.
            info.Environment["DOTNET_gcServer"] = "0";
            info.Environment["DOTNET_NOLOGO"] = "1";
            var process = new Process { StartInfo = info, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.Exited += (_, _) => OnExited(process);
            process.Start();
            _ledger.RecordProcess(process.Id);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
        }
    }

    private List<string> CommandArguments() => ["netns", "exec", Namespace.Name, "setsid", "dotnet", SiloDll, .. Arguments];

    private void OnExited(Process process)
    {
        bool restart;
        lock (_gate)
        {
            if (!ReferenceEquals(process, _process)) return;
            _ledger.ForgetProcess(process.Id);
            var code = process.ExitCode;
            restart = Supervised && !_stopping && !_disposed;
            Note($"exited with code {code}{(_stopping ? "" : " unexpectedly")}{(restart ? $"; restarting in {RestartDelay.TotalSeconds:0} s (supervisor, like systemd Restart=always)" : "")}");
        }
        if (restart) _ = RestartLaterAsync(process);
    }

    private async Task RestartLaterAsync(Process exited)
    {
        await Task.Delay(RestartDelay);
        lock (_gate)
        {
            if (!ReferenceEquals(exited, _process) || _stopping || _disposed || !Supervised) return;
        }
        try
        {
            Start();
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or System.ComponentModel.Win32Exception)
        {
            lock (_gate) Note($"restart failed: {e.Message}");
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_gate)
        {
            _lines++;
            _tail.Enqueue(line);
            while (_tail.Count > TailLines) _tail.Dequeue();
            try { _logFile?.WriteLine(line); }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        }
    }

    /// <summary>Called with the gate held.</summary>
    private void Note(string text)
    {
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {Name}: {text}";
        _events.Add(line);
        try { _logFile?.WriteLine("=== " + line); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        _log(line);
    }

    /// <summary>The last lines it wrote (all its starts), for failure messages.</summary>
    public string OutputTail(int lines = 60)
    {
        lock (_gate)
        {
            var all = _tail.ToArray();
            var sb = new StringBuilder();
            sb.AppendLine($"--- {Name}: last {Math.Min(lines, all.Length)} lines (full log: {LogPath}) ---");
            foreach (var line in all.Skip(Math.Max(0, all.Length - lines))) sb.AppendLine(line);
            return sb.ToString();
        }
    }

    /// <summary>True once a line containing <paramref name="text"/> was written after <paramref name="mark"/> (an <see cref="OutputMark"/>).</summary>
    public bool HasWrittenSince(long mark, string text)
    {
        lock (_gate)
        {
            mark = Math.Max(mark, 0);
            var all = _tail.ToArray();
            var newer = (int)Math.Min(all.Length, _lines - mark);
            return all.Skip(all.Length - newer).Any(l => l.Contains(text, StringComparison.Ordinal));
        }
    }

    /// <summary>Polls GET path (in the silo's namespace) until it answers 200; fails with the silo's output if it exits or the time runs out.</summary>
    public async Task WaitForHttpAsync(string path, TimeSpan within, CancellationToken cancellationToken = default)
    {
        using var http = NamespacedHttp.CreateClient(Namespace, TimeSpan.FromSeconds(3));
        var deadline = DateTime.UtcNow + within;
        var last = "no answer yet";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (_gate)
            {
                // A silo that has never been ready and exits will not get better by being restarted: fail at once.
                if (_process is { HasExited: true } p && (!Supervised || _stopping || !_wasReady))
                    throw new TopologyException($"{Name} exited with code {p.ExitCode} before {path} answered 200:\n{OutputTail()}");
                if (_process is null) throw new TopologyException($"{Name} was never started");
            }
            try
            {
                using var response = await http.GetAsync(new Uri(HealthBase, path), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    lock (_gate) _wasReady = true;
                    return;
                }
                last = $"{(int)response.StatusCode} {response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "timed out";
            }
            if (DateTime.UtcNow > deadline)
                throw new TopologyException($"{Name}: {path} did not answer 200 within {within.TotalSeconds:0} s (last: {last}):\n{OutputTail()}");
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Waits until /readyz answers 200: a cluster member (and on a compute node: its first desired state applied).</summary>
    public Task WaitReadyAsync(TimeSpan within, CancellationToken cancellationToken = default) => WaitForHttpAsync("/readyz", within, cancellationToken);

    /// <summary>SIGKILL, as a crash would; the supervisor leaves it down until <see cref="Start"/>.</summary>
    public Task KillAsync() => EndAsync(Shell.SIGKILL, TimeSpan.FromSeconds(15));

    /// <summary>
    /// SIGTERM, as a service manager stops it, then SIGKILL if it has not exited within <paramref name="grace"/>. (Not
    /// SIGINT: started from a non-interactive shell in the background, this program and its children ignore SIGINT.)
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!await EndAsync(Shell.SIGTERM, grace)) await KillAsync();
    }

    private async Task<bool> EndAsync(int signal, TimeSpan within)
    {
        Process? process;
        lock (_gate)
        {
            _stopping = true;
            process = _process;
        }
        if (process is null || process.HasExited) return true;
        Shell.Signal(process.Id, signal);
        using var cts = new CancellationTokenSource(within);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _stopping = true;
        }
        await KillAsync();
        lock (_gate)
        {
            _disposed = true;
            _process?.Dispose();
            _logFile?.Dispose();
            _logFile = null;
        }
    }
}

public sealed class TopologyException(string message) : Exception(message);
