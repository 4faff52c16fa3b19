using System.Globalization;
using System.Text;
using Calico.Topology.Kernel;

namespace Calico.Topology.Soak;

/// <summary>One sample of a silo's memory: when (since the churn started), which process, its RSS and managed heap.</summary>
public sealed record MemorySample(TimeSpan At, int Pid, long RssKb, long? HeapBytes);

/// <summary>What <see cref="MemoryGrowth.Analyse"/> found for one silo; growths are null when not compared (<see cref="NotCompared"/> says why).</summary>
/// <param name="RssQuarterMedians">The compared process's median RSS in each quarter of its sampled time, KiB (empty when not compared): whether it levels off.</param>
public sealed record MemoryVerdict(string Silo, MemorySample? First, MemorySample? Last, int Processes, int Samples,
    double? RssGrowthPct, double? HeapGrowthPct, double? RssSlopeMiBPerMinute, string? NotCompared, IReadOnlyList<double>? RssQuarterMedians = null)
{
    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.Append(c, $"{Silo,-12} RSS {Mib(First?.RssKb * 1024)} -> {Mib(Last?.RssKb * 1024)}, heap {Mib(First?.HeapBytes)} -> {Mib(Last?.HeapBytes)}");
        b.Append(c, $" ({Samples} samples, {Processes} process{(Processes == 1 ? "" : "es")})");
        if (NotCompared is not null) b.Append(c, $": not compared, {NotCompared}");
        else b.Append(c, $": RSS {RssGrowthPct:+0.0;-0.0;0.0}%, slope {RssSlopeMiBPerMinute:+0.00;-0.00;0.00} MiB/min; heap {(HeapGrowthPct is { } h ? h.ToString("+0.0;-0.0;0.0", c) + "%" : "n/a")}");
        if (RssQuarterMedians is { Count: > 0 } quarters)
            b.Append(c, $"; RSS medians by quarter {string.Join(" / ", quarters.Select(q => (q / 1024).ToString("0.0", c)))} MiB");
        return b.ToString();
    }

    private static string Mib(long? bytes) => bytes is { } b ? (b / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB" : "n/a";
}

/// <summary>
/// Whether a silo's memory stayed flat: its last process's samples (a silo restarted in the first half of the run is
/// judged from its restart on, its earlier processes not compared with it; one restarted in the second half is not
/// compared: a process that young is still warming up) split into four quarters of that process's sampled time; the first is its warm-up, and the growth is the median of the last quarter against the median of the second.
/// Medians, not single samples, so that one sample taken just before a garbage collection does not decide. A process
/// with fewer than <see cref="MinimumSamples"/> samples is not compared. The slope (least squares over the last three
/// quarters, MiB a minute) is reported beside it.
/// </summary>
public static class MemoryGrowth
{
    public const int MinimumSamples = 12;

    public static MemoryVerdict Analyse(string silo, IReadOnlyList<MemorySample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var ordered = samples.Where(s => s.RssKb > 0).OrderBy(s => s.At).ToList();
        var processes = ordered.Select(s => s.Pid).Distinct().Count();
        if (ordered.Count == 0) return new(silo, null, null, 0, 0, null, null, null, "never sampled");
        var (first, last) = (ordered[0], ordered[^1]);
        var life = ordered.Where(s => s.Pid == last.Pid).ToList();
        if (life.Count < MinimumSamples)
            return new(silo, first, last, processes, ordered.Count, null, null, null,
                $"its last process has {life.Count} samples (fewer than {MinimumSamples}){(processes > 1 ? ": restarted late in the run" : "")}");
        var (start, span) = (life[0].At, life[^1].At - life[0].At);
        if (span < (last.At - first.At) / 2)
            return new(silo, first, last, processes, ordered.Count, null, null, null,
                $"restarted in the second half of the run (its last process sampled for {span.TotalSeconds:0} s of {(last.At - first.At).TotalSeconds:0} s)");
        List<MemorySample> Quarter(int q) => [.. life.Where(s => s.At - start >= span * (q - 1) / 4 && (q == 4 || s.At - start < span * q / 4))];
        var (second, fourth) = (Quarter(2), Quarter(4));
        if (Growth(Median(second.Select(s => (double)s.RssKb)), Median(fourth.Select(s => (double)s.RssKb))) is not { } rss)
            return new(silo, first, last, processes, ordered.Count, null, null, null, "a quarter of its last process's life has no sample");
        var heaps = (Median(second.Where(s => s.HeapBytes is not null).Select(s => (double)s.HeapBytes!.Value)),
            Median(fourth.Where(s => s.HeapBytes is not null).Select(s => (double)s.HeapBytes!.Value)));
        var heap = heaps is ({ } h2, { } h4) ? Growth(h2, h4) : null;
        var warm = life.Where(s => s.At - start >= span / 4).ToList();
        var quarters = Enumerable.Range(1, 4).Select(q => Median(Quarter(q).Select(s => (double)s.RssKb)) ?? 0).ToList();
        return new(silo, first, last, processes, ordered.Count, rss, heap, Slope(warm), null, quarters);
    }

    /// <summary>The sum of dotnet_gc_last_collection_heap_size_bytes over its generations; null if the silo exposes none.</summary>
    public static long? HeapFromMetrics(string text)
    {
        long? sum = null;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("dotnet_gc_last_collection_heap_size_bytes", StringComparison.Ordinal)) continue;
            // name{labels} value [timestamp]: the value is the first field after the labels.
            var parts = line[(line.LastIndexOf('}') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && line.Contains('{', StringComparison.Ordinal) is var labelled
                && double.TryParse(labelled ? parts[0] : parts.ElementAtOrDefault(1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                sum = (sum ?? 0) + (long)value;
        }
        return sum;
    }

    private static double? Growth(double? from, double? to) => from is > 0 && to is { } t ? 100.0 * (t - from.Value) / from.Value : null;

    private static double? Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0) return null;
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>Least-squares slope of RSS over time, MiB a minute.</summary>
    private static double Slope(IReadOnlyList<MemorySample> samples)
    {
        var xs = samples.Select(s => s.At.TotalMinutes).ToList();
        var ys = samples.Select(s => s.RssKb / 1024.0).ToList();
        var (mx, my) = (xs.Average(), ys.Average());
        var sxx = xs.Sum(x => (x - mx) * (x - mx));
        return sxx == 0 ? 0 : xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my)) / sxx;
    }
}

/// <summary>
/// Samples every silo at a fixed interval: RSS from /proc/PID/status, and the managed heap from the silo's own
/// /metrics (the runtime's dotnet_gc_last_collection_heap_size_bytes, summed over generations; absent: null).
/// </summary>
internal sealed class SoakMemory(NamespaceTopology topology, TimeSpan interval)
{
    private readonly Dictionary<string, List<MemorySample>> _samples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await SampleAsync();
                try { await Task.Delay(interval, stop); }
                catch (OperationCanceledException) { break; }
            }
            await SampleAsync();
        }
        finally
        {
            foreach (var client in _clients.Values) client.Dispose();
        }
    }

    /// <summary>Every sample as CSV (silo, seconds since the churn started, pid, RSS KiB, heap bytes), for a plot or a second look.</summary>
    public string ToCsv()
    {
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder("silo,seconds,pid,rss_kib,heap_bytes\n");
        foreach (var (silo, samples) in _samples.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            foreach (var s in samples)
                b.Append(c, $"{silo},{s.At.TotalSeconds:0.0},{s.Pid},{s.RssKb},{s.HeapBytes}\n");
        return b.ToString();
    }

    public List<MemoryVerdict> Analyse() =>
        [.. _samples.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => MemoryGrowth.Analyse(kv.Key, kv.Value))];

    private async Task SampleAsync()
    {
        var at = _clock.Elapsed;
        foreach (var silo in topology.Silos)
        {
            if (silo.ProcessId is not { } pid) continue;
            var rss = ResidentKb(pid);
            if (rss == 0) continue;
            var heap = await HeapBytesAsync(silo);
            if (!_samples.TryGetValue(silo.Name, out var list)) _samples[silo.Name] = list = [];
            // A sample whose scrape met a restarted process belongs to neither: the pid is read again.
            if (silo.ProcessId == pid) list.Add(new MemorySample(at, pid, rss, heap));
        }
    }

    private async Task<long?> HeapBytesAsync(Nodes.SiloProcess silo)
    {
        if (!_clients.TryGetValue(silo.Name, out var client))
            _clients[silo.Name] = client = NamespacedHttp.CreateClient(silo.Namespace, TimeSpan.FromSeconds(5));
        try
        {
            var text = await client.GetStringAsync(new Uri(silo.HealthBase, "metrics"));
            return MemoryGrowth.HeapFromMetrics(text);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return null;
        }
    }

    private static long ResidentKb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
