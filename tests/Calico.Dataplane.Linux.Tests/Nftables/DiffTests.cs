using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// Planning from a table's lineage (only the names touched since the table the kernel holds) gives exactly the plan
/// that comparing every name gives, in both directions and across many steps.
/// </summary>
public sealed class DiffTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Lineage_and_a_full_comparison_plan_the_same_script(int seed)
    {
        var random = new Random(seed);
        var kernel = SampleTables.Empty().WithEndpoints(Enumerable.Range(1, 30));
        var desired = kernel;
        var present = new SortedSet<int>(Enumerable.Range(1, 30));
        for (var step = 0; step < 40; step++)
        {
            var endpoint = random.Next(1, 40);
            if (present.Add(endpoint)) desired = desired.WithEndpoint(endpoint);
            else { present.Remove(endpoint); desired = desired.WithoutEndpoint(endpoint); }
            if (random.Next(3) == 0 && present.Count > 0)
            {
                var set = $"cali-ep-{SampleTables.Interface(present.First())}";
                desired = desired.WithElement(set, new NftElement(new NftAddress(IPAddress.Parse($"192.0.2.{step}"))));
            }

            var fromLineage = NftDiff.Plan(desired, kernel).Transaction.Render();
            var full = NftDiff.Plan(Unrelated(desired), Unrelated(kernel)).Transaction.Render();
            var backwards = NftDiff.Plan(kernel, desired).Transaction.Render();
            var backwardsFull = NftDiff.Plan(Unrelated(kernel), Unrelated(desired)).Transaction.Render();

            Assert.Equal(full, fromLineage);
            Assert.Equal(backwardsFull, backwards);
        }
    }

    [Fact]
    public void A_table_built_afresh_is_compared_name_by_name()
    {
        var kernel = SampleTables.Empty().WithEndpoints([1, 2]);
        var rebuilt = SampleTables.Empty().WithEndpoints([1, 3]);

        var plan = NftDiff.Plan(rebuilt, kernel);

        Assert.Equal((2, 2, 1, 1), (plan.ChainsAdded, plan.ChainsRemoved, plan.SetsAdded, plan.SetsRemoved));
        Assert.True(NftDiff.Plan(SampleTables.Empty().WithEndpoints([1, 2]), kernel).IsEmpty);
    }

    /// <summary>The same content without any lineage.</summary>
    private static NftTable Unrelated(NftTable table) => new(table.Id, table.Chains.Values, table.Sets.Values);
}
