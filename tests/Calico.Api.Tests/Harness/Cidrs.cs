namespace Calico.Api.Tests.Harness;

/// <summary>
/// A fresh /24 (or /64) for each subnet a test creates: subnets may not overlap anywhere in a cluster, and the
/// tests of one collection share a server.
/// </summary>
public static class Cidrs
{
    private static int _next;

    public static string NextV4()
    {
        var n = Interlocked.Increment(ref _next);
        return $"10.{100 + n / 256}.{n % 256}.0/24";
    }

    public static string NextV6() => $"fd00:{Interlocked.Increment(ref _next):x}::/64";

    /// <summary>The n-th address of a /24 such as "10.100.7.0/24".</summary>
    public static string At(string cidr, int n) => cidr[..cidr.LastIndexOf('.')] + "." + n;
}
