using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Calico.Datastore;

/// <summary>
/// Grain state is stored in Orleans' own binary format. Calico's records carry <c>[GenerateSerializer]</c> with
/// field ids, which makes the format version-tolerant (fields can be added), and it round-trips what JSON does not
/// (IP addresses, prefixes, the value-equality collections). Orleans' default storage serializer is JSON.
/// </summary>
internal static class CalicoStorageSerializer
{
    public static IGrainStorageSerializer Create(IServiceProvider services) =>
        new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>());
}
