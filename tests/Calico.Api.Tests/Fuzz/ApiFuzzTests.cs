using System.Net.Http.Headers;
using System.Text;
using Calico.Api.Tests.Harness;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Xunit.Abstractions;

namespace Calico.Api.Tests.Fuzz;

/// <summary>A server of the fuzz's own: what it stores is only what the fuzz did, and its bursts slow no other test's requests.</summary>
[CollectionDefinition(Name)]
public sealed class FuzzApi : ICollectionFixture<TokenApiServer>
{
    public const string Name = "fuzz API server";
}

/// <summary>
/// Hostile input, generated from fixed seeds (<see cref="HostileRequestGenerator"/>): no request gets a server error
/// (5xx) or goes unanswered, and a refused request (4xx) changes nothing stored. Each seed's run makes the same
/// requests on every run (only the ids of the resources it created differ), so a failure names its seed and the
/// exact request, and running that seed's case again replays it.
/// </summary>
[Collection(FuzzApi.Name)]
public sealed class ApiFuzzTests(TokenApiServer server, ITestOutputHelper output)
{
    private const int RequestsPerSeed = 600;

    /// <summary>Not a performance bound: a request unanswered this long hangs, and the test says which one.</summary>
    private static readonly TimeSpan Unanswered = TimeSpan.FromSeconds(30);

    private static readonly HttpClient Http = new() { Timeout = Unanswered };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task Hostile_requests_never_get_a_server_error_and_refused_ones_change_nothing(int seed)
    {
        var world = await SetUpAsync(seed);
        var generator = new HostileRequestGenerator(new Random(seed), world, seed);
        var baseline = await StoreDump.TakeAsync(server.Admin);
        // Reads since the store was last compared: a read never changes anything, refused or not.
        var reads = new List<string>();
        var answers = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var n = 1; n <= RequestsPerSeed; n++)
        {
            var request = generator.Next();
            if (!request.IsRead && reads.Count > 0) await AssertUnchangedAsync(seed, baseline, reads);
            var (status, text) = await SendAsync(seed, n, request);
            var line = $"#{n} {request} → {status} {Shorten(text)}";
            var key = $"{request.Method} {request.Collection} {status}";
            answers[key] = answers.GetValueOrDefault(key) + 1;
            if (request.IsRead)
            {
                reads.Add(line);
                if (reads.Count >= 10) await AssertUnchangedAsync(seed, baseline, reads);
            }
            else if (status is >= 400 and < 500)
            {
                await AssertUnchangedAsync(seed, baseline, [line]);
            }
            else
            {
                world.Learn(request, status, Parse(text));
                baseline = await StoreDump.TakeAsync(server.Admin);
            }
        }
        if (reads.Count > 0) await AssertUnchangedAsync(seed, baseline, reads);
        output.WriteLine($"seed {seed}: {RequestsPerSeed} requests; answers by method, collection and status:");
        foreach (var (key, count) in answers) output.WriteLine($"  {key}: {count}");
    }

    /// <summary>One resource of each kind for the run to work on, each created as the demo project (the external network by the admin).</summary>
    private async Task<FuzzWorld> SetUpAsync(int seed)
    {
        var world = new FuzzWorld();
        var network = (string)(await server.Demo.NetworkAsync($"fuzz-{seed}"))["id"]!;
        world.Add("networks", network);
        var subnet = (string)(await server.Demo.SubnetAsync(network, HostileRequestGenerator.Cidr(seed, 0)))["id"]!;
        world.Add("subnets", subnet);
        var port = (string)(await server.Demo.PortAsync(network))["id"]!;
        world.Add("ports", port);
        var group = await server.Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = $"fuzz-{seed}" });
        world.Add("security-groups", (string)group["id"]!);
        var rule = await server.Demo.CreateAsync("security-group-rules", "security_group_rule", new JsonObject
        {
            ["security_group_id"] = (string)group["id"]!, ["direction"] = "ingress", ["protocol"] = "tcp", ["port_range_min"] = 22, ["port_range_max"] = 22,
        });
        world.Add("security-group-rules", (string)rule["id"]!);
        world.ExternalNetwork = (string)(await server.Admin.NetworkAsync($"fuzz-{seed}-external", new JsonObject { ["router:external"] = true }))["id"]!;
        await server.Admin.SubnetAsync(world.ExternalNetwork, HostileRequestGenerator.Cidr(seed, 255));
        // A floating IP reaches a port's subnet through a router (Neutron's rule).
        await server.Demo.RouterAsync(world.ExternalNetwork, subnet);
        var fip = await server.Demo.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = world.ExternalNetwork, ["port_id"] = port });
        world.Add("floatingips", (string)fip["id"]!);

        // A compute host that reports in, so that agents have one to show (and refuse to delete while it is alive).
        var host = $"fuzz-host-{seed}";
        await server.Cluster.GetGrain<IHostGrain>(host).RegisterAsync(new HostSpec(host, System.Net.IPAddress.Parse("192.0.2.50"), null, 64512, ValueMap.Empty));
        await server.Cluster.GetGrain<IHostGrain>(host).ReportAsync(new HostReport("compute-" + host, null, DateTimeOffset.UtcNow, "fuzz"));
        foreach (var agent in await server.Admin.ListAsync("agents", $"?host={host}")) world.Add("agents", (string)agent!["id"]!);

        // Each project's first list of groups creates its default group; that happens here, not during the run.
        foreach (var client in new[] { server.Demo, server.Other, server.Admin }) await client.ListAsync("security-groups");
        return world;
    }

    private async Task<(int Status, string Text)> SendAsync(int seed, int n, HostileRequest request)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), server.BaseUrl + request.Path);
        var token = request.Sender switch
        {
            Sender.Demo => TokenApiServer.DemoToken,
            Sender.Other => TokenApiServer.OtherToken,
            Sender.Admin => TokenApiServer.AdminToken,
            Sender.BadToken => "fuzz-token-nobody-configured",
            _ => null,
        };
        if (token is not null) message.Headers.Add("X-Auth-Token", token);
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            if (request.ContentType is not null) message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
        }
        try
        {
            using var response = await Http.SendAsync(message);
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            Assert.True(status < 500, Failure(seed, $"request #{n} got a server error", $"{request}\nanswered {status}: {text}\n\nserver output (end):\n{Tail(server.Silo.Output)}"));
            return (status, text);
        }
        catch (TaskCanceledException)
        {
            Assert.Fail(Failure(seed, $"request #{n} got no answer within {Unanswered.TotalSeconds:0} s", request.ToString()));
            throw;
        }
    }

    private async Task AssertUnchangedAsync(int seed, StoreDump baseline, List<string> requests)
    {
        var differences = (await StoreDump.TakeAsync(server.Admin)).DifferencesFrom(baseline);
        Assert.True(differences.Length == 0, Failure(seed, "the store changed although no request since the last comparison changed it",
            $"requests (each refused, or a read):\n  {string.Join("\n  ", requests)}\nchanges:\n{differences}"));
        requests.Clear();
    }

    private static string Failure(int seed, string what, string details) =>
        $"Fuzz seed {seed}: {what}.\n{details}\n" +
        $"Replay: dotnet test tests/Calico.Api.Tests --filter \"FullyQualifiedName~{nameof(ApiFuzzTests)}\" (the case with seed {seed} makes the same requests, with its own ids).";

    private static JsonNode? Parse(string text)
    {
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private static string Tail(string text) => text.Length <= 6000 ? text : text[^6000..];
}
