using System.Diagnostics;
using System.Globalization;
using System.Text;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Driver;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Calico.Dataplane.Linux.Tests.Dhcp;

/// <summary>
/// A compute host in a namespace of the test's own, VMs in namespaces behind veth pairs whose host ends are taps,
/// and a directory of the test's own (0755, since dnsmasq re-reads its files as nobody) for dnsmasq's state and the
/// VMs' DHCP clients.
/// <para>
/// Safety. dhclient runs with <c>-sf</c> pointing at a script of ours that only appends what it got to a file (it
/// never runs Debian's dhclient-script, which would rewrite /etc/resolv.conf, nor configures anything), with its own
/// -cf, -lf and -pf in our directory; and each VM namespace gets /etc/netns/NAME/resolv.conf before anything runs in
/// it, so that even a stray resolv.conf write lands there. Dispose kills every process whose command line names our
/// directory (dnsmasq, dhclient), also after a failure, then deletes the namespaces, /etc/netns/NAME and the
/// directory, and fails the test if /etc/resolv.conf is not byte for byte what it was.
/// </para>
/// </summary>
public sealed class DhcpLab : IDisposable
{
    private const string ResolvConf = "/etc/resolv.conf";
    private readonly byte[] _resolvConfBefore = File.ReadAllBytes(ResolvConf);
    private readonly List<TestNamespace> _namespaces = [];
    private readonly List<string> _netnsEtc = [];
    private int _disposed;

    private readonly ILoggerFactory _loggers;

    public DhcpLab(ITestOutputHelper output)
    {
        _loggers = new TestOutputLoggers(output);
        TestNamespace.RequireRoot();
        Root = Directory.CreateTempSubdirectory("calico-dhcp-").FullName;
        SetMode755(Root);
        try
        {
            Host = Add(TestNamespace.Create("cal-dh"));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNamespace Host { get; }

    /// <summary>Our directory: everything the test writes, and the mark of every process it starts.</summary>
    public string Root { get; }

    public string StateDirectory => Path.Combine(Root, "state");

    public DataplaneOptions Options() => new() { NetworkNamespace = Host.Name, RetryBaseDelay = TimeSpan.FromMilliseconds(1) };

    /// <summary>The lab's DHCP options (its state directory, short delays), changed by <paramref name="change"/>.</summary>
    public DhcpOptions Dhcp(Action<DhcpOptions>? change = null)
    {
        var options = new DhcpOptions
        {
            DhcpStateDirectory = StateDirectory,
            DhcpLeaseTime = TimeSpan.FromMinutes(2),
            DhcpRestartDelay = TimeSpan.FromMilliseconds(200),
            DhcpMaxRestartDelay = TimeSpan.FromSeconds(2),
        };
        change?.Invoke(options);
        return options;
    }

    /// <summary>The dataplane on the lab's host namespace, every component included; its timers on <paramref name="time"/> when given.</summary>
    public LinuxDataplane Dataplane(DhcpOptions? dhcp = null, TimeProvider? time = null) =>
        new(Microsoft.Extensions.Options.Options.Create(Options()), _loggers, LinuxDataplaneComponents.All, time,
            FeatureOptions.Defaults.With(dhcp ?? Dhcp()));

    /// <summary>The state directory dnsmasq uses for this lab's host namespace.</summary>
    public string DnsmasqDirectory => Path.Combine(StateDirectory, "netns", Host.Name);

    /// <summary>A VM: a namespace whose eth0 (with <paramref name="mac"/>) is the peer of <paramref name="tap"/> on the host.</summary>
    public Vm AddVm(string tap, string mac)
    {
        var ns = Add(TestNamespace.Create("cal-dv"));
        // Before anything runs in it: `ip netns exec` bind-mounts this over /etc/resolv.conf.
        var etc = Path.Combine("/etc/netns", ns.Name);
        _netnsEtc.Add(etc);
        Directory.CreateDirectory(etc);
        File.WriteAllText(Path.Combine(etc, "resolv.conf"), "# resolv.conf of test namespace " + ns.Name + "\n");
        Host.AddVethPair(tap, "eth0", ns);
        ns.Ip("link", "set", "eth0", "address", mac);
        var dir = Path.Combine(Root, ns.Name);
        Directory.CreateDirectory(dir);
        return new Vm(ns, tap, mac, dir);
    }

    /// <summary>Runs dnsmasq-compatible `dnsmasq` lookalike scripts and the like from our directory.</summary>
    public string WriteScript(string name, string body)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body);
        SetMode755(path);
        return path;
    }

    /// <summary>The pid of the dnsmasq our pid file names, if that process is alive.</summary>
    public int? DnsmasqPid()
    {
        var file = Path.Combine(DnsmasqDirectory, "dnsmasq.pid");
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture, out var pid)) return null;
        return IsAlive(pid) ? pid : null;
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The pids of live processes whose command line contains <paramref name="text"/>.</summary>
    public static List<int> Processes(string text)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                var cmdline = Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(dir, "cmdline"))).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal) && IsAlive(pid)) pids.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return pids;
    }

    /// <summary>Kills every live process whose command line contains <paramref name="text"/> (a lab's directory), until none is left.</summary>
    public static void KillProcesses(string text)
    {
        for (var round = 0; round < 50; round++)
        {
            var left = Processes(text);
            if (left.Count == 0) break;
            foreach (var pid in left)
            {
                try { Process.GetProcessById(pid).Kill(); }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
            }
            Thread.Sleep(100);
        }
    }

    /// <summary>The inode of a network namespace, to tell which one a process is in.</summary>
    public static string NamespaceOf(int pid) => TestNamespace.Run("readlink", $"/proc/{pid}/ns/net").Trim();

    public string NamespaceId(TestNamespace ns) => ns.Exec("readlink", "/proc/self/ns/net").Trim();

    public static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"waited {timeout} for {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>rwxr-xr-x: dnsmasq, once it dropped root, must get through our directories.</summary>
    public static void SetMode755(string path)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
    }

    private TestNamespace Add(TestNamespace ns)
    {
        _namespaces.Add(ns);
        return ns;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Processes first: a process inside a deleted namespace would keep it (and itself) alive.
        KillProcesses(Root);
        foreach (var ns in _namespaces) ns.Dispose();
        foreach (var etc in _netnsEtc)
        {
            try { Directory.Delete(etc, recursive: true); }
            catch (IOException) { }
        }
        try { Directory.Delete("/etc/netns"); } // only if empty: other tests may use it
        catch (IOException) { }
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }

        Assert.Empty(Processes(Root));
        Assert.Equal(_resolvConfBefore, File.ReadAllBytes(ResolvConf));
    }
}

/// <summary>A VM namespace and a DHCP client in it that records, and only records, what it is given.</summary>
public sealed record Vm(TestNamespace Ns, string Tap, string Mac, string Dir)
{
    private string Events => Path.Combine(Dir, "events");

    /// <summary>
    /// Starts dhclient on eth0 and returns once it is bound (it then stays, renewing every
    /// <paramref name="renewSeconds"/> — dhclient's own `supersede` overrides the T1 dnsmasq sends).
    /// </summary>
    public Lease StartDhcpClient(int renewSeconds = 2)
    {
        File.WriteAllText(Path.Combine(Dir, "dhclient.conf"),
            $"""
            option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
            option ms-classless-static-routes code 249 = array of unsigned integer 8;
            request subnet-mask, broadcast-address, routers, domain-name-servers, host-name, interface-mtu,
                rfc3442-classless-static-routes, ms-classless-static-routes, ntp-servers;
            timeout 20;
            supersede dhcp-renewal-time {renewSeconds};
            supersede dhcp-rebinding-time 100;

            """);
        var script = Path.Combine(Dir, "record-lease");
        File.WriteAllText(script,
            $$"""
            #!/bin/sh
            # Records what dhclient got. Nothing else: no address, no route, no resolv.conf.
            { echo "reason=$reason"; env | grep -E '^new_' | sort; echo "--"; } >> '{{Events}}'
            exit 0

            """);
        DhcpLab.SetMode755(script);
        Ns.Exec("dhclient", "-1", "-cf", Path.Combine(Dir, "dhclient.conf"), "-sf", script,
            "-lf", Path.Combine(Dir, "dhclient.leases"), "-pf", Path.Combine(Dir, "dhclient.pid"), "eth0");
        return Leases().Last(l => l.Reason is "BOUND" or "REBOOT");
    }

    /// <summary>Every lease event so far (PREINIT and the like have no address).</summary>
    public List<Lease> Leases()
    {
        if (!File.Exists(Events)) return [];
        return File.ReadAllText(Events).Split("--\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(block => new Lease(block.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1])))
            .Where(l => l.Values.ContainsKey("reason")).ToList();
    }

    /// <summary>Configures eth0 from the lease, as dhclient-script would (inside the VM namespace only).</summary>
    public void Configure(Lease lease)
    {
        var prefix = System.Numerics.BitOperations.PopCount(BitConverter.ToUInt32(System.Net.IPAddress.Parse(lease["new_subnet_mask"]).GetAddressBytes()));
        Ns.Ip("addr", "add", $"{lease["new_ip_address"]}/{prefix}", "dev", "eth0");
        Ns.Ip("link", "set", "eth0", "mtu", lease["new_interface_mtu"]);
    }
}

public sealed record Lease(IReadOnlyDictionary<string, string> Values)
{
    public string Reason => Values["reason"];

    public string this[string key] => Values.TryGetValue(key, out var value) ? value : $"<no {key}>";
}

/// <summary>The agent's log in the test's output (dnsmasq's own lines included), to see why a test failed.</summary>
internal sealed class TestOutputLoggers(ITestOutputHelper output) : ILoggerFactory, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider) { }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try { output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}"); }
        catch (InvalidOperationException) { } // a line from a background thread after the test ended
    }

    public void Dispose() { }
}
