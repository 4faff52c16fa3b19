using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Calico.Cli.CommandLine;

/// <summary>Options shared by the commands, on System.CommandLine.</summary>
public static class CliOptions
{
    /// <summary>A flag: present or not.</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>The commands' one switch between a table for people and JSON for scripts.</summary>
    public static readonly Option<bool> Json = Flag("--json", "print JSON (for scripts) instead of a table");

    /// <summary>A value given at most once.</summary>
    public static Option<string> Text(string name, string valueName, string description) =>
        new(name) { Description = description, HelpName = valueName };

    /// <summary>
    /// A duration: seconds ("90"), with a unit ("90s", "5m", "1h"), or "hh:mm:ss"; anything else is refused at parse
    /// time with a message naming the option.
    /// </summary>
    public static Option<TimeSpan?> Duration(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "duration",
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (TryDuration(text, out var value)) return value;
            result.AddError($"{name} '{text}' is not a duration (try 30s, 5m, 1h or 00:05:00)");
            return null;
        },
    };

    private static bool TryDuration(string text, out TimeSpan value)
    {
        var unit = text.Length > 0 ? text[^1] : ' ';
        var multiplier = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        var number = multiplier == 0 ? text : text[..^1];
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            value = TimeSpan.FromSeconds(seconds * Math.Max(multiplier, 1));
            return true;
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
