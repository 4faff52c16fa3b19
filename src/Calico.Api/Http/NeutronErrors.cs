using System.Text.Json;
using Calico.Api.Auth;
using Calico.Grains;
using Calico.Model.Validation;
using Microsoft.Extensions.Logging;

namespace Calico.Api.Http;

/// <summary>
/// Every refusal as Neutron words it: <c>{"NeutronError": {"type", "message", "detail"}}</c> with the matching
/// status. Domain exceptions (from the grains, through Orleans) map to 400/404/409; the datastore or a controller
/// silo being unavailable for a while maps to 503 naming which (retryable); anything else is a 500 whose details go to
/// the log, not to the caller.
/// </summary>
internal static partial class NeutronErrors
{
    public static IResult Result(int status, string type, string message, string detail = "") =>
        Results.Json(new JsonObject
        {
            ["NeutronError"] = new JsonObject { ["type"] = type, ["message"] = message, ["detail"] = detail },
        }, statusCode: status);

    public static IResult FromException(Exception exception, ILogger logger) => exception switch
    {
        _ when Refusal(exception) is { } r => Result(r.Status, r.Type, r.Message, r.Detail),
        _ when TransientFailures.Reason(exception) is { } reason => Retryable(exception, reason, logger),
        _ => Unexpected(exception, logger),
    };

    /// <summary>
    /// A refusal (by the API or by a grain's rules) as the 4xx it is answered with; null for anything else (the
    /// store unavailable, a bug), which keeps its own handling.
    /// </summary>
    public static ApiException? Refusal(Exception exception) => exception switch
    {
        ApiException e => e,
        InvalidInputException e => new(StatusCodes.Status400BadRequest, "InvalidInput",
            "Invalid input for operation: " + string.Join("; ", e.Errors.Select(x => $"{x.Field}: {x.Reason}")) + "."),
        ResourceNotFoundException e => new(StatusCodes.Status404NotFound, TypeName(e.Kind) + "NotFound", Sentence(e.Message)),
        ResourceConflictException e => new(StatusCodes.Status409Conflict, TypeName(e.Kind) + "Conflict", Sentence(e.Message)),
        _ => null,
    };

    private static IResult Retryable(Exception exception, string reason, ILogger logger)
    {
        LogUnavailable(logger, reason, exception.Message);
        return Result(StatusCodes.Status503ServiceUnavailable, "ServiceUnavailable",
            $"Request failed: {reason}. Retry the request (a create may have been stored before the failure: look it up by name first).");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "An API request could not be served now ({Reason}): {Error}")]
    private static partial void LogUnavailable(ILogger logger, string reason, string error);

    /// <summary>Neutron's exception names: "floating IP" → "FloatingIp", "security group" → "SecurityGroup".</summary>
    private static string TypeName(string kind) =>
        string.Concat(kind.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => char.ToUpperInvariant(w[0]) + w[1..].ToLowerInvariant()));

    private static string Sentence(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..] + (text.EndsWith('.') ? "" : ".");

    private static IResult Unexpected(Exception exception, ILogger logger)
    {
        LogUnexpected(logger, exception);
        return Result(StatusCodes.Status500InternalServerError, "HTTPInternalServerError",
            "Request failed: internal server error while processing your request.");
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "An API request failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}

/// <summary>
/// Wraps every API endpoint: authenticates the caller, applies the policy's read/write rule (<see cref="Policy"/>),
/// turns any exception into a Neutron error, and logs each
/// change (POST, PUT, DELETE) with who made it and how it ended: the audit trail of the north-bound API.
/// </summary>
internal sealed partial class NeutronEndpointFilter(ApiAuthenticator authenticator, ILogger<NeutronEndpointFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        Caller? caller = null;
        object? result;
        try
        {
            caller = await authenticator.AuthenticateAsync(http);
            caller.AttachTo(http);
            Policy.RequireMethodAllowed(caller, http.Request.Method);
            result = await next(context);
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested || e is not OperationCanceledException)
        {
            if (e is ApiException { Challenge: { } challenge }) http.Response.Headers.WWWAuthenticate = challenge;
            result = NeutronErrors.FromException(e, logger);
        }
        if (!HttpMethods.IsGet(http.Request.Method))
        {
            var status = (result as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;
            var error = (result as IValueHttpResult)?.Value is JsonObject body && body["NeutronError"] is { } e2 ? (string?)e2["message"] : null;
            LogChange(logger, http.Request.Method, http.Request.Path.Value ?? "", caller?.User ?? "-", caller?.ProjectId ?? "-", caller?.IsAdmin ?? false, status, error ?? "");
        }
        return result;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Path} by {User} of project {Project} (admin {Admin}): {Status} {Error}")]
    private static partial void LogChange(ILogger logger, string method, string path, string user, string project, bool admin, int status, string error);
}
