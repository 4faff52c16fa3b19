#!/usr/bin/env bash
# The benchmark: every figure is printed beside a baseline measured in the same run, as a ratio.
# Not part of the test suite. Needs root (it creates network namespaces of its own and removes them).
#   bench/run.sh            all benchmarks
#   bench/run.sh netlink    one of: netlink nftables policy ipam convergence api engine scale soak bgp ipv6-qos
#   bench/run.sh convergence -- --ports 50    arguments after -- go to the benchmark program
#   bench/run.sh soak -- --minutes 30 --seed 7   the soak (issue 16); not in the default list: it runs for as long as it is told
#   bench/run.sh ipv6-qos   issue 14's figures; ends with one line `ipv6-qos: routes6_100k_s=… ip_batch6_100k_s=… qos_p50_ms=… qos_ratio_500_50=… migration_lost_pings=… migration_gap_ms=…`
set -euo pipefail
cd "$(dirname "$0")/.."
which=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do which+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#which[@]} -eq 0 ] && which=(netlink nftables policy ipam convergence api engine scale bgp ipv6-qos)
for name in "${which[@]}"; do
  extra=()
  case "$name" in
    netlink)  project=bench/Calico.Bench.Netlink ;;
    nftables) project=bench/Calico.Bench.Nftables ;;
    policy)   project=bench/Calico.Bench.Policy ;;
    ipam)     project=bench/Calico.Bench.Ipam ;;
    convergence) project=bench/Calico.Bench.Convergence ;;
    api)      project=bench/Calico.Bench.Api ;;
    engine)   project=bench/Calico.Bench.Engine ;;
    scale)    project=bench/Calico.Bench.Scale ;;
    soak)     project=bench/Calico.Bench.Soak ;;
    bgp)      project=bench/Calico.Bench.Bgp ;;
    ipv6-qos)
      # Three parts, one summary: IPv6 routes (the netlink benchmark with --ipv6: 100,000 /128 routes against
      # `ip -6 -batch`), QoS (Calico.Bench.Ipv6Qos; arguments after -- go to it) and live migration (below); their
      # `ipv6-qos:` lines joined.
      out=$(mktemp)
      echo "=== ipv6-qos (bench/Calico.Bench.Netlink --ipv6, bench/Calico.Bench.Ipv6Qos) ==="
      dotnet run -c Release --project bench/Calico.Bench.Netlink -- --ipv6 | tee "$out"
      dotnet run -c Release --project bench/Calico.Bench.Ipv6Qos -- "$@" | tee -a "$out"
      # Live migration (issue 14, item 3): one run of the end-to-end scenario (tests/Calico.EndToEnd.Tests,
      # LiveMigrationTests: three hosts in namespaces, a VM moved while another pings it every 10 ms), which appends
      # `ipv6-qos: migration_lost_pings=… migration_gap_ms=…` to the file named by CALICO_BENCH_FIGURES.
      figures=$(mktemp)
      CALICO_BENCH_FIGURES="$figures" dotnet test tests/Calico.EndToEnd.Tests \
        --filter "FullyQualifiedName~LiveMigrationTests.A_vm_moved_to_another_host" --logger "console;verbosity=normal" >&2 || true
      [ -s "$figures" ] || echo "ipv6-qos: migration_lost_pings=not-measured" > "$figures"
      tee -a "$out" < "$figures"
      rm -f "$figures"
      echo "ipv6-qos: $(grep '^ipv6-qos: ' "$out" | sed 's/^ipv6-qos: //' | tr '
' ' ' | sed 's/ $//')"
      rm -f "$out"
      echo
      continue ;;
    *) echo "bench/run.sh: unknown benchmark '$name' (netlink, nftables, policy, ipam, convergence, api, engine, scale, soak, bgp, ipv6-qos)" >&2; exit 2 ;;
  esac
  echo "=== $name ($project) ==="
  dotnet run -c Release --project "$project" -- "${extra[@]}" "$@"
  echo
done
