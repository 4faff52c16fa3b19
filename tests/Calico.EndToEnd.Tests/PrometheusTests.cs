using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Testing;
using Calico.Topology;
using Calico.Topology.Api;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>A controller and two compute hosts with the real `linux` dataplane, one in each of two racks (BGP mode), nothing created yet.</summary>
public sealed class PrometheusTopologyFixture : TopologyFixture
{
    // Two racks in BGP mode, so that the BGP dashboard and alert have sessions to show; everything else is as in one.
    protected override TopologyOptions Options => new() { Hosts = 2, Racks = 2, DebugLogs = false };
}

/// <summary>
/// Issue 15, items 1-2: Debian's Prometheus scrapes a running cluster (every silo's /metrics), with the rules of
/// observability/alerts.yaml loaded, while the test drives work through the API; then every query of every dashboard
/// under observability/grafana/dashboards/ and every alert rule's expression is evaluated through Prometheus' HTTP API
/// and must return data: at least one series with a finite value. Nothing is skipped and no query is changed, except
/// that an alert's final comparison is dropped (<see cref="WithoutThreshold"/>): a healthy cluster must not fire it,
/// but what it compares must exist. Server errors, which a healthy cluster does not answer, are real: a second
/// controller whose Keystone is unreachable answers 503 (<see cref="KeystonelessControllerAsync"/>).
/// </summary>
public sealed partial class PrometheusTests(PrometheusTopologyFixture fixture, ITestOutputHelper output) : IClassFixture<PrometheusTopologyFixture>
{
    private static readonly IPAddress Vm1Address = IPAddress.Parse("10.65.0.2");
    private static readonly IPAddress Vm2Address = IPAddress.Parse("10.65.0.3");

    private static string Observability => Path.Combine(Repository.Root(), "observability");

    [Fact]
    public async Task Prometheus_scrapes_a_cluster_and_every_panel_and_alert_has_data()
    {
        var alertsFile = Path.Combine(Observability, "alerts.yaml");
        var check = await Shell.TryRunAsync("promtool", ["check", "rules", alertsFile]);
        Assert.True(check.Succeeded, $"promtool check rules {alertsFile}:\n{check.Output}{check.Error}");
        output.WriteLine(check.Output.Trim());

        var topology = fixture.Topology;
        var keystoneless = await KeystonelessControllerAsync(topology);
        var prometheus = await topology.AddPrometheusAsync(ScrapeConfiguration(topology, keystoneless), new Dictionary<string, string>
        {
            ["alerts.yaml"] = await File.ReadAllTextAsync(alertsFile),
        });
        var targets = 2 + topology.Hosts.Count;
        await Eventually.UntilAsync($"Prometheus to scrape all {targets} silos",
            async () => (await prometheus.TargetsAsync()).Count(t => (string?)t!["health"] == "up"), up => up == targets, context: fixture.Diagnostics);

        await DriveWorkAsync(topology);
        // The API's server errors: a caller's token that cannot be checked, since Keystone does not answer. Twice,
        // with a scrape between, so that the 503s have a rate (a series' first sample already counts the first).
        using (var http = NamespacedHttp.CreateClient(topology.Controller.Namespace, TimeSpan.FromSeconds(30)))
        {
            await AssertUnavailableAsync(http, keystoneless);
            await Eventually.UntilAsync("Prometheus to see the first 503",
                async () => (await prometheus.QueryAsync("http_server_request_duration_seconds_count{http_response_status_code=\"503\", http_route=\"/v2.0/networks\"}")).Count > 0,
                context: fixture.Diagnostics);
            await AssertUnavailableAsync(http, keystoneless);
        }

        // The dashboards' host variable and the silo behind it, as Grafana would resolve them.
        var variables = new Dictionary<string, string> { ["host"] = topology.Hosts[0].Name };
        var failures = new List<string>();
        var evaluated = 0;
        foreach (var file in Directory.GetFiles(Path.Combine(Observability, "grafana", "dashboards"), "*.json").Order(StringComparer.Ordinal))
        {
            using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            var name = Path.GetFileName(file);
            foreach (var variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
                         .Where(v => v.GetProperty("type").GetString() == "query"))
            {
                var variableName = variable.GetProperty("name").GetString()!;
                var values = await VariableValuesAsync(prometheus, Substitute(variable.GetProperty("query").GetProperty("query").GetString()!, variables));
                output.WriteLine($"{name} variable ${variableName}: {string.Join(", ", values)}");
                if (values.Count == 0) failures.Add($"{name}: variable ${variableName} has no values");
                else variables.TryAdd(variableName, values[0]);
            }
            var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();
            Assert.NotEmpty(panels);
            foreach (var panel in panels)
            {
                var targetsOfPanel = panel.GetProperty("targets").EnumerateArray().ToList();
                Assert.True(targetsOfPanel.Count > 0, $"{name}: panel '{panel.GetProperty("title")}' has no query");
                foreach (var target in targetsOfPanel)
                {
                    var what = $"{name} / {panel.GetProperty("title").GetString()} / {target.GetProperty("refId").GetString()}";
                    await EvaluateAsync(prometheus, what, Substitute(target.GetProperty("expr").GetString()!, variables), failures);
                    evaluated++;
                }
            }
        }

        // Every rule of alerts.yaml, as Prometheus loaded and evaluated it (health ok), and its expression has data.
        var declared = AlertName().Matches(await File.ReadAllTextAsync(alertsFile)).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var rules = await Eventually.UntilAsync("every alert rule evaluated by Prometheus",
            async () => (await prometheus.RuleGroupsAsync()).SelectMany(g => g!["rules"]!.AsArray()).Select(r => r!).ToList(),
            loaded => loaded.Count == declared.Count && loaded.All(r => (string?)r["health"] == "ok" && !((string)r["lastEvaluation"]!).StartsWith("0001", StringComparison.Ordinal)),
            context: fixture.Diagnostics);
        Assert.Equal(declared.Order(StringComparer.Ordinal), rules.Select(r => (string)r["name"]!).Order(StringComparer.Ordinal));
        foreach (var rule in rules)
        {
            var expression = (string)rule["query"]!;
            var underlying = WithoutThreshold(expression);
            Assert.True(underlying is not null, $"alert {rule["name"]}: '{expression}' does not end in a comparison with a number");
            await EvaluateAsync(prometheus, $"alert {rule["name"]} ({rule["state"]})", underlying, failures);
            evaluated++;
        }

        // And the alert on them is not only fed but would fire: its whole expression selects that controller's route.
        var serverErrors = rules.Single(r => (string)r["name"]! == "CalicoApiServerErrors");
        var firing = await Eventually.UntilAsync("CalicoApiServerErrors' expression to select the 503s", () => prometheus.QueryAsync((string)serverErrors["query"]!),
            series => series.Count > 0, context: fixture.Diagnostics);
        Assert.Contains(firing, s => (string?)s!["metric"]!["instance"] == keystoneless.Authority && (string?)s["metric"]!["http_route"] == "/v2.0/networks");

        output.WriteLine($"{evaluated} expressions evaluated, {failures.Count} without data");
        Assert.True(failures.Count == 0, "Expressions without data:\n" + string.Join("\n", failures) + "\n" + fixture.Diagnostics());
    }

    /// <summary>
    /// A second controller, in a cluster of its own (in-memory store) in {prefix}api2 at 172.18.203.4 on the fabric,
    /// whose API validates tokens with a Keystone that does not answer (nothing listens at the address it is given):
    /// it answers an authenticated request 503 ("Authentication is unavailable"), as a real deployment does while its
    /// Keystone is down. Returns its API's base URL.
    /// </summary>
    private static async Task<Uri> KeystonelessControllerAsync(NamespaceTopology topology)
    {
        const string address = "172.18.203.4";
        var ns = await topology.AddNodeAsync("api2", IPAddress.Parse(address));
        var url = new Uri($"http://{address}:{ControllerNode.ApiPort}/");
        await topology.StartSiloAsync("keystoneless", ns, url,
        [
            "--role", "controller", "--name", "keystoneless", "--advertise", address, "--listen", url.ToString().TrimEnd('/'),
            "--datastore", "memory", "--Silo:ClusterId=keystoneless",
            "--Api:Auth=keystone", $"--Api:Keystone:AuthUrl=http://{address}:5000/v3", "--Api:Keystone:Username=neutron",
            "--Api:Keystone:Password=unused", "--Api:Keystone:ProjectName=service",
        ]);
        return url;
    }

    private static async Task AssertUnavailableAsync(HttpClient http, Uri api)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api, "v2.0/networks"));
        request.Headers.Add("X-Auth-Token", "a-token-keystone-cannot-check");
        using var response = await http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable,
            $"GET {request.RequestUri} with a token while Keystone is down: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Job names as in observability/prometheus.yaml (the alerts use them); a 1 s scrape and rule interval.</summary>
    private static string ScrapeConfiguration(NamespaceTopology topology, Uri keystoneless) => $"""
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - alerts.yaml
        scrape_configs:
          - job_name: calico-controller
            static_configs:
              - targets: ["{topology.Controller.Address}:{ControllerNode.ApiPort}", "{keystoneless.Authority}"]
          - job_name: calico-compute
            static_configs:
              - targets: [{string.Join(", ", topology.Hosts.Select(h => $"\"{h.Address}:{ControllerNode.ApiPort}\""))}]
        """;

    /// <summary>
    /// What an operator's cluster does: a network, a subnet and a security group with a rule; a VM on each host (ports
    /// bound to the hosts); a rule added; a refused address, an unknown port and bad input (4xx answers, an IPAM
    /// refusal); a route removed by hand on h1, which the next resync puts back (drift repair); two more VMs.
    /// </summary>
    private async Task DriveWorkAsync(NamespaceTopology topology)
    {
        var api = topology.Api;
        var seed = await SeedNetwork.CreateAsync(topology, [new IngressRule("icmp")], "prom");
        var vm1 = await seed.LaunchVmAsync("vm1", topology.Hosts[0], Vm1Address);
        var vm2 = await seed.LaunchVmAsync("vm2", topology.Hosts[1], Vm2Address);
        await fixture.WaitActiveAsync(vm1, vm2);
        await api.AddIngressRuleAsync(seed.SecurityGroupId, "tcp", 22);

        var taken = await Assert.ThrowsAsync<NeutronApiException>(() =>
            api.CreatePortAsync(seed.NetworkId, seed.SubnetId, Vm1Address, topology.Hosts[0].Name, "vm-conflict", [seed.SecurityGroupId]));
        Assert.Equal(HttpStatusCode.Conflict, taken.Reply.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(HttpMethod.Get, $"v2.0/ports/{Guid.NewGuid()}")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.SendAsync(HttpMethod.Post, "v2.0/networks",
            new JsonObject { ["network"] = new JsonObject { ["admin_state_up"] = "not-a-boolean" } })).Status);

        var h1 = topology.Hosts[0];
        await h1.Namespace.IpAsync("route", "flush", "proto", "80");
        var instance = $"{h1.Address}:{ControllerNode.ApiPort}";
        await Eventually.UntilAsync($"Prometheus to see {h1.Name} repair the routes removed by hand",
            async () => (await topology.Prometheus!.QueryAsync($"calico_dataplane_drift_repairs_total{{instance=\"{instance}\", kind=\"route\"}} > 0")).Count > 0,
            context: fixture.Diagnostics);
        await fixture.WaitPingAsync(vm1, Vm2Address);

        // A second VM on each host, scrapes after the first: a histogram (link reconcile, say) has a rate only once
        // it has observations after the first sample of its series.
        var vm3 = await seed.LaunchVmAsync("vm3", topology.Hosts[0], IPAddress.Parse("10.65.0.4"));
        var vm4 = await seed.LaunchVmAsync("vm4", topology.Hosts[1], IPAddress.Parse("10.65.0.5"));
        await fixture.WaitActiveAsync(vm3, vm4);
    }

    /// <summary>Polls the query until it returns a series with a finite value; records a failure otherwise.</summary>
    private async Task EvaluateAsync(PrometheusNode prometheus, string what, string query, List<string> failures)
    {
        try
        {
            var result = await Eventually.UntilAsync($"data for {what}: {query}", () => prometheus.QueryAsync(query),
                series => series.Any(s => double.IsFinite(PrometheusNode.ValueOf(s!))), within: TimeSpan.FromSeconds(30));
            output.WriteLine($"{what}: {result.Count} series, e.g. {result[0]!["metric"]!.ToJsonString()} = {result[0]!["value"]![1]}");
        }
        catch (TimeoutException e)
        {
            failures.Add($"{what}: {e.Message}");
        }
    }

    /// <summary>
    /// An alert's expression without its final comparison with a number (`up{...} == 0` → `up{...}`): what the alert
    /// compares, which must exist in a healthy cluster even though the alert must not fire. Null if there is none.
    /// </summary>
    private static string? WithoutThreshold(string expression)
    {
        var match = FinalComparison().Match(expression);
        return match.Success ? match.Groups["lhs"].Value.Trim() : null;
    }

    /// <summary>Grafana's <c>label_values(selector, label)</c> as PromQL: the label's values among the selected series.</summary>
    private static async Task<IReadOnlyList<string>> VariableValuesAsync(PrometheusNode prometheus, string query)
    {
        var match = LabelValues().Match(query);
        Assert.True(match.Success, $"variable query '{query}' is not label_values(selector, label)");
        var label = match.Groups["label"].Value;
        var series = await Eventually.UntilAsync($"values of {query}",
            () => prometheus.QueryAsync($"group by ({label}) ({match.Groups["selector"].Value})"), s => s.Count > 0, within: TimeSpan.FromSeconds(30));
        return [.. series.Select(s => (string)s!["metric"]![label]!).Order(StringComparer.Ordinal)];
    }

    private static string Substitute(string expression, IReadOnlyDictionary<string, string> variables) =>
        DashboardVariable().Replace(expression, m => variables.TryGetValue(m.Groups[1].Value, out var value)
            ? value
            : throw new InvalidOperationException($"'{expression}' uses ${m.Groups[1].Value}, which no variable defines before it"));

    [GeneratedRegex(@"^\s*-\s*alert:\s*(\S+)", RegexOptions.Multiline)]
    private static partial Regex AlertName();

    [GeneratedRegex(@"^(?<lhs>.*?)\s*(==|!=|>=|<=|>|<)\s*-?[0-9.]+\s*$", RegexOptions.Singleline)]
    private static partial Regex FinalComparison();

    [GeneratedRegex(@"^label_values\((?<selector>.+),\s*(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\$(\w+)")]
    private static partial Regex DashboardVariable();
}
