#!/usr/bin/env bash
# The whole test suite: lint, types, and pytest against real Solr servers the tests start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check pipeline tests scripts
.venv/bin/ruff format --check pipeline tests scripts
.venv/bin/mypy pipeline
.venv/bin/pytest "$@"
