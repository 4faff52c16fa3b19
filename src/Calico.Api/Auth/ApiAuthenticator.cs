using System.Net;
using System.Security.Cryptography;
using System.Text;
using Calico.Api.Hosting;
using Calico.Api.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Api.Auth;

/// <summary>
/// Turns a request into a <see cref="Caller"/>: through Keystone (Api:Auth=keystone, <see cref="KeystoneAuthenticator"/>),
/// from a configured X-Auth-Token, or (no authentication) as an admin of the configured project. Configured tokens
/// are compared as SHA-256 digests in constant time, so a response's timing says nothing about how much of a guess
/// was right. Whatever the mode, the caller's project and roles come from the token (or the configuration), never
/// from other request headers (X-Roles, X-Project-Id, X-Identity-Status, ... are not read).
/// </summary>
internal sealed partial class ApiAuthenticator
{
    private readonly IReadOnlyList<(byte[] Digest, Caller Caller)> _tokens;
    private readonly Lazy<bool> _authenticate;
    private readonly Caller _anonymous;
    private readonly KeystoneAuthenticator? _keystone;

    public ApiAuthenticator(IOptions<CalicoApiOptions> options, IServer server, KeystoneAuthenticator keystone, ILogger<ApiAuthenticator> logger)
    {
        var o = options.Value;
        _keystone = o.Auth == ApiAuthModes.Keystone ? keystone : null;
        _tokens = [.. o.Tokens.Select(t => (Digest(t.Key), new Caller(t.Value.ProjectId, RolesOf(t.Value), "token " + CalicoApiOptionsValidator.Shown(t.Key))))];
        _anonymous = new Caller(o.NoAuthProjectId, CallerRoles.All, "anonymous");
        // "auto" is decided once the server listens (its addresses are known only then), at the first request.
        _authenticate = new Lazy<bool>(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var authenticate = o.Auth switch
            {
                ApiAuthModes.None => false,
                ApiAuthModes.Token => true,
                _ => addresses.Count == 0 || !addresses.All(IsLoopback),
            };
            if (!authenticate) LogNoAuth(logger, o.Auth, string.Join(", ", addresses), o.NoAuthProjectId);
            else if (_tokens.Count == 0) LogNoTokens(logger, string.Join(", ", addresses));
            return authenticate;
        });
    }

    public ValueTask<Caller> AuthenticateAsync(HttpContext http)
    {
        var header = http.Request.Headers["X-Auth-Token"];
        if (header.Count > 1) throw new ApiException(StatusCodes.Status401Unauthorized, "HTTPUnauthorized", "Send one X-Auth-Token header, not several.")
        {
            Challenge = _keystone?.Challenge,
        };
        if (_keystone is not null) return _keystone.AuthenticateAsync(header.ToString(), http.RequestAborted);
        return ValueTask.FromResult(Configured(header.ToString()));
    }

    private Caller Configured(string token)
    {
        if (!_authenticate.Value) return _anonymous;
        if (token.Length == 0)
            throw new ApiException(StatusCodes.Status401Unauthorized, "HTTPUnauthorized", "Authentication required: send an X-Auth-Token header.");
        var digest = Digest(token);
        Caller? found = null;
        // Every entry is compared, whatever matches, so the time taken does not depend on where the match is.
        foreach (var (known, caller) in _tokens)
            if (CryptographicOperations.FixedTimeEquals(digest, known)) found = caller;
        return found ?? throw new ApiException(StatusCodes.Status401Unauthorized, "HTTPUnauthorized",
            _tokens.Count == 0
                ? "No API tokens are configured on this server: set Api:Tokens:<token>:ProjectId, or Api:Auth=none for development."
                : "The X-Auth-Token is not valid.");
    }

    private static CallerRoles RolesOf(ApiTokenOptions token) =>
        token.Admin ? CallerRoles.All : token.ReadOnly ? CallerRoles.Reader : CallerRoles.Member | CallerRoles.Reader;

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal),
                UriKind.Absolute, out var uri)) return false;
        if (uri.IsLoopback) return true;
        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The Neutron API does not authenticate (Api:Auth={Mode}, listening on {Addresses}): every caller is an admin of project {Project}")]
    private static partial void LogNoAuth(ILogger logger, string mode, string addresses, string project);

    [LoggerMessage(Level = LogLevel.Error, Message = "The Neutron API requires tokens (listening on {Addresses}) but Api:Tokens is empty: every request will be refused. Configure Api:Tokens:<token>:ProjectId, or listen on loopback only")]
    private static partial void LogNoTokens(ILogger logger, string addresses);
}
