
namespace Calico.Dataplane.Linux.Dhcp;

/// <summary>
/// The files of our dnsmasq, all in one directory of ours: nothing of the machine's (/etc/dnsmasq.conf,
/// /var/lib/misc/dnsmasq.leases, /run/dnsmasq) is read or written. The pid file path is also how our dnsmasq is
/// recognised: its command line carries <c>--pid-file=</c> this path, which no other dnsmasq has.
/// </summary>
public sealed record DnsmasqFiles(string Directory)
{
    public string PidFile => Path.Combine(Directory, "dnsmasq.pid");

    /// <summary>The argument that names the pid file on dnsmasq's command line: what makes a running dnsmasq ours.</summary>
    public static string PidFileArgument(string pidFile) => "--pid-file=" + pidFile;

    public string LeaseFile => Path.Combine(Directory, "dnsmasq.leases");

    /// <summary>Static leases (--dhcp-hostsfile): one line per port address; re-read on SIGHUP.</summary>
    public string HostsFile => Path.Combine(Directory, "hosts");

    /// <summary>Per-subnet options (--dhcp-optsfile): router, DNS servers, routes, MTU; re-read on SIGHUP.</summary>
    public string OptionsFile => Path.Combine(Directory, "opts");

    /// <summary>Every file we write or dnsmasq writes for us; removing them is all that cleaning up means.</summary>
    public IEnumerable<string> All => [PidFile, LeaseFile, HostsFile, OptionsFile];

    private const UnixFileMode SharedDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode SharedFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>
    /// Creates the directory (0755). dnsmasq drops root after start-up and re-reads the hosts and options files on
    /// SIGHUP as an unprivileged user (nobody), so every directory above them must let others through; otherwise it
    /// would go on serving the old leases, with one line in its log. That is refused here, with a message saying why.
    /// </summary>
    public void EnsureDirectory()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.CreateDirectory(Directory);
            SetMode(Directory, SharedDirectoryMode);
        }
        for (var dir = Directory; !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if ((ModeOf(dir) & UnixFileMode.OtherExecute) == 0)
                throw new IOException($"dnsmasq re-reads its files as an unprivileged user, who cannot enter {dir} " +
                    $"(mode {Convert.ToString((int)ModeOf(dir), 8)}): give it o+x, or choose another Dataplane:DhcpStateDirectory");
        }
    }

    /// <summary>Replaces <paramref name="path"/> atomically (write aside, rename) unless it already holds <paramref name="content"/>; true if written.</summary>
    public static bool WriteIfChanged(string path, string content) => Processes.StateDirectory.WriteIfChanged(path, content, SharedFileMode);

    /// <summary>Deletes our files (not the directory, nor anything else in it); true if any existed.</summary>
    public bool RemoveAll()
    {
        var removed = false;
        foreach (var file in All.Append(HostsFile + ".new").Append(OptionsFile + ".new"))
        {
            if (!File.Exists(file)) continue;
            File.Delete(file);
            removed = true;
        }
        return removed;
    }

    /// <summary><see cref="DhcpOptions.DhcpStateDirectory"/>, or its subdirectory for the namespace served (<see cref="Processes.StateDirectory"/>).</summary>
    public static DnsmasqFiles For(DhcpOptions options, string? networkNamespace, string? agentNamespace = null) =>
        new(Processes.StateDirectory.For(options.DhcpStateDirectory, networkNamespace, agentNamespace));

    // The dataplane runs on Linux only; these keep the platform analyzer informed.
    private static UnixFileMode ModeOf(string path)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        return File.GetUnixFileMode(path);
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        File.SetUnixFileMode(path, mode);
    }
}
