#!/usr/bin/env bash
# A throwaway Prometheus (Debian's prometheus package) for the tests and for trying the dashboards by hand: its own
# configuration and storage in a temporary directory, listening on 127.0.0.1 (a free port) of the network namespace
# it runs in. Never /etc/prometheus, never /var/lib/prometheus, never the machine's prometheus service.
#
#   prometheus-test-server.sh start CONFIG [ENV_FILE]   copy CONFIG (and the rule files it names, given relative to
#                                              CONFIG's directory) into a new directory, start prometheus there, wait
#                                              until it is ready; print its URL on stdout and, when ENV_FILE is given,
#                                              write CALICO_TEST_PROMETHEUS_URL, _PID and _DIR there for `. ENV_FILE`
#   prometheus-test-server.sh stop [ENV_FILE|DIR]  stop that server and delete its directory
#                                              (without an argument: the last one started without ENV_FILE)
#
# Environment: PROM_PARENT_DIR  where the server's directory is made (default ${TMPDIR:-/tmp})
set -euo pipefail

default_state="${TMPDIR:-/tmp}/calico-prometheus-test-server.env"

log() { echo "prometheus-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

start() {
  local config="${1:-}" env_file="${2:-}" dir port pid tries rule
  [ -f "$config" ] || die "usage: $0 start CONFIG [ENV_FILE] (no configuration file '$config')"
  command -v prometheus >/dev/null || die "prometheus is not installed (apt-get install prometheus; test.sh does it)"
  dir=$(mktemp -d "${PROM_PARENT_DIR:-${TMPDIR:-/tmp}}/calico-prom.XXXXXX")
  # From here on, a failure removes what was made.
  trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' ERR
  cp "$config" "$dir/prometheus.yaml"
  # The rule files the configuration names, beside it (the copy resolves them relative to its own directory).
  for rule in $(sed -n '/^rule_files:/,/^[^ -]/{s/^ *- *//p}' "$config"); do
    cp "$(dirname "$config")/$rule" "$dir/$rule"
  done

  for tries in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$port" && continue
    # setsid: its own session, so that only `stop` (or the namespace's removal) ends it.
    setsid prometheus --config.file="$dir/prometheus.yaml" --storage.tsdb.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
      --storage.tsdb.retention.time=1d --log.level=warn >"$dir/prometheus.log" 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break 2
      sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    pid=
  done
  [ -n "$pid" ] || { cat "$dir/prometheus.log" >&2; die "could not start prometheus"; }
  trap - ERR

  local url="http://127.0.0.1:$port"
  local state="${env_file:-$default_state}"
  {
    printf 'CALICO_TEST_PROMETHEUS_URL=%q\n' "$url"
    printf 'CALICO_TEST_PROMETHEUS_PID=%q\n' "$pid"
    printf 'CALICO_TEST_PROMETHEUS_DIR=%q\n' "$dir"
  } >"$state"
  log "started in $dir on $url (pid $pid)"
  echo "$url"
}

stop() {
  local arg="${1:-$default_state}" dir pid
  if [ -d "$arg" ]; then
    dir="$arg"
    pid=$(pgrep -f -- "--storage.tsdb.path=$dir/data" | head -1 || true)
  elif [ -s "$arg" ]; then
    dir=$(CALICO_TEST_PROMETHEUS_DIR=; . "$arg"; echo "${CALICO_TEST_PROMETHEUS_DIR:-}")
    pid=$(CALICO_TEST_PROMETHEUS_PID=; . "$arg"; echo "${CALICO_TEST_PROMETHEUS_PID:-}")
  fi
  if [ -z "${dir:-}" ]; then
    log "nothing to stop ($arg has no server)"
    return 0
  fi
  # Only ever delete a directory this script made, and only stop the prometheus that uses it.
  case "$(basename "$dir")" in calico-prom.*) ;; *) die "refusing to remove $dir: not made by this script" ;; esac
  if [ -n "${pid:-}" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--storage.tsdb.path=$dir/data"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  [ -f "$arg" ] && : >"$arg"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start CONFIG [ENV_FILE] | stop [ENV_FILE|DIR]" >&2; exit 2 ;;
esac
