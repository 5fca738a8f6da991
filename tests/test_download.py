"""Downloading videos into storage: whole or nothing, constant memory, no token on the wire."""

from __future__ import annotations

import logging
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.download import (
    BailianDownloadError,
    BailianVideoExpiredError,
    redact_url,
)
from airflow_provider_bailian.hooks.bailian import BailianHook
from tests.conftest import FAKE_KEY

SAMPLE = (
    Path(__file__).resolve().parent.parent / "airflow_provider_bailian" / "emulator" / "sample.mp4"
).read_bytes()


@pytest.fixture
def finished(hook: BailianHook) -> str:
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p", size="1280*720").task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    return task_id


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_by_task_id_without_the_token(
    hook: BailianHook, emulator: Any, finished: str, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "video.mp4"
    path = hook.download_video(finished, destination=str(target))
    assert path == str(target)
    assert target.read_bytes() == SAMPLE
    assert target.read_bytes()[4:8] == b"ftyp"
    assert _leftovers(target.parent) == ["video.mp4"]
    (video_request,) = [r for r in emulator.requests if r["route"] == "video"]
    assert video_request["auth_header"] is False
    assert video_request["headers"].get("Host", "").startswith("localhost")


def test_file_url_destination(hook: BailianHook, finished: str, tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    hook.download_video(finished, destination=f"file://{target}")
    assert target.read_bytes() == SAMPLE


def test_large_video_streams_in_constant_memory(
    emulator: Any, make_conn: Any, tmp_path: Path
) -> None:
    size = 64 * 1024 * 1024
    emulator.configure(video_bytes=size)
    make_conn("big", emulator.base_url)
    hook = BailianHook("big")
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p").task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    target = tmp_path / "big.mp4"
    tracemalloc.start()
    try:
        hook.download_video(task_id, destination=str(target), chunk_size=256 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert target.stat().st_size == size
    assert target.read_bytes()[: len(SAMPLE)] == SAMPLE
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB video"


def test_truncated_body_is_resumed_with_range(
    hook: BailianHook, emulator: Any, tmp_path: Path
) -> None:
    emulator.configure(video_bytes=2 * 1024 * 1024)
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p").task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    emulator.add_fault("video", "truncate", bytes=300_000)
    target = tmp_path / "v.mp4"
    hook.download_video(task_id, destination=str(target), chunk_size=64 * 1024)
    assert target.stat().st_size == 2 * 1024 * 1024
    first, second = [r for r in emulator.requests if r["route"] == "video"]
    assert "Range" not in first["headers"]
    assert second["headers"]["Range"].startswith("bytes=")
    assert second["status"] == 206
    assert _leftovers(tmp_path) == ["v.mp4"]


def test_failed_transfer_leaves_nothing_behind(
    emulator: Any, make_conn: Any, tmp_path: Path
) -> None:
    make_conn("few", emulator.base_url, max_retries=1)
    hook = BailianHook("few")
    emulator.configure(video_bytes=1024 * 1024)
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p").task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    emulator.add_fault("video", "truncate", times=10, bytes=1000)
    folder = tmp_path / "videos"
    with pytest.raises(BailianDownloadError, match="nothing was kept"):
        hook.download_video(task_id, destination=str(folder / "v.mp4"))
    assert _leftovers(folder) == []


def test_expired_url_is_refused_before_sending(
    emulator: Any, make_conn: Any, tmp_path: Path
) -> None:
    emulator.configure(url_ttl=1)
    make_conn("ttl", emulator.base_url)
    hook = BailianHook("ttl")
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p").task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    time.sleep(1.1)
    with pytest.raises(BailianVideoExpiredError, match=r"expired at \d{4}-\d\d-\d\d .*24 hours"):
        hook.download_video(task_id, destination=str(tmp_path / "v.mp4"))
    assert emulator.count("video") == 0
    assert _leftovers(tmp_path) == []


def test_link_refused_by_the_host_says_it_expired(
    hook: BailianHook, emulator: Any, finished: str, tmp_path: Path
) -> None:
    url = hook.get_task(finished).video_url
    emulator.advance(2 * 86400)  # the host's clock says the link is over
    with pytest.raises(BailianVideoExpiredError, match=r"refused .HTTP 403.*valid for 24 hours"):
        hook.download_video(url=url, destination=str(tmp_path / "v.mp4"))
    assert _leftovers(tmp_path) == []


def test_object_store_destination_appears_only_when_whole(
    hook: BailianHook, emulator: Any, finished: str
) -> None:
    import fsspec

    try:
        from airflow.sdk.io import attach
    except ImportError:  # Airflow 2.11
        from airflow.io.store import attach
    fs = fsspec.filesystem("memory")
    attach("memory", fs=fs)
    path = hook.download_video(finished, destination="memory://videos/ok.mp4")
    assert path == "memory://videos/ok.mp4"
    assert fs.cat_file("/videos/ok.mp4") == SAMPLE
    emulator.add_fault("video", "truncate", times=20, bytes=100)
    with pytest.raises(BailianDownloadError):
        hook.download_video(finished, destination="memory://videos/broken.mp4")
    assert not fs.exists("/videos/broken.mp4")


def test_signature_never_logged(
    hook: BailianHook, emulator: Any, finished: str, tmp_path: Path, caplog: Any, capfd: Any
) -> None:
    # Our own loggers at DEBUG (urllib3's DEBUG lines quote URLs; in a task, Airflow's
    # secret masker covers them because the signature is registered with it).
    caplog.set_level(logging.DEBUG, logger="airflow_provider_bailian")
    caplog.set_level(logging.DEBUG, logger="airflow.task")
    url = hook.get_task(finished).video_url
    signature = url.split("Signature=")[1].split("&")[0]
    assert "Signature=***" in redact_url(url)
    emulator.add_fault("video", "drop", times=1)
    hook.download_video(finished, destination=str(tmp_path / "v.mp4"))
    out = capfd.readouterr()
    text = caplog.text + out.out + out.err
    assert "resuming" in text
    assert signature not in text
    assert FAKE_KEY not in text
