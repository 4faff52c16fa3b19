namespace Calico.Nftables;

/// <summary>
/// The nftables operations the reconciler uses: <see cref="NftablesKernel"/> against the kernel (libnftables in
/// process), <see cref="FakeNftables"/> with the same semantics in unit tests. The reconciler never sees nft text.
/// </summary>
public interface INftables
{
    /// <summary>Applies every operation or, on any error, none (throws <see cref="NftablesException"/>).</summary>
    void Apply(NftTransaction transaction);

    /// <summary>
    /// The table as the kernel holds it, or null if there is none. Rules come back as <see cref="NftRule.Observed"/>
    /// (known by the hash in their comment); sets with their elements; chains with their base-chain settings.
    /// </summary>
    NftTable? ReadTable(NftTableId table);

    /// <summary>The ruleset generation: it changes with every committed transaction in the namespace, in any table.</summary>
    uint GetGeneration();

    /// <summary>
    /// What the kernel's change notifications (NFNLGRP_NFTABLES) say about <paramref name="table"/> in the
    /// transactions that made the generations after <paramref name="after"/> up to and including
    /// <paramref name="upTo"/>; null when this accessor does not listen to them.
    /// </summary>
    NftChanges? ChangesSince(NftTableId table, uint after, uint upTo);
}
