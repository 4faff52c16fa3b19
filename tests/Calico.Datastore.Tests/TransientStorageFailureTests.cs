using System.Data.Common;
using Calico.Datastore.AdoNet;
using Calico.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Calico.Datastore.Tests;

/// <summary>
/// The database restarting while a grain reads its state must reach a caller on another silo as a reason it can
/// deserialize (the API answers 503), not as the driver's exception, which Orleans has no codec for (found by the
/// 30-minute soak: a port delete whose grain activated during a PostgreSQL restart answered 500).
/// </summary>
public sealed class TransientStorageFailureTests
{
    private sealed class AdminShutdown() : DbException("terminating connection due to administrator command")
    {
        public override string? SqlState => "57P01";
    }

    private sealed class FailingStorage(Exception failure) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.FromException(failure);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.FromException(failure);

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.FromException(failure);
    }

    private static readonly GrainId Port = GrainId.Create("endpoint", "4cc5ccc3-2884-4a61-902d-ad5b2e2e3c35");

    [Fact]
    public async Task A_transient_database_failure_leaves_the_storage_as_a_reason_every_silo_can_deserialize()
    {
        var storage = new CalicoAdoNetGrainStorage(new FailingStorage(new AdminShutdown()));
        var read = await Assert.ThrowsAsync<TransientFailureException>(() => storage.ReadStateAsync("state", Port, new GrainState<string>()));
        Assert.Equal("the datastore is unavailable", read.Reason);
        Assert.Contains("administrator command", read.Message, StringComparison.Ordinal);
        Assert.Null(read.InnerException);
        var write = await Assert.ThrowsAsync<TransientFailureException>(() => storage.WriteStateAsync("state", Port, new GrainState<string>()));
        Assert.Equal("the datastore is unavailable", write.Reason);

        // What a caller on another silo receives: the activation's error (Orleans wraps it) through the serializer.
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var wrapped = new OrleansException("Error from storage provider during ReadStateAsync", read);
        var received = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(wrapped));
        Assert.Equal("the datastore is unavailable", TransientFailures.Reason(received!));

        // Without the wrapper, the driver's exception cannot be sent at all.
        Assert.ThrowsAny<Exception>(() => serializer.SerializeToArray<Exception>(new OrleansException("Error from storage provider", new AdminShutdown())));
    }

    [Fact]
    public async Task Any_other_storage_failure_passes_unchanged()
    {
        var conflict = new InconsistentStateException("ETag mismatch", "stored", "current");
        var storage = new CalicoAdoNetGrainStorage(new FailingStorage(conflict));
        Assert.Same(conflict, await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("state", Port, new GrainState<string>())));
    }
}
