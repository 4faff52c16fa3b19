#!/usr/bin/env bash
# OpenStack's own API tests (Debian's tempest package) against a controller silo authenticated by a real Keystone:
# `tempest run --regex '^tempest\.api\.network\.'`, what a Neutron server is held to. About 8 minutes here.
#
#   tempest-network.sh [--keep]
#
# It uses the Keystone named by CALICO_TEST_KEYSTONE_URL and CALICO_TEST_KEYSTONE_PASSWORD (test.sh's; see
# scripts/keystone-test-server.sh for its users) or starts its own with that script. It starts the built calico-silo
# (src/Calico.Silo/bin/*/*/calico-silo.dll, or CALICO_SILO_DLL) as a controller with the memory datastore,
# Api:Auth=keystone, on loopback ports chosen free; registers it as the network service's public endpoint in a region
# of its own; writes a tempest.conf (dynamic credentials made by Keystone's admin, role member; the extensions are
# exactly the aliases GET /v2.0/extensions answers; IPv6 on; only neutron available; no validation) and runs the
# network API tests, two at a time. It prints one line
#
#   tempest: N passed, N skipped, N failed
#
# (N skipped counts every listed test that did not run: Tempest skips a whole class at once) and, for each failed
# test, its name and the first lines of its error; it exits 1 if any failed. Everything it started is stopped, and
# its region removed, on every exit; it writes only inside its own temporary directory (removed unless --keep).
# CALICO_TEMPEST_CONCURRENCY (default 2) sets how many tests run at once; CALICO_TEMPEST_REGEX runs other tests
# (e.g. '^tempest\.api\.network\.test_ports\.' while working on ports).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

python=/usr/bin/python3
keep=
[ "${1:-}" = "--keep" ] && keep=1

log() { echo "tempest-network: $*" >&2; }
die() { log "$*"; exit 2; }

command -v tempest >/dev/null || die "tempest is not installed (apt-get install -y tempest; test.sh installs it)"
command -v openstack >/dev/null || die "the openstack CLI is not installed (apt-get install -y python3-openstackclient)"
silo_dll="${CALICO_SILO_DLL:-}"
if [ -z "$silo_dll" ]; then
  silo_dll=$(ls -t src/Calico.Silo/bin/*/*/calico-silo.dll 2>/dev/null | head -1 || true)
fi
[ -n "$silo_dll" ] && [ -f "$silo_dll" ] || die "calico-silo.dll not found: run 'dotnet build Calico.sln' first (or set CALICO_SILO_DLL)"
silo_dll=$(readlink -f "$silo_dll")

dir=$(mktemp -d "${TMPDIR:-/tmp}/calico-tempest.XXXXXX")
chmod 700 "$dir"
silo_pid=
own_keystone=
region=
cleanup() {
  local status=$?
  set +e
  if [ -n "$region" ]; then admin_cli endpoint list --region "$region" -f value -c ID 2>/dev/null | while read -r id; do
      admin_cli endpoint delete "$id" >/dev/null 2>&1; done
    admin_cli region delete "$region" >/dev/null 2>&1
  fi
  if [ -n "$silo_pid" ] && kill -0 "$silo_pid" 2>/dev/null; then
    # Ctrl-C as an operator would, then (after 30 s) kill; quietly (the shell reports a killed job on wait).
    kill -INT "$silo_pid" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$silo_pid" 2>/dev/null || break; sleep 0.2; done
    { kill -KILL "$silo_pid"; wait "$silo_pid"; } 2>/dev/null
  fi
  cd /
  [ -n "$own_keystone" ] && "$repo/scripts/keystone-test-server.sh" stop "$dir/keystone.env" >/dev/null 2>&1
  if [ -n "$keep" ]; then log "kept $dir"; else rm -rf "$dir"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Keystone: the test command's, or one of our own.
if [ -z "${CALICO_TEST_KEYSTONE_URL:-}" ]; then
  log "starting a Keystone (about 45 s)"
  TMPDIR="$dir" scripts/keystone-test-server.sh start "$dir/keystone.env" >/dev/null 2>"$dir/keystone-start.log" \
    || { cat "$dir/keystone-start.log" >&2; die "Keystone did not start"; }
  own_keystone=1
  # shellcheck disable=SC1091
  . "$dir/keystone.env"
fi
[ -n "${CALICO_TEST_KEYSTONE_PASSWORD:-}" ] || die "CALICO_TEST_KEYSTONE_URL is set but CALICO_TEST_KEYSTONE_PASSWORD is not"
ks_url=$CALICO_TEST_KEYSTONE_URL
ks_password=$CALICO_TEST_KEYSTONE_PASSWORD

admin_cli() {
  env -u OS_CLOUD HOME="$dir" OS_AUTH_URL="$ks_url" OS_IDENTITY_API_VERSION=3 OS_USERNAME=admin OS_PASSWORD="$ks_password" \
    OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME=RegionOne openstack "$@"
}

# Three free loopback ports for the silo (cluster, gateway, API).
read -r silo_port gateway_port http_port < <("$python" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks: s.close()
EOF
)
api="http://127.0.0.1:$http_port"

log "starting a controller silo on $api"
(
  cd "$dir"
  export Logging__LogLevel__Default=Warning Logging__LogLevel__Calico=Information CALICO_Compute__Dataplane=memory
  export CALICO_Api__Keystone__Password="$ks_password"
  unset OTEL_EXPORTER_OTLP_ENDPOINT
  exec dotnet "$silo_dll" --silo-port "$silo_port" --gateway-port "$gateway_port" --listen "$api" \
    --role controller --datastore memory --Api:Auth=keystone --Api:Keystone:AuthUrl="$ks_url" \
    --Api:Keystone:Username=neutron --Api:Keystone:ProjectName=service
) >"$dir/silo.log" 2>&1 &
silo_pid=$!
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "$api/readyz" 2>/dev/null && break
  kill -0 "$silo_pid" 2>/dev/null || { tail -30 "$dir/silo.log" >&2; die "calico-silo exited"; }
  sleep 0.2
done
curl -fsS -o /dev/null "$api/readyz" || { tail -30 "$dir/silo.log" >&2; die "calico-silo not ready after 60 s"; }

# The network service's endpoint, in a region of its own (several runs may share one Keystone).
region="calico-tempest-$(basename "$dir" | cut -d. -f2)"
admin_cli region create "$region" >/dev/null
admin_cli endpoint create --region "$region" network public "$api" >/dev/null

# What the API advertises, asked as the admin with a Keystone token.
token=$(admin_cli token issue -f value -c id)
extensions=$(curl -fsS -H "X-Auth-Token: $token" "$api/v2.0/extensions" \
  | "$python" -c 'import json, sys; print(",".join(sorted(e["alias"] for e in json.load(sys.stdin)["extensions"])))')
log "extensions: $extensions"

# The cloud's public network, as a deployment has one (Tempest's public_network_id): external, made by the admin,
# with a subnet outside Tempest's project ranges (10.100.0.0/16, 2001:db8::/48).
api_post() {
  curl -fsS -H "X-Auth-Token: $token" -H "Content-Type: application/json" -d "$2" "$api/v2.0/$1" \
    | "$python" -c 'import json, sys; print(next(iter(json.load(sys.stdin).values()))["id"])'
}
public_network=$(api_post networks '{"network": {"name": "public", "router:external": true}}')
api_post subnets "{\"subnet\": {\"network_id\": \"$public_network\", \"ip_version\": 4, \"cidr\": \"172.24.4.0/24\", \"name\": \"public-v4\"}}" >/dev/null

export HOME="$dir"
cd "$dir"
tempest init --workspace-path "$dir/workspace.yaml" --name "$(basename "$dir")" "$dir/tempest" >/dev/null
cat >"$dir/tempest/etc/tempest.conf" <<EOF
[DEFAULT]
log_dir = $dir/tempest/logs
log_file = tempest.log
[oslo_concurrency]
lock_path = $dir/tempest/lock
[auth]
use_dynamic_credentials = true
create_isolated_networks = false
tempest_roles = member
admin_username = admin
admin_password = $ks_password
admin_project_name = admin
admin_domain_name = Default
default_credentials_domain_name = Default
[identity]
uri_v3 = $ks_url
auth_version = v3
region = RegionOne
disable_ssl_certificate_validation = true
[identity-feature-enabled]
api_v2 = false
[network]
catalog_type = network
region = $region
endpoint_type = publicURL
public_network_id = $public_network
[network-feature-enabled]
api_extensions = $extensions
ipv6 = true
ipv6_subnet_attributes = true
[service_available]
neutron = true
nova = false
glance = false
cinder = false
swift = false
horizon = false
[validation]
run_validation = false
EOF

cd "$dir/tempest"
regex=${CALICO_TEMPEST_REGEX:-'^tempest\.api\.network\.'}
tempest run --list-tests --regex "$regex" 2>/dev/null | grep '^tempest\.' | sed 's/\[.*//' >"$dir/listed.txt" || true
log "running $(wc -l <"$dir/listed.txt") tests (concurrency ${CALICO_TEMPEST_CONCURRENCY:-2})"
# Tests a routed Calico cloud has no place for are left out (each with its reason in the file; they count as
# skipped); scripts/tempest/usercustomize.py takes Debian's 10 s sleep out of every subnet delete.
excluded=$(grep -c '^\^' "$repo/scripts/tempest/excluded.txt" || true)
log "leaving out $excluded tests (scripts/tempest/excluded.txt)"
set +e
PYTHONPATH="$repo/scripts/tempest${PYTHONPATH:+:$PYTHONPATH}" \
  tempest run --regex "$regex" --exclude-list "$repo/scripts/tempest/excluded.txt" \
  --concurrency "${CALICO_TEMPEST_CONCURRENCY:-2}" >"$dir/run.log" 2>&1
run_status=$?
stestr last --subunit >"$dir/result.subunit" 2>/dev/null
set -e

set +e
"$python" - "$dir/listed.txt" "$dir/result.subunit" "$run_status" <<'EOF'
import re, sys
import subunit, testtools

listed = [l.strip() for l in open(sys.argv[1]) if l.strip()]
results = {}   # test id (without [tags]) -> (status, details text)

class Collect(testtools.StreamResult):
    def __init__(self):
        super().__init__()
        self.details = {}
    def status(self, test_id=None, test_status=None, file_name=None, file_bytes=None, eof=False, **kw):
        if test_id is None:
            return
        tid = re.sub(r"\[.*\]$", "", test_id)
        if file_name and file_bytes:
            self.details.setdefault(tid, {}).setdefault(file_name, bytearray()).extend(file_bytes)
        if test_status in ("success", "fail", "skip", "xfail", "uxsuccess"):
            results[tid] = test_status

c = Collect()
with open(sys.argv[2], "rb") as f:
    subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout").run(c)

def cls_of(tid):
    return tid.rsplit(".", 1)[0]

def text(tid):
    d = c.details.get(tid, {})
    for name in ("traceback", "reason"):
        if name in d:
            return d[name].decode("utf-8", "replace")
    return ""

passed, skipped, failed = [], [], []
class_fixture = {}   # class -> status of its setUpClass
for tid, st in results.items():
    m = re.match(r"setUpClass \((.*)\)$", tid)
    if m:
        class_fixture[m.group(1)] = (st, tid)
for tid in listed:
    st = results.get(tid)
    if st is None:
        fixture = class_fixture.get(cls_of(tid))
        st = "fail" if fixture and fixture[0] == "fail" else "skip"
    (passed if st in ("success", "xfail") else failed if st in ("fail", "uxsuccess") else skipped).append(tid)
# Failures outside listed tests (a class's setUp or tearDown) are failures too.
extra = [tid for tid, st in results.items() if st == "fail" and tid not in listed]
print(f"tempest: {len(passed)} passed, {len(skipped)} skipped, {len(failed) + len([t for t in extra if not t.startswith('setUpClass')])} failed")
shown = [t for t in failed if t in results] + extra
for tid in shown:
    lines = [l for l in text(tid).splitlines() if l.strip()]
    # The exception after the last frame says most: the assertion, or the API's answer (Details: ...).
    frames = [i for i, l in enumerate(lines) if l.startswith("  File ")]
    tail = (lines[frames[-1] + 2:] if frames else lines)[:4] or lines[-4:] or ["(no details)"]
    print(f"FAILED {tid}")
    for l in tail:
        print(f"    {l[:400]}")
for tid in [t for t in failed if t not in results]:
    print(f"FAILED {tid} (its class's setUpClass failed)")
if not results:
    print(f"tempest run gave no results (exit {sys.argv[3]})")
sys.exit(1 if failed or extra or not results else 0)
EOF
status=$?
if [ "$status" -ne 0 ] && [ ! -s "$dir/result.subunit" ]; then tail -30 "$dir/run.log" >&2; fi
exit "$status"
