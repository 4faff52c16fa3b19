using System.Collections;
using System.Collections.Immutable;

namespace Calico.Nftables;

/// <summary>
/// An immutable list that compares by content, so the model's records (a chain's rules, a rule's statements) are
/// equal when what they hold is; <see cref="ImmutableArray{T}"/> alone compares by reference.
/// </summary>
public readonly struct NftList<T> : IEquatable<NftList<T>>, IReadOnlyList<T>
{
    private readonly ImmutableArray<T> _items;

    public NftList(IEnumerable<T> items) => _items = [.. items];

    public static NftList<T> Empty => default;

    public ImmutableArray<T> Items => _items.IsDefault ? [] : _items;

    public int Count => Items.Length;

    public T this[int index] => Items[index];

    public bool Equals(NftList<T> other) => Items.AsSpan().SequenceEqual(other.Items.AsSpan());

    public override bool Equals(object? obj) => obj is NftList<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in Items) hash.Add(item);
        return hash.ToHashCode();
    }

    public static bool operator ==(NftList<T> left, NftList<T> right) => left.Equals(right);

    public static bool operator !=(NftList<T> left, NftList<T> right) => !left.Equals(right);

    public ImmutableArray<T>.Enumerator GetEnumerator() => Items.GetEnumerator();

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable)Items).GetEnumerator();
}

public static class NftList
{
    public static NftList<T> ToNftList<T>(this IEnumerable<T> items) => new(items);
}
