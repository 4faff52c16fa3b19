using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Dataplane.Linux.Policy;
using Calico.Dataplane.Linux.Tests.Nftables;
using Calico.Model.Desired;
using static Calico.Dataplane.Linux.Tests.Policy.PolicySamples;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>
/// The compiled table against the kernel, in a namespace of the test's own: nft accepts it, reads it back as what
/// was desired (so a restarted agent adopts it without a write), and element-only changes take the native path.
/// </summary>
public sealed class PolicyKernelTests : IDisposable
{
    private readonly NftNamespace _ns = new();

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void The_kernel_accepts_the_table_and_a_new_agent_adopts_it_without_writing()
    {
        var table = PolicyCompiler.Compile(WebAndDatabase());
        new NftablesReconciler(_ns.Kernel).Apply(table);

        var adopted = new NftablesReconciler(_ns.OpenKernel()).Apply(table);

        Assert.True(adopted.ReadKernel);
        Assert.Equal(0, adopted.Operations);
        var listing = _ns.Nft("list", "table", "inet", "calico");
        Assert.Contains("\"tapweb0000001\" . fa:16:3e:00:00:99 . 10.65.0.100", listing);
        Assert.Contains("172.24.4.10 : 10.65.0.3", listing);
    }

    [Fact]
    public void Endpoint_member_and_floating_ip_changes_are_element_batches_of_our_own()
    {
        var policy = new WorkloadPolicy(_ns.Kernel, PolicySettings.Default);
        var items = State(WebAndDatabase());
        policy.Apply(items);
        var batches = _ns.Kernel.Context.NativeBatches;

        var endpoint = Endpoint("tapweb0000009", "fa:16:3e:00:00:09", ["10.65.0.9", "fd00:65::9"], ["web"]);
        var floating = Floating("172.24.4.11", "10.65.0.4", "tapdb00000002");
        Func<DesiredChange>[] changes =
        [
            () => Set(endpoint), () => MemberChange(items.Values, "web", "10.65.3.3", present: true), () => Set(floating),
            () => Remove(endpoint), () => MemberChange(items.Values, "web", "10.65.3.3", present: false), () => Remove(floating),
        ];
        foreach (var change in changes.Select(make => make()))
        {
            DesiredDiff.ApplyTo(items, [change]);
            var result = policy.Apply(items, [change], isSnapshot: false);
            Assert.True(result.Operations is > 0 and <= 8, $"{change.Key}: {result.Operations} operations");
        }

        Assert.Equal(batches + 6, _ns.Kernel.Context.NativeBatches);
        // What the kernel holds is what a fresh compilation of the same items gives.
        var fresh = new NftablesReconciler(_ns.OpenKernel()).Apply(PolicyCompiler.Compile(items.Values));
        Assert.Equal(0, fresh.Operations);
    }
}
