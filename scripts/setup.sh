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
  # Airflow 2.11 sets an attribute on cryptography's MultiFernet, which cryptography 51 made
  # a Rust object without one: every connection with a password then fails to decrypt.
  pins=()
  case "$AIRFLOW_VERSION" in 2.*) pins=("cryptography<51") ;; esac
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "apache-airflow==$AIRFLOW_VERSION" "${pins[@]}" -e ".[test]" 2>&1 | grep -v "is ignored" >&2 || true
  "$VENV/bin/python" -c "import airflow, airflow_provider_bailian" >/dev/null
  touch "$stamp"
fi
