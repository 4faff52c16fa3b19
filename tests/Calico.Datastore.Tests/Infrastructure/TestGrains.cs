using Calico.Datastore;
using Orleans.Placement;

namespace Calico.Datastore.Tests.Infrastructure;

/// <summary>
/// The persisted state of <see cref="CounterGrain"/>. [GenerateSerializer] also puts the type on Orleans' allow-list,
/// which the JSON storage serializer checks when it reads the type name it wrote.
/// </summary>
[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)]
    public int Value { get; set; }

    [Id(1)]
    public List<string> History { get; set; } = [];
}

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int delta);

    Task<int> GetAsync();

    Task ClearAsync();
}

/// <summary>A tiny grain that persists through the calico storage provider, as every Calico grain does.</summary>
[GrainType(CounterGrain.GrainTypeName)]
public sealed class CounterGrain([PersistentState("state", StorageNames.Calico)] IPersistentState<CounterState> state)
    : Grain, ICounterGrain
{
    public const string GrainTypeName = "test-counter";

    public async Task<int> AddAsync(int delta)
    {
        state.State.Value += delta;
        state.State.History.Add($"{delta:+0;-0}");
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Value);

    public Task ClearAsync() => state.ClearStateAsync();
}

/// <summary>A second grain type with the same state name, to show that grain types never share a row.</summary>
[GrainType(OtherCounterGrain.GrainTypeName)]
public sealed class OtherCounterGrain([PersistentState("state", StorageNames.Calico)] IPersistentState<CounterState> state)
    : Grain, IOtherCounterGrain
{
    public const string GrainTypeName = "test-other-counter";

    public async Task<int> AddAsync(int delta)
    {
        state.State.Value += delta;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Value);

    public Task ClearAsync() => state.ClearStateAsync();
}

public interface IOtherCounterGrain : ICounterGrain;

public interface ISiloProbeGrain : IGrainWithStringKey
{
    /// <summary>The address of the silo this activation runs on.</summary>
    Task<string> SiloAsync();
}

/// <summary>Activates on the silo of the first caller, so a test can tell where a call was served.</summary>
[PreferLocalPlacement]
[GrainType("test-silo-probe")]
public sealed class SiloProbeGrain(ILocalSiloDetails silo) : Grain, ISiloProbeGrain
{
    public Task<string> SiloAsync() => Task.FromResult(silo.SiloAddress.ToParsableString());
}

/// <summary>A grain state record as a storage provider sees it (Orleans' GrainState&lt;T&gt;, with a non-null state).</summary>
public sealed class CounterRecord(int value = 0) : IGrainState<CounterState>
{
    private CounterState _state = new() { Value = value };

    [System.Diagnostics.CodeAnalysis.AllowNull]
    public CounterState State { get => _state; set => _state = value ?? new(); }

    public string? ETag { get; set; }

    public bool RecordExists { get; set; }
}
