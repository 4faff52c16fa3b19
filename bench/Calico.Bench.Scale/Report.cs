using System.Globalization;

namespace Calico.Bench.Scale;

/// <summary>The figures of one shape, in the order they are printed; a missing figure (not measured) is null.</summary>
internal sealed class ShapeFigures(Shape shape)
{
    private readonly List<(string Name, double? Value)> _figures = [];

    public Shape Shape { get; } = shape;

    public void Set(string name, double? value)
    {
        var at = _figures.FindIndex(f => f.Name == name);
        if (at >= 0) _figures[at] = (name, value);
        else _figures.Add((name, value));
    }

    public double? Get(string name) => _figures.FirstOrDefault(f => f.Name == name).Value;

    public IEnumerable<string> Names => _figures.Select(f => f.Name);

    /// <summary>Percentiles of the samples of every operation kind: API latency, applied everywhere, hosts woken and changed.</summary>
    public void SetOperations(Dictionary<string, List<OpSample>> samples)
    {
        foreach (var (kind, list) in samples)
        {
            Set($"{kind}: API p50 ms", Percentile(list.Select(s => s.ApiMs), 0.50));
            Set($"{kind}: API p99 ms", Percentile(list.Select(s => s.ApiMs), 0.99));
            var applied = list.Where(s => s.AppliedMs is not null).Select(s => s.AppliedMs!.Value).ToList();
            Set($"{kind}: all changed hosts applied p50 ms", Percentile(applied, 0.50));
            Set($"{kind}: all changed hosts applied p99 ms", Percentile(applied, 0.99));
            Set($"{kind}: hosts woken (mean)", list.Count == 0 ? null : list.Average(s => s.Woken));
            Set($"{kind}: hosts changed (mean)", list.Count == 0 ? null : list.Average(s => s.Changed));
            Set($"{kind}: woken / changed", list.Sum(s => s.Changed) == 0 ? null : (double)list.Sum(s => s.Woken) / list.Sum(s => s.Changed));
        }
    }

    /// <summary>Nearest rank: p99 of 20 samples is the largest.</summary>
    public static double? Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? null : sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}

internal static class Report
{
    /// <summary>Every figure of every shape, beside the baseline (the first shape) and as a ratio to it.</summary>
    public static void Table(IReadOnlyList<ShapeFigures> shapes)
    {
        var baseline = shapes[0];
        var names = shapes.SelectMany(s => s.Names).Distinct().ToList();
        var width = Math.Max(48, names.Max(n => n.Length) + 1);
        Console.WriteLine();
        Console.Write($"{"figure".PadRight(width)}{$"{baseline.Shape.Hosts}/{baseline.Shape.Ports}",14}");
        foreach (var s in shapes.Skip(1)) Console.Write($"{$"{s.Shape.Hosts}/{s.Shape.Ports}",14}{"ratio",8}");
        Console.WriteLine();
        foreach (var name in names)
        {
            var b = baseline.Get(name);
            Console.Write($"{name.PadRight(width)}{Cell(b),14}");
            foreach (var s in shapes.Skip(1))
            {
                var v = s.Get(name);
                Console.Write($"{Cell(v),14}{(b is > 0 && v is not null ? (v.Value / b.Value).ToString("F2", CultureInfo.InvariantCulture) : "-"),8}");
            }
            Console.WriteLine();
        }
        Console.WriteLine();
    }

    private static string Cell(double? value) => value switch
    {
        null => "-",
        >= 100 => value.Value.ToString("F0", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("F2", CultureInfo.InvariantCulture),
    };

    /// <summary>The closing line, for the largest shape run.</summary>
    public static string Summary(ShapeFigures f)
    {
        static string V(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "na";
        return $"scale: hosts={f.Shape.Hosts} ports={f.Shape.Ports} converge_s={V(f.Get(Figure.Converge), "F2")} " +
               $"bind_p99_ms={V(f.Get($"{Operations.Bind}: all changed hosts applied p99 ms"), "F1")} " +
               $"create_p50_ms={V(f.Get($"{Operations.Create}: API p50 ms"), "F1")} " +
               $"controller_mb={V(f.Get(Figure.ControllerRss), "F0")} resync_s={V(f.Get(Figure.Resync), "F2")}";
    }
}

/// <summary>Names of the figures the summary line reads.</summary>
internal static class Figure
{
    public const string Converge = "converge from empty: s";
    public const string ControllerRss = "controller RSS after the operations: MB";
    public const string Resync = "restart: every host's snapshot served: s";
}
