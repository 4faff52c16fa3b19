using System.Net;
using System.Net.Sockets;
using Calico.Api.Auth;
using Calico.Api.Hosting;
using Calico.Api.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Calico.Api.Tests.Keystone;

/// <summary>
/// Api:Auth=keystone's authenticator, registered as the API registers it, against a Keystone on loopback that
/// answers as Keystone's identity v3 API documents (<see cref="FakeKeystone"/>); time is a fake clock, so expiry,
/// caching and renewal are shown without waiting.
/// </summary>
public sealed class KeystoneAuthenticatorTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeKeystone _keystone;
    private readonly List<ServiceProvider> _providers = [];

    public KeystoneAuthenticatorTests() => _keystone = new FakeKeystone(_time);

    public Task InitializeAsync() => _keystone.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers) await provider.DisposeAsync();
        await _keystone.DisposeAsync();
    }

    private KeystoneAuthenticator Authenticator(string? url = null, TimeProvider? time = null, string password = FakeKeystone.ServicePassword)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Api:Auth"] = "keystone",
            ["Api:Keystone:AuthUrl"] = url ?? _keystone.Url,
            ["Api:Keystone:Username"] = FakeKeystone.ServiceUser,
            ["Api:Keystone:Password"] = password,
            ["Api:Keystone:ProjectName"] = "service",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton(time ?? _time);
        services.AddCalicoApi(configuration);
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        Assert.Empty(new CalicoApiOptionsValidator().Validate(null, provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<CalicoApiOptions>>().Value).Failures ?? []);
        return provider.GetRequiredService<KeystoneAuthenticator>();
    }

    private static async Task<ApiException> RefusedAsync(KeystoneAuthenticator authenticator, string token) =>
        await Assert.ThrowsAsync<ApiException>(async () => await authenticator.AuthenticateAsync(token, CancellationToken.None));

    [Fact]
    public async Task A_valid_token_gives_its_project_and_roles_as_the_policy_reads_them()
    {
        var authenticator = Authenticator();
        var admin = await authenticator.AuthenticateAsync(_keystone.AddToken("p-admin", TimeSpan.FromHours(1), "admin", "member", "reader"), default);
        var member = await authenticator.AuthenticateAsync(_keystone.AddToken("p-demo", TimeSpan.FromHours(1), "member", "reader"), default);
        var reader = await authenticator.AuthenticateAsync(_keystone.AddToken("p-demo", TimeSpan.FromHours(1), "reader"), default);
        var other = await authenticator.AuthenticateAsync(_keystone.AddToken("p-demo", TimeSpan.FromHours(1), "heat_stack_owner"), default);

        Assert.Equal(("p-admin", true, true, true), (admin.ProjectId, admin.IsAdmin, admin.CanWrite, admin.CanRead));
        Assert.Equal(("p-demo", false, true, true), (member.ProjectId, member.IsAdmin, member.CanWrite, member.CanRead));
        Assert.Equal(("p-demo", false, false, true), (reader.ProjectId, reader.IsAdmin, reader.CanWrite, reader.CanRead));
        Assert.Equal(("p-demo", false, false, false), (other.ProjectId, other.IsAdmin, other.CanWrite, other.CanRead));
        Assert.True(member.CanSee("p-demo"));
        Assert.False(member.CanSee("p-admin"));
        Assert.True(admin.CanSee("p-demo"));
        Assert.Equal(1, _keystone.Issued);
        Assert.Equal(4, _keystone.Validations);
        Assert.Equal(0, _keystone.RequestsWithoutConnectionClose);
    }

    [Fact]
    public async Task An_unknown_token_is_401_with_keystones_uri_and_its_refusal_is_remembered()
    {
        var authenticator = Authenticator();
        for (var i = 0; i < 3; i++)
        {
            var refused = await RefusedAsync(authenticator, "gAAAAA-no-such-token");
            Assert.Equal(401, refused.Status);
            Assert.Equal($"Keystone uri=\"{_keystone.Url}\"", refused.Challenge);
            Assert.Contains("invalid or has expired", refused.Message, StringComparison.Ordinal);
        }
        Assert.Equal(1, _keystone.Validations);

        var missing = await RefusedAsync(authenticator, "");
        Assert.Equal((401, $"Keystone uri=\"{_keystone.Url}\""), (missing.Status, missing.Challenge));
        var malformed = await RefusedAsync(authenticator, "two words");
        Assert.Equal(401, malformed.Status);
        Assert.Equal(1, _keystone.Validations);
    }

    [Fact]
    public async Task A_token_is_not_remembered_past_its_expiry()
    {
        var authenticator = Authenticator();
        var token = _keystone.AddToken("p-demo", TimeSpan.FromSeconds(60), "member");
        await authenticator.AuthenticateAsync(token, default);
        _time.Advance(TimeSpan.FromSeconds(30));
        await authenticator.AuthenticateAsync(token, default);
        Assert.Equal(1, _keystone.Validations);

        _time.Advance(TimeSpan.FromSeconds(31));
        var refused = await RefusedAsync(authenticator, token);
        Assert.Equal(401, refused.Status);
        Assert.Equal(2, _keystone.Validations);
    }

    [Fact]
    public async Task Requests_with_one_token_cost_keystone_one_validation_until_the_cache_time_passes()
    {
        var authenticator = Authenticator();
        var token = _keystone.AddToken("p-demo", TimeSpan.FromHours(1), "member");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ => await authenticator.AuthenticateAsync(token, default)));
        for (var i = 0; i < 4; i++) await authenticator.AuthenticateAsync(token, default);
        Assert.Equal(1, _keystone.Validations);

        // The default cache time is 300 s.
        _time.Advance(TimeSpan.FromSeconds(299));
        await authenticator.AuthenticateAsync(token, default);
        Assert.Equal(1, _keystone.Validations);
        _time.Advance(TimeSpan.FromSeconds(2));
        await authenticator.AuthenticateAsync(token, default);
        Assert.Equal(2, _keystone.Validations);
        Assert.Equal(1, _keystone.Issued);
    }

    [Fact]
    public async Task The_service_token_is_renewed_before_it_expires_and_when_keystone_refuses_it()
    {
        _keystone.ServiceTokenLifetime = TimeSpan.FromMinutes(20);
        var authenticator = Authenticator();
        await authenticator.AuthenticateAsync(_keystone.AddToken("p-demo", TimeSpan.FromHours(2), "member"), default);
        _time.Advance(TimeSpan.FromMinutes(14));
        await authenticator.AuthenticateAsync(_keystone.AddToken("p-demo", TimeSpan.FromHours(2), "member"), default);
        Assert.Equal(1, _keystone.Issued);
        // Five minutes before its expiry it is renewed, while it is still good.
        _time.Advance(TimeSpan.FromMinutes(2));
        await authenticator.AuthenticateAsync(_keystone.AddToken("p-demo", TimeSpan.FromHours(2), "member"), default);
        Assert.Equal(2, _keystone.Issued);

        // Revoked (or Keystone's keys rotated): a new one, and the validation goes through.
        _keystone.RevokeServiceTokens();
        var caller = await authenticator.AuthenticateAsync(_keystone.AddToken("p-demo", TimeSpan.FromHours(2), "reader"), default);
        Assert.False(caller.CanWrite);
        Assert.Equal(3, _keystone.Issued);
    }

    [Fact]
    public async Task Keystone_unreachable_or_failing_is_503_with_the_reason_and_is_not_remembered()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var down = await RefusedAsync(Authenticator($"http://127.0.0.1:{port}/v3", TimeProvider.System), "gAAAAA-any");
        Assert.Equal(503, down.Status);
        Assert.Contains($"Keystone at http://127.0.0.1:{port}/v3 cannot be reached", down.Message, StringComparison.Ordinal);

        var authenticator = Authenticator();
        var token = _keystone.AddToken("p-demo", TimeSpan.FromHours(1), "member");
        _keystone.FailWith = 500;
        var failing = await RefusedAsync(authenticator, token);
        Assert.Equal(503, failing.Status);
        Assert.Contains("Keystone answered 500", failing.Message, StringComparison.Ordinal);
        _keystone.FailWith = null;
        Assert.Equal("p-demo", (await authenticator.AuthenticateAsync(token, default)).ProjectId);
    }

    [Fact]
    public async Task Wrong_service_credentials_are_503_naming_the_service_user()
    {
        var refused = await RefusedAsync(Authenticator(password: "wrong"), _keystone.AddToken("p-demo", TimeSpan.FromHours(1), "member"));
        Assert.Equal(503, refused.Status);
        Assert.Contains("Keystone refused the API's service user 'neutron' in project 'service'", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, _keystone.Validations);
    }

    [Fact]
    public async Task A_token_without_a_project_is_403()
    {
        var refused = await RefusedAsync(Authenticator(), _keystone.AddToken(null, TimeSpan.FromHours(1), "admin"));
        Assert.Equal(403, refused.Status);
        Assert.Contains("not scoped to a project", refused.Message, StringComparison.Ordinal);
    }
}
