#!/usr/bin/env bash
# Set everything up and run the example DAG end to end, printing the Bailian task id.
# Without BAILIAN_API_KEY it runs against the bundled local emulator; with it, against
# Bailian (BAILIAN_BASE_URL and BAILIAN_API_STYLE optional: see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
export VENV="${VENV:-.venv}"
bash scripts/setup.sh
HOME_DIR="$(mktemp -d)"
export AIRFLOW_HOME="$HOME_DIR" AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/example_dags"
# The emulator is stopped by its PID on success, failure and Ctrl-C.
PROC_WORK="$HOME_DIR"
# shellcheck source=processes.sh
source scripts/processes.sh
proc_init
cleanup() { proc_stop_all; proc_kill_strays; rm -rf "$HOME_DIR"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -z "${BAILIAN_API_KEY:-}" ]; then
  PY="$VENV/bin/python" proc_start_emulator base_url demo --task-seconds 3
  echo "Using the local Bailian emulator at $base_url"
  export AIRFLOW_CONN_BAILIAN_DEFAULT="{\"conn_type\": \"bailian\", \"host\": \"$base_url\", \"password\": \"sk-fake-demo\"}"
else
  export AIRFLOW_CONN_BAILIAN_DEFAULT="$("$VENV/bin/python" - <<'PY'
import json, os
conn = {"conn_type": "bailian", "password": os.environ["BAILIAN_API_KEY"], "extra": {}}
if os.environ.get("BAILIAN_BASE_URL"):
    conn["host"] = os.environ["BAILIAN_BASE_URL"]
if os.environ.get("BAILIAN_API_STYLE"):
    conn["extra"]["api_style"] = os.environ["BAILIAN_API_STYLE"]
print(json.dumps(conn))
PY
)"
  echo "Using Bailian with the key from BAILIAN_API_KEY"
fi
"$VENV/bin/airflow" db migrate >"$HOME_DIR/migrate.log" 2>&1 || { cat "$HOME_DIR/migrate.log"; exit 1; }
log="$HOME_DIR/dag.log"
status=0
"$VENV/bin/airflow" dags test "${DAG_ID:-bailian_text2video}" >"$log" 2>&1 || status=$?
task_id="$(grep -o 'BAILIAN_TASK_ID=[A-Za-z0-9-]*' "$log" | head -n 1 | cut -d= -f2 || true)"
if [ "$status" -ne 0 ] || [ -z "$task_id" ]; then
  tail -n 60 "$log"
  echo "The example DAG failed (exit $status)" >&2
  exit 1
fi
echo "DAG ${DAG_ID:-bailian_text2video} succeeded; Bailian task id: $task_id"
