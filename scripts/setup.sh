#!/usr/bin/env bash
# Install everything loginsights needs into .venv and build the local Solr (cached).
# Needs: python3 (3.11+), Java 17, Maven and npm on PATH; network access to PyPI, Maven Central
# and the npm registry (the platforms' pinned contracts: loginsights contracts fetch).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
.venv/bin/loginsights contracts fetch
.venv/bin/loginsights solr build
