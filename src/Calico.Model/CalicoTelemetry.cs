using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Calico.Model;

/// <summary>The project's one ActivitySource and one Meter, both named "Calico"; components add instruments to the meter.</summary>
public static class CalicoTelemetry
{
    public const string Name = "Calico";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);
}
