using System.Net;
using Calico.Model.Net;

namespace Calico.Model.Tests;

public class IpPrefixTests
{
    [Theory]
    [InlineData("10.65.0.0/24", "10.65.0.3", true)]
    [InlineData("10.65.0.0/24", "10.65.1.3", false)]
    [InlineData("fd00:1::/64", "fd00:1::5", true)]
    [InlineData("fd00:1::/64", "10.65.0.3", false)]
    [InlineData("0.0.0.0/0", "192.0.2.1", true)]
    public void Contains(string prefix, string address, bool expected) =>
        Assert.Equal(expected, IpPrefix.Parse(prefix).Contains(IPAddress.Parse(address)));

    [Theory]
    [InlineData("10.65.0.0/33")]
    [InlineData("10.65.0/24")]
    [InlineData("10.65.0.0/")]
    [InlineData("10.65.0.0/-1")]
    [InlineData("fe80::1%2/64")]
    [InlineData("hello")]
    [InlineData("")]
    [InlineData("1")]
    public void Bad_text_is_refused(string text) => Assert.False(IpPrefix.TryParse(text, out _, out _));

    [Fact]
    public void Slaac_gives_the_modified_eui64_address_of_a_mac_in_its_64()
    {
        Assert.Equal(IPAddress.Parse("fd00:65::f816:3eff:fe00:1"), IpAddresses.Eui64(IpPrefix.Parse("fd00:65::/64"), "fa:16:3e:00:00:01"));
        Assert.Equal(IPAddress.Parse("2001:db8:1:2:21b:21ff:fe3c:4d5e"), IpAddresses.Eui64(IpPrefix.Parse("2001:db8:1:2::/64"), "00:1b:21:3c:4d:5e"));
        Assert.Throws<ArgumentException>(() => IpAddresses.Eui64(IpPrefix.Parse("fd00:65::/80"), "fa:16:3e:00:00:01"));
    }

    [Fact]
    public void Network_last_address_and_canonical_form()
    {
        var p = IpPrefix.Parse("10.65.0.77/26");
        Assert.False(p.IsCanonical);
        Assert.Equal("10.65.0.64/26", p.Network.ToString());
        Assert.Equal(IPAddress.Parse("10.65.0.127"), p.LastAddress);
        Assert.Equal("10.65.0.3/32", IpPrefix.Host(IPAddress.Parse("10.65.0.3")).ToString());
        Assert.Equal("fd00::5/128", IpPrefix.Host(IPAddress.Parse("fd00::5")).ToString());
        Assert.True(IpPrefix.Parse("10.0.0.0/8").Overlaps(IpPrefix.Parse("10.65.0.0/24")));
        Assert.False(IpPrefix.Parse("10.0.0.0/8").Overlaps(IpPrefix.Parse("11.0.0.0/8")));
    }
}
