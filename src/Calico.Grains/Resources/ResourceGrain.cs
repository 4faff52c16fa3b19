using Calico.Grains.DesiredState;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.Extensions.Logging;

namespace Calico.Grains.Resources;

/// <summary>
/// Owns one resource and its persisted <see cref="ResourceState{T}"/>. Writes are validated, checked against
/// the expected revision, persisted, and only then visible; if the store refuses a write, the in-memory state is
/// put back, so memory and storage stay the same. After a write the calculator is told (best effort: it
/// also re-reads the store periodically).
/// </summary>
public abstract partial class ResourceGrain<T>(
    IPersistentState<ResourceState<T>> state,
    TimeProvider time,
    ILogger logger) : Grain, IResourceGrain<T>
    where T : class, IValidatable
{
    protected ResourceState<T> State => state.State;

    protected ILogger Logger => logger;

    protected TimeProvider Time => time;

    protected abstract ResourceKind Kind { get; }

    /// <summary>Whether the kind feeds the desired state (the calculator is told of each write); false for API-only kinds.</summary>
    protected virtual bool InDesiredState => true;

    /// <summary>The identifier inside the record, which must equal the grain key.</summary>
    protected abstract string IdOf(T value);

    /// <summary>The API's name for the kind, used in error messages.</summary>
    protected string KindName => Kind switch
    {
        ResourceKind.SecurityGroup => "security group",
        ResourceKind.FloatingIp => "floating IP",
        ResourceKind.IpPool => "IP pool",
        ResourceKind.Endpoint => "port",
        ResourceKind.QosPolicy => "QoS policy",
        ResourceKind.SubnetPool => "subnet pool",
        ResourceKind.Router => "router",
        ResourceKind.BgpPeer => "BGP peer",
        ResourceKind.BgpConfiguration => "BGP configuration",
        _ => Kind.ToString().ToLowerInvariant(),
    };

    protected string Key => this.GetPrimaryKeyString();

    public Task<Versioned<T>?> GetAsync() => Task.FromResult(Current);

    protected Versioned<T>? Current =>
        state.State.Value is { } value ? new Versioned<T>(value, state.State.Revision, state.State.UpdatedAt, state.State.CreatedAt, state.State.Tags) : null;

    public async Task<Versioned<T>> CreateAsync(T value, ValueList<string>? tags = null)
    {
        Check(value);
        if (tags is { } given) CheckTags(given);
        if (state.State.Value is not null) throw new ResourceConflictException(KindName, Key, "already exists");
        ValidateChange(null, value);
        return (await WriteAsync(value, tags))!;
    }

    public async Task<Versioned<T>> SetTagsAsync(ValueList<string> tags, long? expectedRevision = null)
    {
        CheckTags(tags);
        CheckRevision(expectedRevision, mustExist: true);
        if (tags.Equals(state.State.Tags ?? ValueList<string>.Empty)) return Current!;
        return (await WriteAsync(state.State.Value, tags))!;
    }

    private static void CheckTags(ValueList<string> tags)
    {
        if (ResourceTags.Validate(tags) is { Count: > 0 } errors) throw new InvalidInputException(errors);
    }

    public async Task<Versioned<T>> PutAsync(T value, long? expectedRevision = null)
    {
        Check(value);
        CheckRevision(expectedRevision, mustExist: expectedRevision is not null);
        if (value.Equals(state.State.Value)) return Current!;
        ValidateChange(state.State.Value, value);
        return (await WriteAsync(value))!;
    }

    public async Task DeleteAsync(long? expectedRevision = null)
    {
        CheckRevision(expectedRevision, mustExist: true);
        ValidateDelete(state.State.Value!);
        await WriteAsync(null);
    }

    /// <summary>Rules about how a resource may change (immutable fields); throw <see cref="InvalidInputException"/>.</summary>
    protected virtual void ValidateChange(T? current, T next) { }

    protected virtual void ValidateDelete(T current) { }

    /// <summary>
    /// Before a write is stored, with the value stored now and the one about to be: for rows that must exist
    /// whenever the value does. Throwing refuses the write (nothing of the resource changed).
    /// </summary>
    protected virtual Task BeforeStoreAsync(T? current, T? next) => Task.CompletedTask;

    /// <summary>After a write is stored and the calculator told: for kinds whose change other grains must hear of.</summary>
    protected virtual Task OnStoredAsync(T? previous, T? current) => Task.CompletedTask;

    protected void Check(T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        value.EnsureValid();
        if (IdOf(value) != Key) throw new InvalidInputException("id", $"'{IdOf(value)}' does not match the {KindName} being written ('{Key}')");
    }

    protected void CheckRevision(long? expected, bool mustExist)
    {
        if (mustExist && state.State.Value is null) throw new ResourceNotFoundException(KindName, Key);
        if (expected is { } revision && revision != state.State.Revision)
            throw new ResourceConflictException(KindName, Key, $"revision is {state.State.Revision}, not the expected {revision}");
    }

    /// <summary>
    /// Persists <paramref name="value"/> (null deletes, tags and all) and tells the calculator. The tags stay as they
    /// are unless <paramref name="tags"/> replaces them (null with a value that did not exist: none).
    /// </summary>
    protected async Task<Versioned<T>?> WriteAsync(T? value, ValueList<string>? tags = null)
    {
        await BeforeStoreAsync(state.State.Value, value);
        var previous = state.State;
        var now = time.GetUtcNow();
        state.State = new ResourceState<T>
        {
            Value = value,
            Revision = previous.Revision + 1,
            UpdatedAt = now,
            CreatedAt = previous.Value is null ? now : previous.CreatedAt,
            Tags = value is not null && (tags ?? (previous.Value is null ? null : previous.Tags)) is { Count: > 0 } kept ? kept : (ValueList<string>?)null,
        };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = previous;
            throw;
        }
        if (InDesiredState) await NotifyCalculatorAsync();
        await OnStoredAsync(previous.Value, value);
        return Current;
    }

    // Stored already: a shard that cannot be told now is retried, and the periodic resync repairs anything left.
    private Task NotifyCalculatorAsync() => CalculatorShards.NotifyAllAsync(GrainFactory, ServiceProvider,
        new ResourceChange(Kind, Key, state.State.Revision, state.State.Value) { WrittenAt = time.GetUtcNow() }, logger);

}
