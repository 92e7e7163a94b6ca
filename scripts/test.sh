#!/usr/bin/env bash
# The whole test suite: lint, types, and pytest against real Solr servers the tests start.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages the tests use: PostgreSQL's server binaries (a throwaway cluster per run),
# chromium (the console's browser tests, driven by Playwright), npm (setup fetches the
# platforms' pinned published contracts with it), prometheus (promtool; the alert rules' tests
# and the end-to-end alerting test) and prometheus-alertmanager.
missing=()
if [ -z "${LOGINSIGHTS_TEST_LEDGER_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]} (apt-get install them)" >&2
    exit 1
  fi
fi
bash scripts/setup.sh
.venv/bin/ruff check pipeline tests scripts
.venv/bin/ruff format --check pipeline tests scripts
.venv/bin/mypy pipeline
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet
promtool check rules monitoring/prometheus/loginsights-rules.yml
promtool test rules monitoring/prometheus/loginsights-rules.test.yml
promtool check config monitoring/prometheus/prometheus.yml
amtool check-config monitoring/alertmanager/alertmanager.yml
.venv/bin/pytest "$@"
