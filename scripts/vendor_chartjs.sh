#!/usr/bin/env bash
# Vendor Chart.js from the npm registry into the console's static files (no CDN: the console
# must work on a closed network). Run it to move to another version; the result is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-4.6.1}"
work="$(mktemp -d)"
(cd "$work" && npm pack "chart.js@${version}" >/dev/null && tar xzf chart.js-*.tgz)
cp "$work/package/dist/chart.umd.min.js" pipeline/console/static/chart.umd.min.js
cp "$work/package/LICENSE.md" pipeline/console/static/chart.js.LICENSE.md
echo "vendored chart.js ${version}"
