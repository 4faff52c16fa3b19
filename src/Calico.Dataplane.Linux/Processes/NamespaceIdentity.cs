using System.Runtime.InteropServices;
using Calico.Netlink.Namespaces;

namespace Calico.Dataplane.Linux.Processes;

/// <summary>
/// Which network namespace something is in, as the kernel names it ("net:[4026532301]"), and the name `ip netns`
/// gives that namespace, if any. Used to keep one agent's supervised processes (dnsmasq, BIRD) and files apart from
/// another's: an agent started with `ip netns exec NAME` (no Dataplane:NetworkNamespace) still gets a directory of its
/// own, and a process running in another namespace is never taken for ours, whatever its command line says.
/// </summary>
internal static partial class NamespaceIdentity
{
    /// <summary>The namespace <paramref name="ns"/> designates, or that of the calling thread.</summary>
    public static string Of(NetworkNamespace? ns) => ns is null ? Read("/proc/thread-self/ns/net") : ns.Run(() => Read("/proc/thread-self/ns/net"));

    /// <summary>The namespace process <paramref name="pid"/> is in, or null if it is gone.</summary>
    public static string? OfProcess(int pid)
    {
        try { return Read($"/proc/{pid}/ns/net"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Whether <paramref name="identity"/> is the machine's own namespace (that of pid 1).</summary>
    public static bool IsInitial(string identity) => OfProcess(1) is { } init && init == identity;

    /// <summary>The name under /var/run/netns bound to <paramref name="identity"/>, if there is one.</summary>
    public static string? NameOf(string identity)
    {
        if (!Directory.Exists(NetworkNamespace.NamedNamespaceDirectory)) return null;
        foreach (var path in Directory.EnumerateFiles(NetworkNamespace.NamedNamespaceDirectory).Order(StringComparer.Ordinal))
        {
            if (InodeOf(path) is { } inode && identity == $"net:[{inode}]") return Path.GetFileName(path);
        }
        return null;
    }

    /// <summary>The inode number in "net:[4026532301]".</summary>
    public static string Inode(string identity) => identity.StartsWith("net:[", StringComparison.Ordinal) ? identity[5..^1] : identity;

    private static string Read(string link) =>
        new FileInfo(link).LinkTarget ?? throw new IOException($"{link} is not a namespace link");

    /// <summary>
    /// st_ino of a file (following bind mounts of nsfs files, which is what a named namespace is). st_dev and st_ino
    /// are the first two 8-byte fields of struct stat on both x86_64 and arm64.
    /// </summary>
    private static unsafe ulong? InodeOf(string path)
    {
        var buffer = stackalloc byte[512];
        if (Stat(path, buffer) != 0) return null;
        return *(ulong*)(buffer + 8);
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* buffer);
}
