#!/usr/bin/env bash
# The main job on the embedded default: a real local Solr, a Shopify simulator holding a day of
# orders (some flawed, some 5xx answers), one import pass, and the failed orders shown with the
# documented request. Run it again: the same answer, in the ledger and in Solr.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LOGINSIGHTS_SOLR_URL="${LOGINSIGHTS_SOLR_URL:-http://127.0.0.1:8983/solr}"
export LOGINSIGHTS_SHOPS_FILE="examples/shops.demo.toml"
export LOGINSIGHTS_LEDGER_PATH="${LOGINSIGHTS_LEDGER_PATH:-.loginsights/demo-ledger.sqlite3}"
export DEMO_SHOPIFY_TOKEN="shpat_simulated"
mkdir -p .loginsights
# The simulated day ends two minutes before the first run (kept, and past the shop's settle lag),
# so every run and every restart of the shop serves, imports and reconciles the same orders.
[ -s .loginsights/demo-until ] || date -u -d '2 minutes ago' +%Y-%m-%dT%H:%M:%SZ > .loginsights/demo-until
UNTIL="$(cat .loginsights/demo-until)"
SIMULATE=(simulate shopify --port 8701 --orders 2000 --seed 7 --until "$UNTIL" --rate 80:40
  --fault missing-address:0.02 --fault missing-phone:0.01 --fault bad-email:0.01
  --fault unicode:0.05 --fault burst5xx:0.05 --cost 20000:2000)
.venv/bin/loginsights solr start

.venv/bin/loginsights "${SIMULATE[@]}" > .loginsights/simulator.json 2> .loginsights/simulator.log &
SIMULATOR=$!
trap 'kill $SIMULATOR 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fs -o /dev/null http://127.0.0.1:8701/_sim/stats && break
  sleep 0.2
done

# each run imports its simulated day afresh: a new ledger, and Solr holding only what it says
rm -f "$LOGINSIGHTS_LEDGER_PATH"*
.venv/bin/loginsights solr reindex --shop hc-demo --fresh >/dev/null
.venv/bin/loginsights import --shop hc-demo --from "$(date -u -d "$UNTIL - 24 hours" +%Y-%m-%dT%H:%M:%SZ)" \
  --to "$UNTIL"
.venv/bin/loginsights query 'docType:SHOPIFY_ORDER' --fq 'shop:hc-demo' --sort 'orderCreatedAt desc' --rows 5
echo
echo "The daily reconciliation (seed 002): every order of the simulated day accounted for."
.venv/bin/loginsights reconcile --shop hc-demo \
  --hours $(( ( $(date +%s) - $(date -d "$UNTIL" +%s) ) / 3600 + 25 ))
# one failed order to follow through: its id, its name, and the fix a merchant would make
read -r ORDER_ID ORDER_NAME FIX < <(.venv/bin/loginsights failures --shop hc-demo --json | .venv/bin/python -c '
import json, sys
fixes = {"missing_phone": {"phone": "+16175550100"}, "bad_email": {"email": "buyer@example.com"},
         "missing_address": {"address": {"first_name": "Ada", "last_name": "Lovelace",
         "address1": "1 Main Rd.", "city": "Boston", "province_code": "MA", "zip": "02110",
         "country_code": "US"}}}
first = next(f for f in json.load(sys.stdin) if f["errorCode"] in fixes)
print(first["orderId"], first["name"], json.dumps(fixes[first["errorCode"]], separators=(",", ":")))')
echo
cat <<HANDOFF
To go on where this demo stopped, paste into a shell:

  export PATH=$(realpath .venv/bin):\$PATH
  export LOGINSIGHTS_SOLR_URL=$LOGINSIGHTS_SOLR_URL
  export LOGINSIGHTS_SHOPS_FILE=$(realpath "$LOGINSIGHTS_SHOPS_FILE")
  export LOGINSIGHTS_LEDGER_PATH=$(realpath "$LOGINSIGHTS_LEDGER_PATH")
  export DEMO_SHOPIFY_TOKEN=$DEMO_SHOPIFY_TOKEN
  loginsights ${SIMULATE[*]} &    # the simulated shop again, the same orders

then, for example:

  loginsights failures                                  # what failed, newest first
  loginsights show '$ORDER_NAME' --shop hc-demo                 # one order's story
  curl -X POST localhost:8701/_sim/orders/$ORDER_ID -d '$FIX'   # the merchant fixes it
  loginsights reimport --shop hc-demo --order-id $ORDER_ID   # and it is imported
  LOGINSIGHTS_API_ADMIN_TOKENS=demo loginsights serve   # the console: http://127.0.0.1:8080/ (token: demo)

Solr keeps running in the background: 'loginsights solr status', 'loginsights solr stop'.
HANDOFF
