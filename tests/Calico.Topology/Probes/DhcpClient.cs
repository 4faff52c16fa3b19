using System.Diagnostics;
using Calico.Topology.Kernel;

namespace Calico.Topology.Probes;

/// <summary>
/// Runs ISC dhclient on a VM's eth0 the safe way: with <c>-sf</c> pointing at a script of ours that only records
/// what the server offered (Debian's dhclient-script would configure the VM, run hooks that touch the machine, and
/// may even set the machine's host name, since namespaces share it), and with its configuration, lease and pid files
/// in a directory of the run. It also runs inside <c>ip netns exec</c>, so a stray write of /etc/resolv.conf would
/// land in the VM's own /etc/netns/NAME/resolv.conf.
/// </summary>
public static class DhcpClient
{
    private const string Configuration = """
        # dhclient.conf of the topology harness: what a Neutron VM asks for.
        option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
        request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, domain-search, host-name,
            interface-mtu, rfc3442-classless-static-routes;
        timeout 30;
        """;

    /// <summary>
    /// Gets a lease for <paramref name="ns"/>'s eth0 (DHCPDISCOVER, or a DHCPREQUEST for the address of an earlier
    /// lease in <paramref name="directory"/>, as a rebooting VM does) and returns what dhclient passed to its script
    /// (reason, new_ip_address, new_routers, new_domain_name_servers, new_interface_mtu, ...). Nothing is configured.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> LeaseAsync(Netns ns, string directory, TimeSpan within)
    {
        ArgumentNullException.ThrowIfNull(ns);
        Directory.CreateDirectory(directory);
        var script = Path.Combine(directory, "record-lease.sh");
        await File.WriteAllTextAsync(script, $"""
            #!/bin/sh
            # Records what dhclient got, and does nothing else.
            env | grep -E '^(reason|interface|new_|old_)' | sort > "{directory}/lease.$reason.tmp" && mv "{directory}/lease.$reason.tmp" "{directory}/lease.$reason"
            """.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var conf = Path.Combine(directory, "dhclient.conf");
        await File.WriteAllTextAsync(conf, Configuration.ReplaceLineEndings("\n") + "\n");
        string[] bound = ["BOUND", "REBOOT", "RENEW", "REBIND"];
        foreach (var reason in bound) File.Delete(Path.Combine(directory, "lease." + reason));

        var info = Shell.StartInfo("ip", ["netns", "exec", ns.Name, "dhclient", "-4", "-d", "-1", "-v",
            "-sf", script, "-cf", conf, "-lf", Path.Combine(directory, "dhclient.leases"), "-pf", Path.Combine(directory, "dhclient.pid"), "eth0"]);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start dhclient");
        var output = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        try
        {
            var lease = await Eventually.UntilAsync($"dhclient in {ns} to get a lease",
                () => Task.FromResult(bound.Select(r => Path.Combine(directory, "lease." + r)).FirstOrDefault(File.Exists)),
                path => path is not null || process.HasExited, within);
            if (lease is null)
                throw new TopologyDhcpException($"dhclient in {ns} exited with {process.ExitCode} without a lease:\n{await output}");
            return (await File.ReadAllLinesAsync(lease))
                .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        }
        finally
        {
            // Stopped without a release: the lease stays in dnsmasq's table, as when a VM is switched off.
            if (!process.HasExited) process.Kill();
            await process.WaitForExitAsync();
        }
    }
}

public sealed class TopologyDhcpException(string message) : Exception(message);
