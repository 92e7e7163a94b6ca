#!/usr/bin/env bash
# The main job on the embedded default: a real local Solr, a few failed import attempts indexed,
# and the failed Shopify orders shown with the documented request.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LOGINSIGHTS_SOLR_URL="${LOGINSIGHTS_SOLR_URL:-http://127.0.0.1:8983/solr}"
.venv/bin/loginsights solr start
.venv/bin/loginsights demo
.venv/bin/loginsights query 'docType:SHOPIFY_ORDER'
echo
echo "Solr keeps running in the background: 'loginsights solr status', 'loginsights solr stop'."
