using System.Net;
using Calico.Dataplane.Linux.Bgp;

namespace Calico.Dataplane.Linux.Tests.Bgp;

/// <summary>
/// The sessions read from `birdc show protocols all`, as two real BIRDs (2.0.12) printed it in test namespaces: one
/// host's session to the other established with two routes received, a global peer that cannot be reached. Both of
/// BIRD's time formats (ours asks for iso long; BIRD's default prints the time of day only); the live read is in
/// <see cref="BgpKernelTests"/>.
/// </summary>
public sealed class BirdStatusTests
{
    private static readonly DateOnly Today = new(2026, 12, 7);

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Bgp", "Fixtures", name));

    [Theory]
    [InlineData("show-protocols-all-iso-time.txt", "05:02:55")]
    [InlineData("show-protocols-all-short-time.txt", "05:02:42.829")]
    public void Sessions_are_read_from_show_protocols_all(string fixture, string since)
    {
        var sessions = BirdStatus.Parse(Fixture(fixture), Today);
        Assert.Equal(["Mesh_10_99_0_2", "Global_10_99_0_77"], sessions.Select(s => s.Protocol));

        var mesh = sessions[0];
        Assert.Equal((IPAddress.Parse("10.99.0.2"), "Established", 2), (mesh.Peer, mesh.State, mesh.RoutesReceived));
        Assert.True(mesh.IsEstablished);
        Assert.Equal(new DateTimeOffset(Today.ToDateTime(TimeOnly.Parse(since), DateTimeKind.Local)), mesh.Since);
        Assert.Null(mesh.Info);

        var global = sessions[1];
        Assert.Equal((IPAddress.Parse("10.99.0.77"), "Connect", (int?)null), (global.Peer, global.State, global.RoutesReceived));
        Assert.False(global.IsEstablished);
    }

    /// <summary>
    /// A dual-stack host's BIRD (captured from two real BIRDs in test namespaces): its IPv4 and IPv6 sessions to the
    /// other host, both established, and an operator's IPv6 peer that does not answer; the IPv6 ones by their IPv6
    /// neighbour address.
    /// </summary>
    [Fact]
    public void Ipv6_sessions_are_read_beside_the_ipv4_ones()
    {
        var sessions = BirdStatus.Parse(Fixture("show-protocols-all-dual-stack.txt"), Today);
        Assert.Equal([("Mesh_10_99_0_2", "10.99.0.2", "Established", (int?)1), ("Mesh_2001_db8_99__2", "2001:db8:99::2", "Established", 2),
                ("Global_2001_db8_99__77", "2001:db8:99::77", "Connect", null)],
            sessions.Select(s => (s.Protocol, s.Peer.ToString(), s.State, s.RoutesReceived)));
        Assert.Equal(new DateTimeOffset(Today.ToDateTime(new TimeOnly(12, 18, 31), DateTimeKind.Local)), sessions[1].Since);
        // Without the neighbour line (`show protocols`), the address comes from the protocol's name.
        var brief = BirdStatus.Parse("Mesh_2001_db8_99__2 BGP        ---        up     2026-12-07 12:18:31  Established\n", Today);
        Assert.Equal(IPAddress.Parse("2001:db8:99::2"), Assert.Single(brief).Peer);
    }

    [Fact]
    public void The_last_error_is_kept_and_the_short_listing_is_read_too()
    {
        var full = BirdStatus.Parse(Fixture("show-protocols-all-short-time.txt"), Today);
        Assert.Equal("Socket: No route to host", full[1].Info);

        // `show protocols` without details: states and errors from the header's info column.
        var brief = BirdStatus.Parse(Fixture("show-protocols.txt"), Today);
        Assert.Equal([("10.99.0.2", "Established", (string?)null), ("10.99.0.77", "Connect", "Socket: No route to host")],
            brief.Select(s => (s.Peer.ToString(), s.State, s.Info)));
        Assert.All(brief, s => Assert.Null(s.RoutesReceived));
    }

    [Fact]
    public void Output_it_does_not_know_is_skipped_not_fatal()
    {
        Assert.Empty(BirdStatus.Parse("", Today));
        Assert.Empty(BirdStatus.Parse("BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n", Today));
        var odd = BirdStatus.Parse("BIRD 2.0.12 ready.\nsomething new\n  with: fields\nNode_10_1_0_1 BGP --- up sometime Idle\n  Routes: x\n", Today);
        var only = Assert.Single(odd);
        Assert.Equal((IPAddress.Parse("10.1.0.1"), "Idle", (DateTimeOffset?)null, (int?)null), (only.Peer, only.State, only.Since, only.RoutesReceived));
        // Another BIRD protocol, or a BGP protocol not named by us and without a neighbour line, is no session of ours.
        Assert.Empty(BirdStatus.Parse("other_bgp BGP --- up 2026-12-07 05:02:53  Established\n", Today));
    }
}
