using System.Collections;
using System.Collections.Immutable;

namespace Calico.Dataplane.Linux.Nftables;

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

    private NftElements(ImmutableSortedDictionary<NftValue, NftValue?> items) => _items = items;

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
        return new NftElements(Items.SetItem(element.Key, element.Value));
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

    public NftElements Remove(NftValue key) => new(Items.Remove(key));

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
