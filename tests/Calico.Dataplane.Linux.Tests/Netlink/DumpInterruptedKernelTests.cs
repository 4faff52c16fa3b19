using System.Diagnostics;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>
/// NLM_F_DUMP_INTR, provoked for real: a link dump that spans many datagrams while another process keeps adding and
/// deleting links, which bumps the namespace's device sequence between the datagrams.
/// </summary>
public class DumpInterruptedKernelTests
{
    [Fact]
    public void Dump_that_sees_a_concurrent_change_is_a_transient_error_once_retries_run_out()
    {
        using var ns = TestNamespace.Create();
        var setup = WriteBatch(Enumerable.Range(0, 150).Select(i => $"link add a{i} type veth peer name b{i}"));
        var churnBatch = WriteBatch(Enumerable.Range(0, 20_000).Select(i => i % 2 == 0 ? "link add churn0 type veth peer name churn1" : "link del churn0"));
        try
        {
            TestNamespace.Run("ip", "-n", ns.Name, "-batch", setup);
            using var client = ns.OpenRouteClient(new NetlinkClientOptions { DumpRetries = 0 });
            using var churn = Process.Start(new ProcessStartInfo("ip", ["-n", ns.Name, "-force", "-batch", churnBatch])
                { RedirectStandardError = true, RedirectStandardOutput = true })!;
            NetlinkDumpInterruptedException? interrupted = null;
            try
            {
                for (var attempt = 0; attempt < 2000 && interrupted is null && !churn.HasExited; attempt++)
                {
                    try { client.ListLinks(); }
                    catch (NetlinkDumpInterruptedException e) { interrupted = e; }
                }
            }
            finally
            {
                if (!churn.HasExited) churn.Kill();
                churn.WaitForExit();
            }

            Assert.NotNull(interrupted);
            Assert.True(interrupted.IsTransient);
            Assert.Equal(Errno.EINTR, interrupted.Errno);
            Assert.StartsWith("list links: Interrupted system call (EINTR)", interrupted.Message);
            // The interrupted dump was read to its end: the same socket serves the next dump normally.
            Assert.Equal(301, client.ListLinks().Count(l => !l.Name.StartsWith("churn", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(setup);
            File.Delete(churnBatch);
        }
    }

    private static string WriteBatch(IEnumerable<string> lines)
    {
        var path = Path.GetTempFileName();
        File.WriteAllLines(path, lines);
        return path;
    }
}
