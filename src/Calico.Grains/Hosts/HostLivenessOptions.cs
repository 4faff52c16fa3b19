using Microsoft.Extensions.Options;

namespace Calico.Grains.Hosts;

/// <summary>How often compute silos report in, and after how long without a report a host counts as dead.</summary>
public sealed class HostLivenessOptions
{
    public const string Section = "Hosts";

    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan DeadAfter { get; set; } = TimeSpan.FromSeconds(40);
}

public sealed class HostLivenessOptionsValidator : IValidateOptions<HostLivenessOptions>
{
    public ValidateOptionsResult Validate(string? name, HostLivenessOptions options)
    {
        if (options.ReportInterval <= TimeSpan.Zero)
            return ValidateOptionsResult.Fail($"Hosts:ReportInterval must be positive (is {options.ReportInterval}).");
        if (options.DeadAfter <= options.ReportInterval)
            return ValidateOptionsResult.Fail(
                $"Hosts:DeadAfter ({options.DeadAfter}) must be longer than Hosts:ReportInterval ({options.ReportInterval}); three intervals is usual.");
        return ValidateOptionsResult.Success;
    }
}
