using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.SecurityGroups;

/// <summary>
/// Every project has a security group named "default", created the first time the project lists or creates
/// security groups or creates a port without naming any. Its id is derived from the project id, so concurrent
/// first uses all meet on one grain: exactly one creates it, the others read it.
/// </summary>
internal sealed class DefaultSecurityGroups(IGrainFactory grains)
{
    public const string Name = "default";

    public static string IdFor(string projectId) => Ids.NameBased("default-security-group", projectId);

    public async Task<Versioned<SecurityGroup>> EnsureAsync(string projectId)
    {
        var id = IdFor(projectId);
        var grain = grains.GetGrain<ISecurityGroupGrain>(id);
        if (await grain.GetAsync() is { } existing) return existing;
        try
        {
            return await grain.CreateAsync(new SecurityGroup(id, Name, projectId, "Default security group", Rules(id)));
        }
        catch (ResourceConflictException e)
        {
            // Another caller created it first.
            return await grain.GetAsync() ?? throw new InvalidOperationException($"Default security group {id} vanished while being created.", e);
        }
    }

    /// <summary>Neutron's default rules: any traffic out, and in only from members of the same group, for both families.</summary>
    private static ValueList<SecurityGroupRule> Rules(string groupId) => ValueList.Create<SecurityGroupRule>(
        new(Ids.NameBased(groupId, "egress-ipv4"), RuleDirection.Egress, EtherType.IPv4, null, null, null, null, null),
        new(Ids.NameBased(groupId, "egress-ipv6"), RuleDirection.Egress, EtherType.IPv6, null, null, null, null, null),
        new(Ids.NameBased(groupId, "ingress-ipv4"), RuleDirection.Ingress, EtherType.IPv4, null, null, null, null, groupId),
        new(Ids.NameBased(groupId, "ingress-ipv6"), RuleDirection.Ingress, EtherType.IPv6, null, null, null, null, groupId));
}
