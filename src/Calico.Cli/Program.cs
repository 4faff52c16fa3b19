using Calico.Cli.Bgp;
using Calico.Cli.CommandLine;
using Calico.Cli.Diags;
using Calico.Cli.Endpoints;
using Calico.Cli.Hosts;
using Calico.Cli.Ipam;
using Calico.Cli.Policy;
using Calico.Cli.Status;

// calicoctl <group> <command> [options]; every command is one ICliCommand registered here.
var app = new CliApp("calicoctl", [
    new IpamAuditCommand(), new HostDesiredStateCommand(),
    new BgpPeerAddCommand(), new BgpPeerListCommand(), new BgpPeerShowCommand(), new BgpPeerDeleteCommand(), new BgpConfigCommand(), new BgpStatusCommand(),
    new StatusCommand(), new HostListCommand(), new HostShowCommand(), new EndpointListCommand(), new EndpointShowCommand(), new IpamShowCommand(),
    new PlanCommand(), new PolicyExplainCommand(), new DiagsCommand(),
]);
return await app.RunAsync(args, Console.Out, Console.Error);
