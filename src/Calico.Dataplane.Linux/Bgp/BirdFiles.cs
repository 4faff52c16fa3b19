using Calico.Dataplane.Linux.Processes;

namespace Calico.Dataplane.Linux.Bgp;

/// <summary>
/// The files of our BIRD, all in one directory of ours: nothing of the machine's (/etc/bird, /run/bird/bird.ctl) is read
/// or written, and no other BIRD's socket is ever spoken to. The pid file path is also how our BIRD is recognised: its
/// command line carries <c>-P</c> this path, which no other BIRD has.
/// </summary>
public sealed record BirdFiles(string Directory)
{
    public string ConfigFile => Path.Combine(Directory, "bird.conf");

    /// <summary>The control socket (birdc -s): ours alone.</summary>
    public string Socket => Path.Combine(Directory, "bird.ctl");

    public string PidFile => Path.Combine(Directory, "bird.pid");

    /// <summary>The argument that names the pid file on BIRD's command line (one argument: -PPATH): what makes a running BIRD ours.</summary>
    public static string PidFileArgument(string pidFile) => "-P" + pidFile;

    /// <summary>
    /// BIRD's command line: in the foreground (supervised), with graceful restart recovery (-R: after a restart it keeps
    /// the kernel routes it left until its peers have told it everything again), our configuration, socket and pid file.
    /// Fixed for a directory, so a configuration change is a reload, never a restart.
    /// </summary>
    public IReadOnlyList<string> Arguments => ["-f", "-R", "-c", ConfigFile, "-s", Socket, PidFileArgument(PidFile)];

    public IEnumerable<string> All => [ConfigFile, ConfigFile + ".new", Socket, PidFile];

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    // Owner only: the file holds the peers' BGP passwords.
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public void EnsureDirectory()
    {
        if (System.IO.Directory.Exists(Directory)) return;
        System.IO.Directory.CreateDirectory(Directory);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        File.SetUnixFileMode(Directory, DirectoryMode);
    }

    /// <summary>Writes the configuration atomically unless it already holds <paramref name="text"/>; true if written.</summary>
    public bool WriteConfig(string text) => StateDirectory.WriteIfChanged(ConfigFile, text, FileMode);

    /// <summary>Deletes our files (not the directory, nor anything else in it); true if any existed.</summary>
    public bool RemoveAll()
    {
        var removed = false;
        foreach (var file in All)
        {
            if (!File.Exists(file)) continue;
            File.Delete(file);
            removed = true;
        }
        return removed;
    }

    /// <summary><see cref="BgpOptions.BirdStateDirectory"/>, or its subdirectory for the namespace served.</summary>
    public static BirdFiles For(BgpOptions options, string? networkNamespace, string? agentNamespace = null) =>
        new(StateDirectory.For(options.BirdStateDirectory, networkNamespace, agentNamespace));
}
