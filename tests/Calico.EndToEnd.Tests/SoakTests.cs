using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology.Kernel;
using Calico.Topology.Soak;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>
/// The short form of the soak (issue 16; the long one is <c>bench/run.sh soak -- --minutes 30</c>): three controllers
/// on PostgreSQL, four compute hosts, a minute and a half of API churn with faults of every kind at random (seeded)
/// moments, then the soak's checks: every host's kernel holds its desired state, IPAM audit clean, every bound port
/// ACTIVE, traffic flows, no API error, nothing left behind.
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
            Kind = RunPrefix.TestKind,
            Log = line => { lock (log) log.Add(line); },
            KeepLogsIn = TopologyFixture.KeepLogsIn,
        });
        lock (log) foreach (var line in log) output.WriteLine(line);
        output.WriteLine(report.Summary());
        output.WriteLine(report.LastLine);
        Assert.True(report.Ok, report.Summary() + report.LastLine);
        Assert.True(report.FaultCount > 0, "the soak injected no fault: " + report.LastLine);
        var after = MachineChecks.TakeSnapshot();
        Assert.Equal(before.ResolvConf, after.ResolvConf);
    }
}
