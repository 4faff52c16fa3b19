namespace Calico.Bench.Convergence;

/// <summary>Nearest-rank percentiles of samples in milliseconds: p99 of 200 samples is the 198th smallest.</summary>
internal readonly record struct Percentiles(int Count, double P50, double P90, double P99, double Max)
{
    public static Percentiles Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("no samples", nameof(samples));
        double At(double q) => sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new Percentiles(sorted.Length, At(0.50), At(0.90), At(0.99), sorted[^1]);
    }
}

/// <summary>The benchmark's tables: every figure beside a baseline measured in the same run, and their ratio.</summary>
internal static class Table
{
    public static void Distributions(string title, string baselineLabel, Percentiles baseline, IEnumerable<(string Label, Percentiles Figures)> rows)
    {
        Console.WriteLine(title);
        Console.WriteLine($"  {"",-46} {"n",4} {"p50",8} {"p90",8} {"p99",8} {"max",8}   {"p50/base",8} {"p99/base",8}");
        Console.WriteLine($"  {baselineLabel,-46} {Cells(baseline)}   {"(base)",8}");
        foreach (var (label, f) in rows)
            Console.WriteLine($"  {label,-46} {Cells(f)}   {f.P50 / baseline.P50,8:F1} {f.P99 / baseline.P99,8:F1}");
        Console.WriteLine();
    }

    public static void Comparison(string title, string baselineName, string name, IEnumerable<(string Label, Percentiles Baseline, Percentiles Figures)> rows)
    {
        Console.WriteLine(title);
        Console.WriteLine($"  {"",-46} {baselineName + " p50",13} {name + " p50",13} {"ratio",6}   {baselineName + " p99",13} {name + " p99",13} {"ratio",6}");
        foreach (var (label, b, f) in rows)
            Console.WriteLine($"  {label,-46} {b.P50,13:F1} {f.P50,13:F1} {f.P50 / b.P50,6:F2}   {b.P99,13:F1} {f.P99,13:F1} {f.P99 / b.P99,6:F2}");
        Console.WriteLine();
    }

    private static string Cells(Percentiles f) => $"{f.Count,4} {f.P50,8:F1} {f.P90,8:F1} {f.P99,8:F1} {f.Max,8:F1}";
}
