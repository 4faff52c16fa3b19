#!/usr/bin/env bash
# The end-to-end topology by hand (issue 7): a fabric bridge, a controller silo and compute hosts as network
# namespaces, VMs behind tap interfaces; the same harness the end-to-end tests use (tests/Calico.Topology).
#
#   scripts/topology.sh up [--hosts N] [--vms-per-host M]   builds it, prints how to reach everything, keeps it
#                                                           until Ctrl-C, then removes everything
#   scripts/topology.sh down [--force]                      removes what killed runs left behind (cal-topo-*, cal-e2e-*, cal-bench-*)
#
# Needs root (network namespaces) and the .NET SDK. Touches only namespaces and files named after its run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "topology.sh: needs root: it creates network namespaces, veth pairs and a bridge (only inside its own namespaces)" >&2
  exit 2
fi
exec dotnet run --project tests/Calico.Topology -- "$@"
