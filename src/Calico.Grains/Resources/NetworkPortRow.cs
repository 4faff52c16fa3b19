using Calico.Model.Resources;

namespace Calico.Grains.Resources;

/// <summary>
/// One port on one network, as a row of its own (grain type <see cref="GrainTypes.NetworkPort"/>, no grain class)
/// keyed <c>network|mac|port</c>, so that the store lists a network's ports, or those with one MAC, as one range of
/// an index (<see cref="Calico.Datastore.IGrainStateCatalog"/> by key prefix) whatever else the cluster holds.
/// The port's grain writes the row before it stores the port and clears it after the port is stored elsewhere or
/// deleted; so whenever a port is stored on a network, its row is there. A row may outlive its port (a write that
/// failed in between): readers confirm each row with the port's grain (<see cref="Describes"/>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NetworkPortRow(
    [property: Id(0)] string NetworkId,
    [property: Id(1)] string MacAddress,
    [property: Id(2)] string PortId)
{
    public const char Separator = '|';

    public string Key => $"{NetworkId}{Separator}{MacAddress}{Separator}{PortId}";

    public static NetworkPortRow Of(WorkloadEndpoint port) => new(port.NetworkId, port.MacAddress, port.Id);

    /// <summary>The prefix of every row of the network's ports.</summary>
    public static string NetworkPrefix(string networkId) => $"{networkId}{Separator}";

    /// <summary>The prefix of the rows of the network's ports that have <paramref name="macAddress"/>.</summary>
    public static string MacPrefix(string networkId, string macAddress) => $"{networkId}{Separator}{macAddress}{Separator}";

    public static GrainId RowId(string key) => GrainId.Create(GrainTypes.NetworkPort, key);

    /// <summary>Whether <paramref name="port"/> (as its grain has it now) is the port this row stands for.</summary>
    public bool Describes(WorkloadEndpoint? port) =>
        port is not null && port.Id == PortId && port.NetworkId == NetworkId && port.MacAddress == MacAddress;
}
