using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Components;

/// <summary>
/// The components' own options, by type: what the host bound and validated, or a component's defaults where none
/// was given (tests, one-shot commands). Immutable; <see cref="With{T}"/> makes a copy.
/// </summary>
public sealed class FeatureOptions
{
    private readonly IReadOnlyDictionary<Type, object> _byType;

    public FeatureOptions(IEnumerable<object> options)
    {
        var byType = new Dictionary<Type, object>();
        foreach (var each in options)
            if (!byType.TryAdd(each.GetType(), each)) throw new ArgumentException($"two {each.GetType().Name} given", nameof(options));
        _byType = byType;
    }

    /// <summary>Every component with its defaults.</summary>
    public static FeatureOptions Defaults { get; } = new([]);

    /// <summary>The options of type <typeparamref name="T"/>: those given, else its defaults.</summary>
    public T Get<T>() where T : class, new() => _byType.TryGetValue(typeof(T), out var options) ? (T)options : new T();

    /// <summary>A copy with <paramref name="options"/> in place of any earlier of its type.</summary>
    public FeatureOptions With<T>(T options) where T : class =>
        new(_byType.Where(kv => kv.Key != typeof(T)).Select(kv => kv.Value).Append(options));
}

/// <summary>
/// How a component's options class is bound from configuration and validated at start, and read back for the driver.
/// </summary>
public sealed record FeatureOptionsBinding(Type Type, Action<IServiceCollection, IConfiguration> Add, Func<IServiceProvider, object> Resolve)
{
    /// <summary>
    /// <typeparamref name="TOptions"/> bound from <paramref name="section"/>, validated at start by
    /// <typeparamref name="TValidator"/> (registered once).
    /// </summary>
    public static FeatureOptionsBinding For<TOptions, TValidator>(string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions> => new(typeof(TOptions),
        (services, configuration) =>
        {
            services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        },
        sp => sp.GetRequiredService<IOptions<TOptions>>().Value);
}
