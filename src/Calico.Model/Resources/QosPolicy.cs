using Calico.Model.Collections;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// One limit of a QoS policy: a bandwidth limit (kbps) or a packet rate limit (kpps), with its burst, for traffic
/// into or out of the workload (<see cref="Direction"/> as Neutron names it: <c>egress</c> is what the VM sends).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record QosRule(
    [property: Id(0)] string Id,
    [property: Id(1)] string Type,
    [property: Id(2)] long Max,
    [property: Id(3)] long MaxBurst,
    [property: Id(4)] string Direction)
{
    public const string BandwidthLimit = "bandwidth_limit";
    public const string PacketRateLimit = "packet_rate_limit";
    public const string Ingress = "ingress";
    public const string Egress = "egress";

    public static readonly IReadOnlyList<string> Types = [BandwidthLimit, PacketRateLimit];

    /// <summary>The largest max_kbps / max_kpps and burst Neutron accepts (a 32-bit column).</summary>
    public const long Largest = int.MaxValue;

    /// <summary>Why the rule cannot be stored, naming its attribute; null when it can.</summary>
    public ValidationError? Problem()
    {
        var (max, burst) = Type == PacketRateLimit ? ("max_kpps", "max_burst_kpps") : ("max_kbps", "max_burst_kbps");
        if (!Types.Contains(Type)) return new ValidationError("type", $"'{Type}' is not a supported rule type ({string.Join(", ", Types)})");
        if (Validator.IdProblem(Id) is { } idProblem) return new ValidationError("id", idProblem);
        if (Max is < 0 or > Largest) return new ValidationError(max, $"{Max} is not in 0..{Largest}");
        if (MaxBurst is < 0 or > Largest) return new ValidationError(burst, $"{MaxBurst} is not in 0..{Largest}");
        if (Direction is not (Ingress or Egress)) return new ValidationError("direction", $"'{Direction}' is not one of {Ingress}, {Egress}");
        return null;
    }
}

/// <summary>
/// A Neutron QoS policy: its rules, at most one per type and direction. Ports and networks name it
/// (<c>qos_policy_id</c>); a port's own policy wins over its network's, and the effective one travels to the port's
/// host in its interface item, where the dataplane's QoS component enforces it with tc.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record QosPolicy(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ProjectId,
    [property: Id(3)] ValueList<QosRule> Rules,
    [property: Id(4)] bool Shared = false,
    [property: Id(5)] bool IsDefault = false,
    [property: Id(6)] string Description = "") : IValidatable
{
    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        v.MaxLength(Name, 255, "name");
        v.MaxLength(ProjectId, 255, "project_id");
        v.MaxLength(Description, 255, "description");
        for (var i = 0; i < Rules.Count; i++)
        {
            if (Rules[i].Problem() is { } problem) v.Add($"rules[{i}].{problem.Field}", problem.Reason);
            for (var j = 0; j < i; j++)
            {
                if (Rules[j].Id == Rules[i].Id) v.Add($"rules[{i}].id", $"{Rules[i].Id} is listed twice");
                else if (Rules[j].Type == Rules[i].Type && Rules[j].Direction == Rules[i].Direction)
                    v.Add($"rules[{i}]", $"a {Rules[i].Type} rule for direction {Rules[i].Direction} exists already");
            }
        }
        return v.Errors;
    }
}
