#!/usr/bin/env bash
# Whole-machine profile (perf record -a -g, 6 s) of the claim-1 and claim-10
# paths: a release server on the private cluster of ../shared/peers/pg.sh
# (start it first), a fresh database each, durable-bench throughput.
cd "$(dirname "$0")/.."
P="/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p 55432 -U postgres -tA"
for l in 1 10; do
  $P -c "DROP DATABASE IF EXISTS durable_prof" -c "CREATE DATABASE durable_prof" >/dev/null
  RUST_LOG=warn target/release/durable-server --listen 127.0.0.1:18094 --database-url postgres://postgres@127.0.0.1:55432/durable_prof >/tmp/prof.log 2>&1 & S=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18094/healthz >/dev/null && break; sleep 0.1; done
  ack=--ack-batch; [ $l = 1 ] && ack=--no-ack-batch
  n=80000; [ $l = 1 ] && n=30000
  (target/release/durable-bench --server http://127.0.0.1:18094 throughput -n $n --batch 1000 -w 8 -l $l $ack --warmup 0 --long-poll 1 2>&1 | tail -1 > /tmp/prof-$l.txt) & B=$!
  sleep 6
  perf record -F 999 -a -g -o /tmp/prof-$l.perf -- sleep 6 >/dev/null 2>&1
  wait $B; cat /tmp/prof-$l.txt
  kill $S; wait $S 2>/dev/null
  echo "-- claim $l: by process"
  perf report -i /tmp/prof-$l.perf --no-children --sort comm -q -g none 2>/dev/null | head -8
  echo "-- claim $l: top symbols"
  perf report -i /tmp/prof-$l.perf --no-children --sort comm,sym -q -g none 2>/dev/null | head -25
done
