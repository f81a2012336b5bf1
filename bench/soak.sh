#!/usr/bin/env bash
# Soak (issue 13, target 6): one release server on the private cluster of
# ../shared/peers/pg.sh (start it first), queue `soak` with a short task
# TTL (retention on), then RUNS back-to-back runs of `durable-bench steady`
# of MINUTES each at RATE tasks/s (PER_CALL tasks per create call). After
# each run: the bench's line, server RSS and CPU, table sizes and rows.
# Results (the bench's JSON per run) go to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-2000} PER_CALL=${PER_CALL:-20} MINUTES=${MINUTES:-5} RUNS=${RUNS:-6} TTL=${TTL:-60}
PORT=${PGPORT:-55432} HTTP=${HTTP_PORT:-18090} OUT=${OUT:-/tmp/soak}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
P="$PGBIN/psql -h 127.0.0.1 -p $PORT -U postgres -tA"
$P -c "DROP DATABASE IF EXISTS durable_soak" -c "CREATE DATABASE durable_soak" >/dev/null
mkdir -p "$OUT"
RUST_LOG=${RUST_LOG:-warn} target/release/durable-server --listen "127.0.0.1:$HTTP" \
  --database-url "postgres://postgres@127.0.0.1:$PORT/durable_soak" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP/healthz" >/dev/null && break; sleep 0.1; done
curl -sf -H 'content-type: application/json' -d "{\"name\":\"soak\",\"cleanup\":{\"task_ttl_seconds\":$TTL}}" \
  "http://127.0.0.1:$HTTP/api/v1/queues" >/dev/null
for run in $(seq "$RUNS"); do
  target/release/durable-bench --server "http://127.0.0.1:$HTTP" --queue soak --json \
    steady --rate "$RATE" --per-call "$PER_CALL" --duration "${MINUTES}m" -w 16 -l 10 --handoff \
    >"$OUT/run-$run.json" 2>"$OUT/run-$run.err"
  line=$(tail -1 "$OUT/run-$run.err")
  rss=$(ps -o rss= -p $SERVER) cpu=$(ps -o time= -p $SERVER)
  sizes=$($P -d durable_soak -c "select pg_size_pretty(pg_total_relation_size('tasks')) || ' / ' || pg_size_pretty(pg_total_relation_size('runs')) || ', rows ' || (select count(*) from tasks)")
  echo "run $run: $line | server RSS ${rss} kB, CPU $cpu | tasks / runs $sizes"
done
