using Calico.Topology.Soak;

namespace Calico.EndToEnd.Tests;

/// <summary>
/// The soak's memory verdict (<see cref="MemoryGrowth"/>): a silo whose memory levels off after its warm-up is flat, one
/// that keeps growing is not, a restarted silo is judged from its restart on, one sampled too little is "not compared"
/// (and a run where no silo was compared prints memory_growth_pct=n/a, never 0), and the managed heap is read from
/// the silo's /metrics text.
/// </summary>
public sealed class SoakMemoryTests
{
    private static List<MemorySample> Samples(int pid, int count, Func<int, long> rssKb, int startSecond = 0, Func<int, long?>? heap = null) =>
        [.. Enumerable.Range(0, count).Select(i => new MemorySample(TimeSpan.FromSeconds(startSecond + 10 * i), pid, rssKb(i), heap?.Invoke(i)))];

    [Fact]
    public void Memory_that_levels_off_after_its_warm_up_is_flat_and_memory_that_keeps_growing_is_not()
    {
        // Warm-up: 100 MiB rising to 200 MiB over the first quarter, then 200 MiB with a collection's noise.
        var levelling = MemoryGrowth.Analyse("controller", Samples(42, 40, i => i < 10 ? 102400 + i * 10240 : 204800 + (i % 3) * 2048));
        Assert.Null(levelling.NotCompared);
        Assert.InRange(levelling.RssGrowthPct!.Value, -2, 2);
        // The quarters' medians show the warm-up and then the level: 145 MiB (samples 0-9), then about 202 MiB.
        Assert.Equal(4, levelling.RssQuarterMedians!.Count);
        Assert.InRange(levelling.RssQuarterMedians[0] / 1024, 140, 150);
        Assert.All(levelling.RssQuarterMedians.Skip(1), q => Assert.InRange(q / 1024, 200, 204));
        Assert.Contains("RSS medians by quarter 1", levelling.Describe(), StringComparison.Ordinal);

        var leaking = MemoryGrowth.Analyse("h1", Samples(42, 40, i => 204800 + i * 2048, heap: i => 50_000_000 + i * 1_000_000));
        // Second quarter's median is sample 14.5, the last quarter's 34.5: 20 samples of 2 MiB on 229 MiB.
        Assert.InRange(leaking.RssGrowthPct!.Value, 17, 18);
        Assert.InRange(leaking.RssSlopeMiBPerMinute!.Value, 11.9, 12.1);
        Assert.InRange(leaking.HeapGrowthPct!.Value, 30, 32);

        var report = new SoakReport { MemoryGrowthBoundPct = 10 };
        report.Memory.AddRange([levelling, leaking]);
        Assert.False(report.Ok);
        Assert.Contains("memory_growth_pct=17.", report.LastLine, StringComparison.Ordinal);
    }

    [Fact]
    public void A_restarted_silo_is_judged_from_its_restart_on_and_one_restarted_in_the_second_half_is_not_compared()
    {
        // The first process grew to 400 MiB and was killed; the second is flat at 150 MiB: flat, not a 62% fall or rise.
        var restarted = MemoryGrowth.Analyse("h2", [.. Samples(1, 10, i => 204800 + i * 20480), .. Samples(2, 30, _ => 153600, startSecond: 100)]);
        Assert.Equal(2, restarted.Processes);
        Assert.Equal(0.0, restarted.RssGrowthPct!.Value);

        var late = MemoryGrowth.Analyse("h3", [.. Samples(1, 30, _ => 204800), .. Samples(2, 5, _ => 153600, startSecond: 300)]);
        Assert.Null(late.RssGrowthPct);
        Assert.Contains("restarted late", late.NotCompared, StringComparison.Ordinal);

        // 15 samples, but 140 s of a 390 s run: still warming up (+40%), not compared.
        var young = MemoryGrowth.Analyse("ctl2", [.. Samples(1, 24, _ => 204800), .. Samples(2, 15, i => 153600 + i * 4096, startSecond: 250)]);
        Assert.Null(young.RssGrowthPct);
        Assert.Contains("second half of the run", young.NotCompared, StringComparison.Ordinal);

        var report = new SoakReport { MemoryGrowthBoundPct = 25 };
        report.Memory.Add(late);
        Assert.Contains("memory_growth_pct=n/a ", report.LastLine, StringComparison.Ordinal);
        Assert.True(report.Ok);
    }

    [Fact]
    public void The_managed_heap_is_the_sum_over_generations_of_the_last_collection_heap_size()
    {
        const string metrics = """
            # HELP dotnet_gc_last_collection_heap_size_bytes The managed GC heap size
            # TYPE dotnet_gc_last_collection_heap_size_bytes gauge
            dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen0",otel_scope_name="System.Runtime"} 1000 1765000000000
            dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen2",otel_scope_name="System.Runtime"} 2500.5
            dotnet_gc_heap_total_allocated_bytes_total{otel_scope_name="System.Runtime"} 99999999
            """;
        Assert.Equal(3500, MemoryGrowth.HeapFromMetrics(metrics));
        Assert.Null(MemoryGrowth.HeapFromMetrics("process_cpu_count 2\n"));
    }
}
