#!/usr/bin/env bash
# A real Airflow 3.3 deployment on this machine, running the provider end to end:
# PostgreSQL, api-server, scheduler, dag-processor and triggerer as separate processes
# (LocalExecutor, or --executor celery with Redis and two workers), plus the local Bailian
# emulators. DAG runs are triggered through the REST API by scripts/e2e.py, which asserts;
# scripts/e2e_browser.py then checks the UI in headless Chromium.
# Usage: bash scripts/e2e.sh [--executor local|celery] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
EXECUTOR=local
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --executor) EXECUTOR="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
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
bash scripts/setup.sh
extras=(psycopg2-binary asyncpg playwright)
[ "$EXECUTOR" = celery ] && extras+=(apache-airflow-providers-celery "celery<5.7")  # 5.7 dropped an API the provider uses
if ! "$VENV/bin/python" -c "import psycopg2, asyncpg, playwright" 2>/dev/null \
   || { [ "$EXECUTOR" = celery ] && ! "$VENV/bin/python" -c "import airflow.providers.celery.executors.celery_executor" 2>/dev/null; }; then
  say "installing ${extras[*]}"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "apache-airflow==$AIRFLOW_VERSION" "${extras[@]}" 2>&1 \
    | grep -v "is ignored" >&2 || true
fi
PY="$ROOT/$VENV/bin/python"
AF="$ROOT/$VENV/bin/airflow"
# Byte-compile the provider as a wheel install would: otherwise the triggerer compiles it
# inside its event loop when it first loads the trigger class.
PYTHONDONTWRITEBYTECODE= "$PY" -m compileall -q "$ROOT/airflow_provider_bailian" >/dev/null

# ---- work area, ports -----------------------------------------------------------------
WORK="$(mktemp -d /tmp/bailian-e2e.XXXXXX)"
chmod 755 "$WORK"
LOGS="$WORK/logs"; mkdir -p "$LOGS"
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port); API_PORT=$(free_port); REDIS_PORT=$(free_port)
pids=()
cleanup() {
  local rc=$?
  say "shutting down"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 2
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  pkill -KILL -f "$WORK" 2>/dev/null || true
  for f in "$WORK"/emulator-*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true; done
  if [ -n "${PGBIN:-}" ]; then su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $WORK/pg -m fast stop" >/dev/null 2>&1 || true; fi
  if [ $rc -ne 0 ]; then
    say "FAILED (exit $rc); logs of the components:"
    for f in "$LOGS"/*.log; do echo "===== $(basename "$f") (last 60 lines)"; tail -n 60 "$f"; done
  fi
  if [ "$KEEP" -eq 0 ]; then rm -rf "$WORK"; else say "kept $WORK"; fi
  say "done in $(( $(date +%s) - started )) s"
  exit $rc
}
trap cleanup EXIT

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
start_emulator() {  # name, args...
  local name="$1"; shift
  "$PY" -m airflow_provider_bailian.emulator --port 0 "$@" >"$LOGS/emulator-$name.log" 2>&1 &
  pids+=($!); echo $! >"$WORK/emulator-$name.pid"  # called in $(...): pids+= is lost
  for _ in $(seq 100); do [ -s "$LOGS/emulator-$name.log" ] && break; sleep 0.1; done
  head -n 1 "$LOGS/emulator-$name.log"
}
EMU=$(start_emulator main --task-seconds 12 --pending-seconds 2)
EMU_PENDING=$(start_emulator pending --task-seconds 900 --pending-seconds 600)
EMU_RUNNING=$(start_emulator running --task-seconds 900 --pending-seconds 0)
say "emulators: $EMU $EMU_PENDING $EMU_RUNNING"

# ---- Airflow configuration ------------------------------------------------------------
TOKEN="sk-fake-e2e-$("$PY" -c 'import secrets; print(secrets.token_hex(12))')"
ADMIN_PASSWORD="e2e-$("$PY" -c 'import secrets; print(secrets.token_hex(8))')"
export AIRFLOW_HOME="$WORK/home"
mkdir -p "$AIRFLOW_HOME" "$WORK/dags" "$WORK/videos"
cp example_dags/*.py scripts/e2e_dags/*.py "$WORK/dags/"
echo "{\"admin\": \"$ADMIN_PASSWORD\"}" >"$WORK/passwords.json"
conn() { echo "{\"conn_type\": \"bailian\", \"host\": \"$1\", \"password\": \"$TOKEN\", \"extra\": {\"api_style\": \"$2\", \"query_rate_limit\": 20}}"; }
export AIRFLOW_CONN_BAILIAN_DEFAULT="$(conn "$EMU" gateway)"
export AIRFLOW_CONN_BAILIAN_PENDING="$(conn "$EMU_PENDING" dashscope)"
export AIRFLOW_CONN_BAILIAN_RUNNING="$(conn "$EMU_RUNNING" dashscope)"
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
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=10
export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=20
export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL=5
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
export AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC=2
export BAILIAN_EXAMPLE_POLL_INTERVAL=1
export BAILIAN_VIDEO_DIR="$WORK/videos"
if [ "$EXECUTOR" = celery ]; then
  export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
  export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
  export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg2://airflow:airflow@127.0.0.1:$PG_PORT/airflow"
  export AIRFLOW__CELERY__WORKER_CONCURRENCY=8
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$LOGS/redis.log" 2>&1 &
  pids+=($!)
else
  export AIRFLOW__CORE__EXECUTOR=LocalExecutor
fi

"$AF" db migrate >"$LOGS/migrate.log" 2>&1
"$AF" pools set bailian 5 "Bailian text-to-video concurrency" --include-deferred >/dev/null 2>&1
say "database migrated ($EXECUTOR executor)"

start() {  # name, command...
  local name="$1"; shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  pids+=($!)
  echo $! >"$WORK/$name.pid"
}
start api-server "$AF" api-server --port "$API_PORT" --host 127.0.0.1
start scheduler "$AF" scheduler
start dag-processor "$AF" dag-processor
# asyncio debug mode names any coroutine step that holds the triggerer's loop too long.
PYTHONASYNCIODEBUG="${E2E_ASYNCIO_DEBUG-1}" start triggerer "$AF" triggerer
if [ "$EXECUTOR" = celery ]; then
  # Two workers on one machine: give each its own host name, as on two machines.
  printf 'import os\n\n\ndef name() -> str:\n    return os.environ["E2E_WORKER_NAME"]\n' >"$WORK/e2e_hostname.py"
  export AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER=1
  for n in 1 2; do
    E2E_WORKER_NAME="e2e-worker-$n" PYTHONPATH="$WORK" AIRFLOW__CORE__HOSTNAME_CALLABLE=e2e_hostname.name \
      start "worker-$n" "$AF" celery worker --celery-hostname "e2e-worker-$n@%h" --concurrency 3
  done
fi

# ---- the checks -----------------------------------------------------------------------
"$PY" scripts/e2e.py \
  --api "http://127.0.0.1:$API_PORT" --password "$ADMIN_PASSWORD" --token "$TOKEN" \
  --emulator "$EMU" --emulator-pending "$EMU_PENDING" --emulator-running "$EMU_RUNNING" \
  --work "$WORK" --executor "$EXECUTOR" --airflow "$AF" --browser-out "$ROOT/docs/img"
say "all end-to-end checks passed"
