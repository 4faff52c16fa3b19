namespace Calico.Topology.Kernel;

/// <summary>
/// /etc/netns/NAME/: files that <c>ip netns exec NAME</c> bind-mounts over /etc. Every namespace of a topology gets its
/// own resolv.conf there before anything runs in it, because namespaces share /etc: Debian's dhclient-script run in
/// a VM namespace would otherwise rewrite the machine's /etc/resolv.conf (see shared/DESIGN-NOTES.md).
/// /etc/netns itself is removed again when it is empty and this process created it.
/// </summary>
public static class EtcNetns
{
    public const string Root = "/etc/netns";

    private static readonly Lock Gate = new();
    private static bool _createdRoot;

    public static string DirectoryOf(string namespaceName) => Path.Combine(Root, namespaceName);

    public static void WriteResolvConf(string namespaceName, string content)
    {
        lock (Gate)
        {
            if (!Directory.Exists(Root))
            {
                Directory.CreateDirectory(Root);
                _createdRoot = true;
            }
            var directory = DirectoryOf(namespaceName);
            // Another run may remove an empty /etc/netns at the same moment: try again once.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    Directory.CreateDirectory(directory);
                    File.WriteAllText(Path.Combine(directory, "resolv.conf"), content);
                    return;
                }
                catch (DirectoryNotFoundException) when (attempt < 3)
                {
                    Directory.CreateDirectory(Root);
                }
            }
        }
    }

    /// <summary>Removes NAME's directory; then /etc/netns if it is empty and was created by this process (or <paramref name="evenIfNotOurs"/>).</summary>
    public static void Remove(string namespaceName, bool evenIfNotOurs = false)
    {
        lock (Gate)
        {
            try
            {
                var directory = DirectoryOf(namespaceName);
                if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            if (!_createdRoot && !evenIfNotOurs) return;
            try
            {
                if (Directory.Exists(Root) && !Directory.EnumerateFileSystemEntries(Root).Any())
                {
                    Directory.Delete(Root);
                    _createdRoot = false;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    public static IEnumerable<string> Names() =>
        Directory.Exists(Root) ? Directory.EnumerateDirectories(Root).Select(d => Path.GetFileName(d)!) : [];
}
