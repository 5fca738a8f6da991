#!/usr/bin/env bash
# Create (or reuse) a virtualenv with Airflow and this provider installed.
# Usage: VENV=.venv AIRFLOW_VERSION=3.3.2 source-free: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
PYTHON="${PYTHON:-python3}"
stamp="$VENV/.bailian-installed-$AIRFLOW_VERSION"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "apache-airflow==$AIRFLOW_VERSION" -e ".[test]" 2>&1 | grep -v "is ignored" >&2 || true
  "$VENV/bin/python" -c "import airflow, airflow_provider_bailian" >/dev/null
  touch "$stamp"
fi
