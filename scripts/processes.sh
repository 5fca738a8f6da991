# Background processes of a script, stopped by their PIDs on success, failure and Ctrl-C.
#
# Source it, then set PROC_WORK (a folder for logs and pid files) and call proc_init:
#   proc_start NAME CMD...                   CMD in its own process group, log in $PROC_WORK/logs/NAME.log
#   proc_start_emulator VAR NAME ARGS...     a Bailian emulator on a free port; VAR gets its URL
#   proc_stop_all                            SIGTERM every group, wait, SIGKILL what is left
#   proc_kill_strays                         SIGKILL, by PID, any process still marked as this run's
#   proc_survivors [MARKER]                  PIDs of live processes marked as this run's
# Every process started after proc_init carries BAILIAN_RUN_MARKER in its environment, so a
# process that left its group (a component restarted by a check, a browser) can still be found.
# Run directly, `bash scripts/processes.sh survivors MARKER` prints the survivors of a finished
# run and exits 1 when there are any.

PROC_PIDS=()
PROC_GRACE="${PROC_GRACE:-10}"

proc_init() {  # after PROC_WORK is set
  mkdir -p "$PROC_WORK/logs"
  export BAILIAN_RUN_MARKER="${BAILIAN_RUN_MARKER:-$PROC_WORK}"
}

proc_start() {  # name, command...
  local name="$1"; shift
  # setsid: the command leads a new process group (its children join it), so the group can be
  # stopped as a whole, and a Ctrl-C meant for the script reaches the script's cleanup first.
  setsid "$@" >"$PROC_WORK/logs/$name.log" 2>&1 &
  PROC_PIDS+=($!)
  echo $! >"$PROC_WORK/$name.pid"
}

proc_start_emulator() {  # variable, name, emulator args...
  local var="$1" name="$2"; shift 2
  local log="$PROC_WORK/logs/emulator-$name.log"
  proc_start "emulator-$name" "${PY:-python3}" -m airflow_provider_bailian.emulator --port 0 "$@"
  local pid="${PROC_PIDS[-1]}"
  for _ in $(seq 600); do  # a loaded machine can take seconds to start Python
    [ -s "$log" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  local url
  url="$(head -n 1 "$log")"
  case "$url" in
    http://*) printf -v "$var" '%s' "$url" ;;
    *) echo "the emulator $name did not start: $(cat "$log")" >&2; return 1 ;;
  esac
}

_proc_all_pids() {  # the started PIDs and any recorded later in a pid file (e.g. a restart)
  printf '%s\n' "${PROC_PIDS[@]}"
  cat "$PROC_WORK"/*.pid 2>/dev/null || true
}

_proc_signal() {  # signal: to each started process group, or the process when it has none
  local pid
  for pid in $(_proc_all_pids | sort -u); do
    kill "-$1" -- "-$pid" 2>/dev/null || kill "-$1" "$pid" 2>/dev/null || true
  done
}

_proc_any_alive() {
  local pid
  for pid in $(_proc_all_pids | sort -u); do
    if kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null; then return 0; fi
  done
  return 1
}

proc_stop_all() {
  _proc_signal TERM
  local i
  for ((i = 0; i < PROC_GRACE * 10; i++)); do _proc_any_alive || break; sleep 0.1; done
  _proc_signal KILL
}

proc_survivors() {  # [marker]
  local marker="${1:-${BAILIAN_RUN_MARKER:-}}" dir cwd
  [ -n "$marker" ] || return 0
  for dir in /proc/[0-9]*; do
    # Not this shell, nor the subshell running this (both may carry the marker themselves).
    case "${dir#/proc/}" in "$$" | "$BASHPID") continue ;; esac
    if env -u BAILIAN_RUN_MARKER grep -qzxF "BAILIAN_RUN_MARKER=$marker" "$dir/environ" 2>/dev/null; then
      echo "${dir#/proc/}"
      continue
    fi
    # A process that rewrote its environment (setproctitle does) still runs in the run's work
    # folder, whose name carries the marker (see proc_workdir), or below PROC_WORK.
    cwd="$(readlink "$dir/cwd" 2>/dev/null)" || continue
    case "$cwd" in
      "${PROC_WORK:-/nonexistent}" | "${PROC_WORK:-/nonexistent}"/* | "${PROC_WORK:-/nonexistent} (deleted)") echo "${dir#/proc/}" ;;
      *"$(_proc_marker_tag "$marker")"*) echo "${dir#/proc/}" ;;
    esac
  done
}

_proc_marker_tag() {  # a marker as it appears in a work folder's name
  local tag="${1//\//_}"
  echo "run-${tag}."
}

proc_workdir() {  # prefix: a new work folder whose name carries the run marker
  local tag=""
  [ -n "${BAILIAN_RUN_MARKER:-}" ] && tag="$(_proc_marker_tag "$BAILIAN_RUN_MARKER")"
  mktemp -d "${1}.${tag}XXXXXX"
}

proc_kill_strays() {
  local pid
  for pid in $(proc_survivors); do
    local cmd
    cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-160)" || continue
    kill -KILL "$pid" 2>/dev/null && echo "stopped a stray process of this run: $pid $cmd" >&2
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    survivors)
      left="$(proc_survivors "${2:?usage: processes.sh survivors MARKER}")"
      if [ -n "$left" ]; then
        echo "processes of the run $2 still alive:" >&2
        for pid in $left; do echo "  $pid $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" >&2; done
        exit 1
      fi
      echo "no process of the run $2 is left"
      ;;
    *) echo "usage: bash scripts/processes.sh survivors MARKER" >&2; exit 2 ;;
  esac
fi
