using Calico.Api.Hosting;
using Calico.Api.Nova;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Api.Auth;

/// <summary>
/// The API's own Keystone token (its service user, Api:Keystone): what it validates callers' tokens with, and what
/// its requests to Nova carry. Issued at first use, renewed before it expires (<see cref="ServiceToken.RenewAt"/>)
/// or when Keystone refused it; one renewal at a time. When a renewal fails while the current token is still good,
/// the current one is used and the renewal tried again at the next use.
/// </summary>
internal sealed partial class KeystoneServiceToken(KeystoneClient keystone, IOptions<CalicoApiOptions> options, TimeProvider time,
    ILogger<KeystoneServiceToken> logger) : INovaTokenSource
{
    /// <summary>A token this close to its expiry is not used even when it cannot be renewed.</summary>
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(30);

    private readonly KeystoneOptions _options = options.Value.Keystone;
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private ServiceToken? _current;

    /// <summary>A good token: the current one unless it is due, or is <paramref name="refused"/> (Keystone or Nova said 401).</summary>
    public async Task<string> GetAsync(string? refused)
    {
        var current = _current;
        if (current is not null && current.Value != refused && time.GetUtcNow() < current.RenewAt) return current.Value;
        await _renewing.WaitAsync();
        try
        {
            current = _current;
            if (current is not null && current.Value != refused && time.GetUtcNow() < current.RenewAt) return current.Value;
            try
            {
                var issued = await keystone.IssueAsync(CancellationToken.None);
                _current = issued;
                LogIssued(logger, keystone.Url, _options.Username, _options.ProjectName, issued.RenewAt);
                return issued.Value;
            }
            catch (KeystoneUnavailableException e) when (current is not null && current.Value != refused && time.GetUtcNow() < current.ExpiresAt - ExpiryMargin)
            {
                LogRenewalFailed(logger, e.Message, current.ExpiresAt);
                return current.Value;
            }
        }
        finally
        {
            _renewing.Release();
        }
    }

    /// <summary>
    /// For Nova (Nova:Auth=keystone). Keystone not answering is a failed request to Nova as far as its notifier is
    /// concerned (an <see cref="HttpRequestException"/>), so the notifier retries it with its own backoff.
    /// </summary>
    public async ValueTask<string?> GetTokenAsync(bool renew, CancellationToken cancellationToken)
    {
        try
        {
            return await GetAsync(renew ? _current?.Value : null).WaitAsync(cancellationToken);
        }
        catch (KeystoneUnavailableException e)
        {
            throw new HttpRequestException($"No Keystone token for the request: {e.Message}", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The Neutron API has a Keystone token from {Url} for service user {User} in project {Project}; renewing it at {RenewAt}")]
    private static partial void LogIssued(ILogger logger, string url, string user, string project, DateTimeOffset renewAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the Neutron API's Keystone token failed ({Reason}); the current one is used until {ExpiresAt}")]
    private static partial void LogRenewalFailed(ILogger logger, string reason, DateTimeOffset expiresAt);
}
