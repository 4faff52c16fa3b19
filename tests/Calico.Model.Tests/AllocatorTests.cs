using System.Net;
using Calico.Model.Collections;
using Calico.Model.Ipam;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Model.Tests;

/// <summary>The pure allocation logic: carving, affinity, borrowing, release, exhaustion, idempotency, IPv4 and IPv6.</summary>
public class AllocatorTests
{
    private static readonly DateTimeOffset Now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static SubnetAllocator Allocator(Subnet subnet, int blockLength = 26, int maxBlocks = 20) =>
        new(new SubnetLayout(subnet, blockLength), maxBlocks, []);

    private static string Auto(SubnetAllocator a, string port, string? host) => a.Allocate(port, host, null, Now).Allocation.Address.ToString();

    private static AllocationPool Pool(string start, string end) => new(IPAddress.Parse(start), IPAddress.Parse(end));

    [Fact]
    public void A_host_claims_the_first_block_and_fills_it_skipping_network_and_gateway()
    {
        var a = Allocator(Sample.Subnet());
        var first = a.Allocate("p1", "h1", null, Now);
        Assert.Equal("10.65.0.2", first.Allocation.Address.ToString());
        Assert.Equal(IpPrefix.Parse("10.65.0.0/26"), first.Block);
        Assert.Equal("h1", a.Block(first.Block)!.Block.AffinityHost);
        Assert.True(first.Allocation.Automatic);
        Assert.Equal("10.65.0.3", Auto(a, "p2", "h1"));
        // The block holds 64 addresses, of which .0 and .1 are not handed out: 62 for h1 before it claims another.
        for (var i = 3; i <= 62; i++) Auto(a, $"p{i}", "h1");
        Assert.Equal(1, a.BlockCountOf("h1"));
        Assert.Equal("10.65.0.64", Auto(a, "p63", "h1"));
        Assert.Equal(2, a.BlockCountOf("h1"));
    }

    /// <summary>What the IPAM gauge calico.ipam.addresses.capacity reports: the allocation pools, less the gateway if inside one.</summary>
    [Fact]
    public void The_automatic_capacity_is_the_allocation_pools_less_the_gateway()
    {
        Assert.Equal((UInt128)253, new SubnetLayout(Sample.Subnet(), 26).AutomaticCapacity); // .1-.254, less .1
        Assert.Equal((UInt128)254, new SubnetLayout(Sample.Subnet(gateway: null), 26).AutomaticCapacity);
        var pooled = Sample.Subnet() with { AllocationPools = ValueList.Create(Pool("10.65.0.10", "10.65.0.19"), Pool("10.65.0.100", "10.65.0.104")) };
        Assert.Equal((UInt128)15, new SubnetLayout(pooled, 26).AutomaticCapacity); // the gateway .1 is outside both
        var withGateway = Sample.Subnet(gateway: "10.65.0.12") with { AllocationPools = ValueList.Create(Pool("10.65.0.10", "10.65.0.19")) };
        Assert.Equal((UInt128)9, new SubnetLayout(withGateway, 26).AutomaticCapacity);
        Assert.Equal(((UInt128)1 << 64) - 1, new SubnetLayout(Sample.Subnet(cidr: "fd00::/64", gateway: null), 122).AutomaticCapacity); // ::1 to the last
    }

    [Fact]
    public void Each_host_gets_its_own_block()
    {
        var a = Allocator(Sample.Subnet());
        Assert.Equal("10.65.0.2", Auto(a, "p1", "h1"));
        Assert.Equal("10.65.0.64", Auto(a, "p2", "h2"));
        Assert.Equal("10.65.0.3", Auto(a, "p3", "h1"));
        Assert.Equal("10.65.0.65", Auto(a, "p4", "h2"));
        Assert.Equal(["h1", "h2"], a.Blocks.Select(b => b.Block.AffinityHost));
    }

    [Fact]
    public void A_host_at_its_limit_borrows_from_another_hosts_block()
    {
        var a = Allocator(Sample.Subnet(), maxBlocks: 1);
        Auto(a, "p1", "h1");                      // h1: 10.65.0.0/26
        Assert.Equal("10.65.0.64", Auto(a, "p2", "h2")); // h2: 10.65.0.64/26
        for (var i = 3; i <= 63; i++) Auto(a, $"p{i}", "h1"); // fills .2-.63 (62 addresses)
        // h1 may not claim a second block: it borrows the lowest free address of any block, here h2's.
        var borrowed = a.Allocate("p64", "h1", null, Now);
        Assert.Equal("10.65.0.65", borrowed.Allocation.Address.ToString());
        Assert.Equal("h2", a.Block(borrowed.Block)!.Block.AffinityHost);
        Assert.Equal(1, a.BlockCountOf("h1"));
    }

    [Fact]
    public void A_host_at_its_limit_with_every_block_full_gets_a_block_without_affinity()
    {
        var a = Allocator(Sample.Subnet(), maxBlocks: 1);
        for (var i = 0; i < 62; i++) Auto(a, $"p{i}", "h1");   // h1's only block is full
        var next = a.Allocate("p62", "h1", null, Now);
        Assert.Equal("10.65.0.64", next.Allocation.Address.ToString());
        Assert.Null(a.Block(next.Block)!.Block.AffinityHost);
        Assert.Equal(1, a.BlockCountOf("h1"));
        Assert.Equal("10.65.0.65", Auto(a, "p63", "h1")); // borrowed from that block from now on
    }

    [Fact]
    public void With_every_block_claimed_a_host_under_its_limit_borrows_and_then_the_subnet_is_exhausted()
    {
        var a = Allocator(Sample.Subnet("s", "10.65.0.0/28", "10.65.0.1"), blockLength: 30);
        // 4 blocks of /30; addresses .2-.14 handed out (.0 network, .1 gateway, .15 broadcast): 13 in all.
        var given = Enumerable.Range(0, 13).Select(i => Auto(a, $"p{i}", i % 2 == 0 ? "h1" : "h2")).ToList();
        Assert.Equal(13, given.Distinct().Count());
        Assert.DoesNotContain("10.65.0.1", given);
        Assert.DoesNotContain("10.65.0.15", given);
        var ex = Assert.Throws<ResourceConflictException>(() => a.Allocate("p99", "h3", null, Now));
        Assert.Equal(SubnetAllocator.SubnetKind, ex.Kind);
        Assert.Contains("no free IP address", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Released_addresses_are_reused_and_an_empty_block_is_released()
    {
        var a = Allocator(Sample.Subnet());
        Auto(a, "p1", "h1");
        Auto(a, "p2", "h1");
        Assert.Equal(IpPrefix.Parse("10.65.0.0/26"), a.Release("p1", IPAddress.Parse("10.65.0.2")));
        Assert.Equal("10.65.0.2", Auto(a, "p3", "h1"));
        // Releasing something the port does not hold changes nothing.
        Assert.Null(a.Release("p1", IPAddress.Parse("10.65.0.3")));
        Assert.Null(a.Release("p1", IPAddress.Parse("10.99.0.3")));
        Assert.Null(a.Release("p1", IPAddress.Parse("fd00::3")));
        a.Release("p2", IPAddress.Parse("10.65.0.3"));
        a.Release("p3", IPAddress.Parse("10.65.0.2"));
        Assert.Empty(a.Blocks);
        Assert.Equal(0, a.BlockCountOf("h1"));
    }

    [Fact]
    public void Automatic_allocation_is_idempotent_per_port()
    {
        var a = Allocator(Sample.Subnet());
        var first = a.Allocate("p1", "h1", null, Now).Allocation;
        Assert.Equal(first, a.Allocate("p1", "h1", null, Now.AddMinutes(1)).Allocation);
        // An explicit second address is a second allocation; the automatic one is still the answer to a retry.
        a.Allocate("p1", "h1", IPAddress.Parse("10.65.0.40"), Now);
        Assert.Equal(first, a.Allocate("p1", "h1", null, Now).Allocation);
        Assert.Equal(2, a.Blocks.Single().Allocations.Count);
    }

    [Fact]
    public void A_requested_address_is_honoured_or_refused_naming_the_field()
    {
        var a = Allocator(Sample.Subnet() with { AllocationPools = ValueList.Create(Pool("10.65.0.100", "10.65.0.200")) });
        // Outside the allocation pools is fine when asked for explicitly.
        var fixedIp = a.Allocate("p1", "h1", IPAddress.Parse("10.65.0.7"), Now);
        Assert.False(fixedIp.Allocation.Automatic);
        Assert.Equal("h1", a.Block(fixedIp.Block)!.Block.AffinityHost);
        Assert.Equal(fixedIp, a.Allocate("p1", "h1", IPAddress.Parse("10.65.0.7"), Now)); // a retry

        var taken = Assert.Throws<ResourceConflictException>(() => a.Allocate("p2", "h1", IPAddress.Parse("10.65.0.7"), Now));
        Assert.Equal(SubnetAllocator.AddressKind, taken.Kind);
        Assert.Equal("10.65.0.7", taken.Id);
        foreach (var (address, why) in new[]
                 {
                     ("10.66.0.7", "outside"), ("10.65.0.1", "gateway"), ("10.65.0.0", "network address"),
                     ("10.65.0.255", "broadcast"), ("fd00:65::7", "outside"),
                 })
        {
            var invalid = Assert.Throws<InvalidInputException>(() => a.Allocate("p3", "h1", IPAddress.Parse(address), Now));
            Assert.Contains(invalid.Errors, e => e.Field == "fixed_ips" && e.Reason.Contains(why, StringComparison.Ordinal));
        }
        // Automatic allocation keeps to the pools: the host's block .0/26 has none of them, so it claims .64/26.
        Assert.Equal("10.65.0.100", Auto(a, "p4", "h1"));
        Assert.Equal(2, a.BlockCountOf("h1"));
    }

    [Fact]
    public void Ports_not_bound_yet_get_addresses_from_blocks_without_affinity()
    {
        var a = Allocator(Sample.Subnet());
        Auto(a, "p1", "h1");
        var unbound = a.Allocate("p2", null, null, Now);
        Assert.Equal("10.65.0.64", unbound.Allocation.Address.ToString());
        Assert.Null(a.Block(unbound.Block)!.Block.AffinityHost);
        Assert.Equal("10.65.0.65", Auto(a, "p3", null));
        Assert.Equal("10.65.0.3", Auto(a, "p4", "h1"));
    }

    private static string? Move(SubnetAllocator a, string port, string host, string current) =>
        a.MoveToHost(port, host, IPAddress.Parse(current), Now)?.Allocation.Address.ToString();

    [Fact]
    public void A_first_bind_moves_an_address_chosen_without_a_host_into_the_hosts_block_idempotently()
    {
        var a = Allocator(Sample.Subnet());
        Assert.Equal("10.65.0.2", Auto(a, "p1", "h1"));   // h1: 10.65.0.0/26
        Assert.Equal("10.65.0.64", Auto(a, "p2", null));  // no affinity: 10.65.0.64/26
        var moved = a.MoveToHost("p2", "h1", IPAddress.Parse("10.65.0.64"), Now)!.Value;
        Assert.Equal("10.65.0.3", moved.Allocation.Address.ToString());
        Assert.Equal(IpPrefix.Parse("10.65.0.0/26"), moved.Block);
        Assert.Equal("h1", moved.Allocation.Host);
        Assert.True(moved.Allocation.Automatic);
        // Both held until the caller releases the old one; a retry gets the same new address, not a third.
        Assert.Equal("10.65.0.3", Move(a, "p2", "h1", "10.65.0.64"));
        Assert.Equal(IpPrefix.Parse("10.65.0.64/26"), a.Release("p2", IPAddress.Parse("10.65.0.64")));
        Assert.Null(a.Block(IpPrefix.Parse("10.65.0.64/26")));  // left empty: released
        // The new address was chosen for a host: a later bind elsewhere (unbound in between) keeps it.
        Assert.Null(Move(a, "p2", "h2", "10.65.0.3"));

        // A host without a block claims one.
        Assert.Equal("10.65.0.64", Auto(a, "p3", null));
        Assert.Equal("10.65.0.128", Move(a, "p3", "h2", "10.65.0.64"));
        Assert.Equal("h2", a.Block(IpPrefix.Parse("10.65.0.128/26"))!.Block.AffinityHost);
    }

    [Fact]
    public void A_first_bind_keeps_explicit_addresses_foreign_ones_and_those_already_in_the_hosts_block()
    {
        var a = Allocator(Sample.Subnet());
        Auto(a, "p1", "h1");
        a.Allocate("p2", null, IPAddress.Parse("10.65.0.100"), Now);
        Assert.Null(Move(a, "p2", "h1", "10.65.0.100"));   // asked for explicitly
        Assert.Null(Move(a, "p1", "h1", "10.65.0.2"));     // chosen for h1, in h1's block
        Assert.Null(Move(a, "p3", "h1", "10.65.0.2"));     // not p3's
        Assert.Null(Move(a, "p3", "h1", "10.65.9.9"));     // not in the subnet
        Assert.Null(Move(a, "p3", "h1", "fd00::1"));       // not of its family
        Assert.Equal(2, a.Blocks.Count());                 // nothing was claimed
    }

    [Fact]
    public void A_first_bind_never_borrows_and_keeps_the_address_when_the_host_has_no_room()
    {
        // At its limit, with its one block full: the host keeps the port's old address rather than borrow.
        var a = Allocator(Sample.Subnet(), maxBlocks: 1);
        for (var i = 0; i < 62; i++) Auto(a, $"h1-{i}", "h1");
        Assert.Equal("10.65.0.64", Auto(a, "p", null));
        Assert.Equal("10.65.0.128", Auto(a, "h2-0", "h2"));    // another host's block, with room
        var before = a.Blocks.ToList();
        Assert.Null(Move(a, "p", "h1", "10.65.0.64"));
        Assert.Equal(before, a.Blocks.ToList());

        // Every block of the subnet claimed: a host with none keeps the old address too.
        var small = Allocator(Sample.Subnet("s", "10.65.0.0/26", "10.65.0.1"));
        Assert.Equal("10.65.0.2", Auto(small, "q", null));
        Assert.Null(Move(small, "q", "h1", "10.65.0.2"));
        Assert.Equal(0, small.BlockCountOf("h1"));

        // Automatic allocation disabled: nothing moves.
        var disabled = Allocator(Sample.Subnet());
        Auto(disabled, "r", null);
        disabled.Configure(Sample.Subnet(), "its IP pool p is disabled");
        Assert.Null(Move(disabled, "r", "h1", "10.65.0.2"));
    }

    [Fact]
    public void A_subnet_smaller_than_a_block_is_one_block()
    {
        var subnet = Sample.Subnet("s", "10.65.0.16/28", "10.65.0.17");
        var a = Allocator(subnet, blockLength: 28);
        Assert.Equal(IpPrefix.Parse("10.65.0.16/28"), a.Allocate("p1", "h1", null, Now).Block);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SubnetLayout(subnet, 26));
    }

    [Fact]
    public void Ipv6_subnets_are_carved_into_122_blocks()
    {
        var a = Allocator(Sample.Subnet("s6", "fd00:65::/64", "fd00:65::1"), blockLength: 122);
        var first = a.Allocate("p1", "h1", null, Now);
        Assert.Equal("fd00:65::2", first.Allocation.Address.ToString());
        Assert.Equal(IpPrefix.Parse("fd00:65::/122"), first.Block);
        Assert.Equal(IpPrefix.Parse("fd00:65::40/122"), a.Allocate("p2", "h2", null, Now).Block);
        for (var i = 3; i <= 64; i++) Auto(a, $"p{i}", "h1"); // ::2 .. ::3f is 62 addresses, the 63rd needs a new block
        Assert.Equal(IpPrefix.Parse("fd00:65::80/122"), a.Block(IpPrefix.Parse("fd00:65::80/122"))!.Block.Cidr);
        Assert.Equal(2, a.BlockCountOf("h1"));
        // The last address of an IPv6 subnet is usable (no broadcast); the first is the subnet-router anycast address.
        Assert.Equal("fd00:65::ffff:ffff:ffff:ffff",
            a.Allocate("p9", "h1", IPAddress.Parse("fd00:65::ffff:ffff:ffff:ffff"), Now).Allocation.Address.ToString());
        Assert.Throws<InvalidInputException>(() => a.Allocate("p10", "h1", IPAddress.Parse("fd00:65::"), Now));
    }

    [Fact]
    public void Restore_puts_a_block_back_with_its_indexes()
    {
        var a = Allocator(Sample.Subnet(), maxBlocks: 1);
        Auto(a, "p1", "h1");
        a.BeginBatch();
        Auto(a, "p2", "h1");
        a.Release("p1", IPAddress.Parse("10.65.0.2"));
        Auto(a, "p3", "h2");
        var touched = a.EndBatch();
        Assert.Equal([IpPrefix.Parse("10.65.0.0/26"), IpPrefix.Parse("10.65.0.64/26")], touched.Keys.Order(Comparer<IpPrefix>.Create((x, y) => x.First().CompareTo(y.First()))));
        foreach (var (cidr, before) in touched) a.Restore(cidr, before);

        var block = Assert.Single(a.Blocks);
        Assert.Equal("p1", Assert.Single(block.Allocations).Value.PortId);
        Assert.Equal(0, a.BlockCountOf("h2"));
        // The indexes agree: p1's retry returns its address, p2 is new again, h1 is still at its limit of one block.
        Assert.Equal("10.65.0.2", Auto(a, "p1", "h1"));
        Assert.Equal("10.65.0.3", Auto(a, "p2", "h1"));
        Assert.Equal(1, a.BlockCountOf("h1"));
    }

    [Fact]
    public void Loaded_blocks_are_used_as_stored()
    {
        var stored = Allocator(Sample.Subnet());
        Auto(stored, "p1", "h1");
        Auto(stored, "p2", "h2");
        var a = new SubnetAllocator(new SubnetLayout(Sample.Subnet(), 26), 20, stored.Blocks);
        Assert.Equal("10.65.0.3", Auto(a, "p3", "h1"));
        Assert.Equal("10.65.0.65", Auto(a, "p4", "h2")); // h2 got .64 (only the subnet's first address is reserved)
        Assert.Equal("10.65.0.2", Auto(a, "p1", "h9")); // p1 already holds one
        Assert.Throws<ArgumentException>(() => new SubnetAllocator(new SubnetLayout(Sample.Subnet(), 27), 20, stored.Blocks));
    }

    [Fact]
    public void A_changed_allocation_pool_is_taken_into_account()
    {
        var a = Allocator(Sample.Subnet());
        Auto(a, "p1", "h1");
        a.Configure(Sample.Subnet() with { AllocationPools = ValueList.Create(Pool("10.65.0.10", "10.65.0.20")) }, null);
        Assert.Equal("10.65.0.10", Auto(a, "p2", "h1"));
        a.Configure(Sample.Subnet(), "its IP pool p is disabled");
        var disabled = Assert.Throws<ResourceConflictException>(() => a.Allocate("p3", "h1", null, Now));
        Assert.Contains("disabled", disabled.Message, StringComparison.Ordinal);
        // Explicit addresses are still honoured.
        Assert.Equal("10.65.0.30", a.Allocate("p3", "h1", IPAddress.Parse("10.65.0.30"), Now).Allocation.Address.ToString());
    }
}
