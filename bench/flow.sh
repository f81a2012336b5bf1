#!/usr/bin/env bash
# Flow control on PostgreSQL, through HTTP (issue 16):
#
#   bench/flow.sh                       # needs target/release/{durable-server,durable-bench}
#   OLD_SERVER=/path/durable-server bench/flow.sh   # also the plain A/B against an older build
#
# On a private PostgreSQL (initdb into a temp dir, fsync on), each run in a
# fresh database with a freshly started release server:
#   1. plain throughput (20 000 tasks, batches of 1 000, 8 workers, limit 10):
#      this build, and OLD_SERVER when given, alternating, REPS times;
#   2. keys: 1 000 keys x 20 runs, key limit 1, 16 workers, limit 10;
#   3. keys: 1 000 keys x 1 run, behind a hot key holding HOT (100 000)
#      blocked runs, and the same without the hot key; then EXPLAIN ANALYZE
#      of the claim statement on the database with the backlog.
# Knobs: REPS=3 HOT=100000 ONLY="plain keys hot" PGBIN=/usr/lib/postgresql/15/bin KEEP=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-3}
HOT=${HOT:-100000}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PGOSUSER=${PGOSUSER:-postgres}
SERVER_BIN=${SERVER_BIN:-$ROOT/target/release/durable-server}
BENCH_BIN=${BENCH_BIN:-$ROOT/target/release/durable-bench}
OLD_SERVER=${OLD_SERVER:-}
ONLY=${ONLY:-plain keys hot}
wants() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
WORK=$(mktemp -d /tmp/durable-flow.XXXXXX)
chmod 755 "$WORK"
PGDATA=$WORK/pgdata
SERVER_PID=

log() { printf '%s [load %s] %s\n' "$(date +%T)" "$(cut -d' ' -f1 /proc/loadavg)" "$*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then su "$PGOSUSER" -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then
    as_pg "$PGBIN/pg_ctl -D $PGDATA -m fast -w stop" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

PGPORT=$(free_port)
export PGHOST=127.0.0.1 PGPORT PGUSER=postgres
mkdir -p "$PGDATA"
[ "$(id -u)" = 0 ] && chown "$PGOSUSER" "$PGDATA"
as_pg "$PGBIN/initdb -D $PGDATA -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null"
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
unix_socket_directories = '/tmp'
CONF
touch "$WORK/postgres.log"; [ "$(id -u)" = 0 ] && chown "$PGOSUSER" "$WORK/postgres.log"
as_pg "$PGBIN/pg_ctl -D $PGDATA -l $WORK/postgres.log -w -t 60 start >/dev/null"
psql_admin() { "$PGBIN/psql" -qX -v ON_ERROR_STOP=1 -d postgres "$@" >/dev/null; }
DB_URL=postgres://postgres@127.0.0.1:$PGPORT/durable_bench

fresh() { # server binary -> starts it on a fresh database, sets SERVER_URL
  psql_admin -c "drop database if exists durable_bench with (force)" -c "create database durable_bench"
  local port; port=$(free_port)
  DATABASE_URL=$DB_URL DURABLE_LISTEN=127.0.0.1:$port RUST_LOG=warn "$1" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  SERVER_URL=http://127.0.0.1:$port
  for _ in $(seq 1 300); do
    curl -sf "$SERVER_URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server did not start" >&2; tail -n 20 "$WORK/server.log" >&2; exit 1
}
stop() { kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
bench() { # prints the result line; on failure the bench's whole stderr
  if "$BENCH_BIN" --server "$SERVER_URL" "$@" >/dev/null 2>"$WORK/bench.err"; then tail -n 1 "$WORK/bench.err"
  else echo "FAILED:"; cat "$WORK/bench.err"; fi
}

wants plain && for rep in $(seq 1 "$REPS"); do
  for build in new ${OLD_SERVER:+old}; do
    bin=$SERVER_BIN; [ "$build" = old ] && bin=$OLD_SERVER
    fresh "$bin"
    log "plain throughput, $build build, rep $rep: $(bench --json throughput --tasks 20000 --batch 1000 -w 8 -l 10)"
    stop
  done
done
wants keys && for rep in $(seq 1 "$REPS"); do
  fresh "$SERVER_BIN"
  log "1000 keys x 20, limit 1, rep $rep: $(bench --json keys --keys 1000 --per-key 20 --key-limit 1 -w 16 -l 10)"
  stop
done
wants hot || exit 0
for rep in $(seq 1 "$REPS"); do
  fresh "$SERVER_BIN"
  log "1000 keys x 1, no backlog, rep $rep: $(bench --json keys --keys 1000 --per-key 1 -w 8 -l 1)"
  stop
  fresh "$SERVER_BIN"
  log "1000 keys x 1 behind $HOT blocked, rep $rep: $(bench --json keys --keys 1000 --per-key 1 --hot-backlog "$HOT" -w 8 -l 1)"
  [ "$rep" = "$REPS" ] && break
  stop
done
# The database still holds the hot key's backlog: the plan of one claim.
"$PGBIN/psql" -qX -d durable_bench -c "vacuum analyze" >/dev/null
Q=$("$PGBIN/psql" -qAtX -d durable_bench -c "select name from queues limit 1")
log "runs by state: $("$PGBIN/psql" -qAtX -d durable_bench -c "select string_agg(status || case when held then ' held' else '' end || '=' || n, ', ') from (select status, held, count(*) n from runs group by 1, 2) s")"
"$PGBIN/psql" -qX -d durable_bench <<SQL
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
SELECT r.id FROM runs r JOIN tasks t ON t.id = r.task_id
WHERE r.queue = '$Q' AND r.status = 'pending' AND NOT r.held AND r.available_at <= now() AND t.status = 'pending'
ORDER BY r.priority DESC, r.available_at, r.id LIMIT 10 FOR UPDATE OF r SKIP LOCKED;
ROLLBACK;
SQL
stop
