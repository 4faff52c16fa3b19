using System.Text.RegularExpressions;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>README's list of supported Neutron extensions is the one the server advertises.</summary>
[Collection(LoopbackApi.Name)]
public sealed partial class ExtensionListTests(LoopbackApiServer server)
{
    [Fact]
    public async Task The_readme_lists_exactly_the_extensions_the_api_advertises()
    {
        var readme = File.ReadAllText(Path.Combine(Calico.Testing.Repository.Root(), "README.md"));
        var start = readme.IndexOf("<!-- extensions -->", StringComparison.Ordinal);
        var end = readme.IndexOf("<!-- /extensions -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "README.md has no <!-- extensions --> section");
        var listed = Alias().Matches(readme[start..end]).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();

        var advertised = (await server.Client().ListAsync("extensions")).Select(e => (string)e!["alias"]!).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(advertised, listed);
    }

    [GeneratedRegex("`([a-z0-9_-]+)`")]
    private static partial Regex Alias();
}
