namespace Calico.Topology.Probes;

/// <summary>
/// Polls for a condition until a generous deadline: no assertion in the end-to-end tests depends on how long
/// something takes, only on it happening. A failure says what was awaited and what was last observed.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    /// <summary>Observes until <paramref name="done"/> holds and returns that observation. An observation that throws counts as not done.</summary>
    public static async Task<T> UntilAsync<T>(string what, Func<Task<T>> observe, Func<T, bool> done, TimeSpan? within = null,
        Func<string>? context = null)
    {
        ArgumentNullException.ThrowIfNull(observe);
        ArgumentNullException.ThrowIfNull(done);
        var deadline = DateTime.UtcNow + (within ?? DefaultDeadline);
        string last;
        while (true)
        {
            try
            {
                var value = await observe();
                if (done(value)) return value;
                last = Describe(value);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                last = $"{e.GetType().Name}: {e.Message}";
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited {(within ?? DefaultDeadline).TotalSeconds:0} s for {what}; last observed: {last}{(context is null ? "" : "\n" + context())}");
            await Task.Delay(Interval);
        }
    }

    public static Task UntilAsync(string what, Func<Task<bool>> condition, TimeSpan? within = null, Func<string>? context = null) =>
        UntilAsync(what, condition, ok => ok, within, context);

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        string s => s.Length == 0 ? "(empty)" : s,
        System.Collections.IEnumerable items and not string => "[" + string.Join(", ", items.Cast<object?>().Select(i => i?.ToString())) + "]",
        _ => value.ToString() ?? "",
    };
}
