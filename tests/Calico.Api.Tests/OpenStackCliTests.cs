using Calico.Api.Tests.Harness;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;

namespace Calico.Api.Tests;

/// <summary>The operator's tool, unchanged, against the silo's default configuration (loopback, no authentication).</summary>
[Collection(LoopbackApi.Name)]
public sealed class OpenStackCliTests(LoopbackApiServer server)
{
    private OpenStackCli Os => OpenStackCli.NoAuth(server.BaseUrl);

    [Fact]
    public async Task Networks_subnets_and_ports()
    {
        var cidr = Cidrs.NextV4();
        var network = await Os.JsonAsync("network", "create", "--mtu", "1450", "cli-net");
        Assert.Equal("cli-net", (string)network["name"]!);
        Assert.Equal(1450, (int)network["mtu"]!);
        Assert.Contains("cli-net", await Os.RunAsync("network", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
        await Os.RunAsync("network", "set", "--name", "cli-net-2", "--description", "renamed", "cli-net");
        var shown = await Os.JsonAsync("network", "show", "cli-net-2");
        Assert.Equal("renamed", (string)shown["description"]!);
        Assert.Equal(2, (int)shown["revision_number"]!);

        var subnet = await Os.JsonAsync("subnet", "create", "--network", "cli-net-2", "--subnet-range", cidr, "cli-subnet");
        Assert.Equal(cidr, (string)subnet["cidr"]!);
        Assert.Equal(Cidrs.At(cidr, 1), (string)subnet["gateway_ip"]!);
        await Os.RunAsync("subnet", "set", "--dns-nameserver", "192.0.2.53", "cli-subnet");
        Assert.Contains("192.0.2.53", (await Os.JsonAsync("subnet", "show", "cli-subnet"))["dns_nameservers"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("cli-subnet", await Os.RunAsync("subnet", "list", "--network", "cli-net-2", "-f", "value", "-c", "Name"), StringComparison.Ordinal);

        var port = await Os.JsonAsync("port", "create", "--network", "cli-net-2", "--fixed-ip", $"subnet=cli-subnet,ip-address={Cidrs.At(cidr, 20)}",
            "--host", "cli-host-1", "--device", "vm-cli-1", "--device-owner", "compute:nova", "cli-port");
        var portId = (string)port["id"]!;
        Assert.Contains(Cidrs.At(cidr, 20), port["fixed_ips"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("cli-host-1", (string)port["binding_host_id"]!);
        Assert.Equal("DOWN", (string)port["status"]!);
        Assert.StartsWith("fa:16:3e:", (string)port["mac_address"]!, StringComparison.Ordinal);
        var listed = Assert.Single((await Os.JsonAsync("port", "list", "--long", "--network", "cli-net-2")).AsArray())!;
        Assert.Equal("cli-port", (string)listed["Name"]!);
        // No group named: the project's default group.
        var defaultGroup = (string)(await Os.JsonAsync("security", "group", "show", "default"))["id"]!;
        Assert.Equal(defaultGroup, (string)listed["Security Groups"]![0]!);

        // The host's dataplane programs the port: the CLI sees it ACTIVE.
        await server.Cluster.GetGrain<IHostGrain>("cli-host-1").ReportEndpointStatusesAsync(new EndpointStatusReport(
            new Dictionary<string, EndpointStatus> { [portId] = new(EndpointStatusKind.Active, null, "cli-host-1", 1, DateTimeOffset.UtcNow) }, [], Complete: false));
        Assert.Equal("ACTIVE", (string)(await Os.JsonAsync("port", "show", "cli-port"))["status"]!);

        await Os.RunAsync("port", "set", "--name", "cli-port-2", "--no-fixed-ip", "--fixed-ip", $"ip-address={Cidrs.At(cidr, 21)}", "cli-port");
        var moved = await Os.JsonAsync("port", "show", "cli-port-2");
        Assert.Contains(Cidrs.At(cidr, 21), moved["fixed_ips"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Cidrs.At(cidr, 20) + "'", moved["fixed_ips"]!.ToJsonString(), StringComparison.Ordinal);

        var (exit, _, error) = await Os.TryAsync("network", "delete", "cli-net-2");
        Assert.NotEqual(0, exit);
        Assert.Contains("ports still in use", error, StringComparison.Ordinal);

        // An IPv6 subnet whose ports configure themselves by SLAAC.
        var v6 = await Os.JsonAsync("subnet", "create", "--network", "cli-net-2", "--ip-version", "6", "--subnet-range", Cidrs.NextV6(),
            "--ipv6-ra-mode", "slaac", "--ipv6-address-mode", "slaac", "cli-v6");
        Assert.Equal("slaac", (string)v6["ipv6_address_mode"]!);
        await Os.RunAsync("subnet", "delete", "cli-v6");

        // A flat provider network, as an operator makes one; its segment.
        var flat = await Os.JsonAsync("network", "create", "--provider-network-type", "flat", "--provider-physical-network", "physnet1", "cli-flat");
        Assert.Equal("flat", (string)flat["provider:network_type"]!);
        var segment = Assert.Single((await Os.JsonAsync("network", "segment", "list", "--network", "cli-flat")).AsArray())!;
        Assert.Equal("flat", (string)segment["Network Type"]!);
        await Os.RunAsync("network", "delete", "cli-flat");

        // A port without port security, as a new user makes one.
        var open = await Os.JsonAsync("port", "create", "--network", "cli-net-2", "--disable-port-security", "--no-security-group",
            "--dns-name", "vm-open", "--extra-dhcp-option", "name=bootfile-name,value=pxelinux.0", "cli-open");
        Assert.False((bool)open["port_security_enabled"]!);
        Assert.Equal("vm-open", (string)open["dns_name"]!);
        Assert.Contains("pxelinux.0", open["extra_dhcp_opts"]!.ToJsonString(), StringComparison.Ordinal);
        await Os.RunAsync("port", "delete", "cli-open");

        await Os.RunAsync("port", "delete", "cli-port-2");
        await Os.RunAsync("subnet", "delete", "cli-subnet");
        await Os.RunAsync("network", "delete", "cli-net-2");
        Assert.DoesNotContain("cli-net-2", await Os.RunAsync("network", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_created_then_bound_with_port_set_host_moves_into_the_hosts_block()
    {
        var cidr = Cidrs.NextV4();
        await Os.RunAsync("network", "create", "cli-nova-net");
        await Os.RunAsync("subnet", "create", "--network", "cli-nova-net", "--subnet-range", cidr, "cli-nova-subnet");
        await Os.RunAsync("port", "create", "--network", "cli-nova-net", "--host", "cli-nova-h1", "cli-nova-first");
        // Nova's order: the port is created unbound (it has an address at once), then bound.
        var created = await Os.JsonAsync("port", "create", "--network", "cli-nova-net", "--device-owner", "compute:nova", "cli-nova-vm");
        Assert.Contains($"'{Cidrs.At(cidr, 64)}'", created["fixed_ips"]!.ToJsonString().Replace('"', '\''), StringComparison.Ordinal);
        await Os.RunAsync("port", "set", "--host", "cli-nova-h1", "cli-nova-vm");
        var bound = await Os.JsonAsync("port", "show", "cli-nova-vm");
        Assert.Equal("cli-nova-h1", (string)bound["binding_host_id"]!);
        var fixedIps = bound["fixed_ips"]!.ToJsonString().Replace('"', '\'');
        Assert.Contains($"'{Cidrs.At(cidr, 3)}'", fixedIps, StringComparison.Ordinal);
        Assert.DoesNotContain($"'{Cidrs.At(cidr, 64)}'", fixedIps, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Security_groups_and_rules()
    {
        var group = await Os.JsonAsync("security", "group", "create", "--description", "web servers", "cli-web");
        Assert.Equal("web servers", (string)group["description"]!);
        var names = await Os.RunAsync("security", "group", "list", "-f", "value", "-c", "Name");
        Assert.Contains("cli-web", names, StringComparison.Ordinal);
        Assert.Contains("default", names, StringComparison.Ordinal);

        var ssh = await Os.JsonAsync("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "--remote-ip", "192.0.2.0/24", "cli-web");
        Assert.Equal("tcp", (string)ssh["protocol"]!);
        Assert.Equal(22, (int)ssh["port_range_min"]!);
        var peers = await Os.JsonAsync("security", "group", "rule", "create", "--ingress", "--ethertype", "IPv6", "--remote-group", "cli-web", "cli-web");
        Assert.Equal((string)group["id"]!, (string)peers["remote_group_id"]!);

        var (exit, _, error) = await Os.TryAsync("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "--remote-ip", "192.0.2.0/24", "cli-web");
        Assert.NotEqual(0, exit);
        Assert.Contains("already exists", error, StringComparison.Ordinal);

        var rules = await Os.JsonAsync("security", "group", "rule", "list", "cli-web");
        Assert.Equal(4, rules.AsArray().Count);
        Assert.Equal("192.0.2.0/24", (string)(await Os.JsonAsync("security", "group", "rule", "show", (string)ssh["id"]!))["remote_ip_prefix"]!);

        await Os.RunAsync("security", "group", "set", "--name", "cli-web-2", "--description", "renamed", "cli-web");
        Assert.Equal("renamed", (string)(await Os.JsonAsync("security", "group", "show", "cli-web-2"))["description"]!);
        await Os.RunAsync("security", "group", "rule", "delete", (string)ssh["id"]!);
        Assert.Equal(3, (await Os.JsonAsync("security", "group", "rule", "list", "cli-web-2")).AsArray().Count);
        await Os.RunAsync("security", "group", "delete", "cli-web-2");
        Assert.DoesNotContain("cli-web", await Os.RunAsync("security", "group", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tags_are_set_listed_filtered_and_unset()
    {
        var cidr = Cidrs.NextV4();
        await Os.RunAsync("network", "create", "--tag", "cli-blue", "cli-tag-net");
        Assert.Equal(["cli-blue"], (await Os.JsonAsync("network", "show", "cli-tag-net"))["tags"]!.AsArray().Select(t => (string)t!));
        await Os.RunAsync("network", "set", "--tag", "cli-red", "--tag", "cli-green", "cli-tag-net");
        var tags = (await Os.JsonAsync("network", "show", "cli-tag-net"))["tags"]!.AsArray().Select(t => (string)t!).Order(StringComparer.Ordinal);
        Assert.Equal(["cli-blue", "cli-green", "cli-red"], tags);
        Assert.Contains("cli-tag-net", await Os.RunAsync("network", "list", "--tags", "cli-red,cli-blue", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
        Assert.DoesNotContain("cli-tag-net", await Os.RunAsync("network", "list", "--not-tags", "cli-red", "-f", "value", "-c", "Name"), StringComparison.Ordinal);

        await Os.RunAsync("subnet", "create", "--network", "cli-tag-net", "--subnet-range", cidr, "cli-tag-subnet");
        await Os.RunAsync("port", "create", "--network", "cli-tag-net", "cli-tag-port-1");
        // tag-ports-during-bulk-creation is advertised: the CLI sends the tags in the create itself.
        var tagged = await Os.JsonAsync("port", "create", "--network", "cli-tag-net", "--tag", "cli-db", "cli-tag-port-2");
        Assert.Equal(["cli-db"], tagged["tags"]!.AsArray().Select(t => (string)t!));
        await Os.RunAsync("port", "set", "--tag", "cli-web", "cli-tag-port-1");
        Assert.Equal("cli-tag-port-1", (await Os.RunAsync("port", "list", "--tags", "cli-web", "-f", "value", "-c", "Name")).Trim());
        Assert.Equal("cli-tag-port-2", (await Os.RunAsync("port", "list", "--network", "cli-tag-net", "--not-tags", "cli-web", "-f", "value", "-c", "Name")).Trim());
        Assert.Equal("cli-tag-port-2", (await Os.RunAsync("port", "list", "--any-tags", "cli-db,cli-none", "-f", "value", "-c", "Name")).Trim());

        await Os.RunAsync("network", "unset", "--tag", "cli-red", "cli-tag-net");
        Assert.DoesNotContain("cli-red", (await Os.JsonAsync("network", "show", "cli-tag-net"))["tags"]!.ToJsonString(), StringComparison.Ordinal);
        await Os.RunAsync("network", "set", "--no-tag", "cli-tag-net");
        Assert.Empty((await Os.JsonAsync("network", "show", "cli-tag-net"))["tags"]!.AsArray());

        await Os.RunAsync("port", "delete", "cli-tag-port-1", "cli-tag-port-2");
        await Os.RunAsync("network", "delete", "cli-tag-net");
    }

    [Fact]
    public async Task Routers_and_floating_ips()
    {
        await Os.RunAsync("network", "create", "--external", "cli-ext");
        var externalCidr = Cidrs.NextV4();
        await Os.RunAsync("subnet", "create", "--network", "cli-ext", "--subnet-range", externalCidr, "--no-dhcp", "cli-ext-subnet");
        await Os.RunAsync("network", "create", "cli-fip-net");
        var cidr = Cidrs.NextV4();
        await Os.RunAsync("subnet", "create", "--network", "cli-fip-net", "--subnet-range", cidr, "cli-fip-subnet");
        var port = await Os.JsonAsync("port", "create", "--network", "cli-fip-net", "cli-fip-port");

        var fip = await Os.JsonAsync("floating", "ip", "create", "--description", "public web", "cli-ext");
        var address = (string)fip["floating_ip_address"]!;
        Assert.StartsWith(externalCidr[..externalCidr.LastIndexOf('.')], address, StringComparison.Ordinal);
        // Neutron's rule: no router joins the port's subnet to the external network yet.
        var (exit, _, error) = await Os.TryAsync("floating", "ip", "set", "--port", "cli-fip-port", address);
        Assert.NotEqual(0, exit);
        Assert.Contains("is not reachable from subnet", error, StringComparison.Ordinal);

        var router = await Os.JsonAsync("router", "create", "cli-router");
        Assert.Equal("ACTIVE", (string)router["status"]!);
        await Os.RunAsync("router", "set", "--external-gateway", "cli-ext", "cli-router");
        await Os.RunAsync("router", "add", "subnet", "cli-router", "cli-fip-subnet");
        await Os.RunAsync("router", "set", "--route", $"destination=198.51.100.0/24,gateway={Cidrs.At(cidr, 9)}", "cli-router");
        var shown = await Os.JsonAsync("router", "show", "cli-router");
        Assert.Contains("cli-ext", await Os.RunAsync("network", "show", (string)shown["external_gateway_info"]!["network_id"]!, "-f", "value", "-c", "name"), StringComparison.Ordinal);
        Assert.Contains("198.51.100.0/24", shown["routes"]!.ToJsonString(), StringComparison.Ordinal);
        var interfaces = (await Os.JsonAsync("port", "list", "--router", "cli-router", "--device-owner", "network:router_interface")).AsArray();
        Assert.Contains(Cidrs.At(cidr, 1), Assert.Single(interfaces)!.ToJsonString(), StringComparison.Ordinal);

        await Os.RunAsync("floating", "ip", "set", "--port", "cli-fip-port", address);
        var associated = await Os.JsonAsync("floating", "ip", "show", address);
        Assert.Equal((string)port["id"]!, (string)associated["port_id"]!);
        Assert.Equal((string)router["id"]!, (string)associated["router_id"]!);
        Assert.Equal("ACTIVE", (string)associated["status"]!);
        Assert.Contains(address, await Os.RunAsync("floating", "ip", "list", "--port", "cli-fip-port", "-f", "value", "-c", "Floating IP Address"), StringComparison.Ordinal);
        await Os.RunAsync("floating", "ip", "unset", "--port", address);
        Assert.Null((await Os.JsonAsync("floating", "ip", "show", address))["port_id"]);
        await Os.RunAsync("floating", "ip", "delete", address);
        Assert.DoesNotContain(address, await Os.RunAsync("floating", "ip", "list", "-f", "value", "-c", "Floating IP Address"), StringComparison.Ordinal);

        var (inUse, _, inUseError) = await Os.TryAsync("router", "delete", "cli-router");
        Assert.NotEqual(0, inUse);
        Assert.Contains("still has ports", inUseError, StringComparison.Ordinal);
        await Os.RunAsync("router", "unset", "--route", $"destination=198.51.100.0/24,gateway={Cidrs.At(cidr, 9)}", "cli-router");
        await Os.RunAsync("router", "remove", "subnet", "cli-router", "cli-fip-subnet");
        await Os.RunAsync("router", "unset", "--external-gateway", "cli-router");
        Assert.Null((await Os.JsonAsync("router", "show", "cli-router"))["external_gateway_info"]);
        await Os.RunAsync("router", "delete", "cli-router");
        Assert.DoesNotContain("cli-router", await Os.RunAsync("router", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Network_agents_show_live_and_dead_hosts()
    {
        var spec = (string name) => new HostSpec(name, System.Net.IPAddress.Parse("192.0.2.41"), null, null, ValueMap.Empty);
        await server.Cluster.GetGrain<IHostGrain>("cli-live").RegisterAsync(spec("cli-live"));
        await server.Cluster.GetGrain<IHostGrain>("cli-live").ReportAsync(new HostReport("compute-cli-live", null, DateTimeOffset.UtcNow, "test"));
        await server.Cluster.GetGrain<IHostGrain>("cli-dead").RegisterAsync(spec("cli-dead"));

        // The table the operator reads: ":-)" for a live agent, "XXX" for a dead one.
        var rows = (await Os.RunAsync("network", "agent", "list", "-c", "Agent Type", "-c", "Host", "-c", "Alive")).Split('\n');
        Assert.Matches(@"\| Calico per-host agent\s+\| cli-live\s+\| :-\)", Assert.Single(rows, r => r.Contains("cli-live", StringComparison.Ordinal)));
        Assert.Matches(@"\| Calico per-host agent\s+\| cli-dead\s+\| XXX", Assert.Single(rows, r => r.Contains("cli-dead", StringComparison.Ordinal)));
        var agents = await Os.JsonAsync("network", "agent", "list", "--host", "cli-dead");
        var id = (string)Assert.Single(agents.AsArray())!["ID"]!;
        Assert.Equal("cli-dead", (string)(await Os.JsonAsync("network", "agent", "show", id))["host"]!);
        await Os.RunAsync("network", "agent", "delete", id);
        Assert.DoesNotContain("cli-dead", await Os.RunAsync("network", "agent", "list", "-f", "value", "-c", "Host"), StringComparison.Ordinal);
    }
}

/// <summary>The CLI with tokens: each project sees its own resources; a wrong token is refused.</summary>
[Collection(TokenApi.Name)]
public sealed class OpenStackCliTokenTests(TokenApiServer server)
{
    [Fact]
    public async Task Tokens_select_the_project_and_a_wrong_token_is_refused()
    {
        var demo = OpenStackCli.Token(server.BaseUrl, TokenApiServer.DemoToken);
        var other = OpenStackCli.Token(server.BaseUrl, TokenApiServer.OtherToken);
        var network = await demo.JsonAsync("network", "create", "cli-token-net");
        Assert.Equal("demo", (string)network["project_id"]!);
        Assert.Contains("cli-token-net", await demo.RunAsync("network", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
        Assert.DoesNotContain("cli-token-net", await other.RunAsync("network", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
        var (exit, _, error) = await other.TryAsync("network", "delete", "cli-token-net");
        Assert.NotEqual(0, exit);
        Assert.Contains("No Network found for cli-token-net", error, StringComparison.Ordinal);

        var (badExit, _, badError) = await OpenStackCli.Token(server.BaseUrl, "wrong-token-0123456789").TryAsync("network", "list");
        Assert.NotEqual(0, badExit);
        Assert.Contains("401", badError, StringComparison.Ordinal);
        await demo.RunAsync("network", "delete", "cli-token-net");
    }
}
