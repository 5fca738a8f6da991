#!/usr/bin/env bash
# Run the test-suite and the linters (sets up the virtualenv first when needed).
# Usage: bash scripts/test.sh [pytest args]   (AIRFLOW_VERSION=2.11.2 for Airflow 2)
# The tests mostly wait (emulator clocks, Airflow subprocesses, servers starting), so they run
# in BAILIAN_TEST_WORKERS parallel processes (pytest-xdist; 0 runs them in this process; 4 by
# default: on 2 cores the suite uses about 1.4 of them);
# tests/conftest.py says what a test needs to be safe in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
export VENV="${VENV:-.venv}"
bash scripts/setup.sh
"$VENV/bin/python" -m ruff check .
"$VENV/bin/python" -m ruff format --check .
# The type check (configured in pyproject.toml) reads Airflow 3's types: on 2.11 it is skipped.
# It runs beside the tests (they mostly wait) and is reported after them.
mypy_log="$(mktemp)"
mypy_pid=""
case "${AIRFLOW_VERSION:-3.3.2}" in 3.*) "$VENV/bin/python" -m mypy >"$mypy_log" 2>&1 & mypy_pid=$! ;; esac
rc=0
"$VENV/bin/python" -m pytest -n "${BAILIAN_TEST_WORKERS:-4}" --dist loadfile "$@" || rc=$?
if [ -n "$mypy_pid" ]; then
  wait "$mypy_pid" || rc=1
  cat "$mypy_log"
fi
rm -f "$mypy_log"
exit "$rc"
