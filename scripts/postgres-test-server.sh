#!/usr/bin/env bash
# A throwaway PostgreSQL server for the datastore tests: its own cluster in a temporary directory, listening only on
# 127.0.0.1 (a free port) with trust authentication on loopback, and one database "calico".
#
#   postgres-test-server.sh start [ENV_FILE]   start a server; print its Npgsql connection string on stdout and, when
#                                              ENV_FILE is given, write shell assignments there for `. ENV_FILE`:
#                                              CALICO_TEST_POSTGRES (the connection string) and
#                                              CALICO_TEST_POSTGRES_DIR (what `stop` removes)
#   postgres-test-server.sh stop [ENV_FILE|DIR] stop that server and delete its directory
#                                              (without an argument: the last one started without ENV_FILE)
#   postgres-test-server.sh restart ENV_FILE|DIR  stop that server (fast: connections are cut) and start it again
#                                              on the same address and port, keeping its data
#
# Environment (for the topology harness, which runs the server inside a network namespace of its own):
#   PG_LISTEN_ADDRESS  the address to listen on (default 127.0.0.1)
#   PG_ALLOW_FROM      CIDRs (space-separated) from which connections are trusted besides loopback (default none)
#   PG_PARENT_DIR      where the server's directory is made (default ${TMPDIR:-/tmp}; /tmp as root)
#
# Uses Debian's postgresql package (binaries in /usr/lib/postgresql/<version>/bin). initdb refuses to run as root,
# so as root the server runs as the `postgres` user. Nothing outside the temporary directory is touched.
set -euo pipefail

default_state="${TMPDIR:-/tmp}/calico-postgres-test-server.env"

log() { echo "postgres-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

pg_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  die "PostgreSQL is not installed (apt-get install -y postgresql)"
}

# Runs a server binary as the unprivileged owner of the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

start() {
  local env_file="${1:-}" bin dir port conn tries
  bin=$(pg_bindir)
  # As root the server runs as `postgres`, which must be able to reach the directory: /tmp, not root's own TMPDIR.
  local base="${TMPDIR:-/tmp}" listen="${PG_LISTEN_ADDRESS:-127.0.0.1}"
  [ "$(id -u)" -eq 0 ] && base=/tmp
  [ -n "${PG_PARENT_DIR:-}" ] && base="$PG_PARENT_DIR"
  dir=$(mktemp -d "$base/calico-pg.XXXXXX")
  # From here on, a failure removes what was made.
  trap 'as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' ERR
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"

  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; false; }
  for cidr in ${PG_ALLOW_FROM:-}; do echo "host all all $cidr trust" >>"$dir/data/pg_hba.conf"; done

  # A free port: pick at random, and retry if the server still loses a race for it.
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$port" && continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=$listen -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null; then
      break
    fi
    port=
  done
  [ -n "$port" ] || { cat "$dir/server.log" >&2; die "could not start a server"; }

  as_owner "$bin/createdb" -h "$listen" -p "$port" -U postgres calico
  conn="Host=$listen;Port=$port;Username=postgres;Database=calico"
  echo "$conn" >"$dir/connection-string"
  trap - ERR

  local state="${env_file:-$default_state}"
  {
    printf 'CALICO_TEST_POSTGRES=%q\n' "$conn"
    printf 'CALICO_TEST_POSTGRES_DIR=%q\n' "$dir"
  } >"$state"
  log "started in $dir on 127.0.0.1:$port"
  echo "$conn"
}

# The server directory named by an ENV_FILE or a DIR argument; empty when there is none.
server_dir() {
  local arg="$1"
  if [ -d "$arg" ]; then
    echo "$arg"
  elif [ -s "$arg" ]; then
    (CALICO_TEST_POSTGRES_DIR=; . "$arg"; echo "${CALICO_TEST_POSTGRES_DIR:-}")
  fi
}

restart() {
  local dir bin
  dir=$(server_dir "${1:-$default_state}")
  [ -n "$dir" ] && [ -d "$dir/data" ] || die "no server to restart (${1:-$default_state} names none)"
  bin=$(pg_bindir)
  # pg_ctl restart starts it with the options of the last start (postmaster.opts): same address and port.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
  log "restarted the server in $dir"
}

stop() {
  local arg="${1:-$default_state}" dir bin
  dir=$(server_dir "$arg")
  if [ -z "$dir" ]; then
    log "nothing to stop ($arg has no server)"
    return 0
  fi
  # Only ever delete a directory this script made.
  case "$(basename "$dir")" in calico-pg.*) ;; *) die "refusing to remove $dir: not made by this script" ;; esac
  if [ -d "$dir/data" ]; then
    bin=$(pg_bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  [ -f "$arg" ] && : >"$arg"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  restart) shift; restart "$@" ;;
  *) echo "usage: $0 start [ENV_FILE] | stop [ENV_FILE|DIR] | restart ENV_FILE|DIR" >&2; exit 2 ;;
esac
