using Calico.Topology.Commands;

// `topology up [--hosts N] [--vms-per-host M]`: builds a topology, prints how to reach it, keeps it until Ctrl-C.
// `topology down [--force]`: removes what crashed runs left behind (by their name prefix).
return await TopologyCommandLine.RunAsync(args, Console.Out, Console.Error);
