#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis, every check on (chaos/schemathesis.toml),
# against the real durable-server over its own /openapi.json: once on the
# memory store, once on PostgreSQL. Any 5xx, schema violation or other
# failed check makes this exit non-zero.
#
#   chaos/schemathesis.sh                       # both stores, 20 examples per operation
#   SCHEMATHESIS_EXAMPLES=200 chaos/schemathesis.sh   # the long form
#   SCHEMATHESIS_STORES=memory chaos/schemathesis.sh
#
# It installs what it needs: a venv under target/ with schemathesis from
# PyPI (python3-venv from apt first when `python3 -m venv` cannot work), and
# builds the server (or takes $DURABLE_SERVER_BIN). PostgreSQL: $DATABASE_URL if set (the server migrates
# it and the fuzzer writes into it), else a throwaway cluster from the local
# initdb/pg_ctl on a free loopback port, removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-20}"
SEED="${SCHEMATHESIS_SEED:-1}"
STORES="${SCHEMATHESIS_STORES:-memory postgres}"
VENV="target/schemathesis-venv"
OUT="target/schemathesis"
SERVER="${DURABLE_SERVER_BIN:-${CARGO_TARGET_DIR:-target}/debug/durable-server}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install_schemathesis() {
  if "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    return
  fi
  rm -rf "$VENV"
  if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 not found; installing it"
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3 python3-venv
  fi
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    echo "python3 -m venv does not work here; installing python3-venv"
    rm -rf "$VENV"
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3-venv
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

CLEANUP=()
cleanup() {
  local i
  for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[i]}" || true; done
}
trap cleanup EXIT

# Sets $url to a PostgreSQL database for the server (not in a subshell:
# the cluster's clean-up must reach the EXIT trap).
postgres_url() {
  if [ -n "${DATABASE_URL:-}" ]; then
    url="$DATABASE_URL"
    return
  fi
  local bin
  bin="$(dirname "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")"
  if [ ! -x "$bin/pg_ctl" ]; then
    echo "no PostgreSQL server binaries (initdb, pg_ctl); install postgresql or set DATABASE_URL" >&2
    return 1
  fi
  local run_as=() dir port
  dir="$(mktemp -d /tmp/durable-schemathesis-pg-XXXXXX)"
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root.
    chown postgres "$dir"
    run_as=(runuser -u postgres --)
  fi
  port="$(free_port)"
  "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  CLEANUP+=("${run_as[*]} '$bin/pg_ctl' -D '$dir/data' -m immediate stop >/dev/null 2>&1; rm -rf '$dir'")
  url="postgres://postgres@127.0.0.1:$port/postgres"
}

# Runs schemathesis against a fresh server on database URL $2; named $1.
fuzz() {
  local name="$1" database_url="$2" port pid rc
  port="$(free_port)"
  mkdir -p "$OUT/$name"
  "$SERVER" --listen "127.0.0.1:$port" --database-url "$database_url" --log-format json \
    >"$OUT/$name/server.log" 2>&1 &
  pid=$!
  CLEANUP+=("kill $pid 2>/dev/null")
  echo "== schemathesis on the $name store (server log: $OUT/$name/server.log)"
  rc=0
  # One worker: with two, hypothesis parses lambda sources on two threads
  # at once and CPython 3.11 fails with "AST constructor recursion depth
  # mismatch" (seen in a clean-clone CI run).
  # A claim may long-poll for up to 60 s (long_poll_seconds 1-60): the
  # request timeout and the response-time check must allow the longest
  # legal wait, or a correct answer reads as a failure.
  "$VENV/bin/schemathesis" --config-file chaos/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
    --wait-for-schema 60 --request-timeout 75 --max-response-time 65 --no-color \
    --report junit --report-dir "$OUT/$name" || rc=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return "$rc"
}

install_schemathesis
if [ -z "${DURABLE_SERVER_BIN:-}" ]; then
  # The server as `cargo test --workspace` builds it (right after that, as in
  # CI, nothing is rebuilt): a plain `cargo build` resolves other features
  # (no dev-dependencies) and would compile the whole tree a second time.
  cargo test --workspace --locked --no-run --quiet
fi

passed=0
failed=0
failures=""
for store in $STORES; do
  case "$store" in
    memory) url="memory:" ;;
    postgres) postgres_url ;;
    *) echo "unknown store $store (memory, postgres)" >&2; exit 2 ;;
  esac
  if fuzz "$store" "$url"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures="$failures $store"
  fi
done

echo "schemathesis: $passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
  echo "failing stores:$failures (reports under $OUT/)"
  exit 1
fi
