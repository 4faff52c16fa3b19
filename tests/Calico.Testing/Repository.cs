namespace Calico.Testing;

/// <summary>The checkout the tests run from.</summary>
public static class Repository
{
    /// <summary>The directory holding Calico.sln, found upwards from the test assembly.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Calico.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Calico.sln not found above " + AppContext.BaseDirectory);
    }
}
