using Calico.Datastore;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Grains.Resources;

[GenerateSerializer]
public sealed class ProjectQuotaState
{
    [Id(0)] public ProjectQuota? Value { get; set; }
}

/// <summary>
/// A project's quotas. Nothing else depends on them (the API counts a project's resources when it creates one), so
/// no calculator hears of a change. A failed write leaves memory as storage has it.
/// </summary>
[GrainType(GrainTypes.ProjectQuota)]
public sealed class ProjectQuotaGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ProjectQuotaState> state) : Grain, IProjectQuotaGrain
{
    public Task<ProjectQuota?> GetAsync() => Task.FromResult(state.State.Value);

    public async Task<ProjectQuota> SetAsync(ValueList<QuotaLimit> limits)
    {
        var names = limits.Select(l => l.Resource).ToHashSet(StringComparer.Ordinal);
        var kept = state.State.Value?.Limits.Where(l => !names.Contains(l.Resource)) ?? [];
        var next = new ProjectQuota(this.GetPrimaryKeyString(), kept.Concat(limits).OrderBy(l => l.Resource, StringComparer.Ordinal).ToValueList()).EnsureValid();
        await WriteAsync(next);
        return next;
    }

    public Task ResetAsync() => state.State.Value is null ? Task.CompletedTask : WriteAsync(null);

    private async Task WriteAsync(ProjectQuota? value)
    {
        var previous = state.State.Value;
        state.State.Value = value;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Value = previous;
            throw;
        }
    }
}
