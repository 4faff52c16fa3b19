namespace Calico.Model.Desired;

/// <summary>
/// What a compute silo hands its host's desired state to. An implementation makes the dataplane hold exactly
/// <c>desired</c>: <c>changes</c> (every item, for a snapshot) says what moved since the previous call and is a
/// hint for doing less work, never a substitute for comparing against what the dataplane really holds.
/// Throwing leaves the watcher's cursor where it was, so the same state is offered again.
/// </summary>
public interface IDataplane
{
    Task ApplyAsync(
        IReadOnlyDictionary<DesiredKey, DesiredItem> desired,
        IReadOnlyList<DesiredChange> changes,
        bool isSnapshot,
        CancellationToken cancellationToken);
}
