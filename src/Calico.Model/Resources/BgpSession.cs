using System.Net;

namespace Calico.Model.Resources;

/// <summary>
/// One BGP session of a host's BIRD as its compute silo last read it (<c>birdc show protocols all</c>): the peer,
/// BIRD's protocol name, the BGP state (Established, Active, Connect, Idle, ...), since when BIRD's protocol is in its
/// state, the routes the peer sent that BIRD imported, and the last error or BIRD's info text when there is one.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record BgpSession(
    [property: Id(0)] IPAddress Peer,
    [property: Id(1)] string Protocol,
    [property: Id(2)] string State,
    [property: Id(3)] DateTimeOffset? Since,
    [property: Id(4)] int? RoutesReceived,
    [property: Id(5)] string? Info)
{
    public bool IsEstablished => State == "Established";
}
