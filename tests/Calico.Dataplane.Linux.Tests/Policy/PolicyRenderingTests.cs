using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Dataplane.Linux.Policy;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>
/// Golden text of the whole table for representative groups (<see cref="PolicySamples.WebAndDatabase"/>): a web group
/// open on 80/443, SSH from one network, ping; a database group open on 5432 to members of "web" and to ICMPv6;
/// Neutron's default egress; a floating IP, a VRRP pair and an outgoing-NAT pool. The kernel tests apply the same
/// table, so this text is known to be accepted by nft 1.0.6.
/// </summary>
public sealed class PolicyRenderingTests
{
    [Fact]
    public void Web_and_database_groups_render_as_this_script()
    {
        var script = NftDiff.Plan(PolicyCompiler.Compile(PolicySamples.WebAndDatabase()), kernel: null).Transaction.Render();

        Assert.Equal("""
            add table inet calico
            add map inet calico cali-fip-dnat-v4 { type ipv4_addr : ipv4_addr; }
            add map inet calico cali-fip-dnat-v6 { type ipv6_addr : ipv6_addr; }
            add map inet calico cali-fip-snat-v4 { type ipv4_addr : ipv4_addr; }
            add map inet calico cali-fip-snat-v6 { type ipv6_addr : ipv6_addr; }
            add map inet calico cali-from-wl { type ifname : verdict; }
            add set inet calico cali-sg-web-v4 { type ipv4_addr; }
            add set inet calico cali-sg-web-v6 { type ipv6_addr; }
            add map inet calico cali-to-wl { type ifname : verdict; }
            add set inet calico cali-wl-down { type ifname; }
            add set inet calico cali-wl-src-v4 { type ifname . ether_addr . ipv4_addr; }
            add set inet calico cali-wl-src-v6 { type ifname . ether_addr . ipv6_addr; }
            add set inet calico cali-wl-unsecured { type ifname; }
            add chain inet calico cali-fw-to
            add chain inet calico cali-pe-4aac8d9eef77e186
            add chain inet calico cali-pe-7b9a2782f961be68
            add chain inet calico cali-pi-4aac8d9eef77e186
            add chain inet calico cali-pi-7b9a2782f961be68
            add chain inet calico cali-sg-db-e
            add chain inet calico cali-sg-db-i
            add chain inet calico cali-sg-web-e
            add chain inet calico cali-sg-web-i
            add chain inet calico cali-wl-to-host
            add chain inet calico filter-forward { type filter hook forward priority 0; policy accept; }
            add chain inet calico filter-input { type filter hook input priority 0; policy accept; }
            add chain inet calico filter-output { type filter hook output priority 0; policy accept; }
            add chain inet calico nat-output { type nat hook output priority -100; policy accept; }
            add chain inet calico nat-postrouting { type nat hook postrouting priority 100; policy accept; }
            add chain inet calico nat-prerouting { type nat hook prerouting priority -100; policy accept; }
            add chain inet calico raw-prerouting { type filter hook prerouting priority -300; policy accept; }
            add element inet calico cali-fip-dnat-v4 { 172.24.4.10 : 10.65.0.3 }
            add element inet calico cali-fip-snat-v4 { 10.65.0.3 : 172.24.4.10 }
            add element inet calico cali-from-wl { "tapdb00000002" : goto cali-pe-4aac8d9eef77e186, "tapweb0000001" : goto cali-pe-7b9a2782f961be68 }
            add element inet calico cali-sg-web-v4 { 10.65.0.3, 10.65.0.100, 10.65.1.7 }
            add element inet calico cali-to-wl { "tapdb00000002" : goto cali-pi-4aac8d9eef77e186, "tapweb0000001" : goto cali-pi-7b9a2782f961be68 }
            add element inet calico cali-wl-src-v4 { "tapdb00000002" . fa:16:3e:00:00:02 . 10.65.0.4, "tapweb0000001" . fa:16:3e:00:00:01 . 10.65.0.3, "tapweb0000001" . fa:16:3e:00:00:99 . 10.65.0.100 }
            add element inet calico cali-wl-src-v6 { "tapdb00000002" . fa:16:3e:00:00:02 . fd00:65::4, "tapdb00000002" . fa:16:3e:00:00:02 . fe80::f816:3eff:fe00:2, "tapweb0000001" . fa:16:3e:00:00:01 . fe80::f816:3eff:fe00:1, "tapweb0000001" . fa:16:3e:00:00:99 . fe80::f816:3eff:fe00:99 }
            add rule inet calico cali-fw-to oifname vmap @cali-to-wl comment "cal:ee7fe76ba7b38d86 ingress of the destination workload"
            add rule inet calico cali-fw-to oifname "tap*" drop comment "cal:c586b80daa52e79c unknown workload"
            add rule inet calico cali-fw-to accept comment "cal:46e825a06c3d1617 allowed"
            add rule inet calico cali-pe-4aac8d9eef77e186 ct state established,related goto cali-fw-to comment "cal:c3bb9b711d96fd64 replies"
            add rule inet calico cali-pe-4aac8d9eef77e186 ct state invalid drop comment "cal:eebbe3289c5b1bcd invalid"
            add rule inet calico cali-pe-4aac8d9eef77e186 jump cali-sg-db-e comment "cal:8ba3281af47cbab6"
            add rule inet calico cali-pe-4aac8d9eef77e186 drop comment "cal:d734dd5b27e41fdd no rule of the groups allows it"
            add rule inet calico cali-pe-7b9a2782f961be68 ct state established,related goto cali-fw-to comment "cal:c3bb9b711d96fd64 replies"
            add rule inet calico cali-pe-7b9a2782f961be68 ct state invalid drop comment "cal:eebbe3289c5b1bcd invalid"
            add rule inet calico cali-pe-7b9a2782f961be68 jump cali-sg-web-e comment "cal:5d1f7597a25c28a6"
            add rule inet calico cali-pe-7b9a2782f961be68 drop comment "cal:d734dd5b27e41fdd no rule of the groups allows it"
            add rule inet calico cali-pi-4aac8d9eef77e186 ct state established,related accept comment "cal:a054ab8b3940bf6b replies"
            add rule inet calico cali-pi-4aac8d9eef77e186 ct state invalid drop comment "cal:eebbe3289c5b1bcd invalid"
            add rule inet calico cali-pi-4aac8d9eef77e186 jump cali-sg-db-i comment "cal:d7e4fbfae0ad0ac4"
            add rule inet calico cali-pi-4aac8d9eef77e186 drop comment "cal:d734dd5b27e41fdd no rule of the groups allows it"
            add rule inet calico cali-pi-7b9a2782f961be68 ct state established,related accept comment "cal:a054ab8b3940bf6b replies"
            add rule inet calico cali-pi-7b9a2782f961be68 ct state invalid drop comment "cal:eebbe3289c5b1bcd invalid"
            add rule inet calico cali-pi-7b9a2782f961be68 jump cali-sg-web-i comment "cal:702134d1170eb5f4"
            add rule inet calico cali-pi-7b9a2782f961be68 drop comment "cal:d734dd5b27e41fdd no rule of the groups allows it"
            add rule inet calico cali-sg-db-e meta nfproto ipv4 goto cali-fw-to comment "cal:f8f39e64a47d861c sg-rule db-out-v4"
            add rule inet calico cali-sg-db-i ip saddr @cali-sg-web-v4 tcp dport 5432 accept comment "cal:b84d7639a7df788c sg-rule db-pg"
            add rule inet calico cali-sg-db-i meta nfproto ipv6 meta l4proto ipv6-icmp accept comment "cal:0e37f00d3b498218 sg-rule db-ping6"
            add rule inet calico cali-sg-web-e meta nfproto ipv4 goto cali-fw-to comment "cal:303648d7b311829e sg-rule web-out-v4"
            add rule inet calico cali-sg-web-e meta nfproto ipv6 goto cali-fw-to comment "cal:f7fcf4c28225f4c8 sg-rule web-out-v6"
            add rule inet calico cali-sg-web-i meta nfproto ipv4 tcp dport 80 accept comment "cal:69b11b36bda41249 sg-rule web-http"
            add rule inet calico cali-sg-web-i meta nfproto ipv4 tcp dport 443 accept comment "cal:4b58d3258aea32b5 sg-rule web-https"
            add rule inet calico cali-sg-web-i ip saddr 192.0.2.0/24 tcp dport 22 accept comment "cal:0bf95ef5b3ee71a6 sg-rule web-ssh"
            add rule inet calico cali-sg-web-i meta nfproto ipv4 icmp type 8 icmp code 0 accept comment "cal:9d5e4fc176d0872c sg-rule web-ping"
            add rule inet calico cali-wl-to-host ct state established,related accept comment "cal:a054ab8b3940bf6b replies"
            add rule inet calico cali-wl-to-host ct state invalid drop comment "cal:eebbe3289c5b1bcd invalid"
            add rule inet calico cali-wl-to-host udp sport 68 udp dport 67 accept comment "cal:ae5c244a8d7f5c7d DHCP"
            add rule inet calico cali-wl-to-host udp sport 546 udp dport 547 accept comment "cal:c53323dbce770786 DHCPv6"
            add rule inet calico cali-wl-to-host udp dport 53 accept comment "cal:7a0ada2fe317fc39 DNS"
            add rule inet calico cali-wl-to-host tcp dport 53 accept comment "cal:57a9d2fc07c465cd DNS"
            add rule inet calico cali-wl-to-host icmpv6 type { 130, 131, 132, 133, 135, 136, 143 } accept comment "cal:a6262c4b367dcc21 IPv6 neighbour discovery"
            add rule inet calico cali-wl-to-host ip daddr 169.254.169.254 tcp dport 80 accept comment "cal:9a1e3b2db748f193 metadata"
            add rule inet calico cali-wl-to-host ct original ip daddr 169.254.169.254 ip daddr 127.0.0.1 tcp dport 8775 accept comment "cal:3e3c7449884133f2 metadata"
            add rule inet calico cali-wl-to-host drop comment "cal:9a59b927487e78c5 Dataplane:WorkloadToHostAction"
            add rule inet calico filter-forward iifname "tap*" ct original ip daddr 169.254.169.254 ip daddr 127.0.0.1 tcp dport 8775 accept comment "cal:fd862b82bab56217 metadata"
            add rule inet calico filter-forward iifname vmap @cali-from-wl comment "cal:623f33b1255f0025 egress of the source workload"
            add rule inet calico filter-forward iifname "tap*" drop comment "cal:f9addff172e04522 unknown workload"
            add rule inet calico filter-forward oifname vmap @cali-to-wl comment "cal:ee7fe76ba7b38d86 ingress of the destination workload"
            add rule inet calico filter-forward oifname "tap*" drop comment "cal:c586b80daa52e79c unknown workload"
            add rule inet calico filter-input iifname != "tap*" tcp dport { 22, 179, 2379, 2380, 5473, 6443, 6666, 6667 } accept comment "cal:b487ec6fe80e3b99 failsafe inbound"
            add rule inet calico filter-input iifname != "tap*" udp dport 68 accept comment "cal:684ae26e0cbc0268 failsafe inbound"
            add rule inet calico filter-input iifname "tap*" goto cali-wl-to-host comment "cal:9ae6fa7577e8c854 from a workload"
            add rule inet calico filter-output oifname != "tap*" tcp dport { 179, 2379, 2380, 5473, 6443, 6666, 6667 } accept comment "cal:c4a0df10efb86ff3 failsafe outbound"
            add rule inet calico filter-output oifname != "tap*" udp dport { 53, 67 } accept comment "cal:711afbfb86162590 failsafe outbound"
            add rule inet calico filter-output oifname @cali-wl-down drop comment "cal:dadbf03ee74ed2dc administratively down"
            add rule inet calico nat-output dnat ip to ip daddr map @cali-fip-dnat-v4 comment "cal:a4c5831d06ddfbbd floating IPs"
            add rule inet calico nat-output dnat ip6 to ip6 daddr map @cali-fip-dnat-v6 comment "cal:16c2961ba1bf7983 floating IPs"
            add rule inet calico nat-postrouting ip daddr 10.65.0.0/16 return comment "cal:65869f458886e136 within the pools"
            add rule inet calico nat-postrouting snat ip to ip saddr map @cali-fip-snat-v4 comment "cal:5d7305d3d26946a9 floating IPs"
            add rule inet calico nat-postrouting snat ip6 to ip6 saddr map @cali-fip-snat-v6 comment "cal:cc697e6321b427b5 floating IPs"
            add rule inet calico nat-postrouting ip saddr 10.65.0.0/16 masquerade comment "cal:10837b58a73ad6b5 outgoing NAT"
            add rule inet calico nat-prerouting iifname "tap*" ip daddr 169.254.169.254 tcp dport 80 dnat ip to 127.0.0.1:8775 comment "cal:18119bbf8b998d87 metadata"
            add rule inet calico nat-prerouting dnat ip to ip daddr map @cali-fip-dnat-v4 comment "cal:a4c5831d06ddfbbd floating IPs"
            add rule inet calico nat-prerouting dnat ip6 to ip6 daddr map @cali-fip-dnat-v6 comment "cal:16c2961ba1bf7983 floating IPs"
            add rule inet calico raw-prerouting iifname != "tap*" accept comment "cal:5cd44519ed98f04b not from a workload"
            add rule inet calico raw-prerouting iifname @cali-wl-down drop comment "cal:fc416ca63cb1b523 administratively down"
            add rule inet calico raw-prerouting iifname @cali-wl-unsecured accept comment "cal:9e5bccef46b4ee1d port security disabled"
            add rule inet calico raw-prerouting iifname . ether saddr . ip saddr @cali-wl-src-v4 accept comment "cal:c0f3dd09637f9eea own address and MAC, or an allowed pair"
            add rule inet calico raw-prerouting iifname . ether saddr . ip6 saddr @cali-wl-src-v6 accept comment "cal:18966bbe42b646a2 own address and MAC, or an allowed pair"
            add rule inet calico raw-prerouting ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept comment "cal:ec8f0c7d1981cfab DHCP before an address"
            add rule inet calico raw-prerouting ip6 saddr :: icmpv6 type { 133, 135, 143 } accept comment "cal:3a4939d3c5f2a9a2 DAD, MLD and router solicitation before an address"
            add rule inet calico raw-prerouting drop comment "cal:5e91960b8a1a093c spoofed, unknown or administratively down workload"

            """, script);
    }
}
