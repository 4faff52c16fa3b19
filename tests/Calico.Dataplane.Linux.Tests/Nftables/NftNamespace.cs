using Calico.Dataplane.Linux.Nftables;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// A test namespace (<see cref="TestNamespace"/>, always deleted) with an nftables kernel accessor bound to it.
/// Everything a kernel test writes lives in this namespace; the machine's own ruleset is never read or written.
/// </summary>
internal sealed class NftNamespace : IDisposable
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

    /// <summary>Another context on the same namespace, as a restarted agent would open.</summary>
    public NftablesKernel OpenKernel()
    {
        using var handle = Namespace.Open();
        var kernel = NftablesKernel.Open(handle);
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

    public void Dispose()
    {
        foreach (var kernel in _kernels) kernel.Dispose();
        Namespace.Dispose();
    }
}
