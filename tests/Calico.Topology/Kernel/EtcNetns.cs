namespace Calico.Topology.Kernel;

/// <summary>
/// /etc/netns/NAME/: files that <c>ip netns exec NAME</c> bind-mounts over /etc. Every namespace of a topology gets its
/// own resolv.conf there before anything runs in it, because namespaces share /etc: Debian's dhclient-script run in
/// a VM namespace would otherwise rewrite the machine's /etc/resolv.conf (see shared/DESIGN-NOTES.md).
/// /etc/netns itself is removed whenever it is left empty (as the DHCP tests do): an empty /etc/netns means nothing,
/// and whoever is about to use it again creates it again (<see cref="WriteResolvConf"/> retries for that).
/// </summary>
public static class EtcNetns
{
    public const string Root = "/etc/netns";

    private static readonly Lock Gate = new();

    public static string DirectoryOf(string namespaceName) => Path.Combine(Root, namespaceName);

    public static void WriteResolvConf(string namespaceName, string content)
    {
        lock (Gate)
        {
            var directory = DirectoryOf(namespaceName);
            // Someone may remove an empty /etc/netns at the same moment: create it again and retry.
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

    /// <summary>Removes NAME's directory, then /etc/netns if that left it empty.</summary>
    public static void Remove(string namespaceName)
    {
        lock (Gate)
        {
            try
            {
                var directory = DirectoryOf(namespaceName);
                if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            try
            {
                // Not recursive: fails (and is left alone) if anyone has put something in it meanwhile.
                if (Directory.Exists(Root) && !Directory.EnumerateFileSystemEntries(Root).Any()) Directory.Delete(Root);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    public static IEnumerable<string> Names() =>
        Directory.Exists(Root) ? Directory.EnumerateDirectories(Root).Select(d => Path.GetFileName(d)!) : [];
}
