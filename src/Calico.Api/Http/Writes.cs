using Calico.Grains;
using Calico.Model.Validation;

namespace Calico.Api.Http;

/// <summary>Read-modify-write against a resource grain with its revision as the precondition.</summary>
internal static class Writes
{
    private const int Attempts = 5;

    /// <summary>
    /// Applies <paramref name="change"/> to the current value and writes it only if nobody wrote in between;
    /// otherwise reads again and re-applies (a partial update of one attribute never undoes another caller's
    /// update of another). <paramref name="change"/> throws to refuse (not found, not allowed, invalid).
    /// </summary>
    public static async Task<Versioned<T>> UpdateAsync<T>(IResourceGrain<T> grain, Func<Versioned<T>?, Task<T>> change) where T : class
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await grain.GetAsync();
            var next = await change(current);
            try
            {
                return await grain.PutAsync(next, current?.Revision);
            }
            catch (ResourceConflictException) when (attempt < Attempts)
            {
                // Someone else wrote first: start again from what they wrote.
            }
        }
    }
}
