#!/usr/bin/env bash
# Lints, type-checks and tests the Python package against a real server.
# Run from anywhere; CI calls it from the repository root after `cargo test`
# (the tests use $DURABLE_SERVER_BIN, else target/release or target/debug
# durable-server). Extra arguments go to pytest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
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

cd clients/python
"$root/$venv/bin/ruff" check .
"$root/$venv/bin/mypy" --strict src/durable
"$root/$venv/bin/pytest" "$@"
