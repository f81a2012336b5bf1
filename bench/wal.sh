#!/usr/bin/env bash
# WAL bytes per job of one throughput run (N jobs, batches of 1 000, 8
# workers, claim 10, batch acknowledgement), measured with
# pg_current_wal_lsn() around the run on the private cluster of
# ../shared/peers/pg.sh (start it first: ../shared/peers/pg.sh start).
# STATS=1 adds pg_waldump's per-record-type totals for the window.
# Extra arguments go to `durable-bench throughput` (e.g. --handoff).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
PORT=${PGPORT:-55432}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BENCH=${BENCH:-target/release/durable-bench}
P="$PGBIN/psql -h 127.0.0.1 -p $PORT -U postgres -tA"
$P -c "DROP DATABASE IF EXISTS durable_wal" -c "CREATE DATABASE durable_wal" >/dev/null
URL=postgres://postgres@127.0.0.1:$PORT/durable_wal
# Migrations and the first statements outside the measured window.
$BENCH --in-process --database-url "$URL" throughput -n 100 --warmup 0 --batch 100 >/dev/null 2>&1
$P -c "CHECKPOINT" >/dev/null
L0=$($P -c "select pg_current_wal_lsn()")
$BENCH --in-process --database-url "$URL" throughput -n "$N" --warmup 0 --batch 1000 -w 8 -l 10 "$@" 2>&1 | tail -1
L1=$($P -c "select pg_current_wal_lsn()")
echo "WAL bytes per job: $($P -c "select round(pg_wal_lsn_diff('$L1','$L0') / $N)")"
if [ -n "${STATS:-}" ]; then
  DATA=$($P -c "show data_directory")
  as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
  as_pg "$PGBIN/pg_waldump --stats=record -p $DATA/pg_wal -s $L0 -e $L1" 2>/dev/null | sort -t'(' -k4 -rn | head -20
fi
