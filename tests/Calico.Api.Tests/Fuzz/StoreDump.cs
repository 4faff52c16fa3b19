using System.Text;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests.Fuzz;

/// <summary>
/// Everything the API stores, as an admin lists it: every collection, each item as canonical JSON by id. Two dumps
/// are equal exactly when nothing was created, changed (revision, attributes) or deleted in between. An agent's
/// liveness and heartbeat move with the clock, not with requests, and are left out.
/// </summary>
public sealed record StoreDump(IReadOnlyDictionary<string, string> Items)
{
    public static readonly string[] Collections = ["networks", "subnets", "ports", "security-groups", "security-group-rules", "floatingips", "routers", "agents"];

    private static readonly string[] Volatile = ["alive", "heartbeat_timestamp"];

    public static async Task<StoreDump> TakeAsync(NeutronClient admin)
    {
        // The admin's first list of groups creates the admin's default group, so groups come first, then the rest at once.
        var groups = await admin.ListAsync("security-groups");
        var lists = (await Task.WhenAll(Collections.Where(c => c != "security-groups").Select(async c => (Collection: c, Items: await admin.ListAsync(c)))))
            .Append(("security-groups", groups));
        var items = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (collection, list) in lists)
        {
            foreach (var item in list.OfType<JsonObject>())
            {
                foreach (var field in Volatile) item.Remove(field);
                items[$"{collection}/{(string?)item["id"]}"] = item.ToJsonString();
            }
        }
        return new StoreDump(items);
    }

    /// <summary>What differs from <paramref name="before"/>, one line per item; empty when nothing does.</summary>
    public string DifferencesFrom(StoreDump before)
    {
        var text = new StringBuilder();
        foreach (var key in before.Items.Keys.Union(Items.Keys).Order(StringComparer.Ordinal))
        {
            var was = before.Items.GetValueOrDefault(key);
            var now = Items.GetValueOrDefault(key);
            if (was == now) continue;
            text.AppendLine(was is null ? $"  created {key}: {now}" : now is null ? $"  deleted {key}: {was}" : $"  changed {key}:\n    before {was}\n    after  {now}");
        }
        return text.ToString();
    }
}
