namespace Calico.Dataplane.Linux.Processes;

/// <summary>Where a supervised program's files live: one directory per network namespace served, so agents never share files.</summary>
public static class StateDirectory
{
    /// <summary>
    /// <paramref name="root"/> for the machine's own namespace; its netns/NAME subdirectory for
    /// <paramref name="networkNamespace"/> (Dataplane:NetworkNamespace), or else for <paramref name="agentNamespace"/>: the
    /// namespace the agent itself runs in when that is not the machine's (started with `ip netns exec NAME`).
    /// </summary>
    public static string For(string root, string? networkNamespace, string? agentNamespace) =>
        (networkNamespace is { Length: > 0 } ns ? ns : agentNamespace) is { } name ? Path.Combine(root, "netns", name) : root;

    /// <summary>
    /// Replaces <paramref name="path"/> atomically (write aside as PATH.new, rename) unless it already holds
    /// <paramref name="content"/>; true if written. A reader never sees half a file.
    /// </summary>
    public static bool WriteIfChanged(string path, string content, UnixFileMode mode)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content) return false;
        var temporary = path + ".new";
        File.WriteAllText(temporary, content);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        File.SetUnixFileMode(temporary, mode);
        File.Move(temporary, path, overwrite: true);
        return true;
    }
}
