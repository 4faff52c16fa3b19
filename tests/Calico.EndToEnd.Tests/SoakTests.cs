using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology.Kernel;
using Calico.Topology.Soak;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>
/// The short form of the soak (issue 16; the long one is <c>bench/run.sh soak -- --minutes 30</c>): three controllers
/// on PostgreSQL, four compute hosts in two racks in BGP mode, a minute and a half of API churn with faults of every
/// kind at random (seeded) moments, a BIRD kill among them, then the soak's checks: every host's kernel holds its
/// desired state, IPAM audit clean, every bound port ACTIVE, every BGP session Established, pings and the TCP stream
/// across the racks flow, no API error, memory within its bound, nothing left behind.
/// </summary>
public sealed class SoakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_short_soak_under_churn_and_faults_passes_every_check()
    {
        MachineChecks.RemoveAbandonedTestRunsOnce();
        var before = MachineChecks.TakeSnapshot();
        var log = new List<string>();
        var report = await SoakRun.RunAsync(new SoakOptions
        {
            Minutes = 1.5,
            Seed = 16,
            MeanFaultInterval = TimeSpan.FromSeconds(15),
            MemorySampleInterval = TimeSpan.FromSeconds(3),
            Kind = RunPrefix.TestKind,
            Log = line => { lock (log) log.Add(line); },
            KeepLogsIn = TopologyFixture.KeepLogsIn,
        });
        lock (log) foreach (var line in log) output.WriteLine(line);
        output.WriteLine(report.Summary());
        output.WriteLine(report.LastLine);
        Assert.True(report.Ok, report.Summary() + report.LastLine);
        Assert.True(report.FaultCount > 0, "the soak injected no fault: " + report.LastLine);
        // The seed draws a BIRD kill (faults are drawn from it, so this holds for this seed as long as the draw does).
        Assert.True(report.FaultsOf(FaultKind.BirdKill) > 0, "the seed drew no BirdKill: " + report.Summary());
        Assert.NotNull(report.Tcp);
        var after = MachineChecks.TakeSnapshot();
        Assert.Equal(before.ResolvConf, after.ResolvConf);
    }
}
