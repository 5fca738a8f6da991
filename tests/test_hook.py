"""BailianHook over real HTTP against the emulator, in both API styles."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from airflow_provider_bailian.exceptions import (
    BailianAmbiguousSubmissionError,
    BailianAPIError,
    BailianError,
    BailianTransportError,
)
from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.models import TaskStatus
from tests.conftest import FAKE_KEY

REQUEST: dict[str, Any] = {
    "model": "wan2.6-t2v",
    "prompt": "a kitten in golden armour",
    "size": "1280*720",
    "duration": 5,
}


def test_submit_and_follow_the_lifecycle(hook: BailianHook, emulator: Any, api_style: str) -> None:
    submission = hook.submit_text2video(**REQUEST, seed=7, negative_prompt="blur")
    assert submission.task_id
    assert submission.request_id
    sent = emulator.submissions[0]
    expected_path = (
        "/task/bailian/text2video"
        if api_style == "gateway"
        else "/api/v1/services/aigc/video-generation/video-synthesis"
    )
    assert sent["path"] == expected_path
    assert sent["body"] == {
        "model": "wan2.6-t2v",
        "input": {"prompt": "a kitten in golden armour", "negative_prompt": "blur"},
        "parameters": {"size": "1280*720", "duration": 5, "seed": 7},
    }
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["user-agent"].startswith("airflow-provider-bailian/")
    assert (headers.get("x-dashscope-async") == "enable") == (api_style == "dashscope")

    first = hook.get_task(submission.task_id)
    assert first.status in (TaskStatus.PENDING, TaskStatus.RUNNING)
    result = hook.wait_for_task(submission.task_id, poll_interval=0.1, timeout=10)
    assert result.status is TaskStatus.SUCCEEDED
    assert result.video_url
    assert result.video_url.startswith("http://localhost:")
    assert result.usage is not None
    assert result.usage.video_seconds == 5
    assert result.usage.size == "1280*720"
    assert result.usage.tier == "720P"
    assert result.submit_time
    assert result.end_time
    assert result.to_dict()["status"] == "SUCCEEDED"


def test_old_usage_shape_is_normalised(hook: BailianHook) -> None:
    submission = hook.submit_text2video(model="wanx2.1-t2v-turbo", prompt="p", size="832*480")
    result = hook.wait_for_task(submission.task_id, poll_interval=0.1, timeout=10)
    assert result.usage is not None
    assert (result.usage.video_seconds, result.usage.size, result.usage.tier) == (
        5,
        "832*480",
        "480P",
    )
    assert result.actual_prompt


def test_failed_task_carries_code_and_message(hook: BailianHook) -> None:
    submission = hook.submit_text2video(**{**REQUEST, "prompt": "[fail:DataInspectionFailed] x"})
    with pytest.raises(BailianError) as info:
        hook.wait_for_task(submission.task_id, poll_interval=0.1, timeout=10)
    assert info.value.code == "DataInspectionFailed"
    assert "FAILED" in str(info.value)


def test_unknown_task_is_unknown(hook: BailianHook) -> None:
    assert hook.get_task("no-such-task").status is TaskStatus.UNKNOWN


def test_cancel_pending_task_dashscope(emulator: Any, make_conn: Any) -> None:
    emulator.configure(pending_seconds=30, task_seconds=60)
    make_conn("ds", emulator.base_url, api_style="dashscope")
    hook = BailianHook("ds")
    task_id = hook.submit_text2video(**REQUEST).task_id
    assert hook.cancel_if_pending(task_id) is True
    assert hook.get_task(task_id).status is TaskStatus.CANCELED
    assert emulator.count("cancel") == 1


def test_cancel_running_task_is_refused_and_left_alone(emulator: Any, make_conn: Any) -> None:
    emulator.configure(pending_seconds=0, task_seconds=60)
    make_conn("ds", emulator.base_url, api_style="dashscope")
    hook = BailianHook("ds")
    task_id = hook.submit_text2video(**REQUEST).task_id
    time.sleep(0.05)
    assert hook.cancel_if_pending(task_id) is False
    assert emulator.count("cancel") == 0
    with pytest.raises(BailianAPIError) as info:
        hook.cancel_task(task_id)
    assert info.value.code == "UnsupportedOperation"


def test_gateway_has_no_cancel(emulator: Any, make_conn: Any) -> None:
    make_conn("gw", emulator.base_url, api_style="gateway")
    with pytest.raises(BailianError, match="no endpoint to cancel"):
        BailianHook("gw").cancel_task("abc")


def test_list_tasks_dashscope(emulator: Any, make_conn: Any) -> None:
    make_conn("ds", emulator.base_url, api_style="dashscope")
    hook = BailianHook("ds")
    task_id = hook.submit_text2video(**REQUEST).task_id
    listing = hook.list_tasks(page_size=10)
    assert task_id in [row["task_id"] for row in listing["data"]]


def test_test_connection_never_submits(hook: BailianHook, emulator: Any) -> None:
    ok, message = hook.test_connection()
    assert ok, message
    assert emulator.count("submit") == 0


def test_test_connection_reports_a_bad_key(emulator: Any, make_conn: Any, api_style: str) -> None:
    make_conn("bad", emulator.base_url, key="sk-fake-wrong", api_style=api_style)
    ok, message = BailianHook("bad").test_connection()
    assert not ok
    assert "InvalidApiKey" in message
    assert "sk-fake-wrong" not in message


def test_invalid_key_on_submit(emulator: Any, make_conn: Any) -> None:
    make_conn("bad", emulator.base_url, key="sk-fake-wrong")
    with pytest.raises(BailianAPIError) as info:
        BailianHook("bad").submit_text2video(**REQUEST)
    assert (info.value.status, info.value.code) == (401, "InvalidApiKey")
    assert info.value.request_id
    assert emulator.count("submit") == 1


# ---- retries: a submission is resent only when nothing can have been created ---------------
@pytest.mark.parametrize("kind", ["500", "500_created", "502", "drop", "drop_created"])
def test_ambiguous_submission_failure_is_not_resent(
    hook: BailianHook, emulator: Any, kind: str
) -> None:
    emulator.add_fault("submit", kind)
    with pytest.raises(BailianAmbiguousSubmissionError) as info:
        hook.submit_text2video(**REQUEST)
    assert emulator.count("submit") == 1
    assert "NOT resent" in str(info.value)


def test_submission_read_timeout_is_not_resent(emulator: Any, make_conn: Any) -> None:
    make_conn("slow", emulator.base_url, timeout=0.3)
    emulator.add_fault("submit", "slow", seconds=1.0)
    with pytest.raises(BailianAmbiguousSubmissionError, match="ReadTimeout"):
        BailianHook("slow").submit_text2video(**REQUEST)
    time.sleep(1.0)
    assert emulator.count("submit") == 1


def test_ambiguous_error_keeps_the_request_id(hook: BailianHook, emulator: Any) -> None:
    emulator.add_fault("submit", "500")
    with pytest.raises(BailianAmbiguousSubmissionError) as info:
        hook.submit_text2video(**REQUEST)
    assert info.value.request_id
    assert info.value.request_id in str(info.value)
    assert info.value.code == "InternalError"


@pytest.mark.parametrize("code", ["Throttling.RateQuota", "Throttling.AllocationQuota"])
def test_throttled_submission_is_retried(hook: BailianHook, emulator: Any, code: str) -> None:
    emulator.add_fault("submit", "429", times=2, retry_after=0, code=code)
    submission = hook.submit_text2video(**REQUEST)
    assert submission.task_id
    assert emulator.count("submit") == 3
    assert len(emulator.tasks) == 1


def test_throttling_is_bounded_then_fails_clearly(emulator: Any, make_conn: Any) -> None:
    make_conn("thr", emulator.base_url, throttle_max_wait=0.5, retry_max_wait=0.1)
    emulator.add_fault("submit", "429", times=1000, retry_after=0)
    with pytest.raises(BailianAPIError, match="kept throttling the submission") as info:
        BailianHook("thr").submit_text2video(**REQUEST)
    assert info.value.status == 429
    assert emulator.tasks == {}


def test_retry_after_is_honoured(hook: BailianHook, emulator: Any) -> None:
    emulator.add_fault("submit", "429", retry_after=1)
    started = time.monotonic()
    hook.submit_text2video(**REQUEST)
    assert time.monotonic() - started >= 0.9


def test_refused_connection_is_retried_until_the_server_is_up(make_conn: Any) -> None:
    from airflow_provider_bailian.emulator import BailianEmulator

    probe = BailianEmulator().start()
    port = probe.port
    probe.stop()
    make_conn("late", f"http://127.0.0.1:{port}", retry_min_wait=0.3, retry_max_wait=0.3)
    late = BailianEmulator(port=port, api_key=FAKE_KEY)
    timer = threading.Timer(0.5, late.start)
    timer.start()
    try:
        submission = BailianHook("late").submit_text2video(**REQUEST)
        assert submission.task_id
        assert late.count("submit") == 1
    finally:
        timer.join()
        late.stop()


def test_refused_connection_gives_up_after_max_retries(make_conn: Any) -> None:
    from airflow_provider_bailian.emulator import BailianEmulator

    probe = BailianEmulator().start()
    port = probe.port
    probe.stop()
    make_conn("dead", f"http://127.0.0.1:{port}", max_retries=2)
    with pytest.raises(BailianTransportError) as info:
        BailianHook("dead").submit_text2video(**REQUEST)
    assert info.value.request_sent is False


@pytest.mark.parametrize("kind", ["500", "502", "503", "429", "drop", "nonjson", "empty"])
def test_queries_retry_transient_failures(hook: BailianHook, emulator: Any, kind: str) -> None:
    task_id = hook.submit_text2video(**REQUEST).task_id
    emulator.add_fault("query", kind, times=2, **({"retry_after": 0} if kind == "429" else {}))
    assert hook.get_task(task_id).task_id == task_id
    assert emulator.count("query") == 3


def test_queries_give_up_after_max_retries(emulator: Any, make_conn: Any) -> None:
    make_conn("few", emulator.base_url, max_retries=2)
    emulator.add_fault("query", "503", times=10)
    with pytest.raises(BailianAPIError) as info:
        BailianHook("few").get_task("abc")
    assert info.value.status == 503
    assert emulator.count("query") == 3


# ---- error bodies ------------------------------------------------------------------------
def test_html_error_body_gives_a_clear_message(hook: BailianHook, emulator: Any) -> None:
    emulator.add_fault("submit", "502")
    with pytest.raises(BailianAPIError) as info:
        hook.submit_text2video(**REQUEST)
    text = str(info.value)
    assert "HTTP 502" in text
    assert "text/html" in text
    assert "502 Bad Gateway" in text
    assert "<html>" not in text
    assert "JSONDecodeError" not in text


def test_empty_and_plain_text_bodies(make_conn: Any, emulator: Any) -> None:
    make_conn("few", emulator.base_url, max_retries=0)
    hook = BailianHook("few")
    emulator.add_fault("query", "empty", status=502)
    with pytest.raises(BailianAPIError, match="empty body"):
        hook.get_task("abc")
    emulator.add_fault("query", "nonjson")
    with pytest.raises(BailianAPIError, match="upstream error"):
        hook.get_task("abc")


def test_validation_errors_from_the_service_are_not_retried(
    hook: BailianHook, emulator: Any
) -> None:
    # Unknown models pass local validation with a warning; the service answers 404.
    with pytest.raises(BailianAPIError) as info:
        hook.submit_text2video(model="wan9-t2v", prompt="p")
    assert (info.value.status, info.value.code) == (404, "ModelNotFound")
    assert emulator.count("submit") == 1


# ---- the token -----------------------------------------------------------------------------
def test_token_never_in_logs_or_errors(
    emulator: Any, make_conn: Any, caplog: pytest.LogCaptureFixture, capfd: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    make_conn("tok", emulator.base_url, max_retries=1)
    hook = BailianHook("tok")
    errors: list[str] = [repr(hook.settings), repr(hook.protocol), repr(hook.protocol.query("x"))]
    for route, kind in [
        ("submit", "500"),
        ("submit", "502"),
        ("query", "drop"),
        ("query", "nonjson"),
    ]:
        emulator.add_fault(route, kind, times=5)
        try:
            if route == "submit":
                hook.submit_text2video(**REQUEST)
            else:
                hook.get_task("abc")
        except BailianError as exc:
            errors.append(str(exc))
            errors.append(repr(exc))
        emulator.clear_faults()
    task_id = hook.submit_text2video(**REQUEST).task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    captured = capfd.readouterr()
    assert len(errors) >= 7
    for text in [*errors, caplog.text, captured.out, captured.err]:
        assert FAKE_KEY not in text


def test_token_echoed_by_a_server_is_scrubbed(hook: BailianHook) -> None:
    from airflow_provider_bailian.protocol import HttpAnswer

    answer = HttpAnswer(401, f'{{"code":"InvalidApiKey","message":"bad key {FAKE_KEY}"}}'.encode())
    err = hook.protocol.error_from(answer, operation="query")
    assert FAKE_KEY not in str(err)
    assert "***" in str(err)
