using Calico.Silo.Tests;
using Calico.Testing;

namespace Calico.Api.Tests.Harness;

/// <summary>
/// A controller silo (the real executable, memory datastore) serving the API on a free loopback port, with an
/// Orleans client on its gateway for what only a host would do (register, report in, report endpoint status).
/// </summary>
public abstract class ApiServer : IAsyncLifetime
{
    private SiloProcess? _silo;
    private ClusterClient? _cluster;

    protected abstract string[] Arguments { get; }

    public string BaseUrl => $"http://127.0.0.1:{Silo.HttpPort}";

    public SiloProcess Silo => _silo ?? throw new InvalidOperationException("not started");

    public IClusterClient Cluster => (_cluster ?? throw new InvalidOperationException("not started")).Client;

    public virtual async Task InitializeAsync()
    {
        _silo = SiloProcess.Start(["--role", "controller", "--datastore", "memory", .. Arguments]);
        await _silo.WaitForAsync("/readyz");
        _cluster = await ClusterClient.ConnectAsync(_silo.GatewayPort);
    }

    public virtual async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
        if (_silo is not null) await _silo.DisposeAsync();
    }

    public NeutronClient Client(string? token = null) => new(BaseUrl, token, () => Silo.Output);
}

/// <summary>Tokens for four callers: an admin, two projects that must not see each other, and a reader of one.</summary>
public sealed class TokenApiServer : ApiServer
{
    public const string AdminToken = "admin-token-0123456789abcdef";
    public const string DemoToken = "demo-token-0123456789abcdef";
    public const string OtherToken = "other-token-0123456789abcdef";
    public const string ReaderToken = "reader-token-0123456789abcdef";

    protected override string[] Arguments =>
    [
        "--Api:Auth=token",
        $"--Api:Tokens:{AdminToken}:ProjectId=admin", $"--Api:Tokens:{AdminToken}:Admin=true",
        $"--Api:Tokens:{DemoToken}:ProjectId=demo",
        $"--Api:Tokens:{OtherToken}:ProjectId=other",
        $"--Api:Tokens:{ReaderToken}:ProjectId=demo", $"--Api:Tokens:{ReaderToken}:ReadOnly=true",
        "--Api:MaxRequestBodyBytes=65536",
    ];

    public NeutronClient Admin => Client(AdminToken);

    public NeutronClient Demo => Client(DemoToken);

    public NeutronClient Other => Client(OtherToken);

    /// <summary>Project demo's read-only caller (Keystone's reader role).</summary>
    public NeutronClient Reader => Client(ReaderToken);
}

/// <summary>The default configuration: listening on loopback only, so no authentication (Api:Auth=auto).</summary>
public sealed class LoopbackApiServer : ApiServer
{
    public const string CliToken = "cli-token-0123456789abcdef";

    protected override string[] Arguments => [$"--Api:Tokens:{CliToken}:ProjectId=cli"];
}

/// <summary>
/// Api:Auth=keystone against the suite's Keystone (<see cref="KeystoneServer"/>), the API registered in its catalog
/// as the network service's public endpoint in a region of its own, and telling <see cref="Nova"/> of its ports
/// with its Keystone token (Nova:Auth=keystone): what a real cloud runs.
/// </summary>
public sealed class KeystoneApiServer : ApiServer
{
    private string _region = "";
    private FakeNova? _nova;

    public KeystoneServer Keystone { get; } = new();

    public FakeNova Nova => _nova ?? throw new InvalidOperationException("not started");

    protected override string[] Arguments =>
    [
        "--Api:Auth=keystone", $"--Api:Keystone:AuthUrl={Keystone.Url}", "--Api:Keystone:Username=neutron",
        $"--Api:Keystone:Password={Keystone.Password}", "--Api:Keystone:ProjectName=service",
        $"--Nova:Url={Nova.Url}", "--Nova:BatchInterval=00:00:00.2",
    ];

    public override async Task InitializeAsync()
    {
        await Keystone.InitializeAsync();
        _nova = await FakeNova.StartAsync();
        await base.InitializeAsync();
        _region = await Keystone.RegisterNetworkEndpointAsync(BaseUrl);
    }

    public override async Task DisposeAsync()
    {
        try
        {
            if (_region.Length > 0) await Keystone.UnregisterAsync(_region);
        }
        finally
        {
            await base.DisposeAsync();
            if (_nova is not null) await _nova.DisposeAsync();
            await Keystone.DisposeAsync();
        }
    }

    /// <summary>The openstack CLI as <paramref name="user"/> of <paramref name="project"/>: password, Keystone, the catalog.</summary>
    public OpenStackCli Cli(string user, string project) => OpenStackCli.Password(Keystone.Url, _region, user, Keystone.Password, project);

    /// <summary>An HTTP client with a token Keystone issued to <paramref name="user"/> of <paramref name="project"/>.</summary>
    public async Task<NeutronClient> ClientAsync(string user, string project) => Client(await Keystone.TokenAsync(user, project));
}

[CollectionDefinition(Name)]
public sealed class KeystoneApi : ICollectionFixture<KeystoneApiServer>
{
    public const string Name = "Keystone API server";
}

[CollectionDefinition(Name)]
public sealed class TokenApi : ICollectionFixture<TokenApiServer>
{
    public const string Name = "token API server";
}

[CollectionDefinition(Name)]
public sealed class LoopbackApi : ICollectionFixture<LoopbackApiServer>
{
    public const string Name = "loopback API server";
}
