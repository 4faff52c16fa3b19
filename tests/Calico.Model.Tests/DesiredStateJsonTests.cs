using System.Net;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Model.Tests;

public class DesiredStateJsonTests
{
    [Fact]
    public void Every_kind_of_item_round_trips()
    {
        var model = new IntentModel();
        var fip = new FloatingIp("fip-1", "ext", IPAddress.Parse("172.24.4.10"), "proj", "p1", IPAddress.Parse("10.65.0.3"));
        var group = Sample.Group("sg-default", Sample.Rule("r1", remoteGroup: "sg-default"), Sample.Rule("r2", protocol: IpProtocols.Icmp, from: 8, to: 0));
        object[] resources = [Sample.Host("h31", "172.18.203.31"), Sample.Host("h44", "172.18.203.44"), Sample.Network(), Sample.Subnet(), group,
            Sample.Endpoint("p1", "h44", "10.65.0.3") with { AllowedAddressPairs = ValueList.Create(new AllowedAddressPair(IpPrefix.Parse("10.65.0.100/32"), "fa:16:3e:00:00:99")) },
            Sample.Endpoint("p2", "h31", "10.65.0.2"), fip];
        foreach (var r in resources) model.Apply(new ResourceChange(ResourceChange.KindOf(r), CalculatorTests.KeyOf(r), 1, r));
        var spec = HostSpecCalculator.Compute(model, "h44");
        Assert.Equal(7, spec.Values.Select(v => v.GetType()).Distinct().Count());

        var json = DesiredStateJson.Serialize(spec.Values);
        Assert.Contains("\"item\": \"route\"", json, StringComparison.Ordinal);
        Assert.Contains("\"destination\": \"10.65.0.3/32\"", json, StringComparison.Ordinal);
        var back = DesiredStateJson.Deserialize(json);
        Assert.Equal(spec.OrderBy(kv => kv.Key), back.OrderBy(kv => kv.Key));
    }

    [Theory]
    [InlineData("""{"items":[{"item":"tunnel"}]}""", "tunnel")]
    [InlineData("""{"items":[{"item":"route","destination":"10.65.0.300/32","kind":"local"}]}""", "10.65.0.300/32")]
    [InlineData("""{"items":[{"item":"route","destination":"10.65.0.3/32","kind":"local","interfaceName":"tap1","gateway":null,"viaHost":null,"colour":"red"}]}""", "$")]
    [InlineData("""{"nothing":[]}""", "$")]
    [InlineData("""not json""", "$")]
    public void A_malformed_file_is_refused_with_a_reason(string json, string fragment)
    {
        var ex = Assert.Throws<InvalidInputException>(() => DesiredStateJson.Deserialize(json));
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_listed_twice_is_refused()
    {
        var json = """{"items":[{"item":"route","destination":"10.65.0.0/26","kind":"blackhole","interfaceName":null,"gateway":null,"viaHost":null},{"item":"route","destination":"10.65.0.0/26","kind":"blackhole","interfaceName":null,"gateway":null,"viaHost":null}]}""";
        var ex = Assert.Throws<InvalidInputException>(() => DesiredStateJson.Deserialize(json));
        Assert.Contains("listed twice", ex.Message, StringComparison.Ordinal);
    }
}
