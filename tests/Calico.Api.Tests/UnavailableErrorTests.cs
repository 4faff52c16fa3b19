using System.Data.Common;
using Calico.Api.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Calico.Api.Tests;

/// <summary>A datastore restarting or a controller silo gone is a 503 that says so (retryable), never a bare 500.</summary>
public class UnavailableErrorTests
{
    private sealed class TestDbException(string message, bool transient, string? state) : DbException(message)
    {
        public override bool IsTransient => transient;
        public override string? SqlState => state;
    }

    public static TheoryData<Exception, string> Unavailable => new()
    {
        { new TestDbException("connection refused", transient: true, state: null), "the datastore is unavailable" },
        { new InvalidOperationException("storage failed", new TestDbException("terminating connection due to administrator command", false, "57P01")), "the datastore is unavailable" },
        { new TestDbException("connection failure", false, "08006"), "the datastore is unavailable" },
        { new Orleans.Runtime.SiloUnavailableException("silo gone"), "a controller silo is unavailable" },
        { new TimeoutException("response did not arrive on time"), "a controller did not answer in time" },
        { new AggregateException(new System.Net.Sockets.SocketException(111)), "the datastore is unreachable" },
    };

    [Theory]
    [MemberData(nameof(Unavailable))]
    public async Task An_unavailable_datastore_or_silo_is_a_503_naming_it(Exception exception, string reason)
    {
        var (status, body) = await RenderAsync(NeutronErrors.FromException(exception, NullLogger.Instance));
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, status);
        Assert.Contains("\"type\":\"ServiceUnavailable\"", body, StringComparison.Ordinal);
        Assert.Contains(reason, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_error_that_is_not_transient_stays_a_500()
    {
        var (status, _) = await RenderAsync(NeutronErrors.FromException(new TestDbException("syntax error", false, "42601"), NullLogger.Instance));
        Assert.Equal(StatusCodes.Status500InternalServerError, status);
    }

    private static async Task<(int Status, string Body)> RenderAsync(IResult result)
    {
        var http = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        http.Response.Body = new MemoryStream();
        await result.ExecuteAsync(http);
        http.Response.Body.Position = 0;
        return (http.Response.StatusCode, await new StreamReader(http.Response.Body).ReadToEndAsync());
    }
}
