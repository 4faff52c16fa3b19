using Calico.Silo.Tests;

namespace Calico.Api.Tests;

/// <summary>A bad Api or Nova section stops the controller at start, with a message that says what to set.</summary>
public sealed class ApiConfigurationTests
{
    [Theory]
    [InlineData(new[] { "--Api:Auth=token" }, "Api:Auth is 'token' but Api:Tokens is empty")]
    [InlineData(new[] { "--Api:Auth=kerberos" }, "Api:Auth 'kerberos' is unknown; use 'keystone', or 'auto', 'token' or 'none' for development")]
    [InlineData(new[] { "--Api:Auth=keystone" }, "Api:Keystone:AuthUrl '' must be Keystone's http(s) URL")]
    [InlineData(new[] { "--Api:Auth=keystone", "--Api:Keystone:AuthUrl=http://127.0.0.1:5000/v3", "--Api:Keystone:Username=neutron" },
        "Api:Keystone:Password is empty")]
    [InlineData(new[] { "--Api:Tokens:short:ProjectId=demo" }, "is shorter than 16 characters")]
    [InlineData(new[] { "--Api:Tokens:long-enough-token-0123:Admin=true" }, "needs a ProjectId")]
    [InlineData(new[] { "--Api:DeleteSettleTime=00:00:00" }, "Api:DeleteSettleTime 00:00:00 must be more than 00:00:00 and at most 00:00:30")]
    [InlineData(new[] { "--Nova:Url=http://127.0.0.1:8774/v2.1" }, "Nova:Auth=keystone takes its tokens as the API's Keystone service user, so it needs Api:Auth=keystone")]
    [InlineData(new[] { "--Nova:Url=nova:8774", "--Nova:Auth=none" }, "Nova:Url must be an absolute http or https URL (got 'nova:8774')")]
    [InlineData(new[] { "--Nova:Url=http://127.0.0.1:8774/v2.1", "--Nova:Auth=none", "--Nova:MaxEventsPerRequest=0" }, "Nova:MaxEventsPerRequest must be at least 1 (got 0)")]
    public async Task Bad_api_settings_stop_the_silo_with_a_message_that_names_the_setting(string[] settings, string message)
    {
        await using var silo = SiloProcess.Start(["--role", "controller", "--datastore", "memory", .. settings]);
        var exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, exit);
        Assert.Contains(message, silo.Output, StringComparison.Ordinal);
    }
}
