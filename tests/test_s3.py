"""Object storage for real: S3 over HTTP (moto's server on 127.0.0.1), through the Amazon
provider's filesystem, as ``ObjectStoragePath`` gives it to ``download_to`` and image inputs.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.download import BailianDownloadError
from airflow_provider_bailian.hooks.bailian import BailianHook
from tests.conftest import run_dag, ti_states, xcom
from tests.images import image_bytes

SAMPLE = (
    Path(__file__).resolve().parent.parent / "airflow_provider_bailian" / "emulator" / "sample.mp4"
).read_bytes()
AWS_CONN = "bailian_test_s3"
MIB = 1024 * 1024
#: s3fs uploads in parts once a file passes its block size (50 MiB).
MULTIPART_THRESHOLD = 50 * MIB


def _forget_object_stores() -> None:
    """Airflow keeps one object store per connection id, and s3fs one filesystem per
    arguments, for the process: a module's own server must not meet another module's."""
    import s3fs

    try:
        from airflow.sdk.io import store
    except ImportError:  # Airflow 2.11
        from airflow.io import store  # type: ignore[no-redef]
    store._STORE_CACHE.clear()
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port, and an ``aws`` connection to it (fake keys)."""
    from moto.server import ThreadedMotoServer

    _forget_object_stores()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    conn = {
        "conn_type": "aws",
        "login": "fake-access-key",
        "password": "fake-secret-key",
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"AIRFLOW_CONN_{AWS_CONN.upper()}", json.dumps(conn))
        patch.setenv("BAILIAN_TEST_AWS_CONN", AWS_CONN)
        yield endpoint
    server.stop()
    _forget_object_stores()


def boto3_client(endpoint: str) -> Any:
    """A boto3 S3 client of the local server, with the fake keys of the ``aws`` connection."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="fake-access-key",
        aws_secret_access_key="fake-secret-key",
        region_name="us-east-1",
    )


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh bucket for each test (``s3.client``, ``s3.name``, ``s3.url(key)``)."""
    client = boto3_client(s3_endpoint)
    name = f"bailian-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    monkeypatch.setenv("BAILIAN_TEST_BUCKET", name)

    class Bucket:
        def keys(self) -> list[str]:
            listing = client.list_objects_v2(Bucket=name)
            return sorted(o["Key"] for o in listing.get("Contents", []))

        def get(self, key: str) -> bytes:
            return client.get_object(Bucket=name, Key=key)["Body"].read()

        def head(self, key: str) -> dict[str, Any]:
            return client.head_object(Bucket=name, Key=key)

        def uploads_in_progress(self) -> list[str]:
            return [u["Key"] for u in client.list_multipart_uploads(Bucket=name).get("Uploads", [])]

        def url(self, key: str) -> str:
            return f"s3://{AWS_CONN}@{name}/{key}"

    Bucket.client = client
    Bucket.name = name
    return Bucket()


def test_a_mapped_dag_downloads_each_video_whole_to_s3(
    emulator: Any, make_conn: Any, bucket: Any
) -> None:
    make_conn("bailian_s3", emulator.base_url)
    run = run_dag("bailian_s3_dags.py", "bailian_s3_mapped")
    assert ti_states(run) == {f"generate[{i}]": "success" for i in range(3)}
    assert bucket.keys() == ["videos/0.mp4", "videos/1.mp4", "videos/2.mp4"]
    for i in range(3):
        key = f"videos/{i}.mp4"
        assert bucket.head(key)["ContentLength"] == len(SAMPLE)
        assert bucket.get(key) == SAMPLE
        assert xcom(run, "generate", "video_path", map_index=i) == bucket.url(key)
    assert bucket.uploads_in_progress() == []
    assert len(emulator.submissions) == 3


def test_a_failed_download_leaves_no_object(emulator: Any, make_conn: Any, bucket: Any) -> None:
    make_conn("few", emulator.base_url, max_retries=1)
    hook = BailianHook("few")
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p").task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    emulator.add_fault("video", "truncate", times=10, bytes=1000)
    with pytest.raises(BailianDownloadError, match="nothing was kept"):
        hook.download_video(task_id, destination=bucket.url("videos/broken.mp4"))
    assert bucket.keys() == []
    assert bucket.uploads_in_progress() == []


def test_a_video_over_the_multipart_threshold_arrives_whole(
    emulator: Any, make_conn: Any, bucket: Any
) -> None:
    size = MULTIPART_THRESHOLD + 5 * MIB
    emulator.configure(video_bytes=size)
    make_conn("big", emulator.base_url)
    hook = BailianHook("big")
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p").task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    path = hook.download_video(task_id, destination=bucket.url("videos/big.mp4"))
    assert path == bucket.url("videos/big.mp4")
    head = bucket.head("videos/big.mp4")
    assert head["ContentLength"] == size
    assert head["ETag"].strip('"').endswith("-2"), head["ETag"]  # two parts: a multipart upload
    assert bucket.get("videos/big.mp4")[: len(SAMPLE)] == SAMPLE
    assert bucket.uploads_in_progress() == []


def test_a_multipart_upload_that_fails_midway_is_aborted(
    emulator: Any, make_conn: Any, bucket: Any
) -> None:
    size = MULTIPART_THRESHOLD + 5 * MIB
    emulator.configure(video_bytes=size)
    make_conn("big_few", emulator.base_url, max_retries=2)
    hook = BailianHook("big_few")
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p").task_id
    hook.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    # The first part (50 MiB) is uploaded before the body breaks; every resume then fails.
    emulator.add_fault("video", "truncate", bytes=MULTIPART_THRESHOLD + MIB)
    emulator.add_fault("video", "503", times=5)
    with pytest.raises(BailianDownloadError, match="nothing was kept"):
        hook.download_video(task_id, destination=bucket.url("videos/big.mp4"))
    assert bucket.keys() == []
    assert bucket.uploads_in_progress() == []


def test_an_image_input_is_read_from_s3(emulator: Any, make_conn: Any, bucket: Any) -> None:
    png = image_bytes(480, 360, "PNG")
    bucket.client.put_object(Bucket=bucket.name, Key="inputs/mug.png", Body=png)
    make_conn("bailian_s3", emulator.base_url)
    run = run_dag("bailian_s3_dags.py", "bailian_s3_image")
    assert ti_states(run) == {"generate": "success"}
    (sent,) = emulator.submissions
    expected = "data:image/png;base64," + base64.b64encode(png).decode()
    assert sent["body"]["input"]["img_url"] == expected
    assert os.environ["BAILIAN_TEST_BUCKET"] == bucket.name
