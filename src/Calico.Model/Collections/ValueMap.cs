using System.Collections;
using System.Collections.Immutable;

namespace Calico.Model.Collections;

/// <summary>A sorted string map with value equality (labels, tags).</summary>
[GenerateSerializer, Immutable]
public readonly struct ValueMap : IEquatable<ValueMap>, IReadOnlyDictionary<string, string>
{
    [Id(0)] private readonly ImmutableSortedDictionary<string, string>? _items;

    public ValueMap(IEnumerable<KeyValuePair<string, string>> items) =>
        _items = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, items);

    public static ValueMap Empty => new([]);

    private ImmutableSortedDictionary<string, string> Items =>
        _items ?? ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    public int Count => Items.Count;

    public string this[string key] => Items[key];

    public IEnumerable<string> Keys => Items.Keys;

    public IEnumerable<string> Values => Items.Values;

    public bool ContainsKey(string key) => Items.ContainsKey(key);

    public bool TryGetValue(string key, out string value) => Items.TryGetValue(key, out value!);

    public bool Equals(ValueMap other) => Items.Count == other.Items.Count && Items.SequenceEqual(other.Items);

    public override bool Equals(object? obj) => obj is ValueMap other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var (k, v) in Items) { hash.Add(k); hash.Add(v); }
        return hash.ToHashCode();
    }

    public static bool operator ==(ValueMap left, ValueMap right) => left.Equals(right);

    public static bool operator !=(ValueMap left, ValueMap right) => !left.Equals(right);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => Items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "{" + string.Join(", ", Items.Select(kv => $"{kv.Key}={kv.Value}")) + "}";
}
