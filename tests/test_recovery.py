"""Ambiguous submissions: recovered from Bailian's task list, never paid twice.

Every DAG test runs through Airflow (``dag.test()``) with ``retries`` set, over real
HTTP against the emulator, and counts the submissions the emulator received.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_bailian.recovery import Outcome, Verdict, compare
from tests.conftest import all_logs, run_dag, ti_states, xcom

FILE = "bailian_recovery_dags.py"
PROMPT = "a lighthouse in the fog"
BODY = {
    "model": "wan2.6-t2v",
    "input": {"prompt": PROMPT},
    "parameters": {"size": "1280*720", "duration": 5},
}
FAST_SEARCH = {
    "recovery_settle": 0.3,
    "recovery_interval": 0.5,  # six re-reads (3 s) for a twin to show
    "recovery_timeout": 20,
}


@pytest.fixture
def rconn(emulator: Any, make_conn: Any) -> Any:
    make_conn("bailian_recovery", emulator.base_url, api_style="dashscope", **FAST_SEARCH)
    return emulator


@pytest.fixture
def other_app(rconn: Any, make_conn: Any) -> Any:
    """Another application of the same account, submitting through its own hook."""
    from airflow_provider_bailian.hooks.bailian import BailianHook

    make_conn("other_app", rconn.base_url, api_style="dashscope")
    hook = BailianHook(bailian_conn_id="other_app")
    yield hook
    hook.close()


def _output(capfd: Any) -> str:
    out = capfd.readouterr()
    return all_logs() + out.out + out.err


def _try_number(dag_run: Any, task_id: str = "generate") -> int:
    (ti,) = [t for t in dag_run.get_task_instances() if t.task_id == task_id]
    return ti.try_number


# ---- matching: what is compared ----------------------------------------------------------
def test_compare_matches_on_the_prompt_and_rejects_any_differing_field() -> None:
    finished = {"orig_prompt": PROMPT, "usage": {"size": "1280*720", "output_video_duration": 5}}
    assert compare(BODY, finished)[0] is Verdict.MATCH
    assert compare(BODY, {**finished, "orig_prompt": "another prompt"})[0] is Verdict.MISMATCH
    other_size = {**finished, "usage": {"size": "1920*1080", "output_video_duration": 5}}
    assert compare(BODY, other_size) == (Verdict.MISMATCH, "parameters.size differs")
    old_usage = {"orig_prompt": PROMPT, "usage": {"video_ratio": "1280*720", "video_duration": 10}}
    assert compare(BODY, old_usage) == (Verdict.MISMATCH, "parameters.duration differs")
    # Parameters the answer carries are compared key by key.
    shown = {"orig_prompt": PROMPT, "parameters": {"seed": 7}}
    assert compare({**BODY, "parameters": {"seed": 8}}, shown)[0] is Verdict.MISMATCH
    assert compare({**BODY, "parameters": {"seed": 7}}, shown)[0] is Verdict.MATCH


def test_compare_without_a_prompt_never_confirms() -> None:
    running = {"task_status": "RUNNING"}
    assert compare(BODY, running)[0] is Verdict.UNCONFIRMED
    # An image-to-video request may have no prompt: only an input field the answer shows
    # identifies it; equal parameters alone never do.
    image = {"model": "wan2.6-i2v", "input": {"img_url": "https://x/a.png"}, "parameters": {}}
    assert compare(image, {"orig_prompt": "", "usage": {"size": "1280*720"}})[0] is (
        Verdict.UNCONFIRMED
    )
    assert compare(image, {"img_url": "https://x/a.png"})[0] is Verdict.MATCH
    assert compare(image, {"img_url": "https://x/b.png"})[0] is Verdict.MISMATCH


# ---- the search, through the hook ----------------------------------------------------------
def test_search_is_bounded_in_task_reads(rconn: Any, make_conn: Any, other_app: Any) -> None:
    from airflow_provider_bailian.hooks.bailian import BailianHook

    rconn.configure(task_seconds=60)
    for _ in range(4):
        other_app.submit_text2video(model="wan2.6-t2v", prompt=PROMPT + " at dusk")
    make_conn(
        "bounded",
        rconn.base_url,
        api_style="dashscope",
        recovery_max_candidates=2,
        recovery_settle=0.1,
        recovery_interval=0.2,
        recovery_timeout=1,
    )
    hook = BailianHook(bailian_conn_id="bounded")
    started = time.time()
    before = len(rconn.requests)
    found = hook.find_orphaned_task(
        BODY, since=started, until=started + 1, claimed=lambda task_id: False
    )
    # Running tasks that do not show a prompt yet cannot be told apart: no guess.
    assert found.outcome is Outcome.UNDECIDED
    assert "not read (more than 2 candidates)" in found.summary()
    seen = rconn.requests[before:]
    assert {r["route"] for r in seen} == {"list", "query"}
    assert len({r["task_id"] for r in seen if r["route"] == "query"}) == 2
    assert time.time() - started < 5
    assert rconn.count("submit") == 4
    hook.close()


def test_one_match_among_busy_running_tasks_is_recovered(
    rconn: Any, make_conn: Any, other_app: Any
) -> None:
    """Other applications' tasks still running (no prompt shown) do not block a match."""
    from airflow_provider_bailian.hooks.bailian import BailianHook

    rconn.configure(task_seconds=60)
    others = {
        other_app.submit_text2video(model="wan2.6-t2v", prompt=f"app {i}").task_id
        for i in range(40)
    }
    rconn.configure(task_seconds=0.2)
    mine = other_app.submit_text2video(model="wan2.6-t2v", prompt=PROMPT, size="1280*720")
    time.sleep(0.5)
    make_conn("busy", rconn.base_url, api_style="dashscope", recovery_interval=0.2)
    hook = BailianHook(bailian_conn_id="busy")
    now = time.time()
    found = hook.find_orphaned_task(BODY, since=now - 5, until=now, claimed=lambda t: False)
    assert found.outcome is Outcome.RECOVERED
    assert found.task is not None
    assert found.task.task_id == mine.task_id
    read = {c.task_id for c in found.candidates if c.result is not None}
    assert len(read) <= 30  # recovery_max_candidates: 40 others are listed, 30 tasks read
    assert mine.task_id in read
    assert {c.task_id for c in found.candidates} <= others | {mine.task_id}
    assert rconn.count("submit") == 41
    hook.close()


def test_search_never_takes_a_claimed_task(rconn: Any, other_app: Any) -> None:
    from airflow_provider_bailian.hooks.bailian import BailianHook

    mine = other_app.submit_text2video(model="wan2.6-t2v", prompt=PROMPT, size="1280*720")
    hook = BailianHook(bailian_conn_id="bailian_recovery")
    now = time.time()
    free = hook.find_orphaned_task(BODY, since=now, until=now, claimed=lambda t: False)
    assert free.outcome is Outcome.RECOVERED
    assert free.task is not None
    assert free.task.task_id == mine.task_id
    held = hook.find_orphaned_task(BODY, since=now, until=now, claimed={mine.task_id}.__contains__)
    assert held.outcome is Outcome.ABSENT
    assert held.list_reads == 2  # the list is read twice before concluding nothing exists
    hook.close()


# ---- through Airflow -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["500_created", "drop_created"])
@pytest.mark.parametrize("where", ["deferred", "worker"])
def test_ambiguous_failure_recovers_the_created_task(
    rconn: Any, kind: str, where: str, capfd: Any
) -> None:
    rconn.add_fault("submit", kind)
    dag_run = run_dag(FILE, f"bailian_t_recover_{where}")
    assert ti_states(dag_run) == {"generate": "success"}
    assert rconn.count("submit") == 1
    (task_id,) = rconn.tasks
    assert xcom(dag_run, "generate") == task_id
    assert xcom(dag_run, "generate", key="result")["status"] == "SUCCEEDED"
    assert f"Recovered the submission: Bailian task {task_id}" in _output(capfd)
    assert _try_number(dag_run) == 1


def test_nothing_created_resubmits_exactly_once(rconn: Any, capfd: Any) -> None:
    rconn.add_fault("submit", "500")
    dag_run = run_dag(FILE, "bailian_t_recover_worker")
    assert ti_states(dag_run) == {"generate": "success"}
    assert rconn.count("submit") == 2
    (task_id,) = rconn.tasks
    assert xcom(dag_run, "generate") == task_id
    logs = _output(capfd)
    assert "the submission was not created, so sending it again (once)" in logs
    lists = [r for r in rconn.requests if r["route"] == "list"]
    assert len(lists) == 2  # a bounded search: two list reads, then the resubmission
    assert all(r["query"].get("model_name") == "wan2.6-t2v" for r in lists)
    assert not any("start_time" in r["query"] for r in lists)


def test_crash_before_the_record_recovers_on_the_retry(
    rconn: Any, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    from airflow_provider_bailian.reattach import SubmissionLedger

    real_save = SubmissionLedger.save
    failures = []

    def save(self: SubmissionLedger, record: dict[str, Any]) -> None:
        if record.get("task_id") and not failures:
            failures.append(record["task_id"])
            raise OSError("worker lost")
        real_save(self, record)

    monkeypatch.setattr(SubmissionLedger, "save", save)
    dag_run = run_dag(FILE, "bailian_t_recover_deferred")
    assert ti_states(dag_run) == {"generate": "success"}
    assert rconn.count("submit") == 1
    (task_id,) = rconn.tasks
    assert failures == [task_id]
    assert xcom(dag_run, "generate") == task_id
    assert _try_number(dag_run) == 2
    logs = _output(capfd)
    assert "got no task id; looking for it in Bailian's task list" in logs
    assert f"Recovered the submission: Bailian task {task_id}" in logs


def test_identical_twins_fail_naming_both(rconn: Any, other_app: Any, capfd: Any) -> None:
    twin = other_app.submit_text2video(
        model="wan2.6-t2v", prompt=PROMPT, size="1280*720", duration=5
    )
    rconn.add_fault("submit", "500_created")
    dag_run = run_dag(FILE, "bailian_t_recover_worker")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert rconn.count("submit") == 2  # the twin and this task's one submission
    assert _try_number(dag_run) == 1  # fail-fast: retries=1 does not send it again
    logs = _output(capfd)
    assert "Several Bailian tasks match this request" in logs
    for task_id in rconn.tasks:
        assert task_id in logs
    assert twin.task_id in rconn.tasks


def test_mapped_twins_each_recover_their_own_task(rconn: Any) -> None:
    rconn.add_fault("submit", "500_created", times=2)
    dag_run = run_dag(FILE, "bailian_t_recover_mapped")
    assert ti_states(dag_run) == {"generate[0]": "success", "generate[1]": "success"}
    assert rconn.count("submit") == 2
    ids = {xcom(dag_run, "generate", map_index=i) for i in (0, 1)}
    assert ids == set(rconn.tasks)  # two tasks, each held by one item, none by both


def test_other_applications_tasks_are_never_claimed(rconn: Any, other_app: Any, capfd: Any) -> None:
    others = {
        other_app.submit_text2video(model="wan2.6-t2v", prompt="a harbour at night").task_id,
        other_app.submit_text2video(model="wan2.6-t2v", prompt=PROMPT, size="1920*1080").task_id,
        other_app.submit_text2video(model="wan2.5-t2v-preview", prompt=PROMPT).task_id,
    }
    rconn.add_fault("submit", "500")
    dag_run = run_dag(FILE, "bailian_t_recover_worker")
    assert ti_states(dag_run) == {"generate": "success"}
    assert rconn.count("submit") == 3 + 2
    mine = xcom(dag_run, "generate")
    assert mine not in others
    assert set(rconn.tasks) == {*others, mine}
    assert "so sending it again (once)" in _output(capfd)


@pytest.mark.parametrize("kind", ["500_created", "drop_created"])
def test_gateway_fails_fast_with_one_submission(
    emulator: Any, make_conn: Any, kind: str, capfd: Any
) -> None:
    make_conn("bailian_recovery", emulator.base_url, api_style="gateway")
    emulator.add_fault("submit", kind)
    dag_run = run_dag(FILE, "bailian_t_recover_submit_only")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert emulator.count("submit") == 1
    assert _try_number(dag_run) == 2  # retries=2, but the second try fails fast
    logs = _output(capfd)
    assert "has no task list to look it up in, so it is NOT sent again" in logs
    assert "reattach=False" in logs


def test_unreadable_record_fails_without_submitting(
    rconn: Any, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("metadata database unavailable")

    try:
        from airflow.sdk.execution_time.context import TaskStateStoreAccessor

        monkeypatch.setattr(TaskStateStoreAccessor, "get", broken)
    except ImportError:  # Airflow 2.11: the record is a Variable
        from airflow.models import Variable

        monkeypatch.setattr(Variable, "get", broken)
    dag_run = run_dag(FILE, "bailian_t_recover_worker")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert rconn.count("submit") == 0
    assert "Could not read the Bailian submission record" in _output(capfd)


def test_retry_on_a_finished_task_completes_without_deferring(rconn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_recover_finished")
    assert ti_states(dag_run) == {"generate": "success"}
    assert rconn.count("submit") == 1
    (task_id,) = rconn.tasks
    assert f"Reattaching to Bailian task {task_id} (SUCCEEDED)" in _output(capfd)
    # The retry (after a 2 s retry_delay) reads the task once and finishes: no trigger polls.
    times = [r["time"] for r in rconn.requests]
    gap = max(range(1, len(times)), key=lambda i: times[i] - times[i - 1])
    second_try = [r["route"] for r in rconn.requests[gap:]]
    assert second_try == ["query"]
    assert _try_number(dag_run) == 2
