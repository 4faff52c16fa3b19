using System.Diagnostics;
using Calico.Testing;

namespace Calico.Silo.Tests;

/// <summary>
/// Every dashboard under observability/grafana/dashboards/ against Grafana's published dashboard schema: the
/// @grafana/schema npm package, fetched once and cached by scripts/grafana-schema.sh. The package ships its schema as
/// TypeScript declarations generated from Grafana's CUE kinds (no JSON schema, no CUE), so the check is the
/// TypeScript compiler's (Debian's node-typescript, which test.sh installs): each dashboard, as an object literal,
/// must be assignable to the package's `Dashboard` interface under --strict, which refuses unknown properties at any
/// depth, missing required ones and wrong types. (tsc 4.8 accepts any number where a numeric enum is declared.)
/// </summary>
public sealed class DashboardSchemaTests
{
    [Fact]
    public async Task Every_dashboard_matches_grafanas_published_dashboard_schema()
    {
        var dashboards = Directory.GetFiles(Path.Combine(Repository.Root(), "observability", "grafana", "dashboards"), "*.json");
        Assert.NotEmpty(dashboards);
        var (exitCode, output) = await CheckAsync(dashboards.ToDictionary(f => Path.GetFileNameWithoutExtension(f)!, f => File.ReadAllText(f)));
        Assert.True(exitCode == 0, "tsc found dashboards that do not match Grafana's Dashboard schema:\n" + output);
    }

    /// <summary>The check has teeth: an unknown property, a panel without its type and a wrong type are each named.</summary>
    [Fact]
    public async Task A_dashboard_that_breaks_the_schema_is_refused_with_what_is_wrong()
    {
        var (exitCode, output) = await CheckAsync(new Dictionary<string, string>
        {
            ["unknown-property"] = """{ "schemaVersion": 39, "title": "x", "panelz": [] }""",
            ["panel-without-type"] = """{ "schemaVersion": 39, "panels": [ { "id": 1, "title": "x" } ] }""",
            ["wrong-type"] = """{ "schemaVersion": 39, "panels": [ { "id": 1, "type": "timeseries", "gridPos": { "x": "left", "y": 0, "w": 12, "h": 8 } } ] }""",
        });
        Assert.NotEqual(0, exitCode);
        Assert.Contains("unknown-property.ts", output, StringComparison.Ordinal);
        Assert.Contains("'\"panelz\"' does not exist in type 'Dashboard'", output, StringComparison.Ordinal);
        Assert.Contains("panel-without-type.ts", output, StringComparison.Ordinal);
        Assert.Contains("wrong-type.ts", output, StringComparison.Ordinal);
    }

    /// <summary>tsc over one module per dashboard (name → JSON), each importing the schema's Dashboard type.</summary>
    private static async Task<(int ExitCode, string Output)> CheckAsync(IReadOnlyDictionary<string, string> dashboards)
    {
        var script = TestServerScript.Find("grafana-schema.sh") ?? throw new InvalidOperationException("scripts/grafana-schema.sh not found above " + AppContext.BaseDirectory);
        var (fetched, schemaPath, error) = await TestServerScript.RunAsync(script);
        Assert.True(fetched == 0, $"{script} could not provide @grafana/schema: {error}");
        var directory = Directory.CreateTempSubdirectory("calico-dashboard-schema-");
        try
        {
            File.Copy(schemaPath.Trim(), Path.Combine(directory.FullName, "dashboard.gen.d.ts"));
            foreach (var (name, json) in dashboards)
                await File.WriteAllTextAsync(Path.Combine(directory.FullName, name + ".ts"),
                    $"import type {{ Dashboard }} from './dashboard.gen';\nexport const dashboard: Dashboard = {json};\n");
            var start = new ProcessStartInfo("tsc") { WorkingDirectory = directory.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--noEmit", "--strict", "--target", "es2020", "--module", "es2020", "--moduleResolution", "node" }) start.ArgumentList.Add(a);
            foreach (var name in dashboards.Keys) start.ArgumentList.Add(name + ".ts");
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("tsc (the TypeScript compiler) is needed: apt-get install node-typescript (test.sh installs it)", e);
            }
            using (process)
            {
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync();
                return (process.ExitCode, await stdout + await stderr);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
