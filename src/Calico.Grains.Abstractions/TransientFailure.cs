namespace Calico.Grains;

/// <summary>
/// A request could not be served now but may be later: the datastore unavailable or restarting, or a silo gone. It
/// carries the reason in words and the original error's message, and travels between silos (the datastore driver's own
/// exceptions cannot: a grain on another silo would surface as a codec failure instead).
/// </summary>
[GenerateSerializer]
public sealed class TransientFailureException : Exception
{
    public TransientFailureException(string reason, string detail, Exception? inner = null) : base($"{reason}: {detail}", inner)
    {
        Reason = reason;
    }

    /// <summary>What was unavailable, e.g. "the datastore is unavailable".</summary>
    [Id(0)] public string Reason { get; }
}

/// <summary>Tells failures worth retrying apart from the rest.</summary>
public static class TransientFailures
{
    /// <summary>
    /// Why <paramref name="exception"/> (or one it wraps) means "not now, maybe later": a transient database error (the
    /// driver says so, or SQLSTATE class 08 connection exception or 57P operator intervention), a socket error, a silo
    /// unavailable or a call not answered in time. Null for anything else. Follows inner exceptions (an aggregate's
    /// first one included).
    /// </summary>
    public static string? Reason(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case TransientFailureException t:
                    return t.Reason;
                case System.Data.Common.DbException db when db.IsTransient || db.SqlState is { } state && (state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal)):
                    return "the datastore is unavailable";
                case System.Net.Sockets.SocketException:
                    return "the datastore is unreachable";
                case Orleans.Runtime.SiloUnavailableException:
                case Orleans.Runtime.OrleansMessageRejectionException:
                    return "a controller silo is unavailable";
                case TimeoutException:
                    return "a controller did not answer in time";
            }
        }
        return null;
    }
}
