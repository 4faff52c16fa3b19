#!/usr/bin/env bash
# Runs every test of the project. Installs the Debian packages the tests need (as root), starts a throwaway
# PostgreSQL server on loopback for the datastore tests and a throwaway Keystone for the API's authentication
# tests (both at once, about 45 s), builds the Debian package for the packaging tests (scripts/package.sh), runs the
# whole suite, and stops the servers again. Then it runs OpenStack's Tempest
# network API tests against a controller silo with that Keystone (scripts/tempest-network.sh, about 8 minutes here):
# always in a full run; with extra arguments only when CALICO_TEST_TEMPEST=1; never with CALICO_TEST_TEMPEST=0.
# Usage: ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Datastore]
set -euo pipefail
cd "$(dirname "$0")"

packages=(iproute2 iputils-ping nftables libnftables1 dnsmasq bird2 postgresql isc-dhcp-client python3-openstackclient procps
  keystone uwsgi uwsgi-plugin-python3 tempest prometheus node-typescript curl openssl iperf3 systemd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing Debian packages (${missing[*]}); run as root so they can be installed" >&2
    exit 2
  fi
  echo "test.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Installing dnsmasq, bird2, keystone and prometheus must not start machine-wide daemons: the tests run their own.
  # (policy-rc.d is Debian's switch for that; an existing one is left as it is.)
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  # keystone's postinst enables its service for the next boot: the tests' Keystone is private and on loopback.
  if [[ " ${missing[*]} " == *" keystone "* ]]; then systemctl disable keystone >/dev/null 2>&1 || true; fi
  # So does prometheus' (its tests' Prometheus is a throwaway one: scripts/prometheus-test-server.sh).
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then systemctl disable prometheus >/dev/null 2>&1 || true; fi
fi
# Grafana's dashboard schema (@grafana/schema from the npm registry), fetched once into a cache for the dashboard
# tests (scripts/grafana-schema.sh); later runs need no network.
scripts/grafana-schema.sh >/dev/null  # needs npm once (not a package here: node ships it)

log=$(mktemp)
pg_env=$(mktemp)
ks_env=$(mktemp)
pkg_dir=$(mktemp -d)
cleanup() {
  scripts/postgres-test-server.sh stop "$pg_env" >/dev/null 2>&1 || true
  scripts/keystone-test-server.sh stop "$ks_env" >/dev/null 2>&1 || true
  rm -rf "$log" "$pg_env" "$ks_env" "$pkg_dir"
}
trap cleanup EXIT

ks_pid=
if [ -z "${CALICO_TEST_KEYSTONE_URL:-}" ]; then
  scripts/keystone-test-server.sh start "$ks_env" >/dev/null &
  ks_pid=$!
fi
if [ -z "${CALICO_TEST_POSTGRES:-}" ]; then
  scripts/postgres-test-server.sh start "$pg_env"
  # shellcheck disable=SC1090
  . "$pg_env"
  export CALICO_TEST_POSTGRES
fi
# The Debian package, built once here (while Keystone starts) for the packaging tests (CALICO_TEST_PACKAGE); with
# extra arguments those tests build it themselves, if the filter selects them.
if [ $# -eq 0 ] && [ -z "${CALICO_TEST_PACKAGE:-}" ]; then
  echo "test.sh: building the Debian package (scripts/package.sh)"
  CALICO_TEST_PACKAGE=$(scripts/package.sh --output "$pkg_dir" | tail -1)
  export CALICO_TEST_PACKAGE
fi
if [ -n "$ks_pid" ]; then
  wait "$ks_pid"
  # shellcheck disable=SC1090
  . "$ks_env"
  export CALICO_TEST_KEYSTONE_URL CALICO_TEST_KEYSTONE_PASSWORD
fi

set +e
dotnet test Calico.sln --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
tempest_line=
run_tempest=${CALICO_TEST_TEMPEST:-}
[ -n "$run_tempest" ] || { [ $# -eq 0 ] && run_tempest=1 || run_tempest=0; }
if [ "$run_tempest" = 1 ]; then
  # The network API as OpenStack's own tests see it, through the same Keystone (the silo dotnet test built).
  scripts/tempest-network.sh 2>&1 | tee -a "$log"
  tempest_status=${PIPESTATUS[0]}
  [ "$tempest_status" -eq 0 ] || status=$tempest_status
  tempest_line=$(grep '^tempest: ' "$log" | tail -1)
  [ -n "$tempest_line" ] || tempest_line="tempest: did not run to the end (exit $tempest_status)"
fi
set -e

# One closing line for the whole suite, summed over the test assemblies.
awk '/^(Passed|Failed)!/ {
       for (i = 1; i <= NF; i++) {
         if ($i == "Failed:")  f += $(i+1) + 0
         if ($i == "Passed:")  p += $(i+1) + 0
         if ($i == "Skipped:") s += $(i+1) + 0
       }
     }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
[ -z "$tempest_line" ] || echo "$tempest_line"
exit "$status"
