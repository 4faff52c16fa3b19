using Calico.Netlink.Namespaces;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Processes;

/// <summary>
/// Where a supervised program (dnsmasq, BIRD) runs, and how its processes are started and found:
/// <see cref="LinuxProcessHost"/> on the machine, in one network namespace; a fake in unit tests, so that the
/// <see cref="ProcessSupervisor"/> and its owners run there as they run in production.
/// </summary>
public interface IProcessHost
{
    /// <summary>For logs: "namespace cal-h1", "the agent's namespace".</summary>
    string Where { get; }

    /// <summary>
    /// The name of the namespace the agent itself runs in, when that is not the machine's own and no
    /// Dataplane:NetworkNamespace names one (an agent started with `ip netns exec NAME`): its `ip netns` name, else
    /// "inode-N"; null otherwise. Keeps one agent's state directory apart from another's.
    /// </summary>
    string? AgentNamespace { get; }

    /// <summary>
    /// The executable: <paramref name="configured"/> itself when it is a path, else the first match on PATH, then in
    /// the sbin directories; null when it is not installed.
    /// </summary>
    string? ResolveExecutable(string configured);

    /// <summary>
    /// Starts the program and waits until it has written its pid file (it is ready), or died, or
    /// <paramref name="timeout"/> passed; throws <see cref="ProcessStartException"/> with its last words otherwise.
    /// </summary>
    ISupervisedProcess Start(SupervisedProgram program, string executable, IReadOnlyList<string> arguments, ILogger logger, TimeSpan timeout);

    /// <summary>Every running process of the program that is ours (its pid file argument, the namespace served); the caller disposes them.</summary>
    List<ISupervisedProcess> FindRunning(SupervisedProgram program);
}

/// <summary>One process of a supervised program, started here or adopted from a previous agent.</summary>
public interface ISupervisedProcess : IDisposable
{
    int Pid { get; }

    /// <summary>Its arguments (without the program name), as it was started or as the system shows them.</summary>
    IReadOnlyList<string> Arguments { get; }

    /// <summary>Started by a previous agent, not by this one.</summary>
    bool Adopted { get; }

    bool HasExited { get; }

    /// <summary>Calls <paramref name="exited"/> (on a thread of its own) when the process exits, unless disposed or stopped first.</summary>
    void WatchExit(Action<ISupervisedProcess> exited);

    /// <summary>SIGHUP: re-read the configuration without dropping what it serves; false if it has exited.</summary>
    bool Reload();

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>. Stops watching first: this exit is no crash.</summary>
    void Stop(TimeSpan grace);

    /// <summary>"pid 7 was killed by signal 9", "pid 7 exited with code 2", or what is known of an adopted one.</summary>
    string DescribeExit();
}

/// <summary>
/// The machine's processes in one network namespace (<paramref name="ns"/>, or the agent's own when null): started
/// from a thread inside it, found through /proc by pid file and command line, verified to be in that namespace.
/// </summary>
public sealed class LinuxProcessHost(NetworkNamespace? ns) : IProcessHost
{
    /// <summary>The namespace served ("net:[4026532301]"): a process in any other is never ours.</summary>
    private readonly string _identity = NamespaceIdentity.Of(ns);

    public string Where => ns is null ? "the agent's namespace" : "namespace " + ns.Name;

    public string? AgentNamespace => ns is not null || NamespaceIdentity.IsInitial(_identity) ? null
        : NamespaceIdentity.NameOf(_identity) ?? "inode-" + NamespaceIdentity.Inode(_identity);

    public string? ResolveExecutable(string configured)
    {
        if (configured.Contains('/')) return IsExecutable(configured) ? configured : null;
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin", "/usr/local/sbin"])
            .Select(dir => Path.Combine(dir, configured)).FirstOrDefault(IsExecutable);
    }

    public ISupervisedProcess Start(SupervisedProgram program, string executable, IReadOnlyList<string> arguments, ILogger logger, TimeSpan timeout) =>
        SupervisedProcess.Start(program, executable, arguments, ns, logger, timeout);

    public List<ISupervisedProcess> FindRunning(SupervisedProgram program) => [.. SupervisedProcess.FindRunning(program, _identity)];

    private static bool IsExecutable(string file)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        return File.Exists(file) && (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }
}
