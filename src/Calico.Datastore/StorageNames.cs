namespace Calico.Datastore;

/// <summary>Names shared by the grains and the datastore registration.</summary>
public static class StorageNames
{
    /// <summary>The Orleans grain storage provider every Calico grain persists through.</summary>
    public const string Calico = "calico";
}
