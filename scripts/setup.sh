#!/usr/bin/env bash
# Install everything loginsights needs into .venv and build the local Solr (cached).
# Needs: python3 (3.11+), Java 17 and Maven on PATH; network access to PyPI and Maven Central.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
.venv/bin/loginsights solr build
