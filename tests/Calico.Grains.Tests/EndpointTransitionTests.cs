using Calico.Grains.Hosts;
using Calico.Model.Resources;

namespace Calico.Grains.Tests;

public sealed class EndpointTransitionTests
{
    private const string Host = "h1";

    private static EndpointStatus S(EndpointStatusKind kind, string host = Host) => new(kind, null, host, 1, DateTimeOffset.UnixEpoch);

    private static Dictionary<string, EndpointStatus> Before(params (string Id, EndpointStatusKind Kind)[] ports) =>
        ports.ToDictionary(p => p.Id, p => S(p.Kind), StringComparer.Ordinal);

    private static List<(string, EndpointTransitionKind)> Of(Dictionary<string, EndpointStatus> before, EndpointStatusReport report, bool first = false) =>
        [.. EndpointTransitions.Of(Host, before, report, first).Select(t => (t.PortId, t.Kind))];

    [Fact]
    public void A_port_becoming_active_is_plugged_and_one_leaving_active_is_unplugged()
    {
        var before = Before(("a", EndpointStatusKind.Down), ("b", EndpointStatusKind.Active), ("c", EndpointStatusKind.Active));
        var report = new EndpointStatusReport(new Dictionary<string, EndpointStatus>
        {
            ["a"] = S(EndpointStatusKind.Active),
            ["b"] = S(EndpointStatusKind.Error),
            ["c"] = S(EndpointStatusKind.Active),
            ["d"] = S(EndpointStatusKind.Down),
        }, [], Complete: false);
        Assert.Equal([("a", EndpointTransitionKind.Plugged), ("b", EndpointTransitionKind.Unplugged)], Of(before, report));
    }

    [Fact]
    public void An_active_port_gone_or_left_out_of_a_complete_report_is_unplugged_once()
    {
        var before = Before(("a", EndpointStatusKind.Active), ("b", EndpointStatusKind.Active), ("c", EndpointStatusKind.Down));
        var gone = new EndpointStatusReport(new Dictionary<string, EndpointStatus>(), ["a", "c"], Complete: false);
        Assert.Equal([("a", EndpointTransitionKind.Unplugged)], Of(before, gone));

        var complete = new EndpointStatusReport(new Dictionary<string, EndpointStatus> { ["c"] = S(EndpointStatusKind.Active) }, ["a"], Complete: true);
        Assert.Equal([("c", EndpointTransitionKind.Plugged), ("a", EndpointTransitionKind.Unplugged), ("b", EndpointTransitionKind.Unplugged)],
            Of(before, complete));
    }

    [Fact]
    public void A_status_naming_another_host_is_no_transition_here_and_counts_as_leaving_a_complete_report()
    {
        var before = Before(("a", EndpointStatusKind.Active));
        var moved = new EndpointStatusReport(new Dictionary<string, EndpointStatus>
        {
            ["a"] = S(EndpointStatusKind.Active, "h2"),
            ["b"] = S(EndpointStatusKind.Active, "h2"),
        }, [], Complete: true);
        Assert.Equal([("a", EndpointTransitionKind.Unplugged)], Of(before, moved));
    }

    [Fact]
    public void The_first_report_after_activation_marks_its_transitions_replayed()
    {
        var report = new EndpointStatusReport(new Dictionary<string, EndpointStatus> { ["a"] = S(EndpointStatusKind.Active) }, [], Complete: true);
        var t = Assert.Single(EndpointTransitions.Of(Host, new Dictionary<string, EndpointStatus>(), report, firstReport: true));
        Assert.True(t.Replayed);
        Assert.Equal(EndpointTransitionKind.Plugged, t.Kind);
        Assert.False(Assert.Single(EndpointTransitions.Of(Host, new Dictionary<string, EndpointStatus>(), report, firstReport: false)).Replayed);
    }
}
