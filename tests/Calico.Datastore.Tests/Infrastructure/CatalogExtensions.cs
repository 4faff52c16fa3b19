namespace Calico.Datastore.Tests.Infrastructure;

internal static class CatalogExtensions
{
    /// <summary>Everything the catalog lists for a grain type, as key → counter value.</summary>
    public static async Task<Dictionary<string, int>> CountersAsync(this IGrainStateCatalog catalog, string grainType)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var (key, state) in catalog.ListAsync<CounterState>(grainType))
        {
            Assert.True(result.TryAdd(key, state.Value), $"the catalog listed '{key}' twice");
        }
        return result;
    }
}
