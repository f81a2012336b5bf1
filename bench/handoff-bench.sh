#!/usr/bin/env bash
# durable-bench, acknowledging with the next claim: `--ack-batch` and
# `--no-ack-batch` become `--handoff` (claim 10: the batch rides on the next
# claim; claim 1: each job's complete does). For the peers' harness, whose
# durable_rust rows call DURABLE_BENCH_BIN with one of those two flags:
#   DURABLE_BENCH_BIN=bench/handoff-bench.sh ONLY=graphile,graphile_lq,durable_rust,durable_rust_1 \
#     DURABLE_BIN=target/release/durable-server ../shared/peers/run-all.sh
# The harness's labels then still say "batch ack" / "one complete per job";
# BENCHMARKS.md says which run used this.
set -euo pipefail
BENCH=${HANDOFF_BENCH_BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/durable-bench}
args=()
for a in "$@"; do
  case "$a" in
    --ack-batch | --no-ack-batch) args+=(--handoff) ;;
    *) args+=("$a") ;;
  esac
done
exec "$BENCH" "${args[@]}"
