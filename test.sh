#!/usr/bin/env bash
# Runs every test of the project. Installs the Debian packages the tests need (as root), starts a throwaway
# PostgreSQL server on loopback for the datastore tests, runs the whole suite, and stops the server again.
# Usage: ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Datastore]
set -euo pipefail
cd "$(dirname "$0")"

packages=(iproute2 iputils-ping nftables libnftables1 dnsmasq bird2 postgresql isc-dhcp-client python3-openstackclient procps)
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
  # Installing dnsmasq and bird2 must not start machine-wide daemons: the tests run their own.
  # (policy-rc.d is Debian's switch for that; an existing one is left as it is.)
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi

log=$(mktemp)
pg_env=$(mktemp)
cleanup() {
  scripts/postgres-test-server.sh stop "$pg_env" >/dev/null 2>&1 || true
  rm -f "$log" "$pg_env"
}
trap cleanup EXIT

if [ -z "${CALICO_TEST_POSTGRES:-}" ]; then
  scripts/postgres-test-server.sh start "$pg_env"
  # shellcheck disable=SC1090
  . "$pg_env"
  export CALICO_TEST_POSTGRES
fi

set +e
dotnet test Calico.sln --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
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
exit "$status"
