"""The Bailian emulator, checked over real HTTP.

The client's tests trust the emulator to behave like the service, so the emulator's own
shapes, codes, lifecycle and fault injection are pinned here, independently of the client.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_bailian.emulator import BailianEmulator
from airflow_provider_bailian.emulator.server import parse_fault_spec

TOKEN = "sk-fake-test"
REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = (REPO_ROOT / "airflow_provider_bailian" / "emulator" / "sample.mp4").read_bytes()
GATEWAY_SUBMIT = "/task/bailian/text2video"
DS_SUBMIT = "/api/v1/services/aigc/video-generation/video-synthesis"
ASYNC = {"X-DashScope-Async": "enable"}
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")


class Resp:
    """A finished HTTP exchange: status, headers (case-insensitive), raw body."""

    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    token: str | None = TOKEN,
    timeout: float = 5.0,
    raw: bytes | None = None,
) -> Resp:
    """One request on a fresh connection (http.client, no mocks)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    hdrs = {"Content-Type": "application/json"}
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    hdrs.update(headers or {})
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return Resp(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def body_for(model: str = "wan2.6-t2v", prompt: str = "a cat surfing", **params: Any) -> dict:
    payload: dict[str, Any] = {"model": model, "input": {"prompt": prompt}}
    if params:
        payload["parameters"] = params
    return payload


def submit(emu: BailianEmulator, style: str = "dashscope", **kwargs: Any) -> str:
    path, headers = (DS_SUBMIT, ASYNC) if style == "dashscope" else (GATEWAY_SUBMIT, {})
    r = call(emu.base_url, "POST", path, body_for(**kwargs), headers=headers)
    assert r.status == 200, r.body
    return r.json()["output"]["task_id"]


def query(emu: BailianEmulator, task_id: str, style: str = "dashscope") -> dict:
    path = f"/api/v1/tasks/{task_id}" if style == "dashscope" else f"/task/{task_id}"
    r = call(emu.base_url, "GET", path)
    assert r.status == 200, r.body
    return r.json()


def wait_done(emu: BailianEmulator, task_id: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = query(emu, task_id)
        if answer["output"]["task_status"] not in ("PENDING", "RUNNING"):
            return answer
        assert time.monotonic() < deadline, answer
        time.sleep(0.05)


def fetch_url(url: str, headers: dict[str, str] | None = None) -> Resp:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return Resp(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


@pytest.fixture
def emu() -> Iterator[BailianEmulator]:
    """A fast emulator that checks the token, as the real service does."""
    with BailianEmulator(task_seconds=0.3, pending_seconds=0.15, api_key=TOKEN, seed=7) as emulator:
        yield emulator


# ------------------------------------------------------------------ lifecycle


@pytest.mark.parametrize("style", ["gateway", "dashscope"])
def test_submit_and_query_lifecycle(emu: BailianEmulator, style: str) -> None:
    """Both styles create a task that goes PENDING -> SUCCEEDED with the documented shape."""
    path, headers = (DS_SUBMIT, ASYNC) if style == "dashscope" else (GATEWAY_SUBMIT, {})
    r = call(emu.base_url, "POST", path, body_for(size="1280*720", duration=5), headers=headers)
    assert r.status == 200
    answer = r.json()
    assert answer["output"]["task_status"] == "PENDING"
    assert r.headers["X-Request-Id"] == answer["request_id"]
    task_id = answer["output"]["task_id"]

    first = query(emu, task_id, style)["output"]
    assert first["task_status"] == "PENDING"
    assert TIME_RE.match(first["submit_time"])
    assert "video_url" not in first
    assert "end_time" not in first

    time.sleep(0.35)
    done = query(emu, task_id, style)
    out = done["output"]
    assert out["task_status"] == "SUCCEEDED"
    for key in ("submit_time", "scheduled_time", "end_time"):
        assert TIME_RE.match(out[key]), key
    assert out["orig_prompt"] == "a cat surfing"
    assert "actual_prompt" not in out  # wan2.6 never returns it
    url = urlsplit(out["video_url"])
    assert url.hostname == "localhost"
    assert url.port == emu.port
    assert done["usage"] == {
        "duration": 5.0,
        "input_video_duration": 0,
        "output_video_duration": 5,
        "SR": 720,
        "size": "1280*720",
        "video_count": 1,
    }
    assert emu.tasks[task_id]["api_style"] == style


def test_running_phase_and_scheduled_time() -> None:
    """RUNNING starts after pending_seconds and carries scheduled_time but no end_time."""
    with BailianEmulator(task_seconds=0.6, pending_seconds=0.1) as emu:
        task_id = submit(emu)
        time.sleep(0.25)
        out = query(emu, task_id)["output"]
        assert out["task_status"] == "RUNNING"
        assert "scheduled_time" in out
        assert "end_time" not in out
        assert wait_done(emu, task_id)["output"]["task_status"] == "SUCCEEDED"


def test_old_model_usage_and_actual_prompt(emu: BailianEmulator) -> None:
    """Models before wan2.6 answer the old usage shape and an actual_prompt."""
    task_id = submit(emu, model="wan2.2-t2v-plus", size="832*480")
    done = wait_done(emu, task_id)
    assert done["usage"] == {"video_count": 1, "video_ratio": "832*480", "video_duration": 5}
    assert done["output"]["actual_prompt"].startswith("a cat surfing")


def test_wan27_resolution_and_ratio(emu: BailianEmulator) -> None:
    """wan2.7 takes resolution + ratio and reports the size it rendered."""
    task_id = submit(emu, model="wan2.7-t2v", resolution="1080P", ratio="3:4", duration=12)
    done = wait_done(emu, task_id)
    assert done["usage"]["size"] == "1248*1648"
    assert done["usage"]["SR"] == 1080
    assert done["usage"]["output_video_duration"] == 12
    # A valid size is accepted too.
    assert submit(emu, model="wan2.7-t2v", size="1104*832")


def test_unknown_task_is_unknown(emu: BailianEmulator) -> None:
    """An unknown id is HTTP 200 with task_status UNKNOWN, as on the service."""
    for path in ("/api/v1/tasks/nope-123", "/task/nope-123"):
        r = call(emu.base_url, "GET", path)
        assert r.status == 200
        assert r.json()["output"] == {"task_id": "nope-123", "task_status": "UNKNOWN"}


def test_fail_markers_and_failure_rate(emu: BailianEmulator) -> None:
    """[fail:CODE] fails deterministically with HTTP 200; failure_rate fails at random."""
    inspected = submit(emu, prompt="a cat [fail:DataInspectionFailed]")
    plain = submit(emu, prompt="[fail] a dog")
    out = wait_done(emu, inspected)["output"]
    assert out["task_status"] == "FAILED"
    assert out["code"] == "DataInspectionFailed"
    assert out["message"] == "Output data may contain inappropriate content."
    assert "video_url" not in out
    assert wait_done(emu, plain)["output"]["code"] == "InternalError"

    emu.configure(failure_rate=1.0)
    assert wait_done(emu, submit(emu))["output"]["task_status"] == "FAILED"


def test_advance_moves_the_clock() -> None:
    """advance() finishes tasks without sleeping."""
    with BailianEmulator(task_seconds=3600) as emu:
        task_id = submit(emu)
        emu.advance(3601)
        assert query(emu, task_id)["output"]["task_status"] == "SUCCEEDED"


# ------------------------------------------------------------------ auth and validation


@pytest.mark.parametrize("token", [None, "", "sk-wrong"])
def test_bad_token_is_401(emu: BailianEmulator, token: str | None) -> None:
    """Missing, empty or wrong tokens get InvalidApiKey, recorded as unauthorized."""
    r = call(emu.base_url, "POST", DS_SUBMIT, body_for(), headers=ASYNC, token=token)
    assert r.status == 401
    answer = r.json()
    assert answer["code"] == "InvalidApiKey"
    assert answer["message"] == "Invalid API-key provided."
    assert r.headers["X-Request-Id"] == answer["request_id"]
    assert emu.tasks == {}
    record = emu.requests[-1]
    assert record["authorized"] is False
    assert "Authorization" not in record["headers"]


def test_any_token_without_api_key() -> None:
    """With api_key=None any non-empty token works, but a token is still required."""
    with BailianEmulator(task_seconds=0.2) as emu:
        assert call(emu.base_url, "GET", "/api/v1/tasks/x", token="whatever").status == 200
        assert call(emu.base_url, "GET", "/api/v1/tasks/x", token=None).status == 401


def test_dashscope_submit_needs_async_header(emu: BailianEmulator) -> None:
    """DashScope refuses synchronous calls; the gateway needs no header."""
    r = call(emu.base_url, "POST", DS_SUBMIT, body_for())
    assert r.status == 403
    assert r.json()["code"] == "AccessDenied"
    assert r.json()["message"] == "current user api does not support synchronous calls"
    assert call(emu.base_url, "POST", GATEWAY_SUBMIT, body_for()).status == 200


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        ({"input": {"prompt": "x"}}, 400, "InvalidParameter", "model"),
        (body_for(model="wan9-t2v"), 404, "ModelNotFound", None),
        ({"model": "wan2.6-t2v"}, 400, "InvalidParameter", "input"),
        (body_for(prompt=""), 400, "InvalidParameter", "input.prompt"),
        (body_for(prompt="   "), 400, "InvalidParameter", "input.prompt"),
        (
            {"model": "wan2.6-t2v", "input": {"prompt": "x", "negative_prompt": "n" * 501}},
            400,
            "InvalidParameter",
            "input.negative_prompt",
        ),
        (
            {"model": "wan2.6-t2v", "input": {"prompt": "x", "audio_url": "ftp://a/b.mp3"}},
            400,
            "InvalidParameter",
            "input.audio_url",
        ),
        (
            {"model": "wan2.2-t2v-plus", "input": {"prompt": "x", "audio_url": "https://a/b"}},
            400,
            "InvalidParameter",
            "input.audio_url",
        ),
        (body_for(size="720P"), 400, "InvalidParameter", "parameters.size"),
        (body_for(size="832*480"), 400, "InvalidParameter", "parameters.size"),
        (body_for(model="wan2.5-t2v-preview", duration=7), 400, "InvalidParameter", None),
        (body_for(duration="5"), 400, "InvalidParameter", "parameters.duration"),
        (body_for(duration=16), 400, "InvalidParameter", "parameters.duration"),
        (body_for(seed=-1), 400, "InvalidParameter", "parameters.seed"),
        (body_for(seed=2147483648), 400, "InvalidParameter", "parameters.seed"),
        (body_for(shot_type="triple"), 400, "InvalidParameter", "parameters.shot_type"),
        (body_for(model="wan2.5-t2v-preview", shot_type="multi"), 400, "InvalidParameter", None),
        (body_for(resolution="720P"), 400, "InvalidParameter", "parameters.resolution"),
        (body_for(model="wan2.7-t2v", resolution="4K"), 400, "InvalidParameter", None),
        (body_for(model="wan2.7-t2v", ratio="21:9"), 400, "InvalidParameter", None),
        (body_for(prompt_extend="yes"), 400, "InvalidParameter", "parameters.prompt_extend"),
        ([1, 2], 400, "InvalidParameter", "body"),
    ],
)
def test_validation_errors(
    emu: BailianEmulator, payload: Any, status: int, code: str, field: str | None
) -> None:
    """Bad submissions get the service's status and code, and a message naming the field."""
    r = call(emu.base_url, "POST", GATEWAY_SUBMIT, payload)
    assert r.status == status, r.body
    answer = r.json()
    assert answer["code"] == code
    assert answer["request_id"]
    if field:
        assert answer["message"].startswith(f"{field}:"), answer["message"]
    assert emu.tasks == {}


def test_body_must_be_json(emu: BailianEmulator) -> None:
    """A body that is not JSON is InvalidParameter, not a crash."""
    r = call(emu.base_url, "POST", GATEWAY_SUBMIT, raw=b"{not json")
    assert r.status == 400
    assert r.json()["code"] == "InvalidParameter"
    r = call(emu.base_url, "POST", GATEWAY_SUBMIT, raw=b"")
    assert r.status == 400
    assert r.json()["code"] == "InvalidParameter"


def test_valid_edge_values_accepted(emu: BailianEmulator) -> None:
    """Values at the limits pass: seed bounds, 500-char negative prompt, oss audio, multi shot."""
    payload = {
        "model": "wan2.6-t2v",
        "input": {"prompt": "x", "negative_prompt": "n" * 500, "audio_url": "oss://b/a.mp3"},
        "parameters": {"size": "1920*1080", "duration": 15, "seed": 2147483647},
    }
    assert call(emu.base_url, "POST", GATEWAY_SUBMIT, payload).status == 200
    payload["parameters"] = {"seed": 0, "shot_type": "multi", "prompt_extend": True}
    assert call(emu.base_url, "POST", GATEWAY_SUBMIT, payload).status == 200


def test_long_prompt_truncated_and_recorded(emu: BailianEmulator) -> None:
    """Like the service, an over-long prompt is cut silently; the emulator records it."""
    task_id = submit(emu, prompt="p" * 1600)
    task = emu.tasks[task_id]
    assert task["prompt_truncated"] is True
    assert len(task["prompt"]) == 1500


# ------------------------------------------------------------------ cancel and list


def test_cancel_only_while_pending() -> None:
    """Cancel works on PENDING tasks; RUNNING or finished ones get UnsupportedOperation."""
    with BailianEmulator(task_seconds=1.0, pending_seconds=0.2) as emu:
        pending = submit(emu)
        r = call(emu.base_url, "POST", f"/api/v1/tasks/{pending}/cancel")
        assert r.status == 200
        assert r.json()["request_id"]
        out = query(emu, pending)["output"]
        assert out["task_status"] == "CANCELED"
        assert "end_time" in out

        again = call(emu.base_url, "POST", f"/api/v1/tasks/{pending}/cancel")
        assert again.status == 400
        assert again.json()["code"] == "UnsupportedOperation"

        running = submit(emu)
        time.sleep(0.4)
        assert query(emu, running)["output"]["task_status"] == "RUNNING"
        r = call(emu.base_url, "POST", f"/api/v1/tasks/{running}/cancel")
        assert r.status == 400
        assert r.json()["code"] == "UnsupportedOperation"
        assert call(emu.base_url, "POST", "/api/v1/tasks/nope/cancel").status == 400


def test_list_tasks_filters_and_pages(emu: BailianEmulator) -> None:
    """The list endpoint filters by status, model and id, and pages newest first."""
    ids = [submit(emu) for _ in range(3)]
    old = submit(emu, model="wan2.5-t2v-preview", size="832*480")
    failed = submit(emu, prompt="[fail]")
    wait_done(emu, failed)

    for path in ("/api/v1/tasks", "/api/v1/tasks/"):
        answer = call(emu.base_url, "GET", path + "?page_no=1&page_size=2").json()
        assert answer["total"] == 5
        assert answer["total_page"] == 3
        assert answer["page_no"] == 1
        assert answer["page_size"] == 2
        assert [row["task_id"] for row in answer["data"]] == [failed, old]
        row = answer["data"][0]
        for key in ("task_id", "status", "model_name", "request_id", "gmt_create"):
            assert key in row

    by_model = call(emu.base_url, "GET", "/api/v1/tasks?model_name=wan2.5-t2v-preview").json()
    assert [row["task_id"] for row in by_model["data"]] == [old]
    by_status = call(emu.base_url, "GET", "/api/v1/tasks?status=FAILED").json()
    assert [row["task_id"] for row in by_status["data"]] == [failed]
    by_id = call(emu.base_url, "GET", f"/api/v1/tasks?task_id={ids[1]}").json()
    assert by_id["total"] == 1
    last_page = call(emu.base_url, "GET", "/api/v1/tasks?page_no=3&page_size=2").json()
    assert [row["task_id"] for row in last_page["data"]] == [ids[0]]


def test_list_time_window(emu: BailianEmulator) -> None:
    """start_time/end_time are YYYYMMDDhhmmss and span at most 24 hours."""
    submit(emu)
    wide = call(
        emu.base_url, "GET", "/api/v1/tasks?start_time=20260101000000&end_time=20260103000000"
    )
    assert wide.status == 400
    assert wide.json()["code"] == "InvalidParameter"
    bad = call(emu.base_url, "GET", "/api/v1/tasks?start_time=yesterday")
    assert bad.status == 400
    old = call(
        emu.base_url, "GET", "/api/v1/tasks?start_time=20200101000000&end_time=20200101120000"
    )
    assert old.status == 200
    assert old.json()["total"] == 0
    assert call(emu.base_url, "GET", "/api/v1/tasks?status=DONE").status == 400


# ------------------------------------------------------------------ faults


def test_fault_500_creates_nothing(emu: BailianEmulator) -> None:
    """A 500 on submit is an InternalError and no task exists."""
    emu.add_fault("submit", "500")
    r = call(emu.base_url, "POST", DS_SUBMIT, body_for(), headers=ASYNC)
    assert r.status == 500
    assert r.json()["code"] == "InternalError"
    assert r.headers["X-Request-Id"] == r.json()["request_id"]
    assert emu.tasks == {}
    assert emu.requests[-1]["fault"] == "500"
    assert call(emu.base_url, "POST", DS_SUBMIT, body_for(), headers=ASYNC).status == 200


def test_fault_500_created_leaves_a_task(emu: BailianEmulator) -> None:
    """The ambiguous failure: the answer is a 500 but the task exists and runs."""
    emu.add_fault("submit", "500_created")
    r = call(emu.base_url, "POST", DS_SUBMIT, body_for(), headers=ASYNC)
    assert r.status == 500
    (task_id,) = emu.tasks
    assert emu.submissions[0]["task_id"] == task_id
    assert wait_done(emu, task_id)["output"]["task_status"] == "SUCCEEDED"


def test_fault_502_is_html(emu: BailianEmulator) -> None:
    """A proxy error page, not JSON, like nginx in front of a failing upstream."""
    emu.add_fault("query", "502")
    r = call(emu.base_url, "GET", "/api/v1/tasks/x")
    assert r.status == 502
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in r.body
    assert b"nginx" in r.body
    assert int(r.headers["Content-Length"]) == len(r.body)


def test_fault_503_and_429(emu: BailianEmulator) -> None:
    """503 is ModelUnavailable; 429 carries Retry-After and an optional code."""
    emu.add_fault("submit", "503")
    r = call(emu.base_url, "POST", GATEWAY_SUBMIT, body_for())
    assert r.status == 503
    assert r.json()["code"] == "ModelUnavailable"

    emu.add_fault("submit", "429")
    r = call(emu.base_url, "POST", GATEWAY_SUBMIT, body_for())
    assert r.status == 429
    assert r.json()["code"] == "Throttling.RateQuota"
    assert r.json()["message"] == "Requests rate limit exceeded, please try again later."
    assert r.headers["Retry-After"] == "1"

    emu.add_fault("submit", "429", retry_after=30, code="Throttling.AllocationQuota")
    r = call(emu.base_url, "POST", GATEWAY_SUBMIT, body_for())
    assert r.headers["Retry-After"] == "30"
    assert r.json()["code"] == "Throttling.AllocationQuota"
    assert emu.tasks == {}


def test_fault_nonjson_and_empty(emu: BailianEmulator) -> None:
    """Bodies a client cannot parse: plain text with 200 (or a chosen status), or nothing."""
    emu.add_fault("query", "nonjson")
    r = call(emu.base_url, "GET", "/api/v1/tasks/x")
    assert (r.status, r.body) == (200, b"upstream error")
    assert r.headers["Content-Type"] == "text/plain"

    emu.add_fault("query", "nonjson", status=500)
    assert call(emu.base_url, "GET", "/api/v1/tasks/x").status == 500

    emu.add_fault("query", "empty")
    r = call(emu.base_url, "GET", "/api/v1/tasks/x")
    assert (r.status, r.body, r.headers["Content-Length"]) == (502, b"", "0")
    emu.add_fault("query", "empty", status=504)
    assert call(emu.base_url, "GET", "/api/v1/tasks/x").status == 504


@pytest.mark.parametrize(("kind", "created"), [("drop", False), ("drop_created", True)])
def test_fault_drop(emu: BailianEmulator, kind: str, created: bool) -> None:
    """The socket closes with no answer; drop_created still makes the task."""
    emu.add_fault("submit", kind)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(emu.base_url, "POST", DS_SUBMIT, body_for(), headers=ASYNC)
    assert len(emu.tasks) == (1 if created else 0)
    record = emu.submissions[-1]
    assert record["status"] == 0
    assert record["fault"] == kind


def test_fault_slow_hits_client_timeout_but_creates(emu: BailianEmulator) -> None:
    """A slow submit times the client out, and the task still appears once it answers."""
    emu.add_fault("submit", "slow", seconds=0.6)
    with pytest.raises((socket.timeout, TimeoutError)):
        call(emu.base_url, "POST", DS_SUBMIT, body_for(), headers=ASYNC, timeout=0.2)
    assert emu.tasks == {}
    deadline = time.monotonic() + 3
    while not emu.tasks:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert emu.submissions[-1]["fault"] == "slow"


def test_faults_are_fifo_per_route_and_any(emu: BailianEmulator) -> None:
    """Faults are consumed in order per route; 'any' matches every API route."""
    emu.add_fault("query", "503", times=2)
    emu.add_fault("query", "500")
    emu.add_fault("any", "502")
    codes = [call(emu.base_url, "GET", "/api/v1/tasks/x").status for _ in range(5)]
    assert codes == [503, 503, 500, 502, 200]
    emu.add_fault("any", "500")
    assert call(emu.base_url, "GET", "/api/v1/tasks").status == 500
    assert emu.count("query") == 5
    assert emu.count("list") == 1
    assert emu.faults == []


def test_fault_rate_hits_queries_only() -> None:
    """fault_rate injects transient faults into queries, never into submissions."""
    with BailianEmulator(task_seconds=0.2, fault_rate=1.0, seed=3) as emu:
        task_id = submit(emu)
        seen = set()
        for _ in range(12):
            try:
                seen.add(call(emu.base_url, "GET", f"/api/v1/tasks/{task_id}").status)
            except (http.client.RemoteDisconnected, ConnectionError):
                seen.add(0)
        assert seen <= {500, 503, 0}
        assert len(seen) >= 2
        assert call(emu.base_url, "GET", "/api/v1/tasks").status == 200


def test_bad_fault_arguments_are_rejected(emu: BailianEmulator) -> None:
    """Typos in fault definitions fail loudly instead of silently doing nothing."""
    with pytest.raises(ValueError, match="route"):
        emu.add_fault("poll", "500")
    with pytest.raises(ValueError, match="kind"):
        emu.add_fault("query", "504")
    with pytest.raises(ValueError, match="option"):
        emu.add_fault("query", "slow", secs=1)
    with pytest.raises(ValueError, match="times"):
        emu.add_fault("query", "500", times=0)


def test_parse_fault_spec() -> None:
    """The CLI form ROUTE:KIND[:TIMES][:key=value] parses with numeric values."""
    assert parse_fault_spec("submit:500") == ("submit", "500", 1, {})
    assert parse_fault_spec("query:slow:3:seconds=2.5") == ("query", "slow", 3, {"seconds": 2.5})
    assert parse_fault_spec("any:429:retry_after=5") == ("any", "429", 1, {"retry_after": 5})
    with pytest.raises(ValueError, match="ROUTE:KIND"):
        parse_fault_spec("submit")


# ------------------------------------------------------------------ limits


def test_submit_rate_limit() -> None:
    """Over submit_rps in one second: 429 Throttling.RateQuota with Retry-After: 1."""
    with BailianEmulator(task_seconds=0.2, submit_rps=2, query_rps=3) as emu:
        codes = [call(emu.base_url, "POST", GATEWAY_SUBMIT, body_for()).status for _ in range(3)]
        assert codes == [200, 200, 429]
        r = call(emu.base_url, "POST", GATEWAY_SUBMIT, body_for())
        assert r.json()["code"] == "Throttling.RateQuota"
        assert r.headers["Retry-After"] == "1"
        assert len(emu.tasks) == 2
        q = [call(emu.base_url, "GET", "/api/v1/tasks/x").status for _ in range(4)]
        assert q == [200, 200, 200, 429]
        time.sleep(1.05)
        assert call(emu.base_url, "POST", GATEWAY_SUBMIT, body_for()).status == 200


def test_max_concurrent_queues_tasks() -> None:
    """Past max_concurrent, tasks wait PENDING and their clock starts when a slot frees."""
    with BailianEmulator(task_seconds=0.6, pending_seconds=0.0, max_concurrent=1) as emu:
        first = submit(emu)
        second = submit(emu)
        time.sleep(0.1)
        assert query(emu, first)["output"]["task_status"] == "RUNNING"
        assert query(emu, second)["output"]["task_status"] == "PENDING"
        time.sleep(0.75)
        assert query(emu, first)["output"]["task_status"] == "SUCCEEDED"
        assert query(emu, second)["output"]["task_status"] == "RUNNING"
        done = wait_done(emu, second)
        tasks = emu.tasks
        assert tasks[second]["start_time"] >= tasks[first]["end_time"] - 1e-6
        assert done["output"]["task_status"] == "SUCCEEDED"


def test_max_concurrent_cancel_frees_queue() -> None:
    """Cancelling a queued task lets the next one take the slot in order."""
    with BailianEmulator(task_seconds=0.3, pending_seconds=0.0, max_concurrent=1) as emu:
        first, second, third = submit(emu), submit(emu), submit(emu)
        assert call(emu.base_url, "POST", f"/api/v1/tasks/{second}/cancel").status == 200
        wait_done(emu, first)
        time.sleep(0.05)
        assert query(emu, third)["output"]["task_status"] == "RUNNING"
        assert query(emu, second)["output"]["task_status"] == "CANCELED"


# ------------------------------------------------------------------ video


def _succeeded_url(emu: BailianEmulator, **kwargs: Any) -> str:
    return wait_done(emu, submit(emu, **kwargs))["output"]["video_url"]


def test_video_download_is_real_mp4_without_token(emu: BailianEmulator) -> None:
    """The signed URL serves the MP4 with no Authorization; the record shows none was sent."""
    url = _succeeded_url(emu)
    assert urlsplit(url).hostname == "localhost"
    with urllib.request.urlopen(url, timeout=10) as r:  # resolves localhost for real
        data = r.read()
        assert r.headers["Content-Type"] == "video/mp4"
        assert int(r.headers["Content-Length"]) == len(data)
    assert data == SAMPLE
    assert data[4:8] == b"ftyp"
    video = [r for r in emu.requests if r["route"] == "video"]
    assert video
    assert video[-1]["auth_header"] is False
    assert video[-1]["status"] == 200


def test_video_range_and_head(emu: BailianEmulator) -> None:
    """Range requests resume downloads; HEAD tells the size without a body."""
    url = _succeeded_url(emu)
    r = fetch_url(url, {"Range": "bytes=100-"})
    assert r.status == 206
    assert r.headers["Content-Range"] == f"bytes 100-{len(SAMPLE) - 1}/{len(SAMPLE)}"
    assert r.body == SAMPLE[100:]
    r = fetch_url(url, {"Range": "bytes=0-7"})
    assert (r.status, r.body) == (206, SAMPLE[:8])
    r = fetch_url(url, {"Range": "bytes=-10"})
    assert r.body == SAMPLE[-10:]
    r = fetch_url(url, {"Range": f"bytes={len(SAMPLE)}-"})
    assert r.status == 416
    assert r.headers["Content-Range"] == f"bytes */{len(SAMPLE)}"

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("HEAD", f"{parts.path}?{parts.query}")
    head = conn.getresponse()
    assert head.status == 200
    assert int(head.headers["Content-Length"]) == len(SAMPLE)
    assert head.read() == b""
    conn.close()


def test_video_url_expiry_and_signature(emu: BailianEmulator) -> None:
    """Expired or tampered URLs get OSS-style 403 XML; unknown objects 404."""
    url = _succeeded_url(emu)
    bad_sig = re.sub(r"Signature=[0-9a-f]+", "Signature=" + "0" * 64, url)
    r = fetch_url(bad_sig)
    assert r.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in r.body
    assert r.headers["Content-Type"] == "application/xml"

    missing = fetch_url(f"{emu.base_url}/videos/no-such-task.mp4?Expires=1&Signature=00")
    assert missing.status == 404
    assert b"<Code>NoSuchKey</Code>" in missing.body

    emu.advance(86400 + 5)
    r = fetch_url(url)
    assert r.status == 403
    assert b"<Code>AccessDenied</Code>" in r.body
    assert b"<Message>Request has expired.</Message>" in r.body


def test_short_url_ttl_expires() -> None:
    """url_ttl shortens the signed URL's life, for tests of late downloads."""
    with BailianEmulator(task_seconds=0.1, url_ttl=0) as emu:
        url = _succeeded_url(emu)
        assert fetch_url(url).status == 403


def test_large_video_is_streamed() -> None:
    """video_bytes makes a big, well-formed file on the fly: sample, then a free box."""
    size = 24 * 1024 * 1024 + 3
    with BailianEmulator(task_seconds=0.1, video_bytes=size) as emu:
        url = _succeeded_url(emu)
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        conn.request("GET", f"{parts.path}?{parts.query}")
        resp = conn.getresponse()
        assert int(resp.headers["Content-Length"]) == size
        head = resp.read(len(SAMPLE) + 8)
        total = len(head)
        while chunk := resp.read(1 << 20):
            total += len(chunk)
        conn.close()
        assert total == size
        assert head[: len(SAMPLE)] == SAMPLE
        assert head[len(SAMPLE) + 4 :] == b"free"
        assert int.from_bytes(head[len(SAMPLE) : len(SAMPLE) + 4], "big") == size - len(SAMPLE)
        tail = fetch_url(url, {"Range": f"bytes={size - 5}-"})
        assert tail.body == bytes(p % 256 for p in range(size - 5, size))


def test_truncated_video(emu: BailianEmulator) -> None:
    """truncate sends the full Content-Length but only part of the body, then closes."""
    url = _succeeded_url(emu)
    emu.add_fault("video", "truncate", bytes=1000)
    with pytest.raises(http.client.IncompleteRead) as info:
        fetch_url(url)
    assert len(info.value.partial) == 1000
    emu.add_fault("video", "truncate")
    with pytest.raises(http.client.IncompleteRead) as info:
        fetch_url(url)
    assert len(info.value.partial) == len(SAMPLE) // 2
    assert fetch_url(url).body == SAMPLE


# ------------------------------------------------------------------ plumbing


def test_keep_alive_connection_reuse(emu: BailianEmulator) -> None:
    """Pooled clients send several requests on one connection; each answer is delimited."""
    parts = urlsplit(emu.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(3):
        conn.request("GET", "/api/v1/tasks/x", headers=auth)
        resp = conn.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read())["output"]["task_status"] == "UNKNOWN"
    conn.request("GET", "/api/v1/tasks/x")
    resp = conn.getresponse()
    assert resp.status == 401
    resp.read()
    conn.close()


def test_concurrent_submissions_are_all_recorded(emu: BailianEmulator) -> None:
    """Many threads at once: every request is answered and recorded once."""
    results: list[int] = []

    def worker() -> None:
        results.append(call(emu.base_url, "POST", GATEWAY_SUBMIT, body_for()).status)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 16
    assert emu.count("submit") == 16
    assert len(emu.tasks) == 16


def test_unknown_route_is_404(emu: BailianEmulator) -> None:
    """Paths the service does not have answer 404 and are recorded as unknown."""
    r = call(emu.base_url, "GET", "/api/v1/nothing")
    assert r.status == 404
    assert emu.requests[-1]["route"] == "unknown"


def test_control_endpoints(emu: BailianEmulator) -> None:
    """Out-of-process tests drive the emulator over HTTP without a token."""
    base = emu.base_url
    r = call(base, "POST", "/_emulator/faults", {"route": "submit", "kind": "503"}, token=None)
    assert r.status == 200
    assert r.json() == [{"route": "submit", "kind": "503", "times": 1}]
    r = call(
        base,
        "POST",
        "/_emulator/faults",
        [{"route": "query", "kind": "slow", "seconds": 0.01, "times": 2}],
        token=None,
    )
    assert len(r.json()) == 2
    assert call(base, "POST", "/_emulator/faults", {"route": "x", "kind": "500"}).status == 400
    assert call(base, "POST", GATEWAY_SUBMIT, body_for()).status == 503

    r = call(base, "POST", "/_emulator/config", {"task_seconds": 0.05}, token=None)
    assert r.status == 200
    assert r.json()["task_seconds"] == 0.05
    assert call(base, "POST", "/_emulator/config", {"nope": 1}).status == 400
    task_id = submit(emu)
    time.sleep(0.1)

    tasks = call(base, "GET", "/_emulator/tasks", token=None).json()
    assert tasks[task_id]["status"] == "SUCCEEDED"
    records = call(base, "GET", "/_emulator/requests", token=None).json()
    assert [r["route"] for r in records if r["route"] != "control"] == ["submit", "submit"]
    assert [r["status"] for r in records if r["route"] == "submit"] == [503, 200]
    assert all("Authorization" not in r["headers"] for r in records)

    assert call(base, "POST", "/_emulator/advance", {"seconds": 10}).status == 200
    assert call(base, "GET", "/_emulator/health").json() == {"ok": True}
    assert call(base, "POST", "/_emulator/reset", token=None).json() == {"ok": True}
    assert emu.tasks == {}
    assert emu.faults == []
    assert emu.count("submit") == 0


def test_configure_rejects_bad_values(emu: BailianEmulator) -> None:
    """Runtime options are checked, so a typo is an error rather than a silent default."""
    with pytest.raises(TypeError):
        emu.configure(task_secs=1)
    with pytest.raises(ValueError, match="failure_rate"):
        emu.configure(failure_rate=2)
    with pytest.raises(ValueError, match="max_concurrent"):
        emu.configure(max_concurrent=0)
    assert emu.configure(query_rps=5)["query_rps"] == 5


def test_import_is_light() -> None:
    """Importing the emulator and its pytest plugin pulls in no Airflow."""
    code = (
        "import sys, airflow_provider_bailian.emulator, "
        "airflow_provider_bailian.emulator.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_cli_prints_base_url_first_and_stops_on_sigterm() -> None:
    """The CLI's first stdout line is the base URL; --fault works; SIGTERM exits 0."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_bailian.emulator",
            "--port",
            "0",
            "--task-seconds",
            "0.1",
            "--api-key",
            TOKEN,
            "--fault",
            "submit:500:1",
            "--verbose",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", first), first
        assert call(first, "POST", GATEWAY_SUBMIT, body_for()).status == 500
        assert call(first, "POST", GATEWAY_SUBMIT, body_for()).status == 200
        assert call(first, "GET", "/_emulator/health").status == 200
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "POST /task/bailian/text2video" in out
    assert TOKEN not in out
    assert TOKEN not in err


def test_pytest_plugin_fixture_and_marker(tmp_path: Path) -> None:
    """The plugin's fixture starts an emulator with marker options and stops it after."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_inner.py").write_text(
        "import pytest, urllib.request\n"
        "PORTS = []\n"
        "def test_default(bailian_emulator):\n"
        "    assert bailian_emulator.task_seconds == 1.0\n"
        "    with urllib.request.urlopen(bailian_emulator.base_url + '/_emulator/health') as r:\n"
        "        assert r.status == 200\n"
        "    PORTS.append(bailian_emulator.port)\n"
        "@pytest.mark.bailian_emulator(task_seconds=0.5, api_key='sk-fake-test')\n"
        "def test_marker(bailian_emulator):\n"
        "    assert bailian_emulator.task_seconds == 0.5\n"
        "    assert bailian_emulator.api_key == 'sk-fake-test'\n"
        "def test_stopped_after():\n"
        "    import socket\n"
        "    with pytest.raises(OSError):\n"
        "        socket.create_connection(('127.0.0.1', PORTS[0]), timeout=1)\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:bailian",
            "-p",
            "airflow_provider_bailian.emulator.pytest_plugin",
            "--strict-markers",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 passed" in out.stdout
