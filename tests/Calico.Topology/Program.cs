using Calico.Topology.Commands;

// `topology up [--hosts N] [--vms-per-host M]`: builds a topology, prints how to reach it, keeps it until Ctrl-C.
// `topology down [--force]`: removes what crashed runs left behind (by their name prefix).
return args switch
{
    ["up", .. var rest] => await UpCommand.RunAsync(rest, Console.Out, Console.Error),
    ["down", .. var rest] => DownCommand.Run(rest, Console.Out, Console.Error),
    ["help" or "--help" or "-h"] => Usage(Console.Out, 0),
    _ => Usage(Console.Error, 2),
};

static int Usage(TextWriter to, int exitCode)
{
    to.WriteLine("""
        usage: topology up [--hosts N] [--vms-per-host M]
                 Builds the end-to-end topology (a fabric bridge, a controller silo, N compute hosts with a compute silo
                 each, M VMs per host on 10.65.0.0/24), prints how to reach everything and keeps it until Ctrl-C, then
                 removes everything. Defaults: 2 hosts, 1 VM per host. Needs root.
               topology down [--force]
                 Removes what runs that were killed left behind: namespaces, processes, /etc/netns and temporary
                 directories named cal-topo-, cal-e2e- or cal-bench-XXXXXX-*. Runs whose process still lives are kept
                 unless --force.
        (from a checkout: scripts/topology.sh up|down ...)
        """);
    return exitCode;
}
