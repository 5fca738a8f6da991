"""scripts/processes.sh: what the scripts start is stopped by PID on success, failure and Ctrl-C.

scripts/e2e.sh and scripts/demo.sh start their emulators and Airflow components through it.
Each case runs a script that starts two emulators (with ``proc_start_emulator``, whose URL is
set without a subshell), a process with a child of its own, and a process started in a
subshell that only leaves a pid file (as scripts/e2e.py does when it restarts the triggerer);
then the script succeeds, fails or gets a Ctrl-C. Afterwards no process of the run is alive.
CI also checks this after each real end-to-end run (`.ci/run`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
set -euo pipefail
PROC_WORK="$1"
source "$2/scripts/processes.sh"
proc_init
cleanup() { proc_stop_all; proc_kill_strays; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
PY="$3" proc_start_emulator EMU one --task-seconds 1
PY="$3" proc_start_emulator EMU2 two --task-seconds 1
proc_start family bash -c 'sleep 300 & sleep 300'
( setsid sleep 301 >/dev/null 2>&1 & echo $! >"$PROC_WORK/restarted.pid" )
echo "ready $EMU $EMU2"
case "$4" in
  success) read -r _ ;;
  failure) read -r _; false ;;
  interrupt) sleep 300 ;;
esac
"""


def _marked(marker: str) -> list[int]:
    """Live processes whose environment carries this run's marker."""
    found = []
    needle = f"BAILIAN_RUN_MARKER={marker}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    ("mode", "exit_code"), [("success", 0), ("failure", 1), ("interrupt", 130)]
)
def test_nothing_started_survives_the_script(tmp_path: Path, mode: str, exit_code: int) -> None:
    marker = f"test-{uuid.uuid4().hex}"
    script = tmp_path / "run.sh"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        ["bash", str(script), str(tmp_path / "work"), str(ROOT), sys.executable, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job
        env={**os.environ, "BAILIAN_RUN_MARKER": marker, "PYTHONPATH": str(ROOT)},
    )
    pids: list[int] = []
    try:
        ready = proc.stdout.readline().split()
        logs = {p.name: p.read_text() for p in (tmp_path / "work" / "logs").glob("*.log")}
        assert ready[:1] == ["ready"], (proc.poll(), logs)
        for url in ready[1:]:  # both emulators answer
            with urllib.request.urlopen(f"{url}/_emulator/requests", timeout=10) as resp:
                assert resp.status == 200
        pids = [int(p.read_text()) for p in (tmp_path / "work").glob("*.pid")]
        assert len(pids) == 4
        # bash, 2 emulators, the family (bash and 2 sleeps) and the restarted sleep
        deadline = time.monotonic() + 30
        while len(running := _marked(marker)) < 7 and time.monotonic() < deadline:
            time.sleep(0.2)  # the family's children may still be starting
        assert set(pids) <= set(running)
        assert len(running) >= 7, running
        if mode == "interrupt":
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the job's group
        else:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        assert proc.wait(timeout=60) == exit_code
    finally:
        if proc.poll() is None:  # a check above failed: let the script clean up, as on Ctrl-C
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        alive = [pid for pid in pids if _alive(pid)]
        left = _marked(marker)
        for pid in left:  # never leave anything behind, even when the test fails
            os.kill(pid, signal.SIGKILL)
    assert alive == []
    assert left == []


def test_survivors_command_reports_a_live_process(tmp_path: Path) -> None:
    """`bash scripts/processes.sh survivors MARKER` (what CI runs after each end-to-end run)."""
    marker = f"test-{uuid.uuid4().hex}"
    command = ["bash", str(ROOT / "scripts" / "processes.sh"), "survivors", marker]
    sleeper = subprocess.Popen(["sleep", "60"], env={**os.environ, "BAILIAN_RUN_MARKER": marker})
    try:
        found = subprocess.run(command, capture_output=True, text=True, timeout=30)
        assert found.returncode == 1
        assert str(sleeper.pid) in found.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
    clean = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert clean.returncode == 0
    assert "no process of the run" in clean.stdout
