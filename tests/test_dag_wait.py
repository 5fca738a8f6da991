"""Waiting through Airflow: deferrable, in the worker, sensors, timeouts, reattach on retry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_bailian._compat import AIRFLOW_V3
from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states, xcom

FILE = "bailian_wait_dags.py"


@pytest.fixture
def dag_conn(emulator: Any, make_conn: Any, api_style: str) -> Any:
    make_conn("bailian_dag", emulator.base_url, api_style=api_style)
    return emulator


def _output(capfd: Any) -> str:
    out = capfd.readouterr()
    return all_logs() + out.out + out.err


@pytest.mark.parametrize("dag_id", ["bailian_t_deferrable", "bailian_t_worker_wait"])
def test_operator_waits_and_pushes_the_result(dag_conn: Any, dag_id: str, capfd: Any) -> None:
    dag_run = run_dag(FILE, dag_id)
    assert ti_states(dag_run) == {"generate": "success"}
    assert dag_conn.count("submit") == 1
    (task_id,) = dag_conn.tasks
    assert xcom(dag_run, "generate") == task_id
    assert xcom(dag_run, "generate", key="task_id") == task_id
    video_url = xcom(dag_run, "generate", key="video_url")
    assert video_url.startswith("http://localhost:")
    result = xcom(dag_run, "generate", key="result")
    assert result["status"] == "SUCCEEDED"
    assert result["video_url"] == video_url
    assert result["usage"]["output_video_duration"] == 5
    logs = _output(capfd)
    assert "SUCCEEDED after" in logs
    if AIRFLOW_V3 and dag_id == "bailian_t_deferrable":
        assert xcom(dag_run, "generate", key="_link_BailianVideoLink") == video_url


def test_failed_video_fails_the_task_with_bailian_code(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_fail")
    assert ti_states(dag_run) == {"generate": "failed"}
    logs = _output(capfd)
    assert "DataInspectionFailed" in logs
    assert dag_conn.count("submit") == 1


def test_timeout_is_explained_and_does_not_cancel(dag_conn: Any, capfd: Any) -> None:
    dag_conn.configure(task_seconds=60, pending_seconds=0)
    dag_run = run_dag(FILE, "bailian_t_timeout")
    assert ti_states(dag_run) == {"generate": "failed"}
    logs = _output(capfd)
    assert "which is still RUNNING; it was not cancelled" in logs
    assert dag_conn.count("cancel") == 0


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensor_in_each_mode(dag_conn: Any, mode: str) -> None:
    dag_run = run_dag(FILE, f"bailian_t_sensor_{mode}")
    assert ti_states(dag_run) == {"submit": "success", "wait": "success"}
    result = xcom(dag_run, "wait")
    assert result["status"] == "SUCCEEDED"
    assert result["task_id"] == xcom(dag_run, "submit")
    assert xcom(dag_run, "wait", key="video_url") == result["video_url"]
    assert dag_conn.count("submit") == 1


@pytest.mark.parametrize(("soft", "state"), [(False, "failed"), (True, "skipped")])
def test_sensor_on_a_failed_video(dag_conn: Any, soft: bool, state: str, capfd: Any) -> None:
    dag_run = run_dag(FILE, f"bailian_t_sensor_fail_{'soft' if soft else 'hard'}")
    assert ti_states(dag_run) == {"submit": "success", "wait": state}
    assert "InvalidParameter" in _output(capfd)


def test_failure_after_submitting_reattaches(dag_conn: Any, capfd: Any) -> None:
    """A try that dies after its submission (here: status queries keep failing)."""
    dag_conn.add_fault("query", "drop", times=6)
    dag_run = run_dag(FILE, "bailian_t_reattach_worker")
    assert ti_states(dag_run) == {"generate": "success"}
    assert dag_conn.count("submit") == 1
    (task_id,) = dag_conn.tasks
    assert f"Reattaching to Bailian task {task_id}" in _output(capfd)


@pytest.mark.parametrize("where", ["worker", "deferred"])
def test_retry_reattaches_instead_of_paying_twice(dag_conn: Any, where: str, capfd: Any) -> None:
    dag_conn.configure(task_seconds=4)
    dag_run = run_dag(FILE, f"bailian_t_reattach_{where}")
    assert ti_states(dag_run) == {"generate": "success"}
    assert dag_conn.count("submit") == 1
    (task_id,) = dag_conn.tasks
    assert xcom(dag_run, "generate") == task_id
    logs = _output(capfd)
    assert f"Reattaching to Bailian task {task_id}" in logs
    (ti,) = dag_run.get_task_instances()
    assert ti.try_number > 1


def test_changed_request_submits_anew(dag_conn: Any, capfd: Any) -> None:
    # The first try fails after submitting (its status queries keep failing).
    dag_conn.add_fault("query", "503", times=6)
    dag_run = run_dag(FILE, "bailian_t_reattach_changed")
    assert ti_states(dag_run) == {"generate": "success"}
    prompts = [r["body"]["input"]["prompt"] for r in dag_conn.submissions]
    assert prompts == ["take 1 of a paper boat", "take 2 of a paper boat"]
    assert "for a different request; submitting anew" in _output(capfd)


def test_reattach_false_submits_again(dag_conn: Any) -> None:
    dag_conn.add_fault("query", "503", times=6)
    dag_run = run_dag(FILE, "bailian_t_no_reattach")
    assert ti_states(dag_run) == {"generate": "success"}
    assert dag_conn.count("submit") == 2


def test_token_in_no_log_xcom_or_rendered_field(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_deferrable")
    assert ti_states(dag_run) == {"generate": "success"}
    assert FAKE_KEY not in _output(capfd)
    stored = [
        xcom(dag_run, "generate", key=key)
        for key in ("return_value", "task_id", "video_url", "result")
    ]
    assert FAKE_KEY not in json.dumps(stored)
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(RenderedTaskInstanceFields).filter_by(run_id=dag_run.run_id).all()
        rendered = json.dumps([row.rendered_fields for row in rows], default=str)
    assert "a paper boat" in rendered
    assert FAKE_KEY not in rendered
