"""The typed records: the versioned submission record, the wait target, the watch strategies.

A record written by an earlier release (no ``schema`` key) is read by a retry through
Airflow exactly as before; one of a schema this version does not know fails the try
without sending; a trigger stored in Airflow's database by an earlier version runs; the
watcher takes its strategy as a string or as the enum. Waits run over real HTTP against
the emulator.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any

import pytest

from airflow_provider_bailian.exceptions import BailianRecordError
from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.hooks.bailian_async import BailianAsyncClient
from airflow_provider_bailian.polling import PollPolicy
from airflow_provider_bailian.submission_record import SCHEMA, SubmissionRecord
from airflow_provider_bailian.triggers.task import BailianTaskTrigger
from airflow_provider_bailian.triggers.watcher import STRATEGIES, StatusWatcher, WatchStrategy
from airflow_provider_bailian.wait_target import WaitTarget
from tests.conftest import all_logs, run_dag, ti_states, xcom

REQUEST = {"model": "wan2.6-t2v", "prompt": "a lantern at dusk", "size": "1280*720"}
TRIGGER_PATH = "airflow_provider_bailian.triggers.task.BailianTaskTrigger"
FINGERPRINT = "0123456789abcdef0123456789abcdef"

# The record forms the released code writes (reattach.py of 0.1.0), literally.
RELEASED_INTENT = {
    "fingerprint": FINGERPRINT,
    "model": "wan2.6-t2v",
    "duration": 5,
    "intent_at": 1767225600.5,
}
RELEASED_AMBIGUOUS = {**RELEASED_INTENT, "failed_at": 1767225630.25, "request_id": "req-1"}
RELEASED_SUBMITTED = {
    "task_id": "tid-1",
    "request_id": "req-2",
    "fingerprint": FINGERPRINT,
    "submitted_at": 1767225601.75,
    "model": "wan2.6-t2v",
    "duration": 5,
}
RELEASED_SUBMITTED_NO_REQUEST_ID = {**RELEASED_SUBMITTED, "request_id": None}


def _output(capfd: Any) -> str:
    out = capfd.readouterr()
    return all_logs() + out.out + out.err


# ---- the submission record ---------------------------------------------------------------
@pytest.mark.parametrize(
    "stored",
    [RELEASED_INTENT, RELEASED_AMBIGUOUS, RELEASED_SUBMITTED, RELEASED_SUBMITTED_NO_REQUEST_ID],
    ids=["intent", "ambiguous", "submitted", "submitted-no-request-id"],
)
def test_records_of_the_released_forms_read_as_before(stored: dict[str, Any]) -> None:
    record = SubmissionRecord.from_dict(json.loads(json.dumps(stored)))
    assert record.schema == 1
    for key, value in stored.items():  # every key reads as the dict read it
        assert record.get(key) == value
        assert record[key] == value
    assert record.is_submitted is bool(stored.get("task_id"))
    # Written back, the record is the same object plus the version: older code reads it.
    assert record.to_dict() == {**stored, "schema": 1}


def test_a_submitted_record_is_what_a_wait_is_for() -> None:
    record = SubmissionRecord.from_dict(RELEASED_SUBMITTED)
    assert record.target() == WaitTarget(
        "tid-1", model="wan2.6-t2v", duration=5, submitted_at=1767225601.75
    )
    with pytest.raises(ValueError, match="no task to wait for"):
        SubmissionRecord.from_dict(RELEASED_INTENT).target()


def test_new_records_carry_the_version_and_round_trip() -> None:
    intent = SubmissionRecord.intent(FINGERPRINT, model="wan2.6-t2v", duration=5, at=10.0)
    ambiguous = intent.ambiguous("req-9", at=12.0)
    submitted = intent.submitted("tid-9", "req-10", submitted_at=11.0)
    for record in (intent, ambiguous, submitted):
        stored = json.loads(json.dumps(record.to_dict()))
        assert stored["schema"] == SCHEMA == 1
        assert SubmissionRecord.from_dict(stored) == record
    # The keys the released code reads are all there, with the same meaning.
    assert intent.to_dict() == {**RELEASED_INTENT, "intent_at": 10.0, "schema": 1}
    assert ambiguous.to_dict() == {
        **RELEASED_AMBIGUOUS,
        "intent_at": 10.0,
        "failed_at": 12.0,
        "request_id": "req-9",
        "schema": 1,
    }
    assert submitted.to_dict() == {
        **RELEASED_SUBMITTED,
        "task_id": "tid-9",
        "request_id": "req-10",
        "submitted_at": 11.0,
        "schema": 1,
    }


@pytest.mark.parametrize("schema", [2, 0, "1", None, True, 1.5])
def test_a_schema_this_version_does_not_read_is_refused(schema: Any) -> None:
    with pytest.raises(BailianRecordError) as err:
        SubmissionRecord.from_dict({**RELEASED_SUBMITTED, "schema": schema})
    message = str(err.value)
    assert f"schema={schema!r} is not a submission record schema" in message
    assert "reads schema 1, and records without a 'schema' key" in message


@pytest.mark.parametrize("stored", [[1, 2], "tid-1", {"task_id": "tid-1"}])
def test_something_that_is_not_a_record_is_refused(stored: Any) -> None:
    with pytest.raises(BailianRecordError, match="an object with a 'fingerprint'"):
        SubmissionRecord.from_dict(stored)


# ---- records through Airflow -------------------------------------------------------------
@pytest.fixture
def dag_conn(emulator: Any, make_conn: Any, api_style: str) -> Any:
    make_conn("bailian_dag", emulator.base_url, api_style=api_style)
    return emulator


def _store_as(monkeypatch: pytest.MonkeyPatch, change: Any) -> list[dict[str, Any]]:
    """Every record the ledger stores goes through ``change`` first (an older or a newer
    writer); returns the stored objects."""
    real = SubmissionRecord.to_dict
    stored: list[dict[str, Any]] = []

    def to_dict(self: SubmissionRecord) -> dict[str, Any]:
        value = change(real(self))
        stored.append(value)
        return value

    monkeypatch.setattr(SubmissionRecord, "to_dict", to_dict)
    return stored


def _released(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != "schema"}


@pytest.mark.parametrize("where", ["worker", "deferred"])
def test_a_retry_reattaches_to_the_record_an_earlier_release_wrote(
    dag_conn: Any, where: str, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    stored = _store_as(monkeypatch, _released)
    dag_conn.configure(task_seconds=4)
    dag_run = run_dag("bailian_wait_dags.py", f"bailian_t_reattach_{where}")
    assert ti_states(dag_run) == {"generate": "success"}
    assert dag_conn.count("submit") == 1
    (task_id,) = dag_conn.tasks
    assert xcom(dag_run, "generate") == task_id
    assert f"Reattaching to Bailian task {task_id}" in _output(capfd)
    written = [v for v in stored if v.get("task_id")]
    assert written
    assert set(written[0]) == set(RELEASED_SUBMITTED)  # exactly the released layout


def test_a_retry_recovers_the_intent_an_earlier_release_wrote(
    emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    """Try 1 records its intent (released form), then dies before recording the task id."""
    from airflow_provider_bailian.reattach import SubmissionLedger

    make_conn(
        "bailian_recovery",
        emulator.base_url,
        api_style="dashscope",
        recovery_settle=0.3,
        recovery_interval=0.5,
        recovery_timeout=20,
    )
    stored = _store_as(monkeypatch, _released)
    real_save = SubmissionLedger.save
    lost: list[str] = []

    def save(self: SubmissionLedger, record: Any) -> None:
        if record.is_submitted and not lost:
            lost.append(record.task_id)
            raise OSError("worker lost")
        real_save(self, record)

    monkeypatch.setattr(SubmissionLedger, "save", save)
    dag_run = run_dag("bailian_recovery_dags.py", "bailian_t_recover_worker")
    assert ti_states(dag_run) == {"generate": "success"}
    assert emulator.count("submit") == 1
    (task_id,) = emulator.tasks
    assert lost == [task_id]
    assert set(stored[0]) == set(RELEASED_INTENT)  # the intent as the released code wrote it
    logs = _output(capfd)
    assert "got no task id; looking for it in Bailian's task list" in logs
    assert f"Recovered the submission: Bailian task {task_id}" in logs


def test_a_record_of_a_newer_schema_fails_the_retry_without_sending(
    dag_conn: Any, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    _store_as(monkeypatch, lambda value: {**value, "schema": 2})
    dag_conn.configure(pending_seconds=0, task_seconds=30)  # the first try gives up waiting
    # retries=1: the second try finds the first one's record before comparing requests.
    dag_run = run_dag("bailian_wait_dags.py", "bailian_t_reattach_changed")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert dag_conn.count("submit") == 1
    logs = _output(capfd)
    assert "cannot be used: schema=2 is not a submission record schema" in logs
    assert "Nothing was sent" in logs


# ---- a trigger stored by an earlier version --------------------------------------------
@pytest.fixture
def conn(emulator: Any, make_conn: Any, api_style: str) -> str:
    return make_conn("bailian_trig", emulator.base_url, api_style=api_style)


def _submit(conn_id: str) -> str:
    hook = BailianHook(conn_id)
    try:
        return hook.submit_text2video(**REQUEST).task_id
    finally:
        hook.close()


def test_a_trigger_stored_by_an_earlier_version_deserializes_and_waits(conn: str) -> None:
    from airflow.models.trigger import Trigger

    task_id = _submit(conn)
    now = time.time()
    # The keyword arguments BailianTaskTrigger.serialize() of 0.1.0 wrote, as a literal.
    released = {
        "bailian_task_id": task_id,
        "bailian_conn_id": conn,
        "poll_interval": 0.1,
        "deadline": None,
        "model": "wan2.6-t2v",
        "duration": 5,
        "submitted_at": now,
        "cancel_on_kill": False,
        "max_error_seconds": 600.0,
        "started_at": now,
    }
    row = Trigger(classpath=TRIGGER_PATH, kwargs=released)  # as Airflow's database keeps it
    module, name = row.classpath.rsplit(".", 1)
    trigger = getattr(importlib.import_module(module), name)(**row.kwargs)
    assert trigger.serialize() == (TRIGGER_PATH, released)  # stored again, unchanged
    assert trigger.target == WaitTarget(task_id, model="wan2.6-t2v", duration=5, submitted_at=now)

    async def events() -> list[dict[str, Any]]:
        return [e.payload async for e in trigger.run()]

    (event,) = asyncio.run(events())
    assert event["status"] == "success"
    assert event["task_id"] == task_id
    assert event["result"]["status"] == "SUCCEEDED"


def test_a_trigger_for_a_target_serializes_as_the_keyword_form() -> None:
    target = WaitTarget("tid-1", model="wan2.6-t2v", duration=5, submitted_at=100.0)
    built = BailianTaskTrigger.for_target(
        target, bailian_conn_id="c", poll_interval=2.0, deadline=50.0, started_at=90.0
    )
    plain = BailianTaskTrigger(
        "tid-1",
        "c",
        poll_interval=2.0,
        deadline=50.0,
        model="wan2.6-t2v",
        duration=5,
        submitted_at=100.0,
        started_at=90.0,
    )
    assert built.serialize() == plain.serialize()
    assert built.target == target


# ---- the watcher and the poll policy take the target -------------------------------------
@pytest.fixture
def ds(emulator: Any, make_conn: Any) -> str:
    return make_conn("ds", emulator.base_url, api_style="dashscope", list_interval=0.2)


def _client(conn_id: str) -> BailianAsyncClient:
    return BailianAsyncClient(BailianHook(conn_id).settings)


@pytest.mark.parametrize(
    "strategy",
    ["list", "queue", "per_task", WatchStrategy.LIST, WatchStrategy.QUEUE, WatchStrategy.PER_TASK],
)
def test_a_strategy_as_a_string_or_the_enum(ds: str, strategy: Any) -> None:
    task_ids = [_submit(ds) for _ in range(2)]
    settings = BailianHook(ds).settings

    async def main() -> tuple[StatusWatcher, list[Any]]:
        watcher = StatusWatcher(BailianAsyncClient(settings), strategy)
        target = WaitTarget(task_ids[0], model="wan2.6-t2v", duration=5)
        return watcher, list(
            await asyncio.gather(
                watcher.wait(target, poll_interval=0.1),
                watcher.wait(task_ids[1], model="wan2.6-t2v", duration=5, poll_interval=0.1),
            )
        )

    watcher, results = asyncio.run(main())
    assert watcher.strategy is WatchStrategy(strategy)
    assert watcher.strategy == str(strategy)
    assert str(watcher.strategy) == f"{watcher.strategy}" == WatchStrategy(strategy).value
    assert [r.task_id for r in results] == task_ids
    assert [r.status.value for r in results] == ["SUCCEEDED", "SUCCEEDED"]


@pytest.mark.parametrize("strategy", ["fast", "LIST", "per-task", ""])
def test_a_bad_strategy_is_refused_naming_the_allowed_ones(ds: str, strategy: str) -> None:
    with pytest.raises(ValueError, match="expected one of") as err:
        StatusWatcher(_client(ds), strategy)
    assert str(err.value) == f"strategy={strategy!r}: expected one of list, queue, per_task"


def test_the_strategies_tuple_is_the_enum_values() -> None:
    assert STRATEGIES == tuple(s.value for s in WatchStrategy) == ("list", "queue", "per_task")


def test_a_target_with_its_facts_given_twice_is_refused(ds: str) -> None:
    target = WaitTarget("tid-1", model="wan2.6-t2v")

    async def register() -> None:
        StatusWatcher(_client(ds)).register(target, duration=5)

    with pytest.raises(TypeError, match="duration given beside a WaitTarget"):
        asyncio.run(register())
    with pytest.raises(TypeError, match="model given beside a WaitTarget"):
        PollPolicy.create(target, model="wan2.6-t2v")


def test_the_poll_policy_from_a_target_is_the_keyword_policy() -> None:
    target = WaitTarget("tid-1", model="wan2.2-t2v-plus", duration=10, submitted_at=100.0)
    a = PollPolicy.create(target, poll_interval=7.0)
    b = PollPolicy.create(
        model="wan2.2-t2v-plus", duration=10, poll_interval=7.0, submitted_at=100.0
    )
    fields = ("expected_seconds", "min_interval", "max_interval", "max_error_interval")
    assert [getattr(a, f) for f in (*fields, "submitted_at")] == [
        getattr(b, f) for f in (*fields, "submitted_at")
    ]
    assert a.submitted_at == 100.0
