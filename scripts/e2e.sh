#!/usr/bin/env bash
# A real Airflow 3.3 deployment on this machine, running the provider end to end:
# PostgreSQL, api-server, scheduler, dag-processor and triggerer as separate processes
# (LocalExecutor, or --executor celery with Redis and two workers), plus the local Bailian
# emulators and a local S3 server (moto). DAG runs are triggered through the REST API by
# scripts/e2e.py, which asserts; scripts/e2e_browser.py then checks the UI in headless Chromium.
# Usage: bash scripts/e2e.sh [--executor local|celery] [--wheel FILE] [--setup-only] [--keep]
#   --wheel FILE  install the provider from this wheel (not editable) and assert that every
#                 component imports it from site-packages; all components run from the work
#                 folder, outside the source tree, so the sources cannot be imported by accident.
#   --setup-only  install what the run needs (Debian packages, the virtualenv) and stop.
# Every process it starts is stopped by its PID when it ends (success, failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
EXECUTOR=local
KEEP=0
WHEEL=""
SETUP_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --executor) EXECUTOR="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --setup-only) SETUP_ONLY=1; shift ;;
    --wheel) WHEEL="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
started=$(date +%s)
say() { echo "[e2e $(( $(date +%s) - started ))s] $*"; }

# ---- system packages (Debian) --------------------------------------------------------
need=()
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ "$EXECUTOR" = celery ]; then command -v redis-server >/dev/null || need+=(redis-server); fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# ---- Python environment ---------------------------------------------------------------
export VENV="${VENV:-.venv-e2e}" AIRFLOW_VERSION=3.3.2
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
# A local S3 server and the Amazon provider's s3 filesystem, pinned as pyproject's test extra
# (s3fs's aiobotocore pins botocore: boto3 beside it, or pip backtracks for minutes).
extras=(psycopg2-binary asyncpg playwright "moto[server]>=5.1" "apache-airflow-providers-amazon[s3fs]>=9.0"
  "boto3>=1.43.115,<1.43.118")
have="import airflow, psycopg2, asyncpg, playwright, moto.server, s3fs, airflow.providers.amazon"
if [ "$EXECUTOR" = celery ]; then
  extras+=(apache-airflow-providers-celery "celery<5.7")  # 5.7 dropped an API the provider uses
  have+="; import airflow.providers.celery.executors.celery_executor"
fi
if [ -n "$WHEEL" ]; then
  [ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
else
  bash scripts/setup.sh
fi
pip_install() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v "is ignored" >&2 || true; }
if ! "$VENV/bin/python" -c "$have" >/dev/null 2>&1; then
  say "installing ${extras[*]}"
  pip_install "apache-airflow==$AIRFLOW_VERSION" "${extras[@]}" ${WHEEL:+"$WHEEL"}
fi
PY="$VENV/bin/python"
AF="$VENV/bin/airflow"
if [ -n "$WHEEL" ]; then
  # This very wheel, even over an editable install or another build of the same version.
  pip_install --no-deps --force-reinstall "$WHEEL"
  say "installed $(basename "$WHEEL")"
else
  # Byte-compile the provider as a wheel install would: otherwise the triggerer compiles it
  # inside its event loop when it first loads the trigger class.
  PYTHONDONTWRITEBYTECODE= "$PY" -m compileall -q "$ROOT/airflow_provider_bailian" >/dev/null
fi
"$PY" -c "$have" >/dev/null 2>&1 || "$PY" -c "$have"  # quiet unless something is missing
if [ "$SETUP_ONLY" -eq 1 ]; then say "set up $VENV"; exit 0; fi

# ---- work area, ports -----------------------------------------------------------------
# shellcheck source=processes.sh
source "$ROOT/scripts/processes.sh"
# The folder's name carries the run marker: a process that rewrote its environment is still
# found by the folder it runs in.
WORK="$(proc_workdir /tmp/bailian-e2e)"
chmod 755 "$WORK"
LOGS="$WORK/logs"
PROC_WORK="$WORK"
proc_init
# From here on nothing runs in the source tree: `python -m` would put it on sys.path.
cd "$WORK"
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port); API_PORT=$(free_port); REDIS_PORT=$(free_port)
cleanup() {
  local rc=$?
  trap - INT TERM
  say "shutting down"
  proc_stop_all
  if [ -n "${PGBIN:-}" ]; then su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $WORK/pg -m fast stop" >/dev/null 2>&1 || true; fi
  proc_kill_strays
  if [ $rc -ne 0 ]; then
    say "FAILED (exit $rc); logs of the components:"
    for f in "$LOGS"/*.log; do [ -f "$f" ] || continue; echo "===== $(basename "$f") (last 60 lines)"; tail -n 60 "$f"; done
  fi
  if [ "$KEEP" -eq 0 ]; then rm -rf "$WORK"; else say "kept $WORK"; fi
  say "done in $(( $(date +%s) - started )) s"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -n "$WHEEL" ]; then
  # The provider every component imports is the installed wheel, not the source tree.
  "$PY" - "$ROOT" <<'PY'
import json
import sys
import sysconfig
from importlib.metadata import distribution
from importlib.resources import files
from pathlib import Path

import airflow_provider_bailian

module = Path(airflow_provider_bailian.__file__).resolve()
site = Path(sysconfig.get_paths()["purelib"]).resolve()
sources = Path(sys.argv[1]).resolve() / "airflow_provider_bailian"
direct = json.loads(distribution("airflow-provider-bailian").read_text("direct_url.json") or "{}")
assert site in module.parents, f"imported from {module}, not from {site}"
assert sources not in module.parents, f"imported from the source tree: {module}"
assert not direct.get("dir_info", {}).get("editable"), f"an editable install: {direct}"
video = files("airflow_provider_bailian.emulator") / "sample.mp4"
assert video.is_file(), f"the wheel has no sample video at {video}"
print(f"[e2e] the provider {airflow_provider_bailian.__version__} is imported from {module.parent}")
PY
fi

# ---- PostgreSQL: a private cluster on a free port -------------------------------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$WORK/pg" "$WORK/pgsock"
touch "$LOGS/postgres.log"
chown postgres "$WORK/pg" "$WORK/pgsock" "$LOGS/postgres.log"
su postgres -s /bin/sh -c "$PGBIN/initdb -D $WORK/pg -A trust -U postgres" >"$LOGS/postgres-init.log" 2>&1
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $WORK/pg -l $LOGS/postgres.log -w -o '-p $PG_PORT -k $WORK/pgsock -c listen_addresses=127.0.0.1' start" >>"$LOGS/postgres-init.log" 2>&1
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE USER airflow PASSWORD 'airflow'" >/dev/null
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE airflow OWNER airflow" >/dev/null
say "PostgreSQL on 127.0.0.1:$PG_PORT"

# ---- emulators: scaled-down timings, and two that hold tasks PENDING / RUNNING ------------
proc_start_emulator EMU main --task-seconds 12 --pending-seconds 2
proc_start_emulator EMU_PENDING pending --task-seconds 900 --pending-seconds 600
proc_start_emulator EMU_RUNNING running --task-seconds 900 --pending-seconds 0
# An account with one slot: the triggerer failover check fills it, so its videos queue PENDING.
proc_start_emulator EMU_QUEUE queue --task-seconds 900 --pending-seconds 0 --max-concurrent 1
# Videos long enough to be still waited for when the triggerer restarts (the restart check).
proc_start_emulator EMU_SLOW slow --task-seconds 75 --pending-seconds 0
say "emulators: $EMU $EMU_PENDING $EMU_RUNNING $EMU_QUEUE $EMU_SLOW"

# ---- a local S3 server (moto), with the bucket bailian_e2e_s3 downloads to ---------------
S3_PORT=$(free_port)
proc_start s3 "$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT"
S3="http://127.0.0.1:$S3_PORT"
"$PY" - "$S3" <<'PY'
import sys
import time

import boto3
import botocore.exceptions

client = boto3.client(
    "s3",
    endpoint_url=sys.argv[1],
    aws_access_key_id="fake-e2e-access-key",
    aws_secret_access_key="fake-e2e-secret-key",
    region_name="us-east-1",
)
deadline = time.monotonic() + 60  # a loaded machine can take seconds to start Python
while True:
    try:
        client.create_bucket(Bucket="bailian-e2e")
        break
    except botocore.exceptions.EndpointConnectionError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.2)
PY
say "S3 server on $S3 (bucket bailian-e2e)"

# ---- Airflow configuration ------------------------------------------------------------
TOKEN="sk-fake-e2e-$("$PY" -c 'import secrets; print(secrets.token_hex(12))')"
ADMIN_PASSWORD="e2e-$("$PY" -c 'import secrets; print(secrets.token_hex(8))')"
export AIRFLOW_HOME="$WORK/home"
mkdir -p "$AIRFLOW_HOME" "$WORK/dags" "$WORK/videos"
cp "$ROOT"/example_dags/*.py "$ROOT"/scripts/e2e_dags/*.py "$WORK/dags/"
echo "{\"admin\": \"$ADMIN_PASSWORD\"}" >"$WORK/passwords.json"
conn() { echo "{\"conn_type\": \"bailian\", \"host\": \"$1\", \"password\": \"$TOKEN\", \"extra\": {\"api_style\": \"$2\", \"query_rate_limit\": 20}}"; }
export AIRFLOW_CONN_BAILIAN_DEFAULT="$(conn "$EMU" gateway)"
export AIRFLOW_CONN_BAILIAN_PENDING="$(conn "$EMU_PENDING" dashscope)"
export AIRFLOW_CONN_BAILIAN_RUNNING="$(conn "$EMU_RUNNING" dashscope)"
export AIRFLOW_CONN_BAILIAN_QUEUE="$(conn "$EMU_QUEUE" dashscope)"
export AIRFLOW_CONN_BAILIAN_SLOW="$(conn "$EMU_SLOW" gateway)"
export AIRFLOW_CONN_AWS_E2E="{\"conn_type\": \"aws\", \"login\": \"fake-e2e-access-key\", \"password\": \"fake-e2e-secret-key\", \"extra\": {\"endpoint_url\": \"$S3\", \"region_name\": \"us-east-1\"}}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow:airflow@127.0.0.1:$PG_PORT/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$WORK/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$WORK/passwords.json"
export AIRFLOW__CORE__PARALLELISM=16
export AIRFLOW__API_AUTH__JWT_SECRET="$("$PY" -c 'import secrets; print(secrets.token_hex(24))')"
export AIRFLOW__API__SECRET_KEY="$AIRFLOW__API_AUTH__JWT_SECRET"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$API_PORT"
# Airflow's log servers listen on all interfaces: free ports, so runs side by side never collide.
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$(free_port)"
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="$(free_port)"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=10
export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=20
export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL=5
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
export AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC=2
# A triggerer silent for 8 s is taken for dead and its triggers move (the failover check).
export AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD=8
export BAILIAN_EXAMPLE_POLL_INTERVAL=1
export BAILIAN_VIDEO_DIR="$WORK/videos"
# The gallery streams stored copies from this folder only (an administrator's choice).
export AIRFLOW__BAILIAN__GALLERY_ROOTS="$BAILIAN_VIDEO_DIR"
if [ "$EXECUTOR" = celery ]; then
  export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
  export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
  export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg2://airflow:airflow@127.0.0.1:$PG_PORT/airflow"
  export AIRFLOW__CELERY__WORKER_CONCURRENCY=8
  proc_start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no
else
  export AIRFLOW__CORE__EXECUTOR=LocalExecutor
fi

"$AF" db migrate >"$LOGS/migrate.log" 2>&1
"$AF" pools set bailian 5 "Bailian text-to-video concurrency" --include-deferred >/dev/null 2>&1
say "database migrated ($EXECUTOR executor)"

start() { proc_start "$@"; }
start api-server "$AF" api-server --port "$API_PORT" --host 127.0.0.1
start scheduler "$AF" scheduler
start dag-processor "$AF" dag-processor
# asyncio debug mode names any coroutine step that holds the triggerer's loop too long.
PYTHONASYNCIODEBUG="${E2E_ASYNCIO_DEBUG-1}" start triggerer "$AF" triggerer
if [ "$EXECUTOR" = celery ]; then
  # Two workers on one machine: give each its own host name, as on two machines. Two slots
  # each: the mapped DAG's three videos, queued together, do not fit in one worker at once.
  printf 'import os\n\n\ndef name() -> str:\n    return os.environ["E2E_WORKER_NAME"]\n' >"$WORK/e2e_hostname.py"
  export AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER=1
  for n in 1 2; do
    E2E_WORKER_NAME="e2e-worker-$n" PYTHONPATH="$WORK" AIRFLOW__CORE__HOSTNAME_CALLABLE=e2e_hostname.name \
      start "worker-$n" "$AF" celery worker --celery-hostname "e2e-worker-$n@%h" --concurrency 2
  done
fi

# ---- the checks -----------------------------------------------------------------------
"$PY" "$ROOT/scripts/e2e.py" \
  --api "http://127.0.0.1:$API_PORT" --password "$ADMIN_PASSWORD" --token "$TOKEN" \
  --emulator "$EMU" --emulator-pending "$EMU_PENDING" --emulator-running "$EMU_RUNNING" \
  --emulator-queue "$EMU_QUEUE" --emulator-slow "$EMU_SLOW" --s3 "$S3" \
  --work "$WORK" --executor "$EXECUTOR" --airflow "$AF" --browser-out "$ROOT/docs/img"
say "all end-to-end checks passed"
