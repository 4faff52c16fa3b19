using Calico.Dataplane.Linux.Components;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Qos;

/// <summary>Port QoS in the dataplane (keys in section "Dataplane").</summary>
public sealed class QosOptions
{
    /// <summary>Enforce the ports' QoS limits with tc on their taps; off: QoS qdiscs are never read or written.</summary>
    public bool QosEnabled { get; set; } = true;

    /// <summary>
    /// The name prefix of the IFB devices that shape what workloads send: the prefix, then the tap's name after the
    /// workload prefix (`qos` + `1a2b3c4d-5e6` for `tap1a2b3c4d-5e6`). Links of kind ifb with this prefix are ours.
    /// </summary>
    public string QosIfbPrefix { get; set; } = "qos";

    /// <summary>How long a packet may wait in a shaper's queue at the limited rate: the queue holds burst + rate × this.</summary>
    public TimeSpan QosQueueLatency { get; set; } = TimeSpan.FromMilliseconds(50);
}

public sealed class QosOptionsValidator : IValidateOptions<QosOptions>
{
    public ValidateOptionsResult Validate(string? name, QosOptions o)
    {
        var errors = new List<string>();
        if (o.QosIfbPrefix is not { Length: >= 1 and <= 4 } prefix || !prefix.All(c => char.IsAsciiLetterOrDigit(c)))
            errors.Add($"{DataplaneOptions.Section}:QosIfbPrefix '{o.QosIfbPrefix}' must be 1-4 letters or digits (IFB names are at most 15 characters), e.g. qos.");
        if (o.QosQueueLatency <= TimeSpan.Zero || o.QosQueueLatency > TimeSpan.FromSeconds(10))
            errors.Add($"{DataplaneOptions.Section}:QosQueueLatency {o.QosQueueLatency} must be above 0 and at most 10 s, e.g. 00:00:00.050.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
