using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Calico.Grains;
using Calico.Grains.Hosts;
using Calico.Model;
using Calico.Model.Resources;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Calico.Api.Nova;

/// <summary>One event as Nova's os-server-external-events takes it.</summary>
public sealed record NovaEvent(string Name, string ServerUuid, string Tag, string Status = "completed")
{
    public const string Plugged = "network-vif-plugged";
    public const string Unplugged = "network-vif-unplugged";
    public const string Deleted = "network-vif-deleted";

    public JsonObject ToJson() => new() { ["name"] = Name, ["server_uuid"] = ServerUuid, ["tag"] = Tag, ["status"] = Status };
}

/// <summary>The token a request to Nova carries (null: none).</summary>
public interface INovaTokenSource
{
    /// <summary>A valid token; <paramref name="renew"/>: the last one was refused, get another.</summary>
    ValueTask<string?> GetTokenAsync(bool renew, CancellationToken cancellationToken);
}

/// <summary>Nova:Auth=none.</summary>
internal sealed class NoNovaToken : INovaTokenSource
{
    public ValueTask<string?> GetTokenAsync(bool renew, CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);
}

/// <summary>
/// Tells Nova about the ports of its instances (ports whose device_owner is <c>compute:*</c> and that name a device),
/// the way Neutron's server does. Port status transitions arrive from <see cref="HostGrain"/>s (within their turns:
/// only queued here), deletions from the API; a background loop gathers them for <see cref="NovaOptions.BatchInterval"/>,
/// reads each port once to find its instance, and posts them in batches, retried with backoff while Nova cannot be
/// reached or answers 5xx. Nothing here holds up the API or a grain: a full queue drops its oldest events (counted).
/// An event for an instance Nova does not know (404) is not retried, as Neutron does.
/// </summary>
internal sealed partial class NovaNotifier : BackgroundService, IEndpointTransitionListener
{
    private static readonly Counter<long> Events = CalicoTelemetry.Meter.CreateCounter<long>(
        "calico.nova.events", description: "Events for Nova by outcome: sent, unknown (Nova knows no such instance), failed, dropped (queue full), skipped (not an instance's port)");

    private readonly NovaOptions _options;
    private readonly IGrainFactory _grains;
    private readonly HttpClient _http;
    private readonly INovaTokenSource _tokens;
    private readonly TimeProvider _time;
    private readonly ILogger<NovaNotifier> _logger;
    private readonly Channel<Pending> _queue;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;

    public NovaNotifier(IOptions<NovaOptions> options, IGrainFactory grains, IHttpClientFactory http, INovaTokenSource tokens,
        TimeProvider time, ILogger<NovaNotifier> logger)
    {
        _options = options.Value;
        _grains = grains;
        _http = http.CreateClient(nameof(NovaNotifier));
        _http.Timeout = _options.RequestTimeout;
        _tokens = tokens;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<Pending>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Events.Add(1, new KeyValuePair<string, object?>("outcome", "dropped")));
        _retry = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(0, _options.Attempts - 1),
                Delay = _options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TaskCanceledException>(e => e.InnerException is TimeoutException)
                    .HandleResult(r => (int)r.StatusCode >= 500 || r.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.Unauthorized),
                OnRetry = a =>
                {
                    LogRetry(_logger, a.AttemptNumber + 1, a.Outcome.Result is { } r ? $"HTTP {(int)r.StatusCode}" : a.Outcome.Exception?.Message ?? "");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public void OnTransitions(IReadOnlyList<EndpointTransition> transitions)
    {
        if (!_options.Enabled) return;
        foreach (var t in transitions) _queue.Writer.TryWrite(new Pending(t, null));
    }

    /// <summary>A port was deleted (the API's delete, after it is stored).</summary>
    public void OnPortDeleted(WorkloadEndpoint port)
    {
        if (!_options.Enabled || !IsInstancePort(port)) return;
        _queue.Writer.TryWrite(new Pending(null, new NovaEvent(NovaEvent.Deleted, port.DeviceId, port.Id)));
    }

    /// <summary>A port Nova plugs for an instance: Neutron tells Nova only of those.</summary>
    public static bool IsInstancePort(WorkloadEndpoint port) =>
        port.DeviceOwner.StartsWith("compute:", StringComparison.Ordinal) && port.DeviceId.Length > 0;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled) return;
        LogEnabled(_logger, _options.Url, _options.Auth);
        var batch = new List<Pending>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await _queue.Reader.WaitToReadAsync(stoppingToken)) return;
                if (_options.BatchInterval > TimeSpan.Zero) await Task.Delay(_options.BatchInterval, _time, stoppingToken);
                batch.Clear();
                while (batch.Count < _options.MaxEventsPerRequest && _queue.Reader.TryRead(out var pending)) batch.Add(pending);
                var events = await ResolveAsync(batch, stoppingToken);
                if (events.Count > 0) await SendAsync(events, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // One batch's trouble never stops the notifier.
                LogBatchFailed(_logger, ex, batch.Count);
            }
        }
    }

    /// <summary>The events a batch stands for, in order, each once: a transition becomes an event only for an instance's port that still fits it.</summary>
    private async Task<List<NovaEvent>> ResolveAsync(List<Pending> batch, CancellationToken cancellationToken)
    {
        var ports = new Dictionary<string, Task<Versioned<WorkloadEndpoint>?>>(StringComparer.Ordinal);
        foreach (var p in batch)
            if (p.Transition is { } t && !ports.ContainsKey(t.PortId)) ports[t.PortId] = _grains.GetGrain<IEndpointGrain>(t.PortId).GetAsync();
        await Task.WhenAll(ports.Values).WaitAsync(cancellationToken);
        var events = new List<NovaEvent>();
        var now = _time.GetUtcNow();
        foreach (var p in batch)
        {
            var e = p.Event;
            if (p.Transition is { } t && ports[t.PortId].Result is { } port && IsInstancePort(port.Value))
            {
                e = t.Kind switch
                {
                    // Plugged only while the port is still bound to the host that programmed it (or its VM arrived there, a live
                    // migration's target, which Nova waits for with live_migration_wait_for_vif_plug); a replayed one
                    // (first report after a controller restart) only while an instance may still be waiting.
                    EndpointTransitionKind.Plugged when port.Value.AsProgrammed().Host == t.Host && (!t.Replayed || now - port.UpdatedAt <= _options.ReplayWindow)
                        => new NovaEvent(NovaEvent.Plugged, port.Value.DeviceId, port.Value.Id),
                    // Unplugged not from a host a live migration is moving the port away from: the VM runs on (or is
                    // on its way to) the target, and its source's tap going with it unplugs nothing Nova should hear of.
                    EndpointTransitionKind.Unplugged when !t.Replayed && !IsMigrationSource(port.Value, t.Host)
                        => new NovaEvent(NovaEvent.Unplugged, port.Value.DeviceId, port.Value.Id),
                    _ => null,
                };
            }
            if (e is null) Events.Add(1, new KeyValuePair<string, object?>("outcome", "skipped"));
            else if (events.Count == 0 || events[^1] != e) events.Add(e);
        }
        return events;
    }

    private static bool IsMigrationSource(WorkloadEndpoint port, string host) =>
        port.MigratingTo is { Length: > 0 } target && target != host && port.Host == host;

    private async Task SendAsync(List<NovaEvent> events, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["events"] = new JsonArray([.. events.Select(e => (JsonNode)e.ToJson())]) }.ToJsonString();
        var renew = false;
        HttpResponseMessage response;
        try
        {
            response = await _retry.ExecuteAsync(async ct =>
            {
                var token = await _tokens.GetTokenAsync(renew, ct);
                renew = false;
                using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url.TrimEnd('/') + "/os-server-external-events")
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                };
                request.Headers.Accept.ParseAdd("application/json");
                if (token is not null) request.Headers.Add("X-Auth-Token", token);
                var answer = await _http.SendAsync(request, ct);
                if (answer.StatusCode == HttpStatusCode.Unauthorized) renew = true;
                return answer;
            }, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Count(events.Count, "failed");
            LogUnreachable(_logger, ex, events.Count, _options.Attempts);
            return;
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK or HttpStatusCode.MultiStatus:
                    // Each event comes back with its own code: 200 taken, 404 no such instance (or not on a host), 422 not acceptable.
                    var codes = (JsonNode.Parse(text)?["events"] as JsonArray)?.Select(e => e?["code"]?.GetValue<int>() ?? 200).ToList() ?? [];
                    var sent = codes.Count == 0 ? events.Count : codes.Count(c => c == 200);
                    var unknown = codes.Count(c => c == 404);
                    Count(sent, "sent");
                    Count(unknown, "unknown");
                    Count(codes.Count - sent - unknown, "failed");
                    LogSent(_logger, events.Count, (int)response.StatusCode, sent, unknown);
                    break;
                case HttpStatusCode.NotFound:
                    // Nova found none of the instances: nothing to retry.
                    Count(events.Count, "unknown");
                    LogUnknown(_logger, events.Count);
                    break;
                default:
                    Count(events.Count, "failed");
                    LogRefused(_logger, events.Count, (int)response.StatusCode, text.Length > 500 ? text[..500] : text);
                    break;
            }
        }
    }

    private static void Count(int n, string outcome)
    {
        if (n > 0) Events.Add(n, new KeyValuePair<string, object?>("outcome", outcome));
    }

    private sealed record Pending(EndpointTransition? Transition, NovaEvent? Event);

    [LoggerMessage(Level = LogLevel.Information, Message = "Nova is told of port events at {Url} (authentication: {Auth})")]
    private static partial void LogEnabled(ILogger logger, string url, string auth);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Nova took {Events} events (HTTP {Status}): {Sent} accepted, {Unknown} for instances it does not know")]
    private static partial void LogSent(ILogger logger, int events, int status, int sent, int unknown);

    [LoggerMessage(Level = LogLevel.Information, Message = "Nova knows none of the instances of {Events} events (HTTP 404); not retried")]
    private static partial void LogUnknown(ILogger logger, int events);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telling Nova again (attempt {Attempt}) after {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Nova could not be told of {Events} events after {Attempts} attempts; they are dropped")]
    private static partial void LogUnreachable(ILogger logger, Exception ex, int events, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Nova refused {Events} events with HTTP {Status}: {Body}")]
    private static partial void LogRefused(ILogger logger, int events, int status, string body);

    [LoggerMessage(Level = LogLevel.Error, Message = "A batch of {Count} port events for Nova failed")]
    private static partial void LogBatchFailed(ILogger logger, Exception ex, int count);
}
