using System.Net;
using Calico.Topology.Nodes;

namespace Calico.Topology.Soak;

/// <summary>One churn port and what the soak did with it.</summary>
internal sealed class ChurnPort(string id, string name)
{
    public string Id { get; } = id;
    public string Name { get; } = name;
    public VirtualMachine? Vm { get; set; }
    public string? FloatingIpId { get; set; }
    public bool InChurnGroup { get; set; }
}

/// <summary>
/// The steady stream of API work, as Nova and users make it: ports created unbound, bound to a host and their VM
/// plugged (then watched until ACTIVE, which is the host's convergence for it), unplugged and unbound, deleted;
/// security-group rules added and removed; ports moved in and out of a group a rule names; floating IPs created,
/// associated and deleted. One operation at a time, paced to the options' rate; every choice from the seed.
/// </summary>
internal sealed class SoakChurn(NamespaceTopology topology, SeedNetwork seed, string churnGroupId, string externalNetworkId, SoakApi api,
    SoakReport report, SoakOptions options, Random random)
{
    private readonly List<ChurnPort> _ports = [];
    private readonly List<string> _rules = [];
    private readonly List<Task> _watches = [];
    private int _serial;

    public IReadOnlyList<ChurnPort> Ports => _ports;

    public async Task RunAsync(CancellationToken stop)
    {
        var pause = TimeSpan.FromMinutes(1) / Math.Max(1, options.ChangesPerMinute);
        while (!stop.IsCancellationRequested)
        {
            var started = DateTime.UtcNow;
            // An operation once started runs to its end (its calls are retried within their own limits): cut off at
            // the stop, a bind whose answer was not awaited would leave the port bound with its VM already removed,
            // and the end checks would find a host waiting for a tap nobody plugs.
            await OneAsync(CancellationToken.None);
            var rest = pause - (DateTime.UtcNow - started);
            if (rest > TimeSpan.Zero)
            {
                try { await Task.Delay(rest, stop); }
                catch (OperationCanceledException) { break; }
            }
        }
        await Task.WhenAll(_watches);
    }

    private Task OneAsync(CancellationToken ct)
    {
        var bound = _ports.Where(p => p.Vm is not null).ToList();
        var unbound = _ports.Where(p => p.Vm is null).ToList();
        var roll = random.Next(100);
        if (_ports.Count < options.MaxPorts / 2 || (roll < 25 && _ports.Count < options.MaxPorts)) return CreatePortAsync(ct);
        if (roll < 45 && unbound.Count > 0) return BindAsync(Pick(unbound), ct);
        if (roll < 60 && bound.Count > 0) return UnbindAsync(Pick(bound), ct);
        if (roll < 72) return DeletePortAsync(Pick(_ports), ct);
        if (roll < 82) return RuleAsync(ct);
        if (roll < 90) return GroupsAsync(Pick(_ports), ct);
        return FloatingIpAsync(bound, ct);
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private async Task CreatePortAsync(CancellationToken ct)
    {
        var name = $"soak-port-{++_serial}";
        var port = await api.CreateAsync("create port", "ports", "port", new JsonObject
        {
            ["network_id"] = seed.NetworkId,
            ["name"] = name,
            ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = seed.SubnetId }),
            ["device_owner"] = "compute:nova",
            ["device_id"] = name,
            ["security_groups"] = new JsonArray(seed.SecurityGroupId),
        }, ct);
        if (port is null) return;
        _ports.Add(new ChurnPort((string)port["id"]!, name));
        report.Change("port create");
    }

    /// <summary>Nova's order: define the VM, bind the port, plug the VIF; then the port must turn ACTIVE.</summary>
    private async Task BindAsync(ChurnPort port, CancellationToken ct)
    {
        var host = Pick(topology.Hosts);
        var show = await api.CallAsync("show port", HttpMethod.Get, $"v2.0/ports/{port.Id}", null, (r, _) => r.Status == HttpStatusCode.OK, ct);
        if (show?.Body?["port"] is not JsonObject shown) return;
        var vm = await topology.DefineVmAsync($"vm{port.Name["soak-port-".Length..]}", host, port.Id, (string)shown["mac_address"]!);
        port.Vm = vm;
        if (await api.UpdateAsync("bind port", "ports", "port", port.Id, new JsonObject { ["binding:host_id"] = host.Name }, ct) is null)
        {
            port.Vm = null;
            topology.RemoveVm(vm);
            return;
        }
        await topology.PlugVmAsync(vm);
        report.Change("port bind");
        var since = DateTime.UtcNow;
        _watches.Add(WatchActiveAsync(port, vm, since));
    }

    /// <summary>How long the host takes to program a bound port: the port's own convergence time.</summary>
    private async Task WatchActiveAsync(ChurnPort port, VirtualMachine vm, DateTime since)
    {
        var deadline = since + options.SettleTimeout;
        while (DateTime.UtcNow < deadline && ReferenceEquals(port.Vm, vm))
        {
            var reply = await api.CallAsync("port status", HttpMethod.Get, $"v2.0/ports/{port.Id}", null,
                (r, _) => r.Status is HttpStatusCode.OK or HttpStatusCode.NotFound, CancellationToken.None);
            if (reply?.Status == HttpStatusCode.OK && (string?)reply.Body?["port"]?["status"] == "ACTIVE")
            {
                report.Unconverged(DateTime.UtcNow - since, $"port {port.Name} on {vm.Host.Name} until ACTIVE");
                return;
            }
            if (reply?.Status != HttpStatusCode.OK) return;
            await Task.Delay(500);
        }
        if (ReferenceEquals(port.Vm, vm)) report.Fail($"port {port.Name} on {vm.Host.Name} not ACTIVE within {options.SettleTimeout.TotalSeconds:0} s of its bind");
    }

    private async Task UnbindAsync(ChurnPort port, CancellationToken ct)
    {
        await UnplugAsync(port);
        if (await api.UpdateAsync("unbind port", "ports", "port", port.Id, new JsonObject { ["binding:host_id"] = "" }, ct) is null) return;
        report.Change("port unbind");
    }

    /// <summary>Deletes the VM (its namespace, hence its tap): Nova unplugging before it unbinds.</summary>
    private Task UnplugAsync(ChurnPort port)
    {
        if (port.Vm is not { } vm) return Task.CompletedTask;
        port.Vm = null;
        topology.RemoveVm(vm);
        return Task.CompletedTask;
    }

    private async Task DeletePortAsync(ChurnPort port, CancellationToken ct)
    {
        await UnplugAsync(port);
        if (port.FloatingIpId is { } fip)
        {
            if (!await api.DeleteAsync("delete floating IP", "floatingips", fip, ct)) return;
            port.FloatingIpId = null;
            report.Change("floating IP delete");
        }
        if (!await api.DeleteAsync("delete port", "ports", port.Id, ct)) return;
        _ports.Remove(port);
        report.Change("port delete");
    }

    /// <summary>A rule of the churn group, which every port moved into it gets: added, or one added earlier removed.</summary>
    private async Task RuleAsync(CancellationToken ct)
    {
        if (_rules.Count > 0 && random.Next(2) == 0)
        {
            var id = Pick(_rules);
            if (!await api.DeleteAsync("delete rule", "security-group-rules", id, ct)) return;
            _rules.Remove(id);
            report.Change("rule delete");
            return;
        }
        var port = random.Next(1024, 60000);
        var rule = await api.CreateAsync("create rule", "security-group-rules", "security_group_rule", new JsonObject
        {
            ["security_group_id"] = churnGroupId,
            ["direction"] = "ingress",
            ["ethertype"] = "IPv4",
            ["protocol"] = "tcp",
            ["port_range_min"] = port,
            ["port_range_max"] = port,
            ["remote_group_id"] = random.Next(2) == 0 ? churnGroupId : null,
            ["description"] = $"soak-rule-{++_serial}",
        }, ct, key: "description");
        if (rule is null) return;
        _rules.Add((string)rule["id"]!);
        report.Change("rule create");
    }

    /// <summary>Moves a port into or out of the churn group (a remote group of its own rules: members change on every host using it).</summary>
    private async Task GroupsAsync(ChurnPort port, CancellationToken ct)
    {
        var groups = port.InChurnGroup ? new JsonArray(seed.SecurityGroupId) : new JsonArray(seed.SecurityGroupId, churnGroupId);
        if (await api.UpdateAsync("port groups", "ports", "port", port.Id, new JsonObject { ["security_groups"] = groups }, ct) is null) return;
        port.InChurnGroup = !port.InChurnGroup;
        report.Change("port groups");
    }

    private async Task FloatingIpAsync(List<ChurnPort> bound, CancellationToken ct)
    {
        var holder = _ports.Where(p => p.FloatingIpId is not null).ToList();
        if (holder.Count > 0 && (bound.Count == 0 || random.Next(2) == 0))
        {
            var port = Pick(holder);
            var id = port.FloatingIpId!;
            if (random.Next(2) == 0)
            {
                if (!await api.DeleteAsync("delete floating IP", "floatingips", id, ct)) return;
                report.Change("floating IP delete");
            }
            else
            {
                if (await api.UpdateAsync("disassociate floating IP", "floatingips", "floatingip", id, new JsonObject { ["port_id"] = null }, ct) is null) return;
                if (!await api.DeleteAsync("delete floating IP", "floatingips", id, ct)) return;
                report.Change("floating IP disassociate");
                report.Change("floating IP delete");
            }
            port.FloatingIpId = null;
            return;
        }
        var candidates = bound.Where(p => p.FloatingIpId is null).ToList();
        if (candidates.Count == 0) return;
        var target = Pick(candidates);
        var fip = await api.CreateAsync("create floating IP", "floatingips", "floatingip", new JsonObject
        {
            ["floating_network_id"] = externalNetworkId,
            ["port_id"] = target.Id,
            ["description"] = $"soak-fip-{++_serial}",
        }, ct, key: "description");
        if (fip is null) return;
        target.FloatingIpId = (string)fip["id"]!;
        report.Change("floating IP create");
    }
}
