using System.Collections;
using System.Collections.Immutable;

namespace Calico.Nftables;

/// <summary>One element: a set's key, or a map's key and value.</summary>
public readonly record struct NftElement(NftValue Key, NftValue? Value = null)
{
    public override string ToString() => Value is null ? Key.ToString() : $"{Key} : {Value}";
}

/// <summary>
/// The elements of a set or map: immutable, sorted (so scripts render the same every time), with value equality.
/// Adding or removing one element shares the rest, so a desired table can change one endpoint's data cheaply.
/// </summary>
public readonly struct NftElements : IEquatable<NftElements>, IReadOnlyCollection<NftElement>
{
    private readonly ImmutableSortedDictionary<NftValue, NftValue?>? _items;

    // Elements made by Add/Remove remember the elements they came from and the key they touched (as NftTable does
    // for names), so that comparing them with an ancestor looks at the touched keys only: one element changed in a
    // set of 100,000 is planned in O(log n), not O(n). Not part of equality. Cut at MaxLineage.
    private const int MaxLineage = 256;
    private readonly Lineage? _lineage;

    private NftElements(ImmutableSortedDictionary<NftValue, NftValue?> items, Lineage? lineage = null)
    {
        _items = items;
        _lineage = lineage;
    }

    private sealed record Lineage(ImmutableSortedDictionary<NftValue, NftValue?> ParentItems, Lineage? Parent, NftValue Key, int Depth);

    public static NftElements Empty => new(ImmutableSortedDictionary<NftValue, NftValue?>.Empty);

    public static NftElements Of(IEnumerable<NftValue> keys) => Empty.AddRange(keys.Select(k => new NftElement(k)));

    public static NftElements Of(IEnumerable<NftElement> elements) => Empty.AddRange(elements);

    private ImmutableSortedDictionary<NftValue, NftValue?> Items => _items ?? ImmutableSortedDictionary<NftValue, NftValue?>.Empty;

    public int Count => Items.Count;

    public IEnumerable<NftValue> Keys => Items.Keys;

    public bool Contains(NftValue key) => Items.ContainsKey(key);

    public bool TryGetValue(NftValue key, out NftValue? value) => Items.TryGetValue(key, out value);

    /// <summary>Adds an element, or replaces the value of a map element with the same key.</summary>
    public NftElements Add(NftElement element)
    {
        ArgumentNullException.ThrowIfNull(element.Key);
        return new NftElements(Items.SetItem(element.Key, element.Value), Derive(element.Key));
    }

    public NftElements AddRange(IEnumerable<NftElement> elements)
    {
        var builder = Items.ToBuilder();
        foreach (var element in elements)
        {
            ArgumentNullException.ThrowIfNull(element.Key);
            builder[element.Key] = element.Value;
        }
        return new NftElements(builder.ToImmutable());
    }

    public NftElements Remove(NftValue key) => new(Items.Remove(key), Derive(key));

    /// <summary>
    /// The keys that may differ between these elements and <paramref name="ancestor"/>, in order, when these were
    /// derived from it by <see cref="Add"/> and <see cref="Remove"/>; false when they were not (or too long ago).
    /// </summary>
    internal bool TryGetChangedKeysSince(NftElements ancestor, out List<NftValue> keys)
    {
        var touched = new SortedSet<NftValue>();
        var items = Items;
        for (var lineage = _lineage; ; lineage = lineage.Parent)
        {
            if (ReferenceEquals(items, ancestor.Items))
            {
                keys = [.. touched];
                return true;
            }
            if (lineage is null)
            {
                keys = [];
                return false;
            }
            touched.Add(lineage.Key);
            items = lineage.ParentItems;
        }
    }

    private Lineage? Derive(NftValue key)
    {
        var depth = _lineage?.Depth + 1 ?? 1;
        return depth > MaxLineage ? null : new Lineage(Items, _lineage, key, depth);
    }

    public bool Equals(NftElements other)
    {
        if (ReferenceEquals(Items, other.Items)) return true;
        if (Count != other.Count) return false;
        foreach (var (key, value) in Items)
        {
            if (!other.Items.TryGetValue(key, out var otherValue) || !Equals(value, otherValue)) return false;
        }
        return true;
    }

    public override bool Equals(object? obj) => obj is NftElements other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Count, Count == 0 ? null : Items.Keys.First());

    public static bool operator ==(NftElements left, NftElements right) => left.Equals(right);

    public static bool operator !=(NftElements left, NftElements right) => !left.Equals(right);

    public IEnumerator<NftElement> GetEnumerator() => Items.Select(kv => new NftElement(kv.Key, kv.Value)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "{ " + string.Join(", ", this) + " }";
}
