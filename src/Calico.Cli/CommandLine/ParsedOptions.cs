using System.Globalization;

namespace Calico.Cli.CommandLine;

/// <summary>Options as given: values by option name (a flag has one empty value).</summary>
public sealed class ParsedOptions
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    /// <summary>Parses <c>--name value</c>, <c>--name=value</c> and flags against the options allowed.</summary>
    public static ParsedOptions Parse(IReadOnlyList<string> args, IReadOnlyList<CliOption> allowed)
    {
        var result = new ParsedOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[..eq] : arg;
            var option = allowed.FirstOrDefault(o => o.Name == name)
                ?? throw new CliUsageException(arg.StartsWith('-') ? $"unknown option '{name}'" : $"unexpected argument '{arg}'");
            string value;
            if (option.IsFlag)
            {
                if (eq > 0) throw new CliUsageException($"{name} takes no value");
                value = "";
            }
            else if (eq > 0) value = arg[(eq + 1)..];
            else if (i + 1 < args.Count) value = args[++i];
            else throw new CliUsageException($"{name} needs a value: {option.Usage}");
            if (!result._values.TryGetValue(name, out var list)) result._values[name] = list = [];
            else if (!option.Repeatable) throw new CliUsageException($"{name} may be given only once");
            list.Add(value);
        }
        return result;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Value(string name) => _values.TryGetValue(name, out var list) ? list[^1] : null;

    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var list) ? list : [];

    /// <summary>A duration: seconds ("90"), with a unit ("90s", "5m", "1h"), or "hh:mm:ss".</summary>
    public TimeSpan? Duration(string name)
    {
        if (Value(name) is not { } text) return null;
        var unit = text.Length > 0 ? text[^1] : ' ';
        var multiplier = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        var number = multiplier == 0 ? text : text[..^1];
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0)
            return TimeSpan.FromSeconds(value * Math.Max(multiplier, 1));
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero) return span;
        throw new CliUsageException($"{name} '{text}' is not a duration (try 30s, 5m, 1h or 00:05:00)");
    }
}
