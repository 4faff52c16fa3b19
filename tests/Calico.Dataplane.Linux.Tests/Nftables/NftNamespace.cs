using System.Text.RegularExpressions;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// A test namespace (<see cref="TestNamespace"/>, always deleted) with an nftables kernel accessor bound to it.
/// Everything a kernel test writes lives in this namespace; the machine's own ruleset is never read or written.
/// </summary>
internal sealed partial class NftNamespace : IDisposable
{
    private readonly List<NftablesKernel> _kernels = [];

    public NftNamespace()
    {
        Namespace = TestNamespace.Create();
        try
        {
            Kernel = OpenKernel();
        }
        catch
        {
            Namespace.Dispose();
            throw;
        }
    }

    public TestNamespace Namespace { get; }

    public NftablesKernel Kernel { get; }

    /// <summary>Another context on the same namespace, as a restarted agent would open; with or without change notifications.</summary>
    public NftablesKernel OpenKernel(bool watchChanges = true)
    {
        using var handle = Namespace.Open();
        return Track(NftablesKernel.Open(handle, watchChanges: watchChanges));
    }

    /// <summary>A context whose notification socket has a receive buffer of <paramref name="bytes"/>, to make it overflow.</summary>
    public NftablesKernel OpenKernelWithMonitorBuffer(int bytes)
    {
        using var handle = Namespace.Open();
        return Track(new NftablesKernel(NftablesContext.Open(handle, bytes), ownsContext: true));
    }

    private NftablesKernel Track(NftablesKernel kernel)
    {
        _kernels.Add(kernel);
        return kernel;
    }

    /// <summary>The nft command inside the namespace: the independent view, and the operator's hand edits.</summary>
    public string Nft(params string[] args) => Namespace.Exec(["nft", .. args]);

    /// <summary>Runs an nft script file inside the namespace.</summary>
    public void NftScript(string script)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, script);
            Nft("-f", path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The handle of the rule of our <paramref name="chain"/> whose text contains <paramref name="text"/> (from `nft -a`).</summary>
    public string RuleHandle(string chain, string text)
    {
        var listing = Nft("-a", "list", "chain", "inet", "calico", chain);
        var line = listing.Split('\n').First(l => l.Contains(text, StringComparison.Ordinal));
        return HandlePattern().Match(line).Groups[1].Value;
    }

    [GeneratedRegex(@"# handle (\d+)")]
    private static partial Regex HandlePattern();

    public void Dispose()
    {
        foreach (var kernel in _kernels) kernel.Dispose();
        Namespace.Dispose();
    }
}
