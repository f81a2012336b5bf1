#!/usr/bin/env bash
# durable's performance baseline on this machine, next to PostgreSQL's own ceiling.
#
#   bench/compare.sh            # from anywhere; ~15 min on 2 cores
#
# 1. builds the release binaries (cargo build --release -p durable-app -p durable-bench);
# 2. starts a private PostgreSQL (initdb into a temp dir, run as OS user postgres when
#    root, a free port, max_connections=200, shared_buffers=256MB, fsync and
#    synchronous_commit on), like ../shared/peers/pg.sh;
# 3. pgbench ceiling: one single-row UPDATE per transaction, 8 clients, 2 threads,
#    -M prepared, scale 10 (like ../shared/peers/ceiling.sh);
# 4. for PostgreSQL and SQLite: every scenario REPS times, each in a fresh database
#    with a freshly started release server (HTTP), plus the in-process engine for
#    throughput and wake-up (what HTTP costs);
# 5. prints a markdown table of medians, throughput as a ratio to the ceiling.
#
# Knobs (environment): REPS=3 CEILING_SECONDS=20 TASKS=20000 N_SINGLE=5000 RATE=1000
# DURATION=20s SIZES=10000,1000000 STORES="postgres sqlite" SKIP_BUILD=1 KEEP=1
# (keep the temp dir and stop nothing) SERVER_RUST_LOG=info (the server's log level;
# its default) PGBIN=/usr/lib/postgresql/15/bin EXTRA_ARGS="" (added to every bench call).
# Raw results: $WORK/results.jsonl; server logs: $WORK/server-*.log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-3}
CEILING_SECONDS=${CEILING_SECONDS:-20}
TASKS=${TASKS:-20000}
N_SINGLE=${N_SINGLE:-5000}
RATE=${RATE:-1000}
DURATION=${DURATION:-20s}
SIZES=${SIZES:-10000,1000000}
STORES=${STORES:-postgres sqlite}
EXTRA_ARGS=${EXTRA_ARGS:-}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PGOSUSER=${PGOSUSER:-postgres}
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries (set PGBIN)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/durable-bench.XXXXXX)
chmod 755 "$WORK"
PGDATA=$WORK/pgdata
RESULTS=$WORK/results.jsonl
SERVER_PID=
: >"$RESULTS"

log() { printf '%s [load %s] %s\n' "$(date +%T)" "$(cut -d' ' -f1 /proc/loadavg)" "$*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then su "$PGOSUSER" -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then
    as_pg "$PGBIN/pg_ctl -D $PGDATA -m fast -w stop" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  else
    log "kept $WORK (PostgreSQL still running on port $PGPORT)"
  fi
}
trap cleanup EXIT

# --- build -----------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
  log "building release binaries"
  (cd "$ROOT" && cargo build --release -p durable-app -p durable-bench)
fi
SERVER_BIN=$ROOT/target/release/durable-server
BENCH_BIN=$ROOT/target/release/durable-bench

# --- private PostgreSQL ----------------------------------------------------
PGPORT=$(free_port)
export PGHOST=127.0.0.1 PGPORT PGUSER=postgres
mkdir -p "$PGDATA"
[ "$(id -u)" = 0 ] && chown "$PGOSUSER" "$PGDATA"
as_pg "$PGBIN/initdb -D $PGDATA -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null"
cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
unix_socket_directories = '/tmp'
EOF
touch "$WORK/postgres.log"; [ "$(id -u)" = 0 ] && chown "$PGOSUSER" "$WORK/postgres.log"
as_pg "$PGBIN/pg_ctl -D $PGDATA -l $WORK/postgres.log -w -t 60 start >/dev/null"
PGVERSION=$("$PGBIN/psql" -qAtX -d postgres -c 'show server_version')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "PostgreSQL $PGVERSION on 127.0.0.1:$PGPORT ($PGDATA)"
psql_admin() { "$PGBIN/psql" -qX -v ON_ERROR_STOP=1 -d postgres "$@" >/dev/null; }

# --- ceiling ---------------------------------------------------------------
log "pgbench ceiling: single-row UPDATE per transaction, 8 clients, 2 threads, ${CEILING_SECONDS}s x $REPS"
psql_admin -c "drop database if exists pgbench_ceiling" -c "create database pgbench_ceiling"
"$PGBIN/pgbench" -q -i -s 10 pgbench_ceiling >/dev/null 2>&1
cat >"$WORK/update.sql" <<'EOF'
\set aid random(1, 1000000)
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
EOF
for rep in $(seq 1 "$REPS"); do
  "$PGBIN/psql" -qX -d pgbench_ceiling -c "vacuum analyze" -c "checkpoint" >/dev/null
  tps=$("$PGBIN/pgbench" -n -M prepared -c 8 -j 2 -T "$CEILING_SECONDS" -f "$WORK/update.sql" pgbench_ceiling 2>&1 |
        sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')
  log "  ceiling rep $rep: $tps TPS"
  echo "{\"scenario\":\"ceiling\",\"store\":\"postgres\",\"mode\":\"pgbench\",\"rep\":$rep,\"tps\":${tps:-null}}" >>"$RESULTS"
done
psql_admin -c "drop database pgbench_ceiling"
# Do not leave durable the ceiling's dirty pages and WAL to flush.
psql_admin -c "checkpoint"

# --- durable ---------------------------------------------------------------
RUN=0
fresh_database() { # store -> prints the database URL
  RUN=$((RUN + 1))
  case $1 in
    postgres)
      psql_admin -c "drop database if exists durable_bench with (force)" -c "create database durable_bench"
      echo "postgres://postgres@127.0.0.1:$PGPORT/durable_bench" ;;
    sqlite)
      mkdir -p "$WORK/sqlite-$RUN"
      echo "sqlite://$WORK/sqlite-$RUN/durable.db" ;;
  esac
}

start_server() { # database URL -> sets SERVER_URL
  local port; port=$(free_port)
  DATABASE_URL=$1 DURABLE_LISTEN=127.0.0.1:$port RUST_LOG=${SERVER_RUST_LOG:-info} \
    "$SERVER_BIN" >"$WORK/server-$RUN.log" 2>&1 &
  SERVER_PID=$!
  SERVER_URL=http://127.0.0.1:$port
  for _ in $(seq 1 300); do
    curl -sf "$SERVER_URL/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not start; see $WORK/server-$RUN.log" >&2; tail -n 20 "$WORK/server-$RUN.log" >&2; exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# case name | mode | arguments of durable-bench after the target flags
cases() {
  echo "throughput|http|throughput --tasks $TASKS --batch 100"
  echo "single|http|throughput --tasks $N_SINGLE --batch 1"
  echo "wakeup|http|wakeup"
  echo "steady|http|steady --rate $RATE --duration $DURATION"
  [ "$1" = postgres ] && echo "growth|http|table-growth --sizes $SIZES"
  echo "throughput|in-process|throughput --tasks $TASKS --batch 100"
  echo "wakeup|in-process|wakeup"
}

for store in $STORES; do
  while IFS='|' read -r name mode args; do
    for rep in $(seq 1 "$REPS"); do
      url=$(fresh_database "$store")
      log "$store $mode $name rep $rep: $args"
      if [ "$mode" = http ]; then
        start_server "$url"
        target=(--server "$SERVER_URL" --database-url "$url")
      else
        target=(--in-process --database-url "$url")
      fi
      # shellcheck disable=SC2086 # $args and $EXTRA_ARGS are word lists
      out=$("$BENCH_BIN" --json "${target[@]}" $EXTRA_ARGS $args)
      [ "$mode" = http ] && stop_server
      echo "$out" | jq -c --arg case "$name" --arg store "$store" --argjson rep "$rep" \
        '. + {case: $case, store: $store, rep: $rep} | del(.samples)' >>"$RESULTS"
    done
  done < <(cases "$store")
done

# --- the table -------------------------------------------------------------
python3 - "$RESULTS" "$PGVERSION" "$(nproc)" "$REPS" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, statistics, sys
path, pgversion, cores, reps, load_start, load_end = sys.argv[1:]
rows = [json.loads(line) for line in open(path)]

def med(case, store, mode, *keys):
    vals = []
    for r in rows:
        if r.get("case", r["scenario"]) == case and r["store"] == store and r["mode"] == mode:
            v = r
            for k in keys:
                v = v[k]
            vals.append(v)
    return statistics.median(vals) if vals else None

ceiling = med("ceiling", "postgres", "pgbench", "tps")
def num(v, digits=0):
    return "—" if v is None else f"{v:,.{digits}f}".replace(",", " ")
def ratio(v):
    return "" if v is None or not ceiling else f" ({v / ceiling:.2f}×)"
def pair(a, b, digits=2):
    return "—" if a is None else f"{num(a, digits)} / {num(b, digits)}"

columns = [(s, m) for s in ("postgres", "sqlite") for m in ("http", "in-process")
           if any(r["store"] == s and r["mode"] == m for r in rows)]
names = {"postgres": "PostgreSQL", "sqlite": "SQLite"}
head = ["metric", "target"] + [f"{names[s]} ({m})" for s, m in columns]
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * len(columns)]
def row(metric, target, cell):
    lines.append("| " + " | ".join([metric, target] + [cell(s, m) for s, m in columns]) + " |")

row("pgbench ceiling: single-row UPDATE TPS", "—",
    lambda s, m: num(ceiling) if (s, m) == ("postgres", "http") else "")
row("enqueue jobs/s (batch 100)", "—",
    lambda s, m: num(med("throughput", s, m, "enqueue_jobs_per_second")) + ratio(med("throughput", s, m, "enqueue_jobs_per_second")))
row("enqueue jobs/s (one at a time)", "—",
    lambda s, m: num(med("single", s, m, "enqueue_jobs_per_second")) + ratio(med("single", s, m, "enqueue_jobs_per_second")))
row("processed jobs/s (16 workers, limit 10, batch ack)", "≥ 0.5× ceiling",
    lambda s, m: num(med("throughput", s, m, "processed_jobs_per_second")) + ratio(med("throughput", s, m, "processed_jobs_per_second")))
row("create→claim p50 / p99 ms (backlog drain)", "—",
    lambda s, m: pair(med("throughput", s, m, "create_to_claim", "p50_ms"), med("throughput", s, m, "create_to_claim", "p99_ms"), 0))
row("wake-up median / p99 ms (create answered → claim answered)", "median < 5 ms",
    lambda s, m: pair(med("wakeup", s, m, "wakeup", "p50_ms"), med("wakeup", s, m, "wakeup", "p99_ms")))
row("wake-up median ms from create sent (as the peers measure)", "—",
    lambda s, m: num(med("wakeup", s, m, "wakeup_from_request", "p50_ms"), 2))
def steady(s, m):
    p50 = med("steady", s, m, "claim_latency", "p50_ms")
    if p50 is None:
        return "—"
    bounded = [r["bounded"] for r in rows if r.get("case") == "steady" and r["store"] == s and r["mode"] == m]
    return f"{pair(p50, med('steady', s, m, 'claim_latency', 'p99_ms'))}, backlog {'bounded' if all(bounded) else 'GROWING'} ({sum(bounded)}/{len(bounded)})"
rate = next((r["rate"] for r in rows if r.get("case") == "steady"), "?")
row(f"steady {rate}/s: claim latency p50 / p99 ms", "bounded backlog", steady)
def growth(s, m):
    small = med("growth", s, m, "phases", 0, "claim", "p50_ms")
    if small is None:
        return "—"
    large = med("growth", s, m, "phases", -1, "claim", "p50_ms")
    r = med("growth", s, m, "p50_ratio")
    return f"{num(small, 2)} → {num(large, 2)} ({r:.2f}×)"
sizes = next((r["phases"] for r in rows if r.get("case") == "growth"), [])
label = " → ".join(f"{p['finished_runs']:,}".replace(",", " ") for p in (sizes[:1] + sizes[-1:])) if sizes else "?"
row(f"claim p50 ms with {label} finished runs (ratio)", "≤ 1.5×", growth)

print(f"Medians of {reps} repetitions; {cores} cores; PostgreSQL {pgversion} (private cluster, fsync and "
      "synchronous_commit on); every repetition in a fresh database with a freshly started release server. "
      f"Load average (1, 5, 15 min) at the start: {load_start}; at the end: {load_end}.\n")
print("\n".join(lines))
EOF
