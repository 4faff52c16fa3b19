using System.Diagnostics.Metrics;
using System.Net;
using Calico.Model.Resources;
using Calico.Silo.Compute;

namespace Calico.Silo.Tests;

/// <summary>The gauge <c>calico.bgp.sessions</c> counts a host's sessions by state and by the peer's address family.</summary>
public sealed class BgpSessionTelemetryTests
{
    [Fact]
    public void Ipv6_sessions_are_counted_apart_from_ipv4_ones()
    {
        var host = "bgp-telemetry-test-" + Guid.NewGuid().ToString("N")[..8];
        var since = DateTimeOffset.UtcNow;
        BgpSessionTelemetry.Record(host,
        [
            new BgpSession(IPAddress.Parse("10.0.1.1"), "Global_10_0_1_1", "Established", since, 3, null),
            new BgpSession(IPAddress.Parse("2001:db8:a::1"), "Global_2001_db8_a__1", "Established", since, 2, null),
            new BgpSession(IPAddress.Parse("2001:db8:a::44"), "Mesh_2001_db8_a__44", "Active", since, null, "Socket: Connection refused"),
        ]);
        try
        {
            var seen = new List<(int Value, string State, string Family)>();
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "calico.bgp.sessions") l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
            {
                var t = tags.ToArray().ToDictionary(kv => kv.Key, kv => kv.Value as string);
                if (t.GetValueOrDefault("host") == host) seen.Add((value, t["state"]!, t["family"]!));
            });
            listener.Start();
            listener.RecordObservableInstruments();
            Assert.Equal([(1, "Active", "ipv6"), (1, "Established", "ipv4"), (1, "Established", "ipv6")], seen.Order());
        }
        finally
        {
            BgpSessionTelemetry.Record(host, null);
        }
    }
}
