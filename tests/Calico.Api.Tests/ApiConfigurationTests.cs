using Calico.Silo.Tests;

namespace Calico.Api.Tests;

/// <summary>A bad Api section stops the controller at start, with a message that says what to set.</summary>
public sealed class ApiConfigurationTests
{
    [Theory]
    [InlineData(new[] { "--Api:Auth=token" }, "Api:Auth is 'token' but Api:Tokens is empty")]
    [InlineData(new[] { "--Api:Auth=keystone" }, "Api:Auth 'keystone' is unknown; use 'auto', 'token' or 'none'")]
    [InlineData(new[] { "--Api:Tokens:short:ProjectId=demo" }, "is shorter than 16 characters")]
    [InlineData(new[] { "--Api:Tokens:long-enough-token-0123:Admin=true" }, "needs a ProjectId")]
    [InlineData(new[] { "--Api:DeleteSettleTime=00:00:00" }, "Api:DeleteSettleTime 00:00:00 must be more than 00:00:00 and at most 00:00:30")]
    public async Task Bad_api_settings_stop_the_silo_with_a_message_that_names_the_setting(string[] settings, string message)
    {
        await using var silo = SiloProcess.Start(["--role", "controller", "--datastore", "memory", .. settings]);
        var exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, exit);
        Assert.Contains(message, silo.Output, StringComparison.Ordinal);
    }
}
