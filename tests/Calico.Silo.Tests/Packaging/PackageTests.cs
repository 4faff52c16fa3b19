using System.Security.Cryptography;

namespace Calico.Silo.Tests.Packaging;

/// <summary>
/// The Debian package scripts/package.sh builds, as an operator gets it: its control files, its maintainer scripts,
/// its systemd units, and its binaries run from a throwaway root (the silos as their units start them, inside a
/// network namespace of the test's own, to /readyz).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PackageTests(PackageFixture package) : IClassFixture<PackageFixture>
{
    private static readonly string[] Units = ["calico-controller.service", "calico-compute.service"];

    private string UnitPath(string unit) => Path.Combine(package.Root, "usr/lib/systemd/system", unit);

    [Fact]
    public void The_control_file_names_the_package_its_version_and_architecture_and_the_settings_are_conffiles()
    {
        Assert.Equal("calico", Field("Package"));
        Assert.Equal("amd64", Field("Architecture"));
        // The version is calico-silo's own, then the commit.
        var reported = PackageFixture.Run(Installed("usr/bin/calico-silo"), "--version").Trim();
        var upstream = reported["calico-silo ".Length..].Split('+')[0];
        Assert.StartsWith($"{upstream}+git", Field("Version"), StringComparison.Ordinal);
        Assert.EndsWith($"_{Field("Version")}_amd64.deb", package.Package, StringComparison.Ordinal);

        var conffiles = File.ReadAllLines(Path.Combine(package.Control, "conffiles"));
        Assert.Equal(["/etc/calico/compute.env", "/etc/calico/controller.env"], conffiles.Order(StringComparer.Ordinal));
        Assert.All(conffiles, f => Assert.True(File.Exists(Installed(f[1..])), $"{f} is a conffile but not in the package"));
        var listing = PackageFixture.Run("dpkg-deb", "-c", package.Package);
        foreach (var path in new[] { "./usr/lib/calico/calico-silo", "./usr/lib/calico/calicoctl", "./usr/bin/calico-silo -> ../lib/calico/calico-silo",
                     "./usr/bin/calicoctl -> ../lib/calico/calicoctl", "./usr/lib/systemd/system/calico-controller.service", "./usr/lib/systemd/system/calico-compute.service" })
            Assert.Contains(path, listing, StringComparison.Ordinal);
        // Files belong to root (dpkg-deb --root-owner-group), whoever built the package.
        Assert.All(listing.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Contains(" root/root ", l, StringComparison.Ordinal));
    }

    [Fact]
    public void The_units_restart_always_start_after_the_network_and_keep_state_in_var_lib_calico()
    {
        foreach (var unit in Units)
        {
            var lines = File.ReadAllLines(UnitPath(unit));
            Assert.Contains("Restart=always", lines);
            Assert.Contains("StateDirectory=calico", lines);
            Assert.Contains("Wants=network-online.target", lines);
            Assert.Contains(lines, l => l.StartsWith("After=network-online.target", StringComparison.Ordinal));
            var role = unit["calico-".Length..^".service".Length];
            Assert.Contains($"ExecStart=/usr/lib/calico/calico-silo --role {role}", lines);
            Assert.Contains($"EnvironmentFile=-/etc/calico/{role}.env", lines);
        }
    }

    [Fact]
    public void The_units_pass_systemd_analyze_verify()
    {
        // Verified inside the throwaway root (so ExecStart is the installed binary), with the machine's own unit files
        // copied beside ours for the targets they name (sysinit.target, network-online.target, ...).
        var system = Path.Combine(package.Root, "usr/lib/systemd/system");
        foreach (var file in Directory.EnumerateFiles("/usr/lib/systemd/system"))
        {
            var copy = Path.Combine(system, Path.GetFileName(file));
            if (!File.Exists(copy) && !Path.GetFileName(file).StartsWith("calico-", StringComparison.Ordinal)) File.Copy(file, copy);
        }
        var (exit, output, error) = PackageFixture.TryRun("systemd-analyze",
            ["verify", $"--root={package.Root}", .. Units.Select(u => $"/usr/lib/systemd/system/{u}")]);
        // A key it cannot parse is only a warning (exit 0): the check is that it says nothing at all.
        Assert.True(exit == 0 && error.Trim().Length == 0 && output.Trim().Length == 0, $"systemd-analyze verify exited with {exit}:\n{error}\n{output}");
    }

    [Theory]
    [InlineData("postinst", "configure", "")]
    [InlineData("postinst", "configure", "1.0.0+git1.0123456789ab")]
    [InlineData("prerm", "remove", "")]
    [InlineData("prerm", "upgrade", "9.9.9")]
    [InlineData("postrm", "remove", "")]
    [InlineData("postrm", "purge", "")]
    public void Maintainer_scripts_start_nothing_and_never_touch_network_configuration(string script, string action, string version)
    {
        // The scripts run with stand-ins first on PATH for the commands that could start a service or change the
        // network; each stand-in only records that it was called.
        var bin = package.Scratch($"stand-ins-{script}-{action}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        var calls = Path.Combine(bin, "calls");
        foreach (var command in new[] { "systemctl", "deb-systemd-invoke", "invoke-rc.d", "service", "ip", "nft", "sysctl", "ifup", "ifdown", "networkctl", "nmcli", "dhclient", "iptables" })
        {
            File.WriteAllText(Path.Combine(bin, command), $"#!/bin/sh\necho \"{command} $*\" >> '{calls}'\n");
            File.SetUnixFileMode(Path.Combine(bin, command), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var path = Path.Combine(package.Control, script);
        Assert.True(File.GetUnixFileMode(path).HasFlag(UnixFileMode.OtherExecute), $"{script} is not executable");
        var (exit, output, error) = PackageFixture.TryRun(path, version.Length > 0 ? [action, version] : [action],
            new Dictionary<string, string> { ["PATH"] = $"{bin}:/usr/sbin:/usr/bin:/sbin:/bin" });
        Assert.True(exit == 0, $"{script} {action} exited with {exit}:\n{error}\n{output}");
        var recorded = File.Exists(calls) ? File.ReadAllLines(calls) : [];
        // systemctl only, and never to start or enable a unit; with no systemd running (as here, or in a chroot), not
        // even that but for removing the enable links on removal.
        Assert.All(recorded, call => Assert.StartsWith("systemctl ", call, StringComparison.Ordinal));
        Assert.All(recorded, call => Assert.DoesNotMatch(@"\b(start|enable|restart|reload-or-restart)\b", call.Replace("try-restart", "", StringComparison.Ordinal)));
        if (!Directory.Exists("/run/systemd/system"))
            Assert.All(recorded, call => Assert.StartsWith("systemctl disable ", call, StringComparison.Ordinal));
    }

    [Fact]
    public void Calicoctl_from_the_installed_root_prints_its_version()
    {
        var version = PackageFixture.Run(Installed("usr/bin/calicoctl"), "--version").Trim();
        var silo = PackageFixture.Run(Installed("usr/bin/calico-silo"), "--version").Trim();
        Assert.Equal(silo["calico-silo ".Length..], version);
    }

    [Fact]
    public async Task The_installed_controller_and_compute_silos_started_as_their_units_start_them_become_ready_in_a_namespace()
    {
        // What systemd would give the services and a throwaway root cannot: their state directory (/var/lib/calico)
        // is a directory of the test's, and the DHCP and BIRD files go below it.
        var state = package.Scratch($"state-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        var overrides = new Dictionary<string, string>
        {
            ["CALICO_Datastore__DataDirectory"] = state,
            ["CALICO_Dataplane__DhcpStateDirectory"] = Path.Combine(state, "dhcp"),
            ["CALICO_Dataplane__BirdStateDirectory"] = Path.Combine(state, "bird"),
        };
        var ns = $"cal-pkg-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        PackageFixture.Run("ip", "netns", "add", ns);
        try
        {
            PackageFixture.Run("ip", "-n", ns, "link", "set", "lo", "up");
            // An address for the compute role to find, as on a host: a veth pair with both ends in the namespace.
            PackageFixture.Run("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
            PackageFixture.Run("ip", "-n", ns, "addr", "add", "192.0.2.20/24", "dev", "eth0");
            PackageFixture.Run("ip", "-n", ns, "link", "set", "eth0", "up");
            PackageFixture.Run("ip", "-n", ns, "link", "set", "eth0-peer", "up");

            await using var controller = StartAsTheUnitDoes(ns, "calico-controller.service", state, overrides);
            await controller.WaitInNamespaceAsync(ns, "http://127.0.0.1:9696/readyz");
            await using var compute = StartAsTheUnitDoes(ns, "calico-compute.service", state, overrides);
            // Ready once it joined the controller and applied this host's first desired state.
            await compute.WaitInNamespaceAsync(ns, "http://127.0.0.1:9697/readyz");
            Assert.True(File.Exists(Path.Combine(state, "calico.db")), controller.Output);

            Assert.True(await compute.InterruptAsync(TimeSpan.FromSeconds(30)), $"compute did not stop on SIGINT:\n{compute.Output}");
            Assert.True(await controller.InterruptAsync(TimeSpan.FromSeconds(30)), $"controller did not stop on SIGINT:\n{controller.Output}");
            Assert.Equal(0, controller.ExitCode);
        }
        finally
        {
            PackageFixture.TryRun("ip", ["netns", "del", ns]);
        }
    }

    /// <summary>ExecStart, Environment= and EnvironmentFile= of the installed unit, paths taken inside the root.</summary>
    private SiloProcess StartAsTheUnitDoes(string ns, string unit, string workingDirectory, IReadOnlyDictionary<string, string> overrides)
    {
        var environment = new Dictionary<string, string>();
        string[] command = [];
        foreach (var line in File.ReadAllLines(UnitPath(unit)))
        {
            if (line.StartsWith("ExecStart=", StringComparison.Ordinal)) command = line["ExecStart=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            else if (line.StartsWith("Environment=", StringComparison.Ordinal)) Assign(environment, line["Environment=".Length..]);
            else if (line.StartsWith("EnvironmentFile=", StringComparison.Ordinal))
            {
                var file = Installed(line["EnvironmentFile=".Length..].TrimStart('-').TrimStart('/'));
                foreach (var setting in File.ReadAllLines(file).Where(l => l.Length > 0 && !l.StartsWith('#'))) Assign(environment, setting);
            }
        }
        Assert.NotEmpty(command);
        foreach (var (key, value) in overrides) environment[key] = value;
        return SiloProcess.StartInstalled(ns, Installed(command[0].TrimStart('/')), workingDirectory, environment, command[1..]);
    }

    private static void Assign(Dictionary<string, string> environment, string assignment)
    {
        var eq = assignment.IndexOf('=', StringComparison.Ordinal);
        environment[assignment[..eq]] = assignment[(eq + 1)..];
    }

    private string Installed(string relative) => Path.Combine(package.Root, relative);

    private string Field(string name) => PackageFixture.Run("dpkg-deb", "-f", package.Package, name).Trim();
}
