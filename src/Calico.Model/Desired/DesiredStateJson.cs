using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Calico.Model.Collections;
using Calico.Model.Net;

namespace Calico.Model.Desired;

/// <summary>
/// The desired-state file format (for <c>calicoctl dataplane plan|apply</c>): a JSON object with an "items" array,
/// each item an object whose "item" names its type ("route", "interface", ...). Addresses and prefixes are strings; see README for an example.
/// </summary>
public static class DesiredStateJson
{
    private static readonly (Type Type, string Kind)[] Kinds =
    [
        (typeof(WorkloadInterfaceItem), "interface"),
        (typeof(RouteItem), "route"),
        (typeof(SecurityGroupPolicyItem), "policy"),
        (typeof(IpSetMembersItem), "ipset-members"),
        (typeof(FloatingNatItem), "floating-nat"),
        (typeof(DhcpSubnetItem), "dhcp-subnet"),
        (typeof(DhcpHostItem), "dhcp-host"),
        (typeof(IpPoolItem), "ip-pool"),
        (typeof(BgpNodeItem), "bgp-node"),
        (typeof(BgpPeerItem), "bgp-peer"),
    ];

    public static readonly JsonSerializerOptions Options = CreateOptions();

    private sealed record File(IReadOnlyList<DesiredItem> Items);

    public static string Serialize(IEnumerable<DesiredItem> items) =>
        JsonSerializer.Serialize(new File([.. items.OrderBy(i => i.Key)]), Options);

    /// <summary>Parses a file; a malformed one is refused with a message naming where it is wrong. Duplicate keys are refused.</summary>
    public static Dictionary<DesiredKey, DesiredItem> Deserialize(string json)
    {
        File? file;
        try
        {
            file = JsonSerializer.Deserialize<File>(json, Options);
        }
        catch (JsonException e)
        {
            throw new Validation.InvalidInputException(e.Path ?? "$", e.Message);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException)
        {
            throw new Validation.InvalidInputException("$", e.Message);
        }
        if (file?.Items is null) throw new Validation.InvalidInputException("items", "is required");
        var result = new Dictionary<DesiredKey, DesiredItem>();
        for (var i = 0; i < file.Items.Count; i++)
        {
            var item = file.Items[i] ?? throw new Validation.InvalidInputException($"items[{i}]", "is null");
            if (!result.TryAdd(item.Key, item)) throw new Validation.InvalidInputException($"items[{i}]", $"{item.Key} is listed twice");
        }
        return result;
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            RespectNullableAnnotations = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { Polymorphism } },
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower));
        options.Converters.Add(new AddressConverter());
        options.Converters.Add(new PrefixConverter());
        options.Converters.Add(new ValueListConverterFactory());
        return options;
    }

    private static void Polymorphism(JsonTypeInfo info)
    {
        if (info.Type == typeof(DesiredItem))
        {
            info.PolymorphismOptions = new JsonPolymorphismOptions { TypeDiscriminatorPropertyName = "item", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization };
            foreach (var (type, kind) in Kinds) info.PolymorphismOptions.DerivedTypes.Add(new JsonDerivedType(type, kind));
        }
        // The key is derived from the item; it is not part of the file.
        if (typeof(DesiredItem).IsAssignableFrom(info.Type))
            foreach (var property in info.Properties.Where(p => p.Name == "key").ToList()) info.Properties.Remove(property);
    }

    private sealed class AddressConverter : JsonConverter<IPAddress>
    {
        public override IPAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            IpAddresses.TryParse(reader.GetString(), out var address) ? address : throw new JsonException($"'{reader.GetString()}' is not an IP address");

        public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }

    private sealed class PrefixConverter : JsonConverter<IpPrefix>
    {
        public override IpPrefix Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            IpPrefix.TryParse(reader.GetString(), out var prefix, out var error) ? prefix : throw new JsonException(error);

        public override void Write(Utf8JsonWriter writer, IpPrefix value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }

    private sealed class ValueListConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) => typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(ValueList<>);

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(ValueListConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;
    }

    private sealed class ValueListConverter<T> : JsonConverter<ValueList<T>>
    {
        public override ValueList<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(JsonSerializer.Deserialize<List<T>>(ref reader, options) ?? throw new JsonException("expected an array"));

        public override void Write(Utf8JsonWriter writer, ValueList<T> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.Items.ToList(), options);
    }
}
