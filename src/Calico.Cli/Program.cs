using Calico.Cli.Bgp;
using Calico.Cli.CommandLine;
using Calico.Cli.Hosts;
using Calico.Cli.Ipam;

// calicoctl <group> <command> [options]; every command is one ICliCommand registered here.
var app = new CliApp("calicoctl", [
    new IpamAuditCommand(), new HostDesiredStateCommand(),
    new BgpPeerAddCommand(), new BgpPeerListCommand(), new BgpPeerShowCommand(), new BgpPeerDeleteCommand(), new BgpConfigCommand(), new BgpStatusCommand(),
]);
return await app.RunAsync(args, Console.Out, Console.Error);
