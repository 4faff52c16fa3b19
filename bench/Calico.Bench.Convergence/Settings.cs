using System.Globalization;

namespace Calico.Bench.Convergence;

/// <summary>The command line.</summary>
/// <param name="Settle">Pause before each bind (after creating the port and defining its VM, or after the previous bind), so that whatever the previous step set off has settled.</param>
/// <param name="Deadline">How long one bind (or the burst) may take to converge before the run fails.</param>
/// <param name="SamplesFile">Where to write one CSV line per bind, if anywhere.</param>
internal sealed record Settings(int Ports, int Hosts, TimeSpan PollInterval, TimeSpan Settle, bool Burst, bool DebugLogs, string? KeepLogs, string? SamplesFile)
{
    public TimeSpan Deadline { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Rounds of binding and unbinding one port per host before the measurement.</summary>
    public int WarmUpRounds { get; init; } = 10;

    public static bool TryParse(IReadOnlyList<string> args, out Settings settings, out string problem)
    {
        settings = new Settings(Ports: 200, Hosts: 3, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50), Burst: true, DebugLogs: false, KeepLogs: null, SamplesFile: null);
        problem = "";
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            int Number() => int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture);
            try
            {
                settings = args[i] switch
                {
                    "--ports" => settings with { Ports = Number() },
                    "--hosts" => settings with { Hosts = Number() },
                    "--poll-ms" => settings with { PollInterval = TimeSpan.FromMilliseconds(Number()) },
                    "--settle-ms" => settings with { Settle = TimeSpan.FromMilliseconds(Number()) },
                    "--warmup-rounds" => settings with { WarmUpRounds = Number() },
                    "--no-burst" => settings with { Burst = false },
                    "--debug-logs" => settings with { DebugLogs = true },
                    "--keep-logs" => settings with { KeepLogs = Path.GetFullPath(Value()) },
                    "--samples" => settings with { SamplesFile = Path.GetFullPath(Value()) },
                    _ => throw new FormatException($"unknown argument '{args[i]}'"),
                };
            }
            catch (FormatException e)
            {
                problem = e.Message;
                return false;
            }
        }
        // The seed's subnet is a /24: 252 addresses beside the gateway, a few of them for the warm-up.
        if (settings.Ports is < 1 or > 240) problem = "--ports must be 1..240";
        else if (settings.Hosts is < 2 or > 17) problem = "--hosts must be 2..17 (a port needs another host to route it)";
        return problem.Length == 0;
    }
}
