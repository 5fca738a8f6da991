"""The gallery plugin on a real api-server: who sees which generations, and what they see.

DAGs run through Airflow against the emulator; then Airflow's own api-server app (with the
plugin mounted by Airflow's plugin manager) serves on 127.0.0.1 under uvicorn, and the
tests talk to it over HTTP as anonymous, a user without access to one DAG, and an admin.
The admin also plants ``video_path`` XComs through Airflow's REST API, as any user with XCom
write access could, to check that the file route reads only videos inside
``[bailian] gallery_roots``.
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
from tests.test_s3 import AWS_CONN, boto3_client, s3_endpoint  # noqa: F401  (s3_endpoint: a fixture)

pytestmark = pytest.mark.skipif(not AIRFLOW_V3_1, reason="the gallery needs Airflow 3.1+")

FILE = "bailian_gallery_dags.py"
SAMPLE = (
    Path(__file__).resolve().parent.parent / "airflow_provider_bailian" / "emulator" / "sample.mp4"
).read_bytes()
PASSWORDS = {"admin": "admin-pass", "outsider": "outsider-pass", "writer": "writer-pass"}
GALLERY_DAGS = {"bailian_g_mapped", "bailian_g_private"}
PLANTED = "bailian_g_planted"
#: An object-storage root of the api-server (fsspec's in-memory store, shared with this process).
MEMORY_ROOT = "memory://bailian-gallery/videos/"
#: A root that names the connection reading it.
MEMORY_CONN_ROOT = "memory://gallery_store@bailian-gallery/by-conn/"
#: The bucket on the local S3 server; its root names the ``aws`` connection reading it.
S3_BUCKET = "bailian-gallery"
S3_ROOT = f"s3://{AWS_CONN}@{S3_BUCKET}/videos/"
#: Another ``aws`` connection to the same server (it could read the bucket too).
S3_OTHER_CONN = "bailian_test_s3_other"


@pytest.fixture(scope="module")
def s3_client(s3_endpoint: str) -> Any:  # noqa: F811
    """A client of the local S3 server, and the bucket the planted DAG keeps copies in."""
    client = boto3_client(s3_endpoint)
    client.create_bucket(Bucket=S3_BUCKET)
    return client


@pytest.fixture(scope="module")
def generations(tmp_path_factory: pytest.TempPathFactory, s3_client: Any) -> dict[str, Any]:
    """Run the gallery DAGs once: a mapped run with one failed video, a kept copy, a private DAG."""
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    from airflow_provider_bailian.emulator import BailianEmulator

    # The in-memory store the planted DAG's tasks write their copies to (also with the
    # connection of MEMORY_CONN_ROOT, as an administrator attaches a custom file system).
    for conn_id in (None, "gallery_store"):
        attach(protocol="memory", conn_id=conn_id, fs=MemoryFileSystem())
    video_dir = tmp_path_factory.mktemp("videos")
    with BailianEmulator(api_key=FAKE_KEY, task_seconds=0.3) as emu:
        env = {"AIRFLOW_CONN_BAILIAN_DAG": conn_json(emu.base_url)}
        with environment(
            **env, BAILIAN_GALLERY_TEST_DIR=str(video_dir), BAILIAN_TEST_BUCKET=S3_BUCKET
        ):
            mapped = run_dag(FILE, "bailian_g_mapped")
            private = run_dag(FILE, "bailian_g_private")
            planted = run_dag(FILE, PLANTED)
    assert ti_states(mapped) == {
        "generate[0]": "success",
        "generate[1]": "success",
        "generate[2]": "failed",
        "keep": "success",
    }
    assert ti_states(private) == {"generate": "success"}
    assert ti_states(planted) == {
        "generate": "success",
        "refused": "failed",
        "stored_local": "success",
        "stored_memory": "success",
        "stored_conn": "success",
        "stored_s3": "success",
        "stored_s3_outside": "success",
    }
    return {"mapped": mapped, "private": private, "planted": planted, "video_dir": video_dir}


@pytest.fixture(scope="module")
def files(generations: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A second local root with a video, a text file named .mp4 and a symlink to a video
    outside every root; videos in the in-memory object store, inside and outside the roots.

    The store is attached as an administrator attaches a custom file system, once without a
    connection and once per connection id a URL may name (each would read the files)."""
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    from airflow_provider_bailian._compat import object_storage_path

    for conn_id in (None, "gallery_store", "any_conn", "other"):
        attach(protocol="memory", conn_id=conn_id, fs=MemoryFileSystem())

    root = tmp_path_factory.mktemp("root")
    outside = tmp_path_factory.mktemp("outside")
    (root / "good.mp4").write_bytes(SAMPLE)
    (root / "notes.mp4").write_text("root:x:0:0:not a video\n")
    (outside / "elsewhere.mp4").write_bytes(SAMPLE)
    (root / "link.mp4").symlink_to(outside / "elsewhere.mp4")
    for url in (
        MEMORY_ROOT + "good.mp4",
        "memory://bailian-gallery/by-conn/good.mp4",
        "memory://bailian-gallery/videos-private/good.mp4",
        "memory://other-bucket/videos/good.mp4",
    ):
        path = object_storage_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(SAMPLE)
    object_storage_path(MEMORY_ROOT + "notes.mp4").write_bytes(b"not a video")
    return {"root": root, "outside": outside}


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
def api(
    generations: dict[str, Any],
    files: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    s3_endpoint: str,  # noqa: F811
) -> Iterator[str]:
    """Airflow's api-server app (core API, auth manager, plugins) on 127.0.0.1."""
    import uvicorn
    from airflow.api_fastapi.app import create_app, purge_cached_app

    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    env = {
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.dag_acl_auth_manager.DagAclAuthManager",
        # "writer" has the "user" role (it may write XComs) and may not read the private DAG.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,outsider:viewer,writer:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "gallery-test-jwt-secret-" + "0123456789abcdef" * 4,
        # Comma and newline separated, as an administrator may write it.
        "AIRFLOW__BAILIAN__GALLERY_ROOTS": (
            f"{generations['video_dir']}, {files['root']}\n{MEMORY_ROOT}\n{MEMORY_CONN_ROOT}"
            f"\n{S3_ROOT}"
        ),
        f"AIRFLOW_CONN_{S3_OTHER_CONN.upper()}": os.environ[f"AIRFLOW_CONN_{AWS_CONN.upper()}"],
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


@pytest.fixture(scope="module")
def writer(api: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {_login(api, 'writer')}"
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
    assert resp.headers["content-disposition"] == 'inline; filename="keep.mp4"'
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in resp.headers["content-security-policy"]
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
    generations: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data layer alone (no HTTP): a day later the signed URLs are gone, the copy is not."""
    from airflow.utils.session import create_session

    from airflow_provider_bailian.plugins.videos import list_videos

    later = datetime.now(timezone.utc) + timedelta(days=2)
    monkeypatch.setenv("AIRFLOW__BAILIAN__GALLERY_ROOTS", str(generations["video_dir"]))
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
    # No gallery_roots (the default): the api-server reads no stored copy at all.
    monkeypatch.delenv("AIRFLOW__BAILIAN__GALLERY_ROOTS")
    with create_session() as session:
        unset = list_videos(
            session, readable_dag_ids={"bailian_g_mapped"}, dag_id="bailian_g_mapped", now=later
        )
    (keep,) = [v for v in unset.videos if v["task_id"] == "keep"]
    assert keep["play"]["kind"] == "expired"


# ---- the file route reads only videos inside [bailian] gallery_roots ----------------------


def _xcom_url(api: str, dag_id: str, run_id: str, task_id: str) -> str:
    return f"{api}/api/v2/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}/xcomEntries"


def _plant(admin: requests.Session, api: str, run: Any, task_id: str, value: Any) -> None:
    """Write ``video_path`` through Airflow's REST API, as any user with XCom write access can."""
    url = _xcom_url(api, run.dag_id, run.run_id, task_id)
    resp = admin.patch(f"{url}/video_path", json={"value": value}, timeout=10)
    if resp.status_code == 404:
        resp = admin.post(url, json={"key": "video_path", "value": value}, timeout=10)
    assert resp.status_code in (200, 201), resp.text


def _file(session: requests.Session, api: str, run: Any, task_id: str, **extra: Any) -> Any:
    params = {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": task_id}
    return session.get(f"{api}/bailian/api/videos/file", params=params, timeout=10, **extra)


def _tile(session: requests.Session, api: str, run: Any, task_id: str) -> dict[str, Any]:
    videos, _ = _videos(session, api, dag_id=run.dag_id, run_id=run.run_id)
    (tile,) = [v for v in videos if v["task_id"] == task_id]
    return tile


HOSTILE = {
    "etc_passwd": lambda f: "/etc/passwd",
    "airflow_cfg": lambda f: f"file://{os.environ['AIRFLOW_HOME']}/airflow.cfg",
    "symlink_out_of_a_root": lambda f: str(f["root"] / "link.mp4"),
    "dot_dot_out_of_a_root": lambda f: f"{f['root']}/../{f['outside'].name}/elsewhere.mp4",
    "not_a_video_in_a_root": lambda f: str(f["root"] / "notes.mp4"),
    "file_url_with_a_host": lambda f: f"file://localhost{f['root']}/../{f['outside'].name}/x",
    "url_with_its_own_connection": lambda f: "memory://any_conn@bailian-gallery/videos/good.mp4",
    "url_with_another_connection": lambda f: "memory://other@bailian-gallery/by-conn/good.mp4",
    "bucket_outside_the_prefixes": lambda f: "memory://other-bucket/videos/good.mp4",
    "prefix_is_not_a_folder": lambda f: "memory://bailian-gallery/videos-private/good.mp4",
    "object_dot_dot": lambda f: "memory://bailian-gallery/videos/../videos-private/good.mp4",
    "object_not_a_video": lambda f: MEMORY_ROOT + "notes.mp4",
    "not_a_string": lambda f: {"path": "/etc/passwd"},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_planted_location_outside_the_roots_is_not_served(
    case: str,
    api: str,
    admin: requests.Session,
    outsider: requests.Session,
    generations: dict[str, Any],
    files: dict[str, Path],
) -> None:
    run = generations["planted"]
    location = HOSTILE[case](files)
    if case == "airflow_cfg":
        assert Path(location[len("file://") :]).is_file()
    _plant(admin, api, run, "generate", location)
    for session in (admin, outsider):
        resp = _file(session, api, run, "generate")
        assert resp.status_code == 404, (case, resp.status_code)
        assert "root:" not in resp.text
        assert "fernet_key" not in resp.text
        assert SAMPLE[:64] not in resp.content
        ranged = _file(session, api, run, "generate", headers={"Range": "bytes=0-99"})
        assert ranged.status_code == 404
    tile = _tile(admin, api, run, "generate")
    assert tile["play"] == {"kind": "signed", "url": tile["video_url"]}


#: Where the planted DAG's tasks kept their copies (``video_dir`` is a root).
KEPT = {
    "stored_local": lambda d: f"{d}/planted.mp4",
    "stored_memory": lambda d: MEMORY_ROOT + "planted.mp4",
    "stored_conn": lambda d: "memory://gallery_store@bailian-gallery/by-conn/planted.mp4",
    "stored_s3": lambda d: S3_ROOT + "planted.mp4",
}


@pytest.mark.parametrize(
    ("task_id", "spelling"),
    [
        ("stored_local", None),
        ("stored_local", lambda d: f"file://{d}/planted.mp4"),
        ("stored_local", lambda d: f"{d}/./sub/../planted.mp4"),
        ("stored_memory", None),
        ("stored_conn", lambda d: "memory://bailian-gallery/by-conn/planted.mp4"),
        ("stored_conn", None),  # with the root's connection, as the task wrote it
        ("stored_s3", None),
    ],
    ids=[
        "path",
        "file_url",
        "normalised",
        "object_store",
        "root_connection",
        "same_connection",
        "s3",
    ],
)
def test_a_copy_the_task_kept_inside_a_root_is_served_to_readers_of_the_dag(
    task_id: str,
    spelling: Any,
    api: str,
    admin: requests.Session,
    outsider: requests.Session,
    generations: dict[str, Any],
) -> None:
    """The task's own copy, also when an XCom writer respells its location."""
    video_dir = generations["video_dir"]
    (video_dir / "sub").mkdir(exist_ok=True)
    run = generations["planted"]
    kept = KEPT[task_id](video_dir)
    _plant(admin, api, run, task_id, spelling(video_dir) if spelling else kept)
    tile = _tile(admin, api, run, task_id)
    assert tile["play"]["kind"] == "stored"
    for session in (admin, outsider):  # both may read bailian_g_planted
        resp = session.get(f"{api}/bailian/{tile['play']['url']}", timeout=10)
        assert resp.status_code == 200
        assert resp.content == SAMPLE
        assert resp.headers["content-type"] == "video/mp4"
        assert resp.headers["content-disposition"] == f'inline; filename="{task_id}.mp4"'
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["content-security-policy"].endswith("sandbox")
    _plant(admin, api, run, task_id, kept)


def test_a_copy_kept_in_s3_is_the_object_the_task_uploaded(
    api: str,
    admin: requests.Session,
    outsider: requests.Session,
    generations: dict[str, Any],
    s3_client: Any,
) -> None:
    """Streamed from the S3 server through the root's ``aws`` connection, byte for byte."""
    obj = s3_client.get_object(Bucket=S3_BUCKET, Key="videos/planted.mp4")
    stored = obj["Body"].read()
    assert stored == SAMPLE
    run = generations["planted"]
    for session in (admin, outsider):
        resp = _file(session, api, run, "stored_s3")
        assert resp.status_code == 200
        assert resp.content == stored
        assert len(resp.content) == obj["ContentLength"]
        assert resp.headers["content-type"] == "video/mp4"
        assert resp.headers["content-disposition"] == 'inline; filename="stored_s3.mp4"'
        assert resp.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("task_id", "location"),
    [
        # The task's own copy, outside the S3 prefix.
        ("stored_s3_outside", f"s3://{AWS_CONN}@{S3_BUCKET}/elsewhere/planted.mp4"),
        # Another object of the bucket on a generation that kept its copy under the root.
        ("stored_s3", f"s3://{AWS_CONN}@{S3_BUCKET}/elsewhere/planted.mp4"),
        # The task's own object, read through another connection than the root's.
        ("stored_s3", f"s3://{S3_OTHER_CONN}@{S3_BUCKET}/videos/planted.mp4"),
    ],
    ids=["own_copy_outside_the_root", "object_outside_the_root", "another_connection"],
)
def test_an_s3_object_outside_the_root_or_through_another_connection_is_not_served(
    task_id: str,
    location: str,
    api: str,
    admin: requests.Session,
    outsider: requests.Session,
    generations: dict[str, Any],
    s3_client: Any,
) -> None:
    assert s3_client.head_object(Bucket=S3_BUCKET, Key="elsewhere/planted.mp4")
    run = generations["planted"]
    _plant(admin, api, run, task_id, location)
    try:
        for session in (admin, outsider):
            resp = _file(session, api, run, task_id)
            assert resp.status_code == 404, (task_id, location, resp.status_code)
            assert SAMPLE[:64] not in resp.content
        assert _tile(admin, api, run, task_id)["play"]["kind"] != "stored"
    finally:
        if task_id == "stored_s3":
            _plant(admin, api, run, task_id, KEPT[task_id](generations["video_dir"]))


def _plant_key(
    session: requests.Session, api: str, run: Any, task_id: str, key: str, value: Any
) -> None:
    url = _xcom_url(api, run.dag_id, run.run_id, task_id)
    resp = session.patch(f"{url}/{key}", json={"value": value}, timeout=10)
    if resp.status_code == 404:
        resp = session.post(url, json={"key": key, "value": value}, timeout=10)
    assert resp.status_code in (200, 201), resp.text


def test_an_xcom_writer_cannot_borrow_the_copy_of_a_dag_they_may_not_read(
    api: str,
    admin: requests.Session,
    outsider: requests.Session,
    writer: requests.Session,
    generations: dict[str, Any],
) -> None:
    """A "user" may write XComs on the planted DAG but not read the private one: naming the
    private DAG's copy (inside a root, a real MP4) on a generation of the planted DAG, even
    with a forged Bailian result on a task that has none, serves nothing."""
    private_copy = f"{generations['video_dir']}/private.mp4"
    assert _file(admin, api, generations["private"], "generate").content == SAMPLE
    assert _file(writer, api, generations["private"], "generate").status_code == 403
    run = generations["planted"]
    forged = {"task_id": "forged-1", "status": "SUCCEEDED", "video_url": "http://x/v.mp4"}
    _plant_key(writer, api, run, "refused", "task_id", "forged-1")
    _plant_key(writer, api, run, "refused", "result", forged)
    _plant_key(writer, api, run, "refused", "video_url", "http://x/v.mp4")
    try:
        for task_id in ("generate", "stored_local", "refused"):
            _plant_key(writer, api, run, task_id, "video_path", private_copy)
            for session in (writer, outsider, admin):
                resp = _file(session, api, run, task_id)
                assert resp.status_code == 404, (task_id, resp.status_code)
                assert SAMPLE[:64] not in resp.content
            assert _tile(writer, api, run, task_id)["play"]["kind"] != "stored"
    finally:
        _plant(admin, api, run, "stored_local", KEPT["stored_local"](generations["video_dir"]))
        for key in ("task_id", "result", "video_url"):  # "refused" is a failure again
            _plant_key(admin, api, run, "refused", key, None)


def test_a_kept_copy_that_is_no_video_is_not_served(
    api: str, admin: requests.Session, generations: dict[str, Any]
) -> None:
    """The task's own file, replaced on disk: text is refused; bytes that start like an MP4
    go out as a video the browser will not sniff or run."""
    run = generations["planted"]
    copy = Path(KEPT["stored_local"](generations["video_dir"]))
    try:
        copy.write_text("root:x:0:0:not a video\n")
        assert _file(admin, api, run, "stored_local").status_code == 404
        copy.write_bytes(b"\x00\x00\x00\x18ftypisom<html><script>alert(1)</script></html>")
        resp = _file(admin, api, run, "stored_local")
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "video/mp4"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert (
            resp.headers["content-security-policy"]
            == "default-src 'none'; media-src 'self'; sandbox"
        )
    finally:
        copy.write_bytes(SAMPLE)


def test_only_a_provider_generation_with_a_result_is_served(
    api: str, admin: requests.Session, generations: dict[str, Any], files: dict[str, Path]
) -> None:
    """A video inside a root, planted on a task instance without a Bailian result."""
    run = generations["planted"]
    _plant(admin, api, run, "refused", str(files["root"] / "good.mp4"))
    assert _file(admin, api, run, "refused").status_code == 404
    assert _tile(admin, api, run, "refused")["play"]["kind"] == "expired"


def test_a_video_of_a_dag_the_user_may_not_read_is_refused(
    api: str,
    admin: requests.Session,
    outsider: requests.Session,
    generations: dict[str, Any],
    files: dict[str, Path],
) -> None:
    run = generations["private"]
    assert _file(admin, api, run, "generate").content == SAMPLE  # its own kept copy
    resp = _file(outsider, api, run, "generate")
    assert resp.status_code == 403
    assert SAMPLE[:64] not in resp.content


def test_the_reason_is_logged_once(
    api: str,
    admin: requests.Session,
    generations: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = generations["planted"]
    location = "/etc//passwd"  # this test's own spelling: nothing logged it before
    _plant(admin, api, run, "generate", location)
    with caplog.at_level("WARNING", logger="airflow_provider_bailian.plugins.videos"):
        for _ in range(3):
            assert _file(admin, api, run, "generate").status_code == 404
            _tile(admin, api, run, "generate")
    reasons = [r.getMessage() for r in caplog.records if repr(location) in r.getMessage()]
    assert len(reasons) == 1, reasons
    assert "outside the allowed folders" in reasons[0]
    assert f"{PLANTED}/{run.run_id}/generate" in reasons[0]


@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("videos", {"offset": 10**30}),
        ("videos", {"offset": 1_000_001}),
        ("videos", {"limit": 10**30}),
        ("videos", {"offset": -1}),
        ("videos", {"dag_id": "d" * 251}),
        (
            "videos/file",
            {"dag_id": "bailian_g_mapped", "run_id": "r", "task_id": "t", "map_index": 10**30},
        ),
        (
            "videos/file",
            {"dag_id": "bailian_g_mapped", "run_id": "r", "task_id": "t", "map_index": -2},
        ),
        ("videos/file", {"dag_id": "bailian_g_mapped", "run_id": "r" * 251, "task_id": "t"}),
    ],
)
def test_numbers_and_ids_out_of_bounds_answer_422(
    api: str, admin: requests.Session, route: str, params: dict[str, Any]
) -> None:
    resp = admin.get(f"{api}/bailian/api/{route}", params=params, timeout=10)
    assert resp.status_code == 422, resp.text


def test_the_page_has_a_content_security_policy(api: str, admin: requests.Session) -> None:
    page = requests.get(f"{api}/bailian/", timeout=10)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    # The page obeys it: no inline script or style, no style attribute.
    assert "<script>" not in page.text
    assert "<style" not in page.text
    assert "style=" not in page.text
    assert ".style" not in requests.get(f"{api}/bailian/static/gallery.js", timeout=10).text
    listing = admin.get(f"{api}/bailian/api/videos", timeout=10)
    assert listing.headers["x-content-type-options"] == "nosniff"
    # The same page under its static name, and every other answer, carries the policy too.
    for path in ("static/index.html", "static/gallery.js", "api/nothing-here"):
        resp = requests.get(f"{api}/bailian/{path}", timeout=10)
        assert resp.headers["content-security-policy"] == policy, path


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Chromium")
def test_the_page_runs_under_its_policy_in_a_browser(api: str) -> None:
    """Headless Chromium: the script runs (it asks the API and shows the sign-in message)
    and the browser reports no Content-Security-Policy violation."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gallery-chromium-") as profile:
        done = subprocess.run(
            [
                "/usr/bin/chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"{api}/bailian/",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert "Sign in to Airflow to see the videos." in done.stdout, done.stderr[-2000:]
    assert "Content Security Policy" not in done.stderr
    assert "Content-Security-Policy" not in done.stderr


def test_the_filters_list_is_capped(
    generations: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last test of the module: it adds a second run of the private DAG."""
    from airflow.utils.session import create_session

    from airflow_provider_bailian.emulator import BailianEmulator
    from airflow_provider_bailian.plugins import videos

    with (
        BailianEmulator(api_key=FAKE_KEY, task_seconds=0.3) as emu,
        environment(AIRFLOW_CONN_BAILIAN_DAG=conn_json(emu.base_url)),
    ):
        second = run_dag(FILE, "bailian_g_private")
    readable = {"bailian_g_mapped", "bailian_g_private", PLANTED}
    with create_session() as session:
        whole = videos.list_filters(session, readable_dag_ids=readable)
        monkeypatch.setattr(videos, "MAX_FILTER_DAGS", 2)
        monkeypatch.setattr(videos, "MAX_FILTER_RUNS", 1)
        capped = videos.list_filters(session, readable_dag_ids=readable)
    assert set(whole) == readable
    assert whole["bailian_g_private"] == [second.run_id, generations["private"].run_id]
    assert list(capped) == sorted(readable)[:2]
    assert all(len(runs) == 1 and runs[0] == whole[dag][0] for dag, runs in capped.items())
