#!/usr/bin/env bash
# A throwaway Keystone (identity v3) for the API's authentication tests: Debian's keystone package on SQLite under
# uwsgi, in a temporary directory, listening only on 127.0.0.1 (a free port). About 45 s to start.
#
#   keystone-test-server.sh start [ENV_FILE]   start a server; print its identity URL on stdout and, when ENV_FILE is
#                                              given, write shell assignments there for `. ENV_FILE`:
#                                              CALICO_TEST_KEYSTONE_URL (http://127.0.0.1:PORT/v3),
#                                              CALICO_TEST_KEYSTONE_PASSWORD (every user's password) and
#                                              CALICO_TEST_KEYSTONE_DIR (what `stop` removes)
#   keystone-test-server.sh stop [ENV_FILE|DIR] stop that server and delete its directory
#                                              (without an argument: the last one started without ENV_FILE)
#
# What it holds (domain Default; roles admin > member > reader as bootstrap makes them, and service):
#   project admin:   user admin (admin)
#   project service: user neutron (admin, service), the API's own service user
#   project demo:    users demo-member (member) and demo-reader (reader)
#   project other:   user other-member (member)
#   a `network` service named neutron, without endpoints: each test registers its API in a region of its own.
#
# The three traps of this setup (see the design notes): uwsgi's http-socket breaks keep-alive, so every answer says
# `Connection: close`; SQLite needs one thread per worker; and journal_mode=WAL, or a token issue's open read
# transaction blocks the other worker's writes. Nothing outside the temporary directory is touched.
set -euo pipefail

default_state="${TMPDIR:-/tmp}/calico-keystone-test-server.env"
# Debian's interpreter, which has keystone's modules (not one a version manager put first on PATH).
python=/usr/bin/python3

log() { echo "keystone-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

# Set while start() builds a server: a failure anywhere (a command or a die) removes what was made.
building=
cleanup_failed_start() { [ -n "$building" ] && stop_dir "$building" >/dev/null 2>&1; building=; }
trap cleanup_failed_start EXIT

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# GET url; succeeds when it answers 200 (Connection: close, as everything sent to this server).
answers() {
  "$python" - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Connection": "close"})
sys.exit(0 if urllib.request.urlopen(req, timeout=5).status == 200 else 1)
EOF
}

start() {
  local env_file="${1:-}" dir port url password conf tries pid
  command -v keystone-manage >/dev/null && [ -x /usr/bin/keystone-wsgi-public ] \
    || die "Keystone is not installed (apt-get install -y keystone uwsgi uwsgi-plugin-python3; test.sh installs them)"
  command -v uwsgi >/dev/null && [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] \
    || die "uwsgi with its python3 plugin is not installed (apt-get install -y uwsgi uwsgi-plugin-python3)"
  command -v openstack >/dev/null || die "the openstack CLI is not installed (apt-get install -y python3-openstackclient)"

  dir=$(mktemp -d "${TMPDIR:-/tmp}/calico-keystone.XXXXXX")
  building=$dir
  chmod 700 "$dir"
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  conf="$dir/keystone.conf"
  cat >"$conf" <<EOF
[DEFAULT]
log_file = $dir/keystone.log
[database]
connection = sqlite:///$dir/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $dir/fernet-keys
[fernet_receipts]
key_repository = $dir/fernet-receipts
[credential]
key_repository = $dir/credential-keys
[cache]
enabled = false
[identity]
# bcrypt's fewest rounds: every user created and every token issued hashes a password, and Tempest makes users
# for each test class (12 rounds, the default, cost seconds per class on a loaded machine). A throwaway server.
password_hash_rounds = 4
EOF

  for tries in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$port" || break
  done
  url="http://127.0.0.1:$port/v3"

  keystone-manage --config-file "$conf" db_sync >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; false; }
  "$python" -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$dir/keystone.db"
  local user group
  user=$(id -un); group=$(id -gn)
  for setup in fernet_setup credential_setup; do
    keystone-manage --config-file "$conf" "$setup" --keystone-user "$user" --keystone-group "$group" >>"$dir/setup.log" 2>&1 \
      || { cat "$dir/setup.log" >&2; false; }
  done
  mkdir -p "$dir/fernet-receipts"
  keystone-manage --config-file "$conf" bootstrap --bootstrap-password "$password" \
    --bootstrap-admin-url "$url" --bootstrap-internal-url "$url" --bootstrap-public-url "$url" \
    --bootstrap-region-id RegionOne >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; false; }

  cat >"$dir/uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$port
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_FILES=$conf
master = true
processes = 2
threads = 1
lazy-apps = true
die-on-term = true
no-orphans = true
buffer-size = 65535
add-header = Connection: close
pidfile = $dir/uwsgi.pid
EOF
  uwsgi --ini "$dir/uwsgi.ini" --daemonize "$dir/uwsgi.log"
  for tries in $(seq 1 120); do
    answers "$url" && break
    pid=$(cat "$dir/uwsgi.pid" 2>/dev/null || true)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      [ "$tries" -gt 5 ] && { tail -20 "$dir/uwsgi.log" >&2; die "uwsgi exited"; }
    fi
    sleep 0.5
  done
  answers "$url" || { tail -20 "$dir/uwsgi.log" >&2; die "Keystone did not answer on $url"; }

  # One openstack process for every command: twice as fast as one per command.
  # (The interactive shell would take arguments for commands: the credentials go in the environment.)
  env -u OS_CLOUD HOME="$dir" OS_AUTH_URL="$url" OS_IDENTITY_API_VERSION=3 OS_USERNAME=admin OS_PASSWORD="$password" \
    OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME=RegionOne \
    openstack >"$dir/provision.log" 2>&1 <<EOF || { cat "$dir/provision.log" >&2; false; }
role create service
project create --domain default service
project create --domain default demo
project create --domain default other
user create --domain default --password $password neutron
user create --domain default --password $password demo-member
user create --domain default --password $password demo-reader
user create --domain default --password $password other-member
role add --project service --user neutron admin
role add --project service --user neutron service
role add --project demo --user demo-member member
role add --project demo --user demo-reader reader
role add --project other --user other-member member
service create --name neutron network
EOF
  # The interactive shell goes on after a failed command: check that the last one took.
  grep -q "| type *| network" "$dir/provision.log" && ! grep -qi "error\|exception" "$dir/provision.log" \
    || { cat "$dir/provision.log" >&2; die "provisioning failed"; }
  building=

  local state="${env_file:-$default_state}"
  {
    printf 'CALICO_TEST_KEYSTONE_URL=%q\n' "$url"
    printf 'CALICO_TEST_KEYSTONE_PASSWORD=%q\n' "$password"
    printf 'CALICO_TEST_KEYSTONE_DIR=%q\n' "$dir"
  } >"$state"
  log "started in $dir on $url"
  echo "$url"
}

# The server directory named by an ENV_FILE or a DIR argument; empty when there is none.
server_dir() {
  local arg="$1"
  if [ -d "$arg" ]; then
    echo "$arg"
  elif [ -s "$arg" ]; then
    (CALICO_TEST_KEYSTONE_DIR=; . "$arg"; echo "${CALICO_TEST_KEYSTONE_DIR:-}")
  fi
}

stop_dir() {
  local dir="$1" pid
  # Only ever stop and delete what this script made.
  case "$(basename "$dir")" in calico-keystone.*) ;; *) die "refusing to remove $dir: not made by this script" ;; esac
  pid=$(cat "$dir/uwsgi.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

stop() {
  local arg="${1:-$default_state}" dir
  dir=$(server_dir "$arg")
  if [ -z "$dir" ]; then
    log "nothing to stop ($arg has no server)"
    return 0
  fi
  stop_dir "$dir"
  [ -f "$arg" ] && : >"$arg"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [ENV_FILE] | stop [ENV_FILE|DIR]" >&2; exit 2 ;;
esac
