using Calico.Dataplane.Linux.Components;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Interfaces;

/// <summary>What workload interfaces are set to (keys in section "Dataplane").</summary>
public sealed class InterfaceOptions
{
    /// <summary>rp_filter on workload interfaces: 0 off, 1 strict (default), 2 loose.</summary>
    public int ReversePathFilter { get; set; } = 1;
}

public sealed class InterfaceOptionsValidator : IValidateOptions<InterfaceOptions>
{
    public ValidateOptionsResult Validate(string? name, InterfaceOptions o) => o.ReversePathFilter is < 0 or > 2
        ? ValidateOptionsResult.Fail($"{DataplaneOptions.Section}:ReversePathFilter must be 0, 1 or 2 (is {o.ReversePathFilter}).")
        : ValidateOptionsResult.Success;
}
