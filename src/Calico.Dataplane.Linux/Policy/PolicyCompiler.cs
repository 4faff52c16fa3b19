using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// Compiles a host's desired state (workload interfaces, security groups, remote-group members, floating IPs, IP
/// pools) into the one nftables table the host needs: <see cref="Compile"/> from scratch, or <see cref="Apply"/> one
/// change at a time. Pure: no I/O, no clock; the table depends only on the items, never on the order they came in
/// (tests compare the incremental result with a fresh compilation after random sequences).
/// <para>
/// Layout (see README.md): static base chains; per security group two chains of its rules; per profile (a
/// combination of groups that local endpoints share) two chains that jump to its groups' chains; every changing
/// datum an element of a shared set or map: interface → profile chain (two verdict maps), interface . MAC . address
/// (anti-spoofing), remote-group members, floating address ↔ fixed address. So adding or removing an endpoint whose
/// profile exists, a member, or a floating IP changes only elements; a rule change rewrites one group's chains.
/// </para>
/// <para>
/// Incremental changes are made with <see cref="NftTable.WithElement"/>, <see cref="NftTable.WithChain"/>, ... on the
/// previous table, so the reconciler's diff looks only at what was touched: planning costs O(change).
/// </para>
/// </summary>
public sealed class PolicyCompiler
{
    private readonly Dictionary<string, WorkloadInterfaceItem> _endpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SecurityGroupPolicyItem> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupMembers> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IpSetMembersItem> _memberBuckets = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddress, FloatingNatItem> _floating = [];
    private readonly Dictionary<string, IpPoolItem> _pools = new(StringComparer.Ordinal);

    // Derived indexes.
    private readonly Dictionary<string, HashSet<string>> _endpointsByGroup = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PolicyProfile> _profileOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _profileUsers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _referencedBy = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddress, SortedSet<NftAddress>> _floatingByFixed = [];
    private readonly Dictionary<string, string> _endpointProblems = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _groupProblems = new(StringComparer.Ordinal);

    public PolicyCompiler(PolicySettings? settings = null)
    {
        Settings = settings ?? PolicySettings.Default;
        Table = Build();
    }

    public PolicySettings Settings { get; }

    /// <summary>The table the items given so far compile to.</summary>
    public NftTable Table { get; private set; }

    /// <summary>The desired table of <paramref name="items"/> (items of other kinds are ignored).</summary>
    public static NftTable Compile(IEnumerable<DesiredItem> items, PolicySettings? settings = null)
    {
        var compiler = new PolicyCompiler(settings);
        compiler.Reset(items);
        return compiler.Table;
    }

    /// <summary>Whether the compiler looks at items of this kind.</summary>
    public static bool Concerns(DesiredKind kind) =>
        kind is DesiredKind.Interface or DesiredKind.Policy or DesiredKind.IpSetMember or DesiredKind.FloatingNat or DesiredKind.IpPool;

    /// <summary>Why an endpoint's policy is not (fully) programmed: its own problem, or a rule of one of its groups left out.</summary>
    public string? ProblemOf(WorkloadInterfaceItem endpoint)
    {
        if (_endpointProblems.TryGetValue(endpoint.Name, out var own)) return own;
        var rules = endpoint.SecurityGroupIds.Where(_groupProblems.ContainsKey).SelectMany(g => _groupProblems[g]).ToList();
        return rules.Count == 0 ? null : string.Join("; ", rules);
    }

    /// <summary>Starts again from <paramref name="items"/> alone, building the table in one go.</summary>
    public void Reset(IEnumerable<DesiredItem> items)
    {
        _endpoints.Clear();
        _groups.Clear();
        _members.Clear();
        _memberBuckets.Clear();
        _floating.Clear();
        _pools.Clear();
        foreach (var item in items)
        {
            switch (item)
            {
                case WorkloadInterfaceItem endpoint: _endpoints[endpoint.Name] = endpoint; break;
                case SecurityGroupPolicyItem group: _groups[group.GroupId] = group; break;
                case IpSetMembersItem bucket:
                    _memberBuckets[bucket.Key.Id] = bucket;
                    Members(bucket.GroupId).All.UnionWith(bucket.Members);
                    break;
                case FloatingNatItem floating: _floating[floating.FloatingAddress] = floating; break;
                case IpPoolItem pool: _pools[pool.Name] = pool; break;
            }
        }
        Index();
        Table = Build();
    }

    /// <summary>Applies one change (an item added, replaced or removed); items of other kinds are ignored.</summary>
    public void Apply(DesiredChange change)
    {
        if (!Concerns(change.Key.Kind)) return;
        switch (change.Key.Kind)
        {
            case DesiredKind.Interface:
                ApplyEndpoint(change.Key.Id, (WorkloadInterfaceItem?)change.Item);
                break;
            case DesiredKind.Policy:
                ApplyGroup(change.Key.Id, (SecurityGroupPolicyItem?)change.Item);
                break;
            case DesiredKind.IpSetMember:
                ApplyMembers(change.Key.Id, (IpSetMembersItem?)change.Item);
                break;
            case DesiredKind.FloatingNat:
                ApplyFloating(IPAddress.Parse(change.Key.Id), (FloatingNatItem?)change.Item);
                break;
            case DesiredKind.IpPool:
                if (change.Item is IpPoolItem pool) _pools[change.Key.Id] = pool;
                else _pools.Remove(change.Key.Id);
                SetChain(StaticChains.NatPostrouting(_pools.Values));
                break;
        }
    }

    public void Apply(IEnumerable<DesiredChange> changes)
    {
        foreach (var change in changes) Apply(change);
    }

    // ---- From scratch ----

    private void Index()
    {
        _endpointsByGroup.Clear();
        _profileOf.Clear();
        _profileUsers.Clear();
        _referencedBy.Clear();
        _floatingByFixed.Clear();
        _endpointProblems.Clear();
        _groupProblems.Clear();
        foreach (var group in _groups.Values) UpdateReferences(group.GroupId, [], RemoteGroups(group), touchTable: false);
        foreach (var endpoint in _endpoints.Values)
        {
            IndexGroups(endpoint, add: true);
            if (EndpointParts.Problem(endpoint, Settings) is { } problem)
            {
                _endpointProblems[endpoint.Name] = problem;
                continue;
            }
            if (!Policed(endpoint)) continue;
            var profile = ProfileOf(endpoint);
            _profileOf[endpoint.Name] = profile;
            _profileUsers[profile.Key] = _profileUsers.GetValueOrDefault(profile.Key) + 1;
        }
        foreach (var floating in _floating.Values.Where(IsValid))
            FloatingOf(floating.FixedAddress).Add(new NftAddress(floating.FloatingAddress));
    }

    private NftTable Build()
    {
        var parts = _endpoints.Values.Where(e => !_endpointProblems.ContainsKey(e.Name))
            .Select(e => EndpointParts.Of(e, _profileOf.GetValueOrDefault(e.Name))).ToList();
        var sources = parts.SelectMany(p => p.Sources).ToLookup(s => s.Set, s => (NftValue)s.Key);
        var sets = new List<NftSet>
        {
            NftSet.VerdictMap(PolicyNames.FromWorkload, NftDataType.InterfaceName, parts.Select(p => KeyValuePair.Create((NftValue)p.Interface, p.From))),
            NftSet.VerdictMap(PolicyNames.ToWorkload, NftDataType.InterfaceName, parts.Select(p => KeyValuePair.Create((NftValue)p.Interface, p.To))),
            NftSet.InterfaceNames(PolicyNames.DownWorkloads, parts.Where(p => p.Down).Select(p => p.Interface.Name)),
            NftSet.InterfaceNames(PolicyNames.UnsecuredWorkloads, parts.Where(p => p.Unsecured).Select(p => p.Interface.Name)),
        };
        foreach (var version in new[] { 4, 6 })
        {
            sets.Add(new NftSet(PolicyNames.Sources(version), PolicySets.Sources(version, interval: false), NftElements.Of(sources[PolicyNames.Sources(version)])));
            if (sources[PolicyNames.SourcePrefixes(version)].Any())
                sets.Add(new NftSet(PolicyNames.SourcePrefixes(version), PolicySets.Sources(version, interval: true), NftElements.Of(sources[PolicyNames.SourcePrefixes(version)])));
            var family = PolicySets.Family(version);
            var valid = _floating.Values.Where(f => IsValid(f) && PolicySets.Version(f.FloatingAddress) == version).ToList();
            sets.Add(new NftSet(PolicyNames.FloatingDnat(version), new NftSetType(family, family),
                NftElements.Of(valid.Select(f => new NftElement(new NftAddress(f.FloatingAddress), new NftAddress(f.FixedAddress))))));
            sets.Add(new NftSet(PolicyNames.FloatingSnat(version), new NftSetType(family, family),
                NftElements.Of(_floatingByFixed.Where(kv => PolicySets.Version(kv.Key) == version)
                    .Select(kv => new NftElement(new NftAddress(kv.Key), kv.Value.Min!)))));
        }
        foreach (var remote in _referencedBy.Keys) sets.AddRange(RemoteSets(remote));

        var chains = StaticChains.All(Settings, _pools.Values, sources[PolicyNames.SourcePrefixes(4)].Any(), sources[PolicyNames.SourcePrefixes(6)].Any()).ToList();
        foreach (var group in _groups.Values) chains.AddRange(GroupChains(group));
        foreach (var part in parts) chains.AddRange(part.Chains);
        foreach (var profile in _profileOf.Values.DistinctBy(p => p.Key))
        {
            var (ingress, egress) = profile.Chains();
            chains.Add(ingress);
            chains.Add(egress);
        }
        return new NftTable(PolicyNames.Table, chains, sets);
    }

    // ---- One change ----

    private void ApplyEndpoint(string name, WorkloadInterfaceItem? next)
    {
        if (_endpoints.Remove(name, out var previous)) RemoveEndpoint(previous);
        if (next is null) return;
        _endpoints[name] = next;
        AddEndpoint(next);
    }

    private void RemoveEndpoint(WorkloadInterfaceItem endpoint)
    {
        IndexGroups(endpoint, add: false);
        if (_endpointProblems.Remove(endpoint.Name)) return;
        var parts = EndpointParts.Of(endpoint, _profileOf.GetValueOrDefault(endpoint.Name));
        var table = Table.WithoutElement(PolicyNames.FromWorkload, parts.Interface).WithoutElement(PolicyNames.ToWorkload, parts.Interface);
        if (parts.Down) table = table.WithoutElement(PolicyNames.DownWorkloads, parts.Interface);
        if (parts.Unsecured) table = table.WithoutElement(PolicyNames.UnsecuredWorkloads, parts.Interface);
        foreach (var (set, key) in parts.Sources) table = table.WithoutElement(set, key);
        foreach (var chain in parts.Chains) table = table.WithoutChain(chain.Name);
        Table = table;
        DropEmptySourcePrefixes(parts);
        if (_profileOf.Remove(endpoint.Name, out var profile)) Release(profile);
    }

    private void AddEndpoint(WorkloadInterfaceItem endpoint)
    {
        IndexGroups(endpoint, add: true);
        if (EndpointParts.Problem(endpoint, Settings) is { } problem)
        {
            _endpointProblems[endpoint.Name] = problem;
            return;
        }
        PolicyProfile? profile = null;
        if (Policed(endpoint))
        {
            profile = ProfileOf(endpoint);
            _profileOf[endpoint.Name] = profile;
            Acquire(profile);
        }
        var parts = EndpointParts.Of(endpoint, profile);
        foreach (var version in parts.Sources.Where(s => s.Set == PolicyNames.SourcePrefixes(4) || s.Set == PolicyNames.SourcePrefixes(6))
                     .Select(s => s.Set == PolicyNames.SourcePrefixes(4) ? 4 : 6).Distinct())
        {
            if (!Table.Sets.ContainsKey(PolicyNames.SourcePrefixes(version)))
            {
                Table = Table.WithSet(new NftSet(PolicyNames.SourcePrefixes(version), PolicySets.Sources(version, interval: true), NftElements.Empty));
                RefreshRawPrerouting();
            }
        }
        foreach (var chain in parts.Chains) SetChain(chain);
        var table = Table.WithElement(PolicyNames.FromWorkload, new NftElement(parts.Interface, parts.From))
            .WithElement(PolicyNames.ToWorkload, new NftElement(parts.Interface, parts.To));
        if (parts.Down) table = table.WithElement(PolicyNames.DownWorkloads, new NftElement(parts.Interface));
        if (parts.Unsecured) table = table.WithElement(PolicyNames.UnsecuredWorkloads, new NftElement(parts.Interface));
        foreach (var (set, key) in parts.Sources) table = table.WithElement(set, new NftElement(key));
        Table = table;
    }

    private void DropEmptySourcePrefixes(EndpointParts removed)
    {
        foreach (var version in new[] { 4, 6 })
        {
            var name = PolicyNames.SourcePrefixes(version);
            if (removed.Sources.Any(s => s.Set == name) && Table.Sets.TryGetValue(name, out var set) && set.Elements.Count == 0)
            {
                Table = Table.WithoutSet(name);
                RefreshRawPrerouting();
            }
        }
    }

    private void RefreshRawPrerouting() =>
        SetChain(StaticChains.RawPrerouting(Settings, Table.Sets.ContainsKey(PolicyNames.SourcePrefixes(4)), Table.Sets.ContainsKey(PolicyNames.SourcePrefixes(6))));

    private void ApplyGroup(string groupId, SecurityGroupPolicyItem? next)
    {
        _groups.Remove(groupId, out var previous);
        UpdateReferences(groupId, previous is null ? [] : RemoteGroups(previous), next is null ? [] : RemoteGroups(next), touchTable: true);
        if (next is not null)
        {
            _groups[groupId] = next;
            foreach (var chain in GroupChains(next)) SetChain(chain);
        }
        else
        {
            _groupProblems.Remove(groupId);
            Table = Table.WithoutChain(PolicyNames.GroupIngress(groupId)).WithoutChain(PolicyNames.GroupEgress(groupId));
        }
        // Whether the group exists, and whether it is stateful, decide its members' profiles.
        if (previous is null || next is null || previous.Stateful != next.Stateful) RefreshEndpointsOf(groupId);
    }

    private void RefreshEndpointsOf(string groupId)
    {
        if (!_endpointsByGroup.TryGetValue(groupId, out var names)) return;
        foreach (var name in names.Order(StringComparer.Ordinal).ToList())
        {
            var endpoint = _endpoints[name];
            if (_profileOf.TryGetValue(name, out var current) && current.Equals(ProfileOf(endpoint))) continue;
            RemoveEndpoint(endpoint);
            AddEndpoint(endpoint);
        }
    }

    /// <summary>A bucket of a group's members came, changed or went: the members it no longer holds go, new ones come.</summary>
    private void ApplyMembers(string key, IpSetMembersItem? next)
    {
        _memberBuckets.Remove(key, out var previous);
        if (next is not null) _memberBuckets[key] = next;
        var groupId = (next ?? previous)?.GroupId;
        if (groupId is null) return;
        var before = previous?.Members ?? ValueList<IpPrefix>.Empty;
        var after = next?.Members ?? ValueList<IpPrefix>.Empty;
        var kept = after.Items.ToHashSet();
        foreach (var member in before) if (!kept.Contains(member)) ApplyMember(groupId, member, present: false);
        var had = before.Items.ToHashSet();
        foreach (var member in after) if (!had.Contains(member)) ApplyMember(groupId, member, present: true);
    }

    private void ApplyMember(string groupId, IpPrefix member, bool present)
    {
        var members = Members(groupId);
        var changed = present ? members.All.Add(member) : members.All.Remove(member);
        if (!changed || !_referencedBy.ContainsKey(groupId)) return;
        if (member.IsHost)
        {
            var set = PolicyNames.GroupMembers(groupId, member.Version);
            Table = present ? Table.WithElement(set, new NftElement(new NftAddress(member.ToNetwork()))) : Table.WithoutElement(set, new NftAddress(member.ToNetwork()));
            return;
        }
        // A prefix: the group's interval set, which exists only while it holds something.
        var name = PolicyNames.GroupMemberPrefixes(groupId, member.Version);
        var existed = Table.Sets.ContainsKey(name);
        var prefixes = members.Prefixes(member.Version);
        if (prefixes.Count > 0) Table = Table.WithSet(PrefixSet(name, member.Version, prefixes));
        else if (existed) Table = Table.WithoutSet(name);
        if (existed != prefixes.Count > 0)
        {
            foreach (var referencing in _referencedBy[groupId].Order(StringComparer.Ordinal))
                foreach (var chain in GroupChains(_groups[referencing])) SetChain(chain);
        }
    }

    private void ApplyFloating(IPAddress floating, FloatingNatItem? next)
    {
        if (_floating.Remove(floating, out var previous) && IsValid(previous))
        {
            Table = Table.WithoutElement(PolicyNames.FloatingDnat(PolicySets.Version(floating)), new NftAddress(floating));
            FloatingOf(previous.FixedAddress).Remove(new NftAddress(floating));
            RefreshSnat(previous.FixedAddress);
        }
        if (next is null) return;
        _floating[floating] = next;
        if (!IsValid(next)) return;
        Table = Table.WithElement(PolicyNames.FloatingDnat(PolicySets.Version(floating)), new NftElement(new NftAddress(floating), new NftAddress(next.FixedAddress)));
        FloatingOf(next.FixedAddress).Add(new NftAddress(floating));
        RefreshSnat(next.FixedAddress);
    }

    /// <summary>A fixed address leaves from its lowest floating address (Neutron allows one; this keeps two deterministic).</summary>
    private void RefreshSnat(IPAddress fixedAddress)
    {
        var map = PolicyNames.FloatingSnat(PolicySets.Version(fixedAddress));
        var floatings = FloatingOf(fixedAddress);
        if (floatings.Count == 0)
        {
            _floatingByFixed.Remove(fixedAddress);
            Table = Table.WithoutElement(map, new NftAddress(fixedAddress));
        }
        else
        {
            Table = Table.WithElement(map, new NftElement(new NftAddress(fixedAddress), floatings.Min!));
        }
    }

    // ---- Shared by both paths ----

    /// <summary>Whether the endpoint's traffic goes through a profile of its groups: up, and with port security.</summary>
    private static bool Policed(WorkloadInterfaceItem endpoint) => endpoint.AdminUp && endpoint.PortSecurity;

    private PolicyProfile ProfileOf(WorkloadInterfaceItem endpoint)
    {
        var groups = endpoint.SecurityGroupIds.Where(_groups.ContainsKey).Distinct().Order(StringComparer.Ordinal).ToList();
        return new PolicyProfile(groups.ToValueList(), groups.Count == 0 || groups.Any(g => _groups[g].Stateful));
    }

    private void Acquire(PolicyProfile profile)
    {
        var users = _profileUsers.GetValueOrDefault(profile.Key);
        _profileUsers[profile.Key] = users + 1;
        if (users > 0) return;
        var (ingress, egress) = profile.Chains();
        Table = Table.WithChain(ingress).WithChain(egress);
    }

    private void Release(PolicyProfile profile)
    {
        var users = _profileUsers[profile.Key] - 1;
        if (users > 0)
        {
            _profileUsers[profile.Key] = users;
            return;
        }
        _profileUsers.Remove(profile.Key);
        Table = Table.WithoutChain(profile.IngressChain).WithoutChain(profile.EgressChain);
    }

    private IEnumerable<NftChain> GroupChains(SecurityGroupPolicyItem group)
    {
        var problems = new List<string>();
        var chains = new[]
        {
            SecurityGroupRules.Chain(group, RuleDirection.Ingress, HasMemberPrefixes, problems),
            SecurityGroupRules.Chain(group, RuleDirection.Egress, HasMemberPrefixes, problems),
        };
        if (problems.Count > 0) _groupProblems[group.GroupId] = problems;
        else _groupProblems.Remove(group.GroupId);
        return chains;
    }

    private bool HasMemberPrefixes(string groupId, int version) =>
        _referencedBy.ContainsKey(groupId) && _members.TryGetValue(groupId, out var members) && members.HasPrefixes(version);

    /// <summary>The sets of a remote group that some present group's rules refer to.</summary>
    private IEnumerable<NftSet> RemoteSets(string groupId)
    {
        var members = _members.GetValueOrDefault(groupId) ?? new GroupMembers();
        foreach (var version in new[] { 4, 6 })
        {
            yield return NftSet.Addresses(PolicyNames.GroupMembers(groupId, version), PolicySets.Family(version), members.Hosts(version));
            var prefixes = members.Prefixes(version);
            if (prefixes.Count > 0) yield return PrefixSet(PolicyNames.GroupMemberPrefixes(groupId, version), version, prefixes);
        }
    }

    private static NftSet PrefixSet(string name, int version, IEnumerable<NftValue> prefixes) =>
        NftSet.Addresses(name, PolicySets.Family(version), prefixes, interval: true);

    /// <summary>
    /// Records which remote groups <paramref name="groupId"/>'s rules refer to: a remote group's sets appear with its
    /// first reference and go with its last.
    /// </summary>
    private void UpdateReferences(string groupId, IEnumerable<string> before, IEnumerable<string> after, bool touchTable)
    {
        var previous = before.ToHashSet(StringComparer.Ordinal);
        var next = after.ToHashSet(StringComparer.Ordinal);
        foreach (var remote in next.Except(previous).Order(StringComparer.Ordinal))
        {
            if (!_referencedBy.TryGetValue(remote, out var referencing))
            {
                _referencedBy[remote] = referencing = new HashSet<string>(StringComparer.Ordinal);
                if (touchTable)
                {
                    foreach (var set in RemoteSets(remote)) Table = Table.WithSet(set);
                }
            }
            referencing.Add(groupId);
        }
        foreach (var remote in previous.Except(next).Order(StringComparer.Ordinal))
        {
            var referencing = _referencedBy[remote];
            referencing.Remove(groupId);
            if (referencing.Count > 0) continue;
            _referencedBy.Remove(remote);
            if (!touchTable) continue;
            foreach (var version in new[] { 4, 6 })
            {
                Table = Table.WithoutSet(PolicyNames.GroupMembers(remote, version)).WithoutSet(PolicyNames.GroupMemberPrefixes(remote, version));
            }
        }
    }

    private static IEnumerable<string> RemoteGroups(SecurityGroupPolicyItem group) =>
        group.Rules.Select(r => r.RemoteGroupId).OfType<string>().Distinct(StringComparer.Ordinal);

    private void IndexGroups(WorkloadInterfaceItem endpoint, bool add)
    {
        foreach (var group in endpoint.SecurityGroupIds)
        {
            if (add)
            {
                if (!_endpointsByGroup.TryGetValue(group, out var names)) _endpointsByGroup[group] = names = new HashSet<string>(StringComparer.Ordinal);
                names.Add(endpoint.Name);
            }
            else if (_endpointsByGroup.TryGetValue(group, out var names) && names.Remove(endpoint.Name) && names.Count == 0)
            {
                _endpointsByGroup.Remove(group);
            }
        }
    }

    private GroupMembers Members(string groupId)
    {
        if (!_members.TryGetValue(groupId, out var members)) _members[groupId] = members = new GroupMembers();
        return members;
    }

    private SortedSet<NftAddress> FloatingOf(IPAddress fixedAddress)
    {
        if (!_floatingByFixed.TryGetValue(fixedAddress, out var set)) _floatingByFixed[fixedAddress] = set = [];
        return set;
    }

    private static bool IsValid(FloatingNatItem floating) => floating.FloatingAddress.AddressFamily == floating.FixedAddress.AddressFamily;

    /// <summary>Replaces a chain only when its content differs, so an unchanged chain is never looked at again.</summary>
    private void SetChain(NftChain chain)
    {
        if (Table.Chains.TryGetValue(chain.Name, out var current) && current.Equals(chain)) return;
        Table = Table.WithChain(chain);
    }
}
