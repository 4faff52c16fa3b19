namespace Calico.Api.Http;

/// <summary>
/// A refusal that the API itself decides (authentication, policy, request shape, referential checks), answered
/// as a Neutron error: <paramref name="type"/> is Neutron's exception name, which clients may match on.
/// </summary>
internal sealed class ApiException(int status, string type, string message, string detail = "") : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    public string Detail { get; } = detail;

    /// <summary>For a 401: the WWW-Authenticate header, saying where to authenticate.</summary>
    public string? Challenge { get; init; }

    public static ApiException BadRequest(string message, string type = "HTTPBadRequest") => new(StatusCodes.Status400BadRequest, type, message);

    public static ApiException NotFound(string type, string message) => new(StatusCodes.Status404NotFound, type, message);

    public static ApiException Conflict(string type, string message) => new(StatusCodes.Status409Conflict, type, message);

    public static ApiException Forbidden(string message) => new(StatusCodes.Status403Forbidden, "PolicyNotAuthorized", message);
}
