#!/usr/bin/env bash
# Lints, type-checks and tests the Python package against a real server.
# Run from anywhere; CI calls it from the repository root after `cargo test`
# (the tests use $DURABLE_SERVER_BIN, else target/release or target/debug
# durable-server). Extra arguments go to pytest.
#
# The suite runs on SQLite and on PostgreSQL: on $DATABASE_URL when it is a
# postgres:// URL, else on a private throwaway cluster started here from the
# local PostgreSQL server binaries (initdb, pg_ctl), when they are installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# A relative DURABLE_SERVER_BIN means relative to where we were called from;
# the tests run from clients/python.
if [ -n "${DURABLE_SERVER_BIN:-}" ] && [[ "$DURABLE_SERVER_BIN" != /* ]]; then
  export DURABLE_SERVER_BIN="$PWD/$DURABLE_SERVER_BIN"
fi
cd "$root"
venv="target/python-venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/pip" ]; then
  rm -rf "$venv"
  if ! "$python" -m venv "$venv"; then
    rm -rf "$venv"
    if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
      echo "error: '$python -m venv' failed because the venv module is missing;" \
        "install python3-venv (e.g. 'apt-get install python3-venv')" >&2
    else
      echo "error: '$python -m venv $venv' failed" >&2
    fi
    exit 1
  fi
fi

"$venv/bin/pip" install --quiet --disable-pip-version-check -e './clients/python[test]'

if [[ "${DATABASE_URL:-}" != postgres* ]]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$pgbin/initdb" ] || pgbin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  if [ -x "$pgbin/initdb" ]; then
    pgdir=$(mktemp -d /tmp/durable-python-pg.XXXXXX)
    chmod 755 "$pgdir"
    as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
    [ "$(id -u)" = 0 ] && chown postgres "$pgdir"
    pgport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_pg "$pgbin/initdb -D $pgdir/data -U postgres --auth=trust -E UTF8 >/dev/null"
    as_pg "$pgbin/pg_ctl -D $pgdir/data -l $pgdir/log -w -t 60 \
      -o '-c listen_addresses=127.0.0.1 -c port=$pgport -c unix_socket_directories=$pgdir' start >/dev/null"
    trap 'as_pg "$pgbin/pg_ctl -D $pgdir/data -m immediate -w stop" >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
    export DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/postgres"
    echo "PostgreSQL for the tests: a private cluster on port $pgport"
  else
    echo "no DATABASE_URL and no PostgreSQL server binaries: the PostgreSQL runs are skipped" >&2
  fi
fi

cd clients/python
"$root/$venv/bin/ruff" check .
"$root/$venv/bin/mypy" --strict src/durable
"$root/$venv/bin/pytest" "$@"
