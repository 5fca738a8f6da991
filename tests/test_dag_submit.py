"""The submit-only operator and the example DAG, run through Airflow against the emulator."""

from __future__ import annotations

from typing import Any

from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states, xcom


def test_example_dag_submits_and_passes_the_task_id_downstream(
    emulator: Any, make_conn: Any
) -> None:
    make_conn("bailian_default", emulator.base_url)
    dag_run = run_dag("bailian_text2video.py", "bailian_text2video")
    assert ti_states(dag_run) == {"submit": "success", "report": "success"}
    assert emulator.count("submit") == 1
    task_id = next(iter(emulator.tasks))
    assert xcom(dag_run, "submit") == task_id
    assert xcom(dag_run, "submit", key="task_id") == task_id
    assert xcom(dag_run, "report") == task_id
    body = emulator.submissions[0]["body"]
    assert body["parameters"] == {
        "size": "1280*720",
        "duration": 5,
        "prompt_extend": True,
        "shot_type": "single",
        "seed": 42,
    }


def test_templates_and_prompt_file_are_rendered(emulator: Any, make_conn: Any) -> None:
    make_conn("bailian_dag", emulator.base_url, api_style="dashscope")
    dag_run = run_dag("bailian_test_dags.py", "bailian_t_templated")
    assert ti_states(dag_run) == {"submit": "success", "check": "success"}
    body = emulator.submissions[0]["body"]
    assert body["input"]["prompt"].strip() == "A short film: a fox runs through snow, 1280*720."
    assert body["parameters"] == {"size": "1280*720", "duration": 5, "seed": 11}


def test_invalid_request_fails_without_retry_and_sends_nothing(
    emulator: Any, make_conn: Any, capfd: Any
) -> None:
    make_conn("bailian_dag", emulator.base_url)
    dag_run = run_dag("bailian_test_dags.py", "bailian_t_invalid")
    assert ti_states(dag_run) == {"submit": "failed"}
    assert emulator.requests == []
    out = capfd.readouterr()
    logs = all_logs() + out.out + out.err
    assert "size='640*480' is not allowed" in logs
    assert FAKE_KEY not in logs
