using Microsoft.Extensions.DependencyInjection;

namespace Calico.Grains.Tests;

/// <summary>A transient failure travels between silos with its reason; a driver exception would not.</summary>
public sealed class TransientFailureTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await CalicoTestCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private sealed class DriverException(string message, string state) : System.Data.Common.DbException(message)
    {
        public override string? SqlState => state;
    }

    [Fact]
    public void A_transient_failure_round_trips_through_the_serializer_with_its_reason()
    {
        var serializer = _cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<Orleans.Serialization.Serializer>();
        var reason = TransientFailures.Reason(new InvalidOperationException("write failed", new DriverException("terminating connection due to administrator command", "57P01")));
        Assert.Equal("the datastore is unavailable", reason);

        var failure = new TransientFailureException(reason!, "57P01: terminating connection due to administrator command");
        var back = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(failure));
        var copy = Assert.IsType<TransientFailureException>(back);
        Assert.Equal("the datastore is unavailable", copy.Reason);
        Assert.Equal("the datastore is unavailable", TransientFailures.Reason(copy));
        Assert.Null(TransientFailures.Reason(new InvalidOperationException("a bug", new DriverException("syntax error", "42601"))));
    }
}
