"""Image and reference modes end to end: real HTTP to the emulator, DAGs run by Airflow.

Every routing case in both API styles (request bodies asserted), local PNG and JPEG files
sent as data URIs equal to the file, the temporary-file upload, waiting, reattach,
download and cost through the new operators, and the token nowhere.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.exceptions import BailianValidationError
from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.models import Image2VideoRequest, Reference2VideoRequest
from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states, xcom
from tests.images import write_image

FILE = "bailian_image_dags.py"
DS_VIDEO = "/api/v1/services/aigc/video-generation/video-synthesis"
DS_KF2V = "/api/v1/services/aigc/image2video/video-synthesis"


@pytest.fixture
def images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    write_image(folder, "mug.png", 640, 480, "PNG")
    write_image(folder, "mug.jpg", 480, 640, "JPEG")
    monkeypatch.setenv("BAILIAN_TEST_IMAGE_DIR", str(folder))
    monkeypatch.setenv("BAILIAN_TEST_VIDEO_DIR", str(tmp_path / "videos"))
    return folder


def _data(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def _sent(emulator: Any) -> dict[str, Any]:
    (sent,) = emulator.submissions
    return sent


def _headers(sent: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in sent["headers"].items()}


def test_first_frame_routes_in_both_styles(
    hook: BailianHook, emulator: Any, api_style: str, images: Path
) -> None:
    png = images / "mug.png"
    submission = hook.submit_video(
        Image2VideoRequest(
            model="wan2.6-i2v", image=str(png), prompt="the mug turns", resolution="720P"
        )
    )
    sent = _sent(emulator)
    if api_style == "dashscope":
        assert sent["path"] == DS_VIDEO
        assert sent["body"] == {
            "model": "wan2.6-i2v",
            "input": {"prompt": "the mug turns", "img_url": _data(png, "image/png")},
            "parameters": {"resolution": "720P"},
        }
    else:
        assert sent["path"] == "/task/bailian/image2video"
        assert sent["body"]["input"] == {
            "prompt": "the mug turns",
            "img_url": _data(png, "image/png"),
        }
        assert sent["body"]["parameters"] == {"resolution": "720P", "duration": 5}
    result = hook.wait_for_task(submission.task_id, poll_interval=0.1, timeout=20)
    assert result.video_url
    assert result.usage.tier == "720P"


def test_wan27_media_and_kf2v_route_on_dashscope_only(
    hook: BailianHook, emulator: Any, api_style: str, images: Path
) -> None:
    png, jpg = images / "mug.png", images / "mug.jpg"
    media = Image2VideoRequest(
        model="wan2.7-i2v",
        image=str(png),
        last_frame=f"file://{jpg}",
        prompt="from the mug to its side",
        resolution="720P",
    )
    kf2v = Image2VideoRequest(
        model="wan2.2-kf2v-flash", image=str(png), last_frame=str(jpg), resolution="480P"
    )
    if api_style == "gateway":
        for request in (media, kf2v):
            with pytest.raises(BailianValidationError) as info:
                hook.submit_video(request)
            assert request.model in str(info.value)
            assert "gateway" in str(info.value)
        assert emulator.requests == []
        return
    first = hook.submit_video(media)
    second = hook.submit_video(kf2v)
    one, two = emulator.submissions
    assert one["path"] == DS_VIDEO
    assert one["body"]["input"]["media"] == [
        {"type": "first_frame", "url": _data(png, "image/png")},
        {"type": "last_frame", "url": _data(jpg, "image/jpeg")},
    ]
    assert two["path"] == DS_KF2V
    assert two["body"]["input"] == {
        "first_frame_url": _data(png, "image/png"),
        "last_frame_url": _data(jpg, "image/jpeg"),
    }
    assert two["body"]["parameters"] == {"resolution": "480P"}
    for task in (first, second):
        assert hook.wait_for_task(task.task_id, poll_interval=0.1, timeout=20).video_url


def test_references_route_in_both_styles(
    hook: BailianHook, emulator: Any, api_style: str, images: Path
) -> None:
    png, jpg = images / "mug.png", images / "mug.jpg"
    submission = hook.submit_video(
        Reference2VideoRequest(
            model="wan2.6-r2v",
            prompt="character1 beside character2",
            references=[str(png), str(jpg)],
            size="1280*720",
        )
    )
    sent = _sent(emulator)
    assert sent["path"] == (DS_VIDEO if api_style == "dashscope" else "/task/bailian/ref2video")
    assert sent["body"]["input"] == {
        "prompt": "character1 beside character2",
        "reference_urls": [_data(png, "image/png"), _data(jpg, "image/jpeg")],
    }
    assert sent["body"]["parameters"]["size"] == "1280*720"
    assert hook.wait_for_task(submission.task_id, poll_interval=0.1, timeout=20).video_url


def test_upload_then_oss_url_with_the_resolve_header(
    emulator: Any, make_conn: Any, images: Path
) -> None:
    make_conn("ds", emulator.base_url, api_style="dashscope")
    hook = BailianHook("ds")
    submission = hook.submit_video(
        Image2VideoRequest(model="wan2.6-i2v", image=str(images / "mug.png"), prompt="p"),
        upload_local_files=True,
    )
    sent = _sent(emulator)
    url = sent["body"]["input"]["img_url"]
    assert url.startswith("oss://")
    assert url.endswith("-mug.png")
    assert _headers(sent)["x-dashscope-ossresourceresolve"] == "enable"
    assert emulator.count("policy") == 1
    assert emulator.count("upload") == 1
    uploads = [r for r in emulator.requests if r["route"] == "upload"]
    assert "authorization" not in {k.lower() for k in uploads[0]["headers"]}
    assert hook.wait_for_task(submission.task_id, poll_interval=0.1, timeout=20).video_url


@pytest.fixture
def dag_conn(emulator: Any, make_conn: Any, api_style: str, images: Path) -> Any:
    make_conn("bailian_dag", emulator.base_url, api_style=api_style)
    return emulator


def _output(capfd: Any) -> str:
    out = capfd.readouterr()
    return all_logs() + out.out + out.err


def test_image_operator_waits_downloads_and_prices(
    dag_conn: Any, images: Path, tmp_path: Path, capfd: Any
) -> None:
    dag_run = run_dag(FILE, "bailian_i_deferrable")
    assert ti_states(dag_run) == {"generate": "success"}
    (task_id,) = dag_conn.tasks
    assert xcom(dag_run, "generate") == task_id
    assert xcom(dag_run, "generate", key="task_id") == task_id
    assert xcom(dag_run, "generate", key="result")["status"] == "SUCCEEDED"
    path = Path(xcom(dag_run, "generate", key="video_path"))
    assert path.parent.parent == tmp_path / "videos"
    assert path.read_bytes()[4:8] == b"ftyp"
    usage = xcom(dag_run, "generate", key="usage")
    assert usage["tier"] == "720P"
    cost = xcom(dag_run, "generate", key="cost")
    assert cost["amount"] == pytest.approx(usage["video_seconds"] * 0.6)
    body = _sent(dag_conn)["body"]
    assert body["input"]["img_url"] == _data(images / "mug.png", "image/png")
    logs = _output(capfd)
    assert FAKE_KEY not in logs
    stored = [
        xcom(dag_run, "generate", key=k)
        for k in ("return_value", "task_id", "video_url", "result", "usage", "cost", "video_path")
    ]
    assert FAKE_KEY not in json.dumps(stored)


def test_worker_wait_with_a_jpeg_and_the_silent_price(dag_conn: Any, images: Path) -> None:
    dag_run = run_dag(FILE, "bailian_i_worker_wait")
    assert ti_states(dag_run) == {"generate": "success"}
    body = _sent(dag_conn)["body"]
    assert body["input"]["img_url"] == _data(images / "mug.jpg", "image/jpeg")
    assert body["parameters"]["audio"] is False
    cost = xcom(dag_run, "generate", key="cost")
    assert cost["per_second"] == pytest.approx(0.15)


def test_reference_operator_waits(dag_conn: Any) -> None:
    dag_run = run_dag(FILE, "bailian_r_deferrable")
    assert ti_states(dag_run) == {"generate": "success"}
    assert len(_sent(dag_conn)["body"]["input"]["reference_urls"]) == 2
    assert xcom(dag_run, "generate", key="video_url")


@pytest.mark.parametrize("where", ["worker", "deferred"])
def test_retry_reattaches_instead_of_paying_twice(dag_conn: Any, where: str, capfd: Any) -> None:
    dag_conn.configure(task_seconds=4)
    dag_run = run_dag(FILE, f"bailian_i_reattach_{where}")
    assert ti_states(dag_run) == {"generate": "success"}
    assert dag_conn.count("submit") == 1
    (task_id,) = dag_conn.tasks
    assert f"Reattaching to Bailian task {task_id}" in _output(capfd)


def test_upload_through_the_operator(emulator: Any, make_conn: Any, images: Path) -> None:
    make_conn("bailian_dag", emulator.base_url, api_style="dashscope")
    dag_run = run_dag(FILE, "bailian_i_upload")
    assert ti_states(dag_run) == {"generate": "success"}
    sent = _sent(emulator)
    assert sent["body"]["input"]["img_url"].startswith("oss://")
    assert emulator.count("upload") == 1
