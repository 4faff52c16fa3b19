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
  local base="${TMPDIR:-/tmp}"
  [ "$(id -u)" -eq 0 ] && base=/tmp
  dir=$(mktemp -d "$base/calico-pg.XXXXXX")
  # From here on, a failure removes what was made.
  trap 'as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' ERR
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"

  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; false; }

  # A free port: pick at random, and retry if the server still loses a race for it.
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$port" && continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null; then
      break
    fi
    port=
  done
  [ -n "$port" ] || { cat "$dir/server.log" >&2; die "could not start a server"; }

  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres calico
  conn="Host=127.0.0.1;Port=$port;Username=postgres;Database=calico"
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

stop() {
  local arg="${1:-$default_state}" dir bin
  if [ -d "$arg" ]; then
    dir="$arg"
  elif [ -s "$arg" ]; then
    dir=$(CALICO_TEST_POSTGRES_DIR=; . "$arg"; echo "${CALICO_TEST_POSTGRES_DIR:-}")
  else
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
  *) echo "usage: $0 start [ENV_FILE] | stop [ENV_FILE|DIR]" >&2; exit 2 ;;
esac
