"""Every example DAG, run through Airflow against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import run_dag, ti_states, xcom


@pytest.fixture
def examples(emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    make_conn("bailian_default", emulator.base_url)
    monkeypatch.setenv("BAILIAN_EXAMPLE_POLL_INTERVAL", "0.1")
    return emulator


def test_submit_and_deferrable_wait_in_one_task(examples: Any) -> None:
    dag_run = run_dag("bailian_wait_deferrable.py", "bailian_wait_deferrable")
    assert ti_states(dag_run) == {"generate": "success", "publish": "success"}
    assert xcom(dag_run, "publish") == xcom(dag_run, "generate", key="video_url")
    assert examples.count("submit") == 1


def test_submit_then_sensor(examples: Any) -> None:
    dag_run = run_dag("bailian_submit_then_sensor.py", "bailian_submit_then_sensor")
    assert ti_states(dag_run) == {"submit": "success", "wait": "success", "report": "success"}
    assert xcom(dag_run, "report") == xcom(dag_run, "wait", key="video_url")
    assert examples.count("submit") == 1


def test_mapped_prompts_under_a_pool(examples: Any) -> None:
    from airflow.models.pool import Pool

    Pool.create_or_update_pool("bailian", 5, "Bailian concurrency", include_deferred=True)
    dag_run = run_dag("bailian_mapped_prompts.py", "bailian_mapped_prompts")
    states = ti_states(dag_run)
    assert states == {
        "prompts": "success",
        "generate[0]": "success",
        "generate[1]": "success",
        "generate[2]": "success",
        "collect": "success",
    }
    assert xcom(dag_run, "collect") == 3
    assert examples.count("submit") == 3
    prompts = sorted(r["body"]["input"]["prompt"] for r in examples.submissions)
    assert prompts[0].startswith("A red fox")
    for ti in dag_run.get_task_instances():
        if ti.task_id == "generate":
            assert ti.pool == "bailian"
