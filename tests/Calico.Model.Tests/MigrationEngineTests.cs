using System.Net;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Tests;

/// <summary>
/// A live migration as the hosts are told it (issue 14, item 3): Nova sets migrating_to, the target's agent sees the VM
/// arrive (the control plane stores ArrivedOn), Nova completes the migration (binding:host_id the target, migrating_to
/// gone) — or rolls it back. Checked against the reference after every step by <see cref="EngineOrderTests"/>; here,
/// who is told what.
/// </summary>
public class MigrationEngineTests
{
    private static readonly IpPrefix Vm = IpPrefix.Parse("10.65.0.3/32");
    private static readonly DesiredKey Route = new(DesiredKind.Route, "10.65.0.3/32");
    private static readonly DesiredKey Standby = new(DesiredKind.Route, "10.65.0.3/32" + RouteItem.StandbySuffix);

    private static (DesiredStateEngine Engine, WorkloadEndpoint Port) Cluster()
    {
        var engine = new DesiredStateEngine();
        var port = Sample.Endpoint("port-1", "h1", "10.65.0.3");
        engine.ApplyAll([
            Ch(Sample.Host("h1", "172.18.0.1")), Ch(Sample.Host("h2", "172.18.0.2")), Ch(Sample.Host("h3", "172.18.0.3")),
            Ch(Sample.Network()), Ch(Sample.Subnet()), Ch(Sample.Group("sg-default", Sample.Rule("r1"))),
            // The port's address lies in h1's block: the others route the block, not the /32.
            Ch(new IpBlock(IpPrefix.Parse("10.65.0.0/26"), "sub-1", "h1")),
            Ch(port),
        ]);
        return (engine, port);
    }

    [Fact]
    public void Migrating_to_prepares_the_port_on_the_target_with_standby_routes_and_tells_no_other_host()
    {
        var (engine, port) = Cluster();
        var told = engine.Apply(Ch(port with { MigratingTo = "h2" }, 2));

        Assert.Equal(["h1", "h2"], told.Keys.Order());
        var target = engine.Snapshot("h2");
        Assert.Equal(RouteItem.Local(Vm, port.InterfaceName, standby: true), target[Standby]);
        Assert.Equal(RouteItem.Via(Vm, IPAddress.Parse("172.18.0.1"), "h1"), target[Route]);
        Assert.Contains(new DesiredKey(DesiredKind.Interface, port.InterfaceName), target.Keys);
        Assert.Contains(new DesiredKey(DesiredKind.Policy, "sg-default"), target.Keys);
        Assert.Contains(new DesiredKey(DesiredKind.DhcpHost, "port-1|10.65.0.3"), target.Keys);
        var source = engine.Snapshot("h1");
        Assert.Equal(RouteItem.Local(Vm, port.InterfaceName), source[Route]);
        Assert.Equal(RouteItem.Via(Vm, IPAddress.Parse("172.18.0.2"), "h2", standby: true), source[Standby]);
        Assert.DoesNotContain(Route, engine.Snapshot("h3").Keys);
    }

    [Fact]
    public void Arrival_moves_the_port_to_the_target_and_completion_is_then_no_change_for_any_host()
    {
        var (engine, port) = Cluster();
        var prepared = port with { MigratingTo = "h2" };
        engine.Apply(Ch(prepared, 2));

        var told = engine.Apply(Ch(prepared with { ArrivedOn = "h2" }, 3));
        Assert.Equal(["h1", "h2", "h3"], told.Keys.Order());
        // The target: its route to the tap at normal priority, nothing on standby; its interface unchanged.
        var target = told["h2"];
        Assert.Equal(RouteItem.Local(Vm, port.InterfaceName), target.Single(c => c.Key == Route).Item);
        Assert.Contains(target, c => c.Key == Standby && c.IsRemoval);
        Assert.DoesNotContain(target, c => c.Key.Kind == DesiredKind.Interface);
        // The source and every other host: the /32 via the target (it lies in the source's block).
        var via = RouteItem.Via(Vm, IPAddress.Parse("172.18.0.2"), "h2");
        Assert.Equal(via, engine.Snapshot("h1")[Route]);
        Assert.DoesNotContain(Standby, engine.Snapshot("h1").Keys);
        Assert.DoesNotContain(new DesiredKey(DesiredKind.Interface, port.InterfaceName), engine.Snapshot("h1").Keys);
        Assert.Equal(via, engine.Snapshot("h3")[Route]);

        // Nova completes the migration: binding:host_id the target, migrating_to gone (ArrivedOn cleared with it).
        Assert.Empty(engine.Apply(Ch(port with { Host = "h2" }, 4)));
    }

    [Fact]
    public void Rollback_removes_what_the_target_prepared_and_the_source_standby_route()
    {
        var (engine, port) = Cluster();
        var before = new Dictionary<string, Dictionary<DesiredKey, DesiredItem>>
        {
            ["h1"] = engine.Snapshot("h1"), ["h2"] = engine.Snapshot("h2"), ["h3"] = engine.Snapshot("h3"),
        };
        engine.Apply(Ch(port with { MigratingTo = "h2" }, 2));

        var told = engine.Apply(Ch(port with { MigratingTo = null }, 3));
        Assert.Equal(["h1", "h2"], told.Keys.Order());
        foreach (var host in before.Keys) EngineOrderTests.AssertSame(before[host], engine.Snapshot(host), host);
    }

    [Fact]
    public void A_port_migrating_to_an_unregistered_host_prepares_it_there_without_routes_via_it()
    {
        var (engine, port) = Cluster();
        engine.Apply(Ch(port with { MigratingTo = "h9" }, 2));
        Assert.Contains("h9", engine.Hosts);
        Assert.Contains(Standby, engine.Snapshot("h9").Keys);
        // Without the target's address the source has no route via it.
        Assert.DoesNotContain(Standby, engine.Snapshot("h1").Keys);
        engine.Apply(Ch(Sample.Host("h9", "172.18.0.9")));
        Assert.Equal(RouteItem.Via(Vm, IPAddress.Parse("172.18.0.9"), "h9", standby: true), engine.Snapshot("h1")[Standby]);
    }

    private static ResourceChange Ch(object value, long revision = 1) =>
        new(ResourceChange.KindOf(value), CalculatorTests.KeyOf(value), revision, value);
}
