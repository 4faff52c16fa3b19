namespace Calico.Datastore.Tests.Infrastructure;

internal static class CatalogExtensions
{
    /// <summary>Everything the catalog lists for a grain type, as key → counter value.</summary>
    public static async Task<Dictionary<string, int>> CountersAsync(this IGrainStateCatalog catalog, string grainType, string? keyPrefix = null)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        var states = keyPrefix is null ? catalog.ListAsync<CounterState>(grainType) : catalog.ListAsync<CounterState>(grainType, keyPrefix);
        await foreach (var (key, state) in states)
        {
            Assert.True(result.TryAdd(key, state.Value), $"the catalog listed '{key}' twice");
        }
        return result;
    }
}
