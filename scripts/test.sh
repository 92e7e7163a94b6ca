#!/usr/bin/env bash
# The whole test suite: lint, types, and pytest against real Solr servers the tests start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# PostgreSQL's server binaries for the shared-ledger tests (a throwaway cluster per run)
if [ -z "${LOGINSIGHTS_TEST_LEDGER_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server binaries missing: apt-get install postgresql (or set LOGINSIGHTS_TEST_LEDGER_URL)" >&2
    exit 1
  fi
fi
.venv/bin/ruff check pipeline tests scripts
.venv/bin/ruff format --check pipeline tests scripts
.venv/bin/mypy pipeline
.venv/bin/pytest "$@"
