using System.Security.Cryptography;
using System.Text;
using Calico.Model.Validation;

namespace Calico.Api.Http;

/// <summary>Resource identifiers: random UUIDs, as Neutron's, or name-based ones where a key must be the same for every writer.</summary>
internal static class Ids
{
    public static string New() => Guid.NewGuid().ToString();

    /// <summary>
    /// Whether a resource could have <paramref name="id"/>: the model stores nothing under an id outside its rule
    /// (<see cref="Validator.IdProblem"/>), so an id in a path that breaks it is answered 404 before any grain is
    /// asked (an empty or odd key would make the grain lookup itself fail).
    /// </summary>
    public static bool CanExist(string? id) => Validator.IdProblem(id) is null;

    /// <summary>
    /// An RFC 4122 version-5 (SHA-1, name-based) UUID: the same <paramref name="name"/> in the same
    /// <paramref name="scope"/> always gives the same id, so concurrent "create if missing" calls meet on one grain.
    /// </summary>
    public static string NameBased(string scope, string name)
    {
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes($"calico:{scope}:{name}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString();
    }
}
