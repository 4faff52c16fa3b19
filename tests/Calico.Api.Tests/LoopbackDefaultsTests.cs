using System.Net;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>Api:Auth=auto on a loopback-only listener: no token needed, everything belongs to Api:NoAuthProjectId.</summary>
[Collection(LoopbackApi.Name)]
public sealed class LoopbackDefaultsTests(LoopbackApiServer server)
{
    [Fact]
    public async Task Loopback_only_server_needs_no_token_and_acts_as_admin_of_the_no_auth_project()
    {
        var network = await server.Client().NetworkAsync("no-auth-net");
        Assert.Equal("admin", (string)network["project_id"]!);
        // Configured tokens do not matter in this mode: the CLI sends "notused".
        Assert.Equal(HttpStatusCode.OK, (await server.Client("notused").GetAsync("/v2.0/agents")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Client().DeleteAsync($"/v2.0/networks/{network["id"]}")).Status);
    }
}
