#!/usr/bin/env bash
# Set everything up and make a video: runs the example DAG that generates a video and
# downloads it, then prints the path of the MP4 and the Bailian task id.
#   bash scripts/demo.sh        one DAG run with `airflow dags test`, then exit
#   bash scripts/demo.sh --ui   `airflow standalone` (3.1+: with the "Bailian videos" gallery),
#                               the example DAGs triggered, the URL and login printed; Ctrl-C
#                               stops everything
# Without BAILIAN_API_KEY it runs against the bundled local emulator; with it, against
# Bailian (BAILIAN_BASE_URL and BAILIAN_API_STYLE optional: see docs/index.md). Videos are kept
# in BAILIAN_VIDEO_DIR (default: ./demo-videos).
set -euo pipefail
cd "$(dirname "$0")/.."
UI=0
case "${1:-}" in
  --ui) UI=1 ;;
  "") ;;
  *) echo "usage: bash scripts/demo.sh [--ui]" >&2; exit 2 ;;
esac
export VENV="${VENV:-.venv}"
bash scripts/setup.sh
PY="$PWD/$VENV/bin/python"
AF="$PWD/$VENV/bin/airflow"
export PATH="$PWD/$VENV/bin:$PATH"  # `airflow standalone` starts its components by name
HOME_DIR="$(mktemp -d)"
export AIRFLOW_HOME="$HOME_DIR" AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/example_dags"
export BAILIAN_VIDEO_DIR="${BAILIAN_VIDEO_DIR:-$PWD/demo-videos}"
mkdir -p "$BAILIAN_VIDEO_DIR"
# Every process started here (the emulator, Airflow) is stopped by its PID on success,
# failure and Ctrl-C.
PROC_WORK="$HOME_DIR"
# shellcheck source=processes.sh
source scripts/processes.sh
proc_init
standalone_pid=""
cleanup() {
  trap - EXIT INT TERM
  [ -n "$standalone_pid" ] && echo "Stopping Airflow..."
  proc_stop_all
  proc_kill_strays
  rm -rf "$HOME_DIR" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ -z "${BAILIAN_API_KEY:-}" ]; then
  proc_start_emulator base_url demo --task-seconds 3
  echo "Using the local Bailian emulator at $base_url"
  export AIRFLOW_CONN_BAILIAN_DEFAULT="{\"conn_type\": \"bailian\", \"host\": \"$base_url\", \"password\": \"sk-fake-demo\"}"
else
  export AIRFLOW_CONN_BAILIAN_DEFAULT="$("$PY" - <<'PY'
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
"$AF" db migrate >"$HOME_DIR/migrate.log" 2>&1 || { cat "$HOME_DIR/migrate.log"; exit 1; }
"$AF" pools set bailian 5 "Bailian text-to-video concurrency" --include-deferred >/dev/null 2>&1

if [ "$UI" -eq 1 ]; then
  port="${AIRFLOW_PORT:-$(free_port)}"
  password="demo-$("$PY" -c 'import secrets; print(secrets.token_hex(6))')"
  echo "{\"admin\": \"$password\"}" >"$HOME_DIR/passwords.json"
  export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT="$port"
  export AIRFLOW__API__BASE_URL="http://127.0.0.1:$port"
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$port/execution/"
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$HOME_DIR/passwords.json"
  export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
  export BAILIAN_EXAMPLE_POLL_INTERVAL=1
  # SQLite and one machine for every component: give the task API calls time under load.
  export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT=30 AIRFLOW__CORE__DEFAULT_TASK_RETRIES=2
  "$AF" dags reserialize >"$HOME_DIR/reserialize.log" 2>&1 || { cat "$HOME_DIR/reserialize.log"; exit 1; }
  for dag in bailian_mapped_prompts bailian_generate_and_download bailian_publish_video; do
    "$AF" dags unpause "$dag" >/dev/null 2>&1
  done
  "$AF" dags trigger bailian_mapped_prompts >/dev/null 2>&1
  "$AF" dags trigger bailian_generate_and_download >/dev/null 2>&1
  proc_start standalone "$AF" standalone
  standalone_pid="${PROC_PIDS[-1]}"
  echo "Starting Airflow (logs: $HOME_DIR/logs/standalone.log)..."
  for _ in $(seq 180); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/api/v2/monitor/health" && break
    kill -0 "$standalone_pid" 2>/dev/null || { tail -n 40 "$HOME_DIR/logs/standalone.log"; exit 1; }
    sleep 1
  done
  echo
  echo "Airflow:         http://127.0.0.1:$port/"
  echo "Bailian videos:  http://127.0.0.1:$port/bailian/  (Browse > Bailian videos; Airflow 3.1+)"
  echo "Login:           admin / $password"
  echo "Two example DAGs are running (4 videos); downloads go to $BAILIAN_VIDEO_DIR."
  echo "Press Ctrl-C to stop Airflow and the emulator."
  wait "$standalone_pid"
  exit 0
fi

DAG_ID="${DAG_ID:-bailian_generate_and_download}"
log="$HOME_DIR/dag.log"
status=0
"$AF" dags test "$DAG_ID" >"$log" 2>&1 || status=$?
# The ids and the path from the run's XComs, read from the metadata database.
# A command substitution, not a process substitution: it has ended when `read` returns.
ids="$("$PY" - "$DAG_ID" <<'PY' 2>/dev/null || true
import sys
from airflow.utils.session import create_session
try:
    from airflow.models.xcom import XComModel as XCom
except ImportError:  # Airflow 2.11
    from airflow.models.xcom import XCom
with create_session() as session:
    rows = session.query(XCom).filter(XCom.dag_id == sys.argv[1], XCom.key.in_(["task_id", "video_path"]))
    found = {row.key: XCom.deserialize_value(row) for row in rows}
print(found.get("task_id") or "-", found.get("video_path") or "-")
PY
)"
read -r task_id video_path <<<"$ids"
if [ "$status" -ne 0 ] || [ -z "${task_id:-}" ] || [ "$task_id" = "-" ]; then
  tail -n 60 "$log"
  echo "The example DAG $DAG_ID failed (exit $status)" >&2
  exit 1
fi
echo "DAG $DAG_ID succeeded; Bailian task id: $task_id"
if [ "${video_path:--}" != "-" ]; then
  echo "Video: $video_path ($(wc -c <"${video_path#file://}") bytes)"
fi
echo "See it in the Airflow UI's gallery: bash scripts/demo.sh --ui"
