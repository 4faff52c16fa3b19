using Calico.Dataplane.Linux.Kernel;

namespace Calico.Dataplane.Linux.Tests.Kernel;

/// <summary>A failure retried at every update is logged once, again only when its reason changes, and once when it clears.</summary>
public sealed class ReportedFailuresTests
{
    private readonly List<string> _log = [];
    private readonly ReportedFailures<string> _failures;

    public ReportedFailuresTests() =>
        _failures = new ReportedFailures<string>((key, reason) => _log.Add($"{key} failed: {reason}"), key => _log.Add($"{key} recovered"),
            StringComparer.Ordinal);

    [Fact]
    public void A_failure_is_logged_once_until_its_reason_changes_and_once_when_it_clears()
    {
        _failures.Failed("a", "EPERM");
        _failures.Failed("a", "EPERM");
        _failures.Failed("a", "EBUSY");
        _failures.Recovered("a");
        _failures.Recovered("a");

        Assert.Equal(["a failed: EPERM", "a failed: EBUSY", "a recovered"], _log);
        Assert.Empty(_failures.Failing);
    }

    [Fact]
    public void Only_keys_no_longer_failing_recover()
    {
        _failures.Failed("a", "x");
        _failures.Failed("b", "y");

        _failures.RecoveredUnless(key => key == "b");

        Assert.Equal(["a failed: x", "b failed: y", "a recovered"], _log);
        Assert.Equal(["b"], _failures.Failing);
    }

    [Fact]
    public void Without_a_recovery_log_clearing_is_silent_and_a_new_failure_is_logged_again()
    {
        var log = new List<string>();
        var failures = new ReportedFailures<int>((key, reason) => log.Add($"{key}: {reason}"));
        failures.Failed(1, "x");
        failures.Recovered(1);
        failures.Failed(1, "x");

        Assert.Equal(["1: x", "1: x"], log);
    }
}
