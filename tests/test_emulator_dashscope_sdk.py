"""The official dashscope SDK against the emulator.

The SDK is Alibaba's own client of the DashScope API; if it works against the emulator
unchanged, the emulator speaks the same protocol as the service (paths, headers, shapes).
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from airflow_provider_bailian.emulator import BailianEmulator

dashscope = pytest.importorskip("dashscope")
from dashscope import VideoSynthesis  # noqa: E402

TOKEN = "sk-fake-test"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[BailianEmulator]:
    """An emulator the SDK points at (the SDK reads its base URL from a module global)."""
    with BailianEmulator(task_seconds=0.5, api_key=TOKEN) as emulator:
        monkeypatch.setattr(dashscope, "base_http_api_url", f"{emulator.base_url}/api/v1")
        yield emulator


def _download(url: str) -> bytes:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        resp = conn.getresponse()
        assert resp.status == 200
        return resp.read()
    finally:
        conn.close()


def test_async_call_fetch_wait(emu: BailianEmulator) -> None:
    """async_call submits with the async header; fetch and wait see the task through."""
    task = VideoSynthesis.async_call(
        model="wan2.6-t2v",
        prompt="a red fox in the snow",
        size="1280*720",
        duration=5,
        api_key=TOKEN,
    )
    assert task.status_code == 200, task
    assert task.output.task_status == "PENDING"
    task_id = task.output.task_id

    submitted = emu.submissions[-1]
    assert submitted["headers"]["X-DashScope-Async"] == "enable"
    assert submitted["body"]["model"] == "wan2.6-t2v"
    assert submitted["body"]["input"]["prompt"] == "a red fox in the snow"
    assert submitted["body"]["parameters"] == {"size": "1280*720", "duration": 5}

    fetched = VideoSynthesis.fetch(task, api_key=TOKEN)
    assert fetched.status_code == 200
    assert fetched.output.task_id == task_id
    assert fetched.output.task_status in ("PENDING", "RUNNING")

    done = VideoSynthesis.wait(task, api_key=TOKEN)
    assert done.status_code == 200
    assert done.output.task_status == "SUCCEEDED"
    assert done.output.video_url.startswith(f"http://localhost:{emu.port}/videos/{task_id}.mp4?")
    assert done.usage.video_count == 1
    assert done.usage["output_video_duration"] == 5
    assert _download(done.output.video_url)[4:8] == b"ftyp"


def test_call_submits_and_waits(emu: BailianEmulator) -> None:
    """call() is submit + wait in one go; an older model answers the old usage shape."""
    result = VideoSynthesis.call(
        model="wanx2.1-t2v-turbo", prompt="a paper boat", size="832*480", api_key=TOKEN
    )
    assert result.status_code == 200
    assert result.output.task_status == "SUCCEEDED"
    assert result.output.video_url
    assert result.usage.video_ratio == "832*480"
    assert result.usage.video_duration == 5


def test_failed_task_is_reported_not_raised(emu: BailianEmulator) -> None:
    """A failed task is HTTP 200 with FAILED status, code and message, as the SDK expects."""
    result = VideoSynthesis.call(
        model="wan2.6-t2v", prompt="[fail:DataInspectionFailed] x", api_key=TOKEN
    )
    assert result.status_code == 200
    assert result.output.task_status == "FAILED"
    assert result.output["code"] == "DataInspectionFailed"


def test_cancel_pending_task(emu: BailianEmulator) -> None:
    """cancel() works while PENDING and is refused afterwards with UnsupportedOperation."""
    emu.configure(task_seconds=60)
    task = VideoSynthesis.async_call(model="wan2.6-t2v", prompt="slow one", api_key=TOKEN)
    cancelled = VideoSynthesis.cancel(task, api_key=TOKEN)
    assert cancelled.status_code == 200
    assert VideoSynthesis.fetch(task, api_key=TOKEN).output.task_status == "CANCELED"
    again = VideoSynthesis.cancel(task, api_key=TOKEN)
    assert again.status_code == 400
    assert again.code == "UnsupportedOperation"


def test_list_tasks(emu: BailianEmulator) -> None:
    """list() gets the paged task list with the SDK's parameters."""
    ids = [
        VideoSynthesis.async_call(model="wan2.6-t2v", prompt=f"p{i}", api_key=TOKEN).output.task_id
        for i in range(3)
    ]
    listed = VideoSynthesis.list(page_size=2, api_key=TOKEN)
    assert listed.status_code == 200
    assert listed.output["total"] == 3
    assert listed.output["total_page"] == 2
    assert [row["task_id"] for row in listed.output["data"]] == ids[::-1][:2]
    filtered = VideoSynthesis.list(status="PENDING", model_name="wan2.6-t2v", api_key=TOKEN)
    assert filtered.output["total"] == 3
    assert emu.requests[-1]["query"]["model_name"] == "wan2.6-t2v"


def test_errors_reach_the_sdk_as_codes(emu: BailianEmulator) -> None:
    """Wrong key, unknown model and bad size come back as the SDK's status/code/message."""
    bad_key = VideoSynthesis.async_call(model="wan2.6-t2v", prompt="x", api_key="sk-wrong")
    assert (bad_key.status_code, bad_key.code) == (401, "InvalidApiKey")
    unknown = VideoSynthesis.async_call(model="wan9-t2v", prompt="x", api_key=TOKEN)
    assert (unknown.status_code, unknown.code) == (404, "ModelNotFound")
    bad_size = VideoSynthesis.async_call(model="wan2.6-t2v", prompt="x", size="720P", api_key=TOKEN)
    assert (bad_size.status_code, bad_size.code) == (400, "InvalidParameter")
    assert bad_size.message.startswith("parameters.size:")


def test_wait_rides_out_a_503(emu: BailianEmulator) -> None:
    """The SDK's wait() retries 503 on queries; the emulator's fault makes it do so."""
    task = VideoSynthesis.async_call(model="wan2.6-t2v", prompt="x", api_key=TOKEN)
    emu.add_fault("query", "503")
    done = VideoSynthesis.wait(task, api_key=TOKEN)
    assert done.output.task_status == "SUCCEEDED"
    assert next(r["status"] for r in emu.requests if r["route"] == "query") == 503


def test_sdk_configured_by_environment_variable(emu: BailianEmulator) -> None:
    """DASHSCOPE_HTTP_BASE_URL, read when the SDK is imported, is enough to use it."""
    script = textwrap.dedent(
        """
        from dashscope import VideoSynthesis
        r = VideoSynthesis.call(model="wan2.6-t2v", prompt="env", api_key="sk-fake-test")
        print(r.status_code, r.output.task_status)
        """
    )
    env = {
        **os.environ,
        "DASHSCOPE_HTTP_BASE_URL": f"{emu.base_url}/api/v1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["200", "SUCCEEDED"]
    assert emu.count("submit") == 1
