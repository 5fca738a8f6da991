"""Refusals no retry can fix fail the task at once; throttling is still retried.

Each answer is one the service gives (code, status and message replayed by the emulator's
``error`` fault), sent to a DAG run whose task has ``retries=2``: one POST, the task
failed rather than up for retry, and Bailian's code and request id in the log.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_bailian.exceptions import BailianAPIError, BailianPermanentError
from airflow_provider_bailian.protocol import is_permanent
from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states

FILE = "bailian_recovery_dags.py"
DAG_ID = "bailian_t_recover_submit_only"  # retries=2, retry_delay 0

#: (HTTP status, code, message) as Bailian answers a submission it refuses for good.
REFUSALS = [
    (401, "InvalidApiKey", "Invalid API-key provided."),
    (400, "InvalidParameter", "The size is not match the allowed size ['1280*720']"),
    (400, "Arrearage", "Access denied, please make sure your account is in good standing."),
    (400, "DataInspectionFailed", "Input data may contain inappropriate content."),
    (403, "AccessDenied", "current user api does not support synchronous calls."),
    (404, "ModelNotFound", "Model not exist."),
]


def _try_number(dag_run: Any) -> int:
    (ti,) = [t for t in dag_run.get_task_instances() if t.task_id == "generate"]
    return ti.try_number


@pytest.mark.parametrize(("status", "code", "message"), REFUSALS, ids=[r[1] for r in REFUSALS])
def test_permanent_refusal_fails_at_once(
    emulator: Any, make_conn: Any, capfd: Any, status: int, code: str, message: str
) -> None:
    make_conn("bailian_recovery", emulator.base_url, api_style="dashscope")
    emulator.add_fault("submit", "error", status=status, code=code, message=message)
    dag_run = run_dag(FILE, DAG_ID)
    assert ti_states(dag_run) == {"generate": "failed"}  # not up_for_retry
    assert _try_number(dag_run) == 1  # retries=2 were not spent
    assert emulator.count("submit") == 1
    assert emulator.tasks == {}
    (refused,) = [r for r in emulator.requests if r["route"] == "submit"]
    out = capfd.readouterr()
    logs = all_logs() + out.out + out.err
    assert f"code={code}" in logs
    assert message in logs
    assert f"request_id={refused['request_id']}" in logs
    assert FAKE_KEY not in logs


def test_gateway_rejected_key_fails_at_once(emulator: Any, make_conn: Any) -> None:
    make_conn("bailian_recovery", emulator.base_url, api_style="gateway")
    emulator.add_fault("submit", "error", status=401, code="InvalidApiKey", message="bad key")
    dag_run = run_dag(FILE, DAG_ID)
    assert ti_states(dag_run) == {"generate": "failed"}
    assert _try_number(dag_run) == 1
    assert emulator.count("submit") == 1


def test_throttled_submission_then_success_sends_one_task(
    emulator: Any, make_conn: Any, capfd: Any
) -> None:
    make_conn("bailian_recovery", emulator.base_url, api_style="dashscope", retry_max_wait=0.1)
    emulator.add_fault("submit", "429", retry_after=0, code="Throttling.AllocationQuota")
    dag_run = run_dag(FILE, DAG_ID)
    assert ti_states(dag_run) == {"generate": "success"}
    assert _try_number(dag_run) == 1
    assert emulator.count("submit") == 2  # the 429, then the one that created the task
    assert len(emulator.tasks) == 1


def test_throttling_keeps_today_s_rules_and_says_it_clears(emulator: Any, make_conn: Any) -> None:
    """A 429 that outlasts the bound fails as a retryable error, with the quota hint."""
    from airflow_provider_bailian.hooks.bailian import BailianHook

    make_conn("thr", emulator.base_url, throttle_max_wait=0.3, retry_max_wait=0.05)
    emulator.add_fault(
        "submit", "429", times=1000, retry_after=0, code="Throttling.AllocationQuota"
    )
    with pytest.raises(BailianAPIError) as info:
        BailianHook("thr").submit_text2video(model="wan2.6-t2v", prompt="a lantern at dusk")
    assert not isinstance(info.value, BailianPermanentError)
    assert info.value.code == "Throttling.AllocationQuota"
    assert "usually clears within about a minute" in str(info.value)
    assert emulator.tasks == {}


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "InvalidParameter.DataInspection", True),
        (400, "InternalError.Algo.DataInspectionFailed", True),
        (403, "AccessDenied.Unpurchased", True),
        (401, None, True),
        (400, "InvalidURL", False),  # the URL may be reachable on the next try
        (429, "Throttling.AllocationQuota", False),
        (500, "InternalError", False),
        (503, "ModelUnavailable", False),
        (400, None, False),
    ],
)
def test_classification(status: int, code: str | None, expected: bool) -> None:
    assert is_permanent(status, code) is expected
