namespace Calico.Model.Desired;

/// <summary>One change to a host's desired state: the item under <see cref="Key"/> is now <see cref="Item"/>, or gone (null).</summary>
[GenerateSerializer, Immutable]
public sealed record DesiredChange([property: Id(0)] DesiredKey Key, [property: Id(1)] DesiredItem? Item)
{
    public bool IsRemoval => Item is null;
}

public static class DesiredDiff
{
    /// <summary>The changes that turn <paramref name="from"/> into <paramref name="to"/>, removals first, in key order.</summary>
    public static List<DesiredChange> Between(
        IReadOnlyDictionary<DesiredKey, DesiredItem> from, IReadOnlyDictionary<DesiredKey, DesiredItem> to)
    {
        var changes = new List<DesiredChange>();
        foreach (var key in from.Keys)
            if (!to.ContainsKey(key)) changes.Add(new DesiredChange(key, null));
        foreach (var (key, item) in to)
            if (!from.TryGetValue(key, out var old) || !old.Equals(item)) changes.Add(new DesiredChange(key, item));
        changes.Sort((a, b) => (a.IsRemoval, b.IsRemoval) switch
        {
            (true, false) => -1,
            (false, true) => 1,
            _ => a.Key.CompareTo(b.Key),
        });
        return changes;
    }

    /// <summary>Applies changes to a mutable map in order; returns how many actually changed it.</summary>
    public static int ApplyTo(IDictionary<DesiredKey, DesiredItem> items, IEnumerable<DesiredChange> changes)
    {
        var changed = 0;
        foreach (var change in changes)
        {
            if (change.Item is null)
            {
                if (items.Remove(change.Key)) changed++;
            }
            else if (!items.TryGetValue(change.Key, out var old) || !old.Equals(change.Item))
            {
                items[change.Key] = change.Item;
                changed++;
            }
        }
        return changed;
    }
}
