"""The gallery plugin on a real api-server: who sees which generations, and what they see.

DAGs run through Airflow against the emulator; then Airflow's own api-server app (with the
plugin mounted by Airflow's plugin manager) serves on 127.0.0.1 under uvicorn, and the
tests talk to it over HTTP as anonymous, a user without access to one DAG, and an admin.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_bailian._compat import AIRFLOW_V3_1
from tests.conftest import FAKE_KEY, conn_json, run_dag, ti_states

pytestmark = pytest.mark.skipif(not AIRFLOW_V3_1, reason="the gallery needs Airflow 3.1+")

FILE = "bailian_gallery_dags.py"
SAMPLE = (
    Path(__file__).resolve().parent.parent / "airflow_provider_bailian" / "emulator" / "sample.mp4"
).read_bytes()
PASSWORDS = {"admin": "admin-pass", "outsider": "outsider-pass"}
GALLERY_DAGS = {"bailian_g_mapped", "bailian_g_private"}


@pytest.fixture(scope="module")
def generations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the gallery DAGs once: a mapped run with one failed video, a kept copy, a private DAG."""
    from airflow_provider_bailian.emulator import BailianEmulator

    video_dir = tmp_path_factory.mktemp("videos")
    with BailianEmulator(api_key=FAKE_KEY, task_seconds=0.3) as emu:
        env = {"AIRFLOW_CONN_BAILIAN_DAG": conn_json(emu.base_url)}
        with environment(**env, BAILIAN_GALLERY_TEST_DIR=str(video_dir)):
            mapped = run_dag(FILE, "bailian_g_mapped")
            private = run_dag(FILE, "bailian_g_private")
    assert ti_states(mapped) == {
        "generate[0]": "success",
        "generate[1]": "success",
        "generate[2]": "failed",
        "keep": "success",
    }
    assert ti_states(private) == {"generate": "success"}
    return {"mapped": mapped, "private": private, "video_dir": video_dir}


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for a module-scoped fixture, then put them back."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api(generations: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Airflow's api-server app (core API, auth manager, plugins) on 127.0.0.1."""
    import uvicorn
    from airflow.api_fastapi.app import create_app, purge_cached_app

    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    env = {
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.dag_acl_auth_manager.DagAclAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,outsider:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "gallery-test-jwt-secret-" + "0123456789abcdef" * 4,
    }
    with environment(**env):
        purge_cached_app()
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app("core"), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not server.started and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.started, "the api-server did not start"
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            purge_cached_app()


def _login(api: str, username: str) -> str:
    resp = requests.post(
        f"{api}/auth/token",
        json={"username": username, "password": PASSWORDS[username]},
        timeout=10,
    )
    assert resp.status_code in (200, 201), resp.text
    return resp.json()["access_token"]


@pytest.fixture(scope="module")
def admin(api: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {_login(api, 'admin')}"
    return session


@pytest.fixture(scope="module")
def outsider(api: str) -> requests.Session:
    """Signed in the way the UI is: the JWT in the ``_token`` cookie, no header."""
    session = requests.Session()
    session.cookies.set("_token", _login(api, "outsider"), domain="127.0.0.1")
    return session


def _videos(session: requests.Session, api: str, **params: Any) -> tuple[list[dict], int]:
    resp = session.get(f"{api}/bailian/api/videos", params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    assert FAKE_KEY not in resp.text
    return resp.json(), int(resp.headers["X-Total-Count"])


@pytest.mark.parametrize(
    "path",
    [
        "/bailian/api/videos",
        "/bailian/api/videos?dag_id=bailian_g_mapped",
        "/bailian/api/filters",
        "/bailian/api/videos/file?dag_id=bailian_g_mapped&run_id=x&task_id=keep",
    ],
)
def test_anonymous_gets_401(api: str, path: str) -> None:
    resp = requests.get(f"{api}{path}", timeout=10)
    assert resp.status_code == 401
    assert "prompt" not in resp.text


def test_a_forged_token_is_refused(api: str) -> None:
    resp = requests.get(
        f"{api}/bailian/api/videos", headers={"Authorization": "Bearer not.a.jwt"}, timeout=10
    )
    assert resp.status_code in (401, 403)


def test_the_page_is_static_and_holds_no_data(api: str) -> None:
    resp = requests.get(f"{api}/bailian/", timeout=10)
    assert resp.status_code == 200
    assert "<title>Bailian videos</title>" in resp.text
    assert "fox" not in resp.text
    script = requests.get(f"{api}/bailian/static/gallery.js", timeout=10)
    assert script.status_code == 200
    # Relative URLs only: the UI may sit behind a proxy with a base path.
    assert 'getJson("api/filters")' in script.text
    assert 'fetch("/' not in script.text
    assert 'href="/' not in resp.text
    assert 'src="/' not in resp.text


def test_admin_sees_every_generation_newest_first(
    api: str, admin: requests.Session, generations: dict[str, Any]
) -> None:
    # Other tests of the session leave generations too: look at this module's DAGs.
    everything, total = _videos(admin, api, limit=200)
    assert total == len(everything)
    videos = [v for v in everything if v["dag_id"] in GALLERY_DAGS]
    assert len(videos) == 5
    assert [v["dag_id"] for v in videos].count("bailian_g_private") == 1
    ends = [v["end_date"] for v in everything]
    assert ends == sorted(ends, reverse=True)
    mapped_run = generations["mapped"].run_id
    by_task = {(v["task_id"], v["map_index"]): v for v in videos if v["run_id"] == mapped_run}
    assert set(by_task) == {("generate", 0), ("generate", 1), ("generate", 2), ("keep", -1)}
    fox = by_task[("generate", 0)]
    assert fox["prompt"] == "A red fox trots across fresh snow."
    assert fox["status"] == "SUCCEEDED"
    assert fox["state"] == "success"
    assert fox["model"] == "wan2.6-t2v"
    assert fox["bailian_task_id"]
    assert fox["duration"] == 5
    assert fox["resolution"] == "1280*720"
    assert fox["cost"]["amount"] > 0
    assert fox["cost"]["currency"]
    assert fox["usage"]["video_seconds"] == 5
    assert fox["video_url"].startswith("http://localhost:")
    assert fox["video_url_expires"]
    assert fox["video_url_expired"] is False
    assert fox["play"] == {"kind": "signed", "url": fox["video_url"]}
    assert (
        fox["ti_url"] == f"../dags/bailian_g_mapped/runs/{_q(mapped_run)}/tasks/generate/mapped/0"
    )
    failed = by_task[("generate", 2)]
    assert failed["status"] == "FAILED"
    assert failed["state"] == "failed"
    assert failed["prompt"] == "A storm that never forms [fail:DataInspectionFailed]"
    assert failed["model"] == "wan2.6-t2v"
    assert failed["video_url"] is None
    assert failed["cost"] is None
    assert failed["play"]["kind"] == "none"


def _q(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def test_stored_copy_is_played_from_the_api_server(
    api: str, admin: requests.Session, generations: dict[str, Any]
) -> None:
    videos, _ = _videos(admin, api, dag_id="bailian_g_mapped", run_id=generations["mapped"].run_id)
    (keep,) = [v for v in videos if v["task_id"] == "keep"]
    assert keep["video_path"] == f"{generations['video_dir']}/keep.mp4"
    assert keep["play"]["kind"] == "stored"
    assert not keep["play"]["url"].startswith("/")
    resp = admin.get(f"{api}/bailian/{keep['play']['url']}", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "video/mp4"
    assert resp.content == SAMPLE
    partial = admin.get(
        f"{api}/bailian/{keep['play']['url']}", headers={"Range": "bytes=0-99"}, timeout=10
    )
    assert partial.status_code == 206
    assert partial.content == SAMPLE[:100]


def test_filters_and_pagination(
    api: str, admin: requests.Session, generations: dict[str, Any]
) -> None:
    mapped_run = generations["mapped"].run_id
    videos, total = _videos(admin, api, dag_id="bailian_g_mapped")
    assert total == 4
    assert {v["dag_id"] for v in videos} == {"bailian_g_mapped"}
    videos, total = _videos(admin, api, run_id=mapped_run)
    assert total == 4
    assert {v["run_id"] for v in videos} == {mapped_run}
    pages = [_videos(admin, api, dag_id="bailian_g_mapped", limit=3, offset=o) for o in (0, 3, 6)]
    assert [len(page) for page, _ in pages] == [3, 1, 0]
    assert {total for _, total in pages} == {4}
    whole, _ = _videos(admin, api, dag_id="bailian_g_mapped")
    assert pages[0][0] + pages[1][0] == whole
    resp = admin.get(f"{api}/bailian/api/videos", params={"limit": 0}, timeout=10)
    assert resp.status_code == 422
    filters = admin.get(f"{api}/bailian/api/filters", timeout=10).json()
    assert {d: runs for d, runs in filters.items() if d in GALLERY_DAGS} == {
        "bailian_g_mapped": [mapped_run],
        "bailian_g_private": [generations["private"].run_id],
    }


def test_a_user_sees_only_the_dags_they_may_read(
    api: str, outsider: requests.Session, generations: dict[str, Any]
) -> None:
    videos, total = _videos(outsider, api, limit=200)
    assert total == len(videos)
    assert "bailian_g_private" not in {v["dag_id"] for v in videos}
    assert sum(v["dag_id"] == "bailian_g_mapped" for v in videos) == 4
    resp = outsider.get(
        f"{api}/bailian/api/videos", params={"dag_id": "bailian_g_private"}, timeout=10
    )
    assert resp.status_code == 403
    assert "private" not in resp.text.replace("bailian_g_private", "")
    filters = outsider.get(f"{api}/bailian/api/filters", timeout=10).json()
    assert "bailian_g_mapped" in filters
    assert "bailian_g_private" not in filters
    resp = outsider.get(
        f"{api}/bailian/api/videos/file",
        params={
            "dag_id": "bailian_g_private",
            "run_id": generations["private"].run_id,
            "task_id": "generate",
        },
        timeout=10,
    )
    assert resp.status_code == 403


def test_expired_urls_without_a_stored_copy_become_expired_tiles(
    generations: dict[str, Any],
) -> None:
    """The data layer alone (no HTTP): a day later the signed URLs are gone, the copy is not."""
    from airflow.utils.session import create_session

    from airflow_provider_bailian.plugins.videos import list_videos

    later = datetime.now(timezone.utc) + timedelta(days=2)
    with create_session() as session:
        page = list_videos(
            session, readable_dag_ids={"bailian_g_mapped"}, dag_id="bailian_g_mapped", now=later
        )
        nobody = list_videos(session, readable_dag_ids=set())
    kinds = {(v["task_id"], v["map_index"]): v["play"]["kind"] for v in page.videos}
    assert kinds == {
        ("generate", 0): "expired",
        ("generate", 1): "expired",
        ("generate", 2): "none",
        ("keep", -1): "stored",
    }
    assert all(v["video_url_expired"] for v in page.videos if v["video_url"])
    assert nobody.videos == []
    assert nobody.total_entries == 0
