#!/usr/bin/env bash
# The dashboard's browser tests: headless Chromium (the distribution's
# package) driven by playwright-core against real durable-server processes.
# Uses $DURABLE_SERVER_BIN, else target/debug/durable-server; $CHROMIUM,
# else /usr/bin/chromium. Screenshots land in target/ui-screenshots.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${DURABLE_SERVER_BIN:-}" ] && [[ "$DURABLE_SERVER_BIN" != /* ]]; then
  export DURABLE_SERVER_BIN="$PWD/$DURABLE_SERVER_BIN"
fi
cd "$here"
# playwright-core downloads no browser; the lock file pins it.
npm ci --no-audit --no-fund --loglevel=error
node --test --test-concurrency=1 dashboard.test.mjs
