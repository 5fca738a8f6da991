"""on_kill cancels only when a person stopped the task: the decision, then through Airflow.

The task instance is a real one (a DAG run through ``dag.test()``) whose state the tests
set as a person or Airflow would; its state is read back the way the triggerer and the
worker read it (Airflow 3: the task SDK's ``GetTaskStates`` through the execution API,
here served in-process; Airflow 2.11: the metadata database), and the Bailian task is a
real one on the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_bailian._compat import AIRFLOW_V3
from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.reattach import CancelMarks, SubmissionLedger, SubmitOnce
from airflow_provider_bailian.stop_check import TaskInstanceKey, decide, decide_now
from airflow_provider_bailian.triggers.task import BailianTaskTrigger
from tests.conftest import run_dag

FILE = "bailian_kill_dags.py"
REQUEST = {"model": "wan2.6-t2v", "prompt": "a kite over the dunes", "size": "1280*720"}


# ---- the decision ------------------------------------------------------------------------
@pytest.mark.parametrize("state", ["deferred", "running", "up_for_retry", "up_for_reschedule"])
def test_a_task_instance_still_waiting_is_not_cancelled(state: str) -> None:
    decision = decide(state)
    assert not decision.cancel
    assert f"still {state}" in decision.reason


@pytest.mark.parametrize(
    "state", ["failed", "success", None, "scheduled", "queued", "restarting", "skipped"]
)
def test_a_stopped_or_cleared_task_instance_is_cancelled(state: str | None) -> None:
    decision = decide(state)
    assert decision.cancel
    assert ("cleared" if state is None else state) in decision.reason


def test_an_unknown_state_is_not_cancelled() -> None:
    assert not decide(None, found=False).cancel
    lost = decide("failed", error="ConnectionError: refused")
    assert not lost.cancel
    assert "could not be read" in lost.reason
    assert "refused" in lost.reason
    assert not decide_now(None).cancel


def test_a_lookup_that_hangs_times_out_as_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from airflow_provider_bailian import _compat

    release = threading.Event()
    monkeypatch.setattr(_compat, "read_task_instance_state", lambda *a: release.wait(5))
    key = TaskInstanceKey("d", "r", "t")
    try:
        decision = decide_now(key, timeout=0.2)
        assert not decision.cancel
        assert "no answer within 0.2 s" in decision.reason
    finally:
        release.set()


# ---- through Airflow ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_ti() -> Any:
    """A real task instance of a finished run (one run for the module: parsing is slow)."""
    from airflow_provider_bailian.emulator import BailianEmulator
    from tests.conftest import FAKE_KEY, conn_json

    with BailianEmulator(api_key=FAKE_KEY) as emu, pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_BAILIAN_DAG", conn_json(emu.base_url, api_style="dashscope"))
        dag_run = run_dag(FILE, "bailian_t_kill_check")
    (task_instance,) = dag_run.get_task_instances()
    return task_instance


@pytest.fixture
def ti(finished_ti: Any, emulator: Any, make_conn: Any) -> Any:
    """That task instance, with an emulator that holds new tasks PENDING."""
    make_conn("bailian_dag", emulator.base_url, api_style="dashscope")
    emulator.configure(pending_seconds=120, task_seconds=120)
    return finished_ti


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capfd: Any) -> Any:
    """Everything logged so far (Airflow 3 logs through structlog to stdout)."""
    caplog.set_level(logging.INFO)

    def read() -> str:
        out = capfd.readouterr()
        read.text += out.out + out.err  # type: ignore[attr-defined]
        return caplog.text + read.text  # type: ignore[attr-defined]

    read.text = ""  # type: ignore[attr-defined]
    return read


def _set_state(ti: Any, state: str | None) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(TaskInstance).filter_by(
            dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, map_index=ti.map_index
        ).update({"state": state}, synchronize_session=False)


@contextlib.contextmanager
def task_sdk_channel(ti: Any) -> Iterator[None]:
    """Airflow 3: the supervisor channel a triggerer or worker has, served in-process by the
    real execution API over the test database (nothing to set up on 2.11)."""
    if not AIRFLOW_V3:
        yield
        return
    import os

    import psutil
    import structlog
    from airflow.sdk.execution_time.supervisor import (
        InProcessSupervisorComms,
        InProcessTestSupervisor,
        set_supervisor_comms,
    )

    supervisor = InProcessTestSupervisor(
        id=ti.id,
        pid=os.getpid(),
        process=psutil.Process(),
        process_log=structlog.get_logger(logger_name="task").bind(),
        client=InProcessTestSupervisor._api_client(),
    )
    supervisor.comms = InProcessSupervisorComms(supervisor=supervisor)
    with set_supervisor_comms(supervisor.comms):
        yield


def _pending(conn_id: str = "bailian_dag") -> str:
    return BailianHook(conn_id).submit_text2video(**REQUEST).task_id


def _note(ti: Any, task_id: str) -> Any:
    with task_sdk_channel(ti):
        return CancelMarks(ti).take(task_id)


def _status(task_id: str) -> str:
    return BailianHook("bailian_dag").get_task(task_id).status.value


def _kill_trigger(ti: Any, task_id: str, *, cancel_on_kill: bool = True) -> None:
    trigger = BailianTaskTrigger(task_id, "bailian_dag", cancel_on_kill=cancel_on_kill)
    trigger.task_instance = ti
    with task_sdk_channel(ti):
        asyncio.run(trigger.on_kill())


@pytest.mark.parametrize(
    ("state", "cancelled"),
    [("deferred", False), ("failed", True), ("success", True), (None, True)],
)
def test_trigger_on_kill_cancels_only_after_a_stop(
    ti: Any, emulator: Any, logs: Any, state: str | None, cancelled: bool
) -> None:
    task_id = _pending()
    _set_state(ti, state)
    _kill_trigger(ti, task_id)
    assert _status(task_id) == ("CANCELED" if cancelled else "PENDING")
    assert emulator.count("cancel") == (1 if cancelled else 0)
    if cancelled:
        assert "was PENDING and has been cancelled" in logs()
        note = _note(ti, task_id)
        assert note is not None
        assert note["by"].startswith("on_kill of try ")
        assert "in the triggerer" in note["by"]
    else:
        assert f"Not cancelling Bailian task {task_id}: the task instance is still deferred" in (
            logs()
        )
        assert _note(ti, task_id) is None


def test_a_stop_cancels_only_a_pending_task(ti: Any, emulator: Any, logs: Any) -> None:
    _set_state(ti, "failed")
    pending = _pending()
    _kill_trigger(ti, pending)
    assert _status(pending) == "CANCELED"
    emulator.configure(pending_seconds=0, task_seconds=120)
    running = _pending()
    time.sleep(0.05)
    _kill_trigger(ti, running)
    assert _status(running) == "RUNNING"
    assert f"Bailian task {running} is RUNNING: not cancelled" in logs()
    # A sensor's trigger does not own the task: by default it never cancels.
    emulator.configure(pending_seconds=60)
    other = _pending()
    sensor_trigger = BailianTaskTrigger(other, "bailian_dag")
    sensor_trigger.task_instance = ti
    with task_sdk_channel(ti):
        asyncio.run(sensor_trigger.on_kill())
    assert emulator.count("cancel") == 1


def test_on_kill_outlasts_the_stop_airflow_repeats(ti: Any, emulator: Any, logs: Any) -> None:
    """Airflow cancels a stopping trigger again on every sync (about once a second) until it
    finishes: an on_kill that waits on the network must still get its cancel through."""
    task_id = _pending()
    _set_state(ti, "failed")
    emulator.add_fault("query", "slow", times=1, seconds=1.0)  # the status read before cancel
    trigger = BailianTaskTrigger(task_id, "bailian_dag", cancel_on_kill=True)
    trigger.task_instance = ti

    async def as_the_triggerer_does() -> int:
        stopping = asyncio.ensure_future(asyncio.wait_for(trigger.on_kill(), timeout=30))
        repeats = 0
        while not stopping.done():
            await asyncio.sleep(0.1)
            if not stopping.done():
                stopping.cancel("__airflow_user_action__")
                repeats += 1
        with contextlib.suppress(asyncio.CancelledError):
            await stopping
        # The triggerer's loop goes on after the trigger is gone (Python 3.11's wait_for lets
        # a repeated cancel end the wait; the shielded work carries on).
        for _ in range(100):
            if emulator.count("cancel"):
                break
            await asyncio.sleep(0.1)
        return repeats

    with task_sdk_channel(ti):
        repeats = asyncio.run(as_the_triggerer_does())
    assert repeats >= 1
    assert _status(task_id) == "CANCELED"
    assert "was PENDING and has been cancelled" in logs()


def test_trigger_without_an_answer_leaves_the_task_alone(ti: Any, emulator: Any, logs: Any) -> None:
    task_id = _pending()
    _set_state(ti, "failed")
    trigger = BailianTaskTrigger(task_id, "bailian_dag", cancel_on_kill=True)
    # No task instance to ask about (and, on Airflow 3, no supervisor channel either).
    asyncio.run(trigger.on_kill())
    gone = BailianTaskTrigger(task_id, "bailian_dag", cancel_on_kill=True)
    gone.task_instance = TaskInstanceKey(ti.dag_id, "no-such-run", ti.task_id)
    with task_sdk_channel(ti):
        asyncio.run(gone.on_kill())
    assert _status(task_id) == "PENDING"
    assert emulator.count("cancel") == 0
    text = logs()
    assert "could not be read" in text
    assert "no such task instance" in text


def test_cancel_on_kill_false_never_cancels(ti: Any, emulator: Any, logs: Any) -> None:
    from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator
    from airflow_provider_bailian.sensors.task import BailianTaskSensor

    task_id = _pending()
    _set_state(ti, "failed")
    _kill_trigger(ti, task_id, cancel_on_kill=False)
    op = BailianText2VideoOperator(
        task_id="gen", prompt="p", bailian_conn_id="bailian_dag", cancel_on_kill=False
    )
    op._waiting_on, op._waiting_ti = task_id, ti
    with task_sdk_channel(ti):
        op.on_kill()
    assert _status(task_id) == "PENDING"
    assert emulator.count("cancel") == 0
    assert "cancel_on_kill is off" in logs()
    # What each deferring path hands the triggerer.
    assert BailianText2VideoOperator(task_id="a", prompt="p").cancel_on_kill is True
    assert BailianTaskSensor(task_id="s", bailian_task_id="x").cancel_on_kill is False
    for flag in (True, False):
        trigger = BailianTaskTrigger("x", cancel_on_kill=flag)
        assert trigger.serialize()[1]["cancel_on_kill"] is flag


@pytest.mark.parametrize(("state", "cancelled"), [("running", False), ("failed", True)])
def test_worker_on_kill_cancels_only_after_a_stop(
    ti: Any, emulator: Any, logs: Any, state: str, cancelled: bool
) -> None:
    from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

    task_id = _pending()
    _set_state(ti, state)
    op = BailianText2VideoOperator(task_id="gen", prompt="p", bailian_conn_id="bailian_dag")
    op._waiting_on, op._waiting_ti = task_id, ti
    with task_sdk_channel(ti):
        op.on_kill()
    assert _status(task_id) == ("CANCELED" if cancelled else "PENDING")
    if cancelled:
        note = _note(ti, task_id)
        assert note is not None
        assert "in the worker" in note["by"]
    else:
        assert "the task instance is still running" in logs()


def _retry(ti: Any, task_id: str, logs: Any) -> str:
    """A retry of the task instance that finds ``task_id`` in its record."""
    ledger = SubmissionLedger({"ti": ti})
    ledger.save({"task_id": task_id, "fingerprint": "f", "submitted_at": time.time()})
    hook = BailianHook("bailian_dag")
    new = SubmitOnce(
        hook=hook,
        ledger=ledger,
        claims=None,
        body={"model": REQUEST["model"]},
        fingerprint="f",
        duration=5,
        submit=lambda: hook.submit_text2video(**REQUEST),
    ).obtain()
    ledger.clear()
    assert new.record["task_id"] != task_id
    return logs()


def test_a_retry_says_who_cancelled_its_task(ti: Any, emulator: Any, logs: Any) -> None:
    # Cancelled by this task instance's own on_kill, after a person marked it failed.
    task_id = _pending()
    _set_state(ti, "failed")
    _kill_trigger(ti, task_id)
    with task_sdk_channel(ti):
        text = _retry(ti, task_id, logs)
    assert f"Bailian task {task_id} was CANCELED by this task instance's own on_kill of try" in text
    assert "the task instance is now failed" in text
    assert _note(ti, task_id) is None  # read once, then gone
    # Cancelled by someone else: the console, the API.
    other = _pending()
    BailianHook("bailian_dag").cancel_task(other)
    with task_sdk_channel(ti):
        text = _retry(ti, other, logs).split(text, 1)[-1]
    assert f"Bailian task {other} was CANCELED, and not by this task instance's on_kill" in text
