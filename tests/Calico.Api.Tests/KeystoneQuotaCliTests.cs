using System.Net;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>
/// The CLI's quota commands, which look the project up in Keystone first (so they need Api:Auth=keystone): limits set
/// by an admin show in <c>openstack quota list --network</c>, and the project's member is held to them. (Debian's CLI 6.0
/// <c>quota set</c> and <c>quota show</c> want compute and volume endpoints in the catalog even for network limits, and
/// this cloud has none, so limits are set over HTTP here and read with <c>quota list --network</c>.)
/// </summary>
[Collection(KeystoneApi.Name)]
public sealed class KeystoneQuotaCliTests(KeystoneApiServer server)
{
    [Fact]
    public async Task An_admin_sets_and_shows_quotas_and_the_project_is_held_to_them()
    {
        var admin = server.Cli("admin", "admin");
        var project = await server.Keystone.ProjectIdAsync("other");
        var api = await server.ClientAsync("admin", "admin");
        var used = (int)(await api.GetAsync($"/v2.0/quotas/{project}/details")).Body!["quota"]!["network"]!["used"]!;
        try
        {
            var set = await api.PutAsync($"/v2.0/quotas/{project}", new JsonObject { ["quota"] = new JsonObject { ["network"] = used + 1, ["port"] = 40 } });
            Assert.Equal(HttpStatusCode.OK, set.Status);
            var listed = Assert.Single((await admin.JsonAsync("quota", "list", "--network", "--project", "other")).AsArray())!;
            Assert.Equal((used + 1, 40, -1), ((int)listed["Networks"]!, (int)listed["Ports"]!, (int)listed["Subnets"]!));
            var details = (await admin.JsonAsync("quota", "list", "--network", "--detail", "--project", "other")).AsArray();
            var networks = details.Single(r => (string)r!["Resource"]! == "networks")!;
            Assert.Equal((used, used + 1), ((int)networks["In Use"]!, (int)networks["Limit"]!));

            var member = server.Cli("other-member", "other");
            await member.RunAsync("network", "create", $"ks-quota-{Guid.NewGuid():N}"[..18]);
            var (exit, _, error) = await member.TryAsync("network", "create", $"ks-quota-{Guid.NewGuid():N}"[..18]);
            Assert.NotEqual(0, exit);
            Assert.Contains("Quota exceeded for resources: ['network']", error, StringComparison.Ordinal);
            // Its own quotas are the project's to read, not to change.
            var own = await (await server.ClientAsync("other-member", "other")).GetAsync($"/v2.0/quotas/{project}");
            Assert.Equal(used + 1, (int)own.Body!["quota"]!["network"]!);
            var refused = await (await server.ClientAsync("other-member", "other")).PutAsync($"/v2.0/quotas/{project}",
                new JsonObject { ["quota"] = new JsonObject { ["network"] = 100 } });
            Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        }
        finally
        {
            Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/quotas/{project}")).Status);
        }
    }
}
