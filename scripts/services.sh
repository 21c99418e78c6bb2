#!/usr/bin/env bash
# Local backing services for orders-cqrs: PostgreSQL, RabbitMQ and a MongoDB-compatible
# server (FerretDB 1.24.2, built once from source into a cache folder outside the repo).
#
#   bash scripts/services.sh up     # idempotent: start what is missing, wait until it answers
#   bash scripts/services.sh down   # stop only what `up` started (recorded in a state file)
#   bash scripts/services.sh status
#
# Environment:
#   ORDERS_CQRS_CACHE        cache folder (default: $HOME/.cache/orders-cqrs)
#   MONGO_PORT               port for FerretDB on 127.0.0.1 (default: 27017)
#   SERVICES_WAIT_SECONDS    bounded wait for each service to answer (default: 60)
#   FERRETDB_GOMAXPROCS      threads running FerretDB's Go code (default: 1 on 2 cores or
#                            fewer, else Go's default of one per core)
set -euo pipefail

FERRETDB_VERSION=1.24.2
PG_PORT=5432
RABBIT_PORT=5672
MONGO_PORT="${MONGO_PORT:-27017}"
WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-60}"
RABBIT_PLUGINS=(rabbitmq_management)

CACHE="${ORDERS_CQRS_CACHE:-$HOME/.cache/orders-cqrs}"
# Our patches to FerretDB's source (scripts/ferretdb/*.patch, each says why); the build folder is
# named after their content, so a changed patch builds a new binary.
FERRET_PATCHES=("$(dirname "${BASH_SOURCE[0]}")"/ferretdb/*.patch)
FERRET_HOME="$CACHE/ferretdb-$FERRETDB_VERSION-$(cat "${FERRET_PATCHES[@]}" | sha256sum | cut -c1-12)"
FERRET_SRC="$FERRET_HOME/src"
FERRET_BIN="$FERRET_HOME/bin/ferretdb"
# FerretDB's PostgreSQL backend finds documents by _id through an index (reads too, with our
# patch); its SQLite backend scans the whole collection for every update (measured: 114 -> 20
# updates/s from 400 to 4,000 documents), and with `_id` pushed down there too (a probe patch),
# 8 concurrent version-checked replaces ran at 91/s and then failed with SQLITE_BUSY.
# Without TLS: FerretDB's driver asks for it when the server offers it, and on loopback it only
# costs CPU (measured: PostgreSQL's backends spent 0.45-0.52 ms per version-checked replaceOne
# without it, 0.57-0.63 ms with it; FerretDB itself the same either way).
FERRET_PG_URL="${FERRETDB_POSTGRESQL_URL:-postgres://postgres@127.0.0.1:5432/ferretdb?sslmode=disable}"
FERRET_LOG="$CACHE/ferretdb.log"
# On two cores shared with PostgreSQL, RabbitMQ, both services and the load, FerretDB with one Go
# thread wakes fewer threads per request: measured in the benchmark (3 repetitions each), its CPU
# per event fell from 1.18 to 0.92 ms (with its PostgreSQL backends) catching up a queue, and the
# queue drained at 814 instead of 690 events/s.
if [[ -z "${FERRETDB_GOMAXPROCS:-}" && "$(nproc)" -le 2 ]]; then FERRETDB_GOMAXPROCS=1; fi
STATE="$CACHE/services.state"

# Go's standard install is not always on PATH.
case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) PATH="$PATH:/usr/local/go/bin" ;; esac
export PATH

log() { printf '%s\n' "$*"; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- state file (key=value)
state_get() { [[ -f "$STATE" ]] && sed -n "s/^$1=//p" "$STATE" | tail -n1 || true; }
state_set() {
  state_del "$1"
  printf '%s=%s\n' "$1" "$2" >>"$STATE"
}
state_del() {
  [[ -f "$STATE" ]] || return 0
  local tmp="$STATE.tmp.$$"
  grep -v "^$1=" "$STATE" >"$tmp" || true
  mv "$tmp" "$STATE"
}

# ---------------------------------------------------------------- helpers
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port NAME PORT [PID]: poll until the port answers; fail early if PID dies.
wait_port() {
  local name="$1" port="$2" pid="${3:-}" deadline=$((SECONDS + WAIT_SECONDS))
  until port_open "$port"; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.5
  done
  log "$name: answering on 127.0.0.1:$port"
}

pid_is_ferretdb() {
  local pid="$1"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q ferretdb
}

# ---------------------------------------------------------------- PostgreSQL
pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n1; }

postgres_up() {
  if port_open "$PG_PORT"; then
    log "postgres: already running"
    return
  fi
  local ver
  ver="$(pg_version)"
  command -v pg_ctlcluster >/dev/null && [[ -n "$ver" ]] ||
    die "postgres: nothing answers on 127.0.0.1:$PG_PORT and no PostgreSQL cluster is installed"
  log "postgres: not answering, starting cluster $ver/main..."
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 9>&- ||
    die "postgres: 'pg_ctlcluster $ver main start' failed (see /var/log/postgresql/)"
  state_set postgres_started "$ver"
  wait_port postgres "$PG_PORT" ||
    die "postgres: started but not answering on 127.0.0.1:$PG_PORT after ${WAIT_SECONDS}s"
}

postgres_down() {
  local ver
  ver="$(state_get postgres_started)"
  if [[ -z "$ver" ]]; then
    log "postgres: not started by this script, leaving it alone"
    return
  fi
  log "postgres: stopping cluster $ver/main (started by this script)"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main stop || log "postgres: stop failed (already stopped?)"
  state_del postgres_started
}

# ---------------------------------------------------------------- RabbitMQ
rabbit_plugins_missing() {
  local enabled p missing=()
  enabled="$(rabbitmq-plugins list -e -m 2>/dev/null || true)"
  for p in "${RABBIT_PLUGINS[@]}"; do
    grep -qx "$p" <<<"$enabled" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

rabbit_await() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  until rabbitmqctl -q await_startup >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

rabbitmq_up() {
  if port_open "$RABBIT_PORT"; then
    log "rabbitmq: already running"
    rabbit_await || die "rabbitmq: 'rabbitmqctl await_startup' did not succeed within ${WAIT_SECONDS}s"
    local missing
    missing="$(rabbit_plugins_missing)"
    if [[ -n "$missing" ]]; then
      log "rabbitmq: enabling plugins: $missing"
      # shellcheck disable=SC2086
      rabbitmq-plugins -q enable $missing >/dev/null || die "rabbitmq: 'rabbitmq-plugins enable $missing' failed"
    else
      log "rabbitmq: plugins ${RABBIT_PLUGINS[*]} enabled"
    fi
    return
  fi
  command -v rabbitmq-server >/dev/null ||
    die "rabbitmq: nothing answers on 127.0.0.1:$RABBIT_PORT and rabbitmq-server is not installed"
  log "rabbitmq: not answering, enabling plugins (offline) and starting it..."
  rabbitmq-plugins -q --offline enable "${RABBIT_PLUGINS[@]}" >/dev/null ||
    die "rabbitmq: 'rabbitmq-plugins --offline enable' failed"
  rabbitmq-server -detached 9>&- || die "rabbitmq: 'rabbitmq-server -detached' failed"
  state_set rabbitmq_started 1
  rabbit_await && wait_port rabbitmq "$RABBIT_PORT" ||
    die "rabbitmq: not ready after ${WAIT_SECONDS}s (see /var/log/rabbitmq/)"
}

rabbitmq_down() {
  if [[ -z "$(state_get rabbitmq_started)" ]]; then
    log "rabbitmq: not started by this script, leaving it alone"
    return
  fi
  log "rabbitmq: stopping (started by this script)"
  rabbitmqctl -q shutdown >/dev/null 2>&1 || log "rabbitmq: shutdown failed (already stopped?)"
  state_del rabbitmq_started
}

# ---------------------------------------------------------------- FerretDB
ferretdb_build() {
  if [[ -x "$FERRET_BIN" ]]; then
    return
  fi
  command -v go >/dev/null || die "ferretdb: 'go' not found (looked in PATH and /usr/local/go/bin)"
  log "ferretdb: building v$FERRETDB_VERSION (first time, ~2 min on 2 cores; log: $FERRET_HOME/build.log)..."
  local start=$SECONDS json dir tmpbin buildlog="$FERRET_HOME/build.log"
  mkdir -p "$FERRET_HOME/bin"
  # go mod download -json indents with TABs, so match any leading whitespace.
  json="$(cd "$CACHE" && go mod download -json "github.com/FerretDB/FerretDB@v$FERRETDB_VERSION" 2>"$buildlog")" ||
    die "ferretdb: 'go mod download' failed: $json $(cat "$buildlog")"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || die "ferretdb: could not find the module directory in: $json"
  rm -rf "$FERRET_SRC"
  cp -r "$dir" "$FERRET_SRC"
  chmod -R u+w "$FERRET_SRC"
  # Without version.txt the binary panics at start (FerretDB#2982).
  echo "v$FERRETDB_VERSION" >"$FERRET_SRC/build/version/version.txt"
  local patch
  for patch in "${FERRET_PATCHES[@]}"; do
    patch -s -p1 -d "$FERRET_SRC" <"$patch" >>"$buildlog" 2>&1 || die "ferretdb: $patch does not apply (log: $buildlog)"
  done
  tmpbin="$FERRET_BIN.tmp.$$"
  if ! (cd "$FERRET_SRC" && CGO_ENABLED=0 go build -trimpath -o "$tmpbin" ./cmd/ferretdb) >>"$buildlog" 2>&1; then
    tail -n 30 "$buildlog" >&2
    rm -f "$tmpbin"
    die "ferretdb: 'go build' failed (full log: $buildlog)"
  fi
  mv "$tmpbin" "$FERRET_BIN"
  log "ferretdb: built in $((SECONDS - start)) s -> $FERRET_BIN"
}

ferretdb_up() {
  local pid
  pid="$(state_get ferretdb_pid)"
  if [[ -n "$pid" ]] && ! pid_is_ferretdb "$pid"; then
    state_del ferretdb_pid # stale
    pid=""
  fi
  if [[ -n "$pid" && "$(readlink "/proc/$pid/exe")" != "$(readlink -f "$FERRET_BIN")" ]]; then
    log "ferretdb: pid $pid runs another build than $FERRET_BIN; restarting it"
    ferretdb_down
    pid=""
  fi
  if port_open "$MONGO_PORT"; then
    if [[ -n "$pid" ]]; then
      log "ferretdb: already running (pid $pid, started by this script) on 127.0.0.1:$MONGO_PORT"
    else
      log "ferretdb: something already answers on 127.0.0.1:$MONGO_PORT, using it"
    fi
    return
  fi
  if [[ -z "$pid" ]]; then
    ferretdb_build
    ferretdb_backend_database
    [[ -f "$FERRET_LOG" ]] && mv -f "$FERRET_LOG" "$FERRET_LOG.1"
    log "ferretdb: starting on 127.0.0.1:$MONGO_PORT (postgresql backend: $FERRET_PG_URL, log: $FERRET_LOG)"
    # Run from the cache folder (not the caller's cwd, e.g. the repo). The subshell execs
    # setsid, which (not being a group leader) execs FerretDB in place, so $! is its pid.
    (cd "$CACHE" && GOMAXPROCS="${FERRETDB_GOMAXPROCS:-}" exec setsid "$FERRET_BIN" \
      --handler=postgresql --postgresql-url="$FERRET_PG_URL" \
      --listen-addr="127.0.0.1:$MONGO_PORT" \
      --debug-addr=- --state-dir=- --telemetry=disable --log-level=warn \
      </dev/null >>"$FERRET_LOG" 2>&1 9>&-) &
    pid=$!
    state_set ferretdb_pid "$pid"
  else
    log "ferretdb: pid $pid (ours) not answering yet, waiting..."
  fi
  if ! wait_port ferretdb "$MONGO_PORT" "$pid"; then
    if kill -0 "$pid" 2>/dev/null; then
      log "ferretdb: ERROR: not answering on 127.0.0.1:$MONGO_PORT after ${WAIT_SECONDS}s; last log lines:" >&2
    else
      log "ferretdb: ERROR: exited before answering on 127.0.0.1:$MONGO_PORT; last log lines:" >&2
    fi
    tail -n 30 "$FERRET_LOG" >&2 || true
    kill "$pid" 2>/dev/null || true
    state_del ferretdb_pid
    exit 1
  fi
}

ferretdb_backend_database() {
  local db="${FERRET_PG_URL##*/}"
  db="${db%%\?*}"
  if ! psql "${FERRET_PG_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    psql "${FERRET_PG_URL%/*}/postgres" -qc "CREATE DATABASE \"$db\"" >/dev/null
    log "ferretdb: created PostgreSQL database $db for its data"
  fi
}

ferretdb_down() {
  local pid i
  pid="$(state_get ferretdb_pid)"
  if [[ -z "$pid" ]]; then
    log "ferretdb: not started by this script, leaving it alone"
    return
  fi
  if pid_is_ferretdb "$pid"; then
    log "ferretdb: stopping pid $pid"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do
      pid_is_ferretdb "$pid" || break
      sleep 0.25
    done
    if pid_is_ferretdb "$pid"; then
      log "ferretdb: still alive after 10 s, sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
  else
    log "ferretdb: recorded pid $pid is gone already"
  fi
  state_del ferretdb_pid
}

# ---------------------------------------------------------------- main
usage() { echo "usage: $0 up|down|status" >&2; exit 2; }

mkdir -p "$CACHE"
# Serialise concurrent invocations (several sessions may run `up` at once). Daemons started
# below get `9>&-` so they do not inherit (and keep holding) this lock.
exec 9>"$CACHE/services.lock"
flock -w 900 9 || die "another services.sh is still running (lock $CACHE/services.lock)"

case "${1:-}" in
  up)
    postgres_up
    rabbitmq_up
    ferretdb_up
    log "services: up (postgres 127.0.0.1:$PG_PORT, rabbitmq 127.0.0.1:$RABBIT_PORT, mongodb://127.0.0.1:$MONGO_PORT)"
    ;;
  down)
    ferretdb_down
    rabbitmq_down
    postgres_down
    log "services: down"
    ;;
  status)
    for svc in "postgres:$PG_PORT" "rabbitmq:$RABBIT_PORT" "ferretdb:$MONGO_PORT"; do
      if port_open "${svc#*:}"; then log "${svc%%:*}: answering on 127.0.0.1:${svc#*:}"; else log "${svc%%:*}: not answering"; fi
    done
    if [[ -s "$STATE" ]]; then log "started by this script ($STATE):"; sed 's/^/  /' "$STATE"; else log "started by this script: nothing"; fi
    ;;
  *) usage ;;
esac
