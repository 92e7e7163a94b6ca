#!/usr/bin/env bash
# The main job on the embedded default: a real local Solr, a Shopify simulator holding a day of
# orders (some flawed, some 5xx answers), one import pass, and the failed orders shown with the
# documented request.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LOGINSIGHTS_SOLR_URL="${LOGINSIGHTS_SOLR_URL:-http://127.0.0.1:8983/solr}"
export LOGINSIGHTS_SHOPS_FILE="examples/shops.demo.toml"
export LOGINSIGHTS_LEDGER_PATH="${LOGINSIGHTS_LEDGER_PATH:-.loginsights/demo-ledger.sqlite3}"
export DEMO_SHOPIFY_TOKEN="shpat_simulated"
mkdir -p .loginsights
rm -f "$LOGINSIGHTS_LEDGER_PATH"*  # each demo run imports its simulated day afresh
.venv/bin/loginsights solr start

.venv/bin/loginsights simulate shopify --port 8701 --orders 2000 --seed 7 --rate 80:40 \
  --fault missing-address:0.02 --fault missing-phone:0.01 --fault bad-email:0.01 \
  --fault unicode:0.05 --fault burst5xx:0.05 --cost 20000:2000 > .loginsights/simulator.json 2> .loginsights/simulator.log &
SIMULATOR=$!
trap 'kill $SIMULATOR 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fs -o /dev/null http://127.0.0.1:8701/_sim/stats && break
  sleep 0.2
done

.venv/bin/loginsights import --shop hc-demo
.venv/bin/loginsights query 'docType:SHOPIFY_ORDER' --fq 'shop:hc-demo' --sort 'orderCreatedAt desc' --rows 5
echo
echo "The daily reconciliation (seed 002): every order of the last day accounted for."
.venv/bin/loginsights reconcile --shop hc-demo --hours 25
echo
echo "To go on with this demo's ledger and shops in another shell, first run:"
echo "  export LOGINSIGHTS_LEDGER_PATH=$(realpath "$LOGINSIGHTS_LEDGER_PATH")"
echo "  export LOGINSIGHTS_SHOPS_FILE=$(realpath "$LOGINSIGHTS_SHOPS_FILE") LOGINSIGHTS_SOLR_URL=$LOGINSIGHTS_SOLR_URL"
echo "  export PATH=$(realpath .venv/bin):\$PATH"
echo "then: loginsights failures; loginsights show '#1001'; loginsights query 'docType:SHOPIFY_ORDER' --rows 100"
echo "(the simulated shop stopped with this script: a new import would wait for it in vain)."
echo "Solr keeps running in the background: 'loginsights solr status', 'loginsights solr stop'."
