"""DAGs whose generations the gallery tests read (a mapped run with a failure, a private DAG)."""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
VIDEO_DIR = os.environ.get("BAILIAN_GALLERY_TEST_DIR", "/tmp/bailian-gallery-test")
#: A bucket on a local S3 server, read through an ``aws`` connection (set by the tests).
S3_STORE = "s3://{}@{}".format(
    os.environ.get("BAILIAN_TEST_AWS_CONN", "aws_default"),
    os.environ.get("BAILIAN_TEST_BUCKET", "bailian-test"),
)
PROMPTS = [
    "A red fox trots across fresh snow.",
    "Waves crash on black volcanic sand.",
    "A storm that never forms [fail:DataInspectionFailed]",
]

with DAG("bailian_g_mapped", schedule=None, start_date=START, catchup=False) as mapped:
    BailianText2VideoOperator.partial(
        task_id="generate",
        bailian_conn_id="bailian_dag",
        model="wan2.6-t2v",
        size="1280*720",
        duration=5,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
    ).expand(prompt=PROMPTS)
    BailianText2VideoOperator(
        task_id="keep",
        bailian_conn_id="bailian_dag",
        model="wan2.6-t2v",
        prompt="A lighthouse at dusk, kept on disk.",
        size="1280*720",
        duration=5,
        deferrable=False,
        poll_interval=0.2,
        download_to=f"{VIDEO_DIR}/keep.mp4",
    )

with DAG("bailian_g_private", schedule=None, start_date=START, catchup=False) as private:
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id="bailian_dag",
        model="wan2.6-t2v",
        prompt="A private video only some may see.",
        size="1280*720",
        duration=5,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
        download_to=f"{VIDEO_DIR}/private.mp4",
    )

with DAG("bailian_g_planted", schedule=None, start_date=START, catchup=False) as planted:
    # Generations whose ``video_path`` the tests overwrite through the REST API, as any user
    # with XCom write access could: one with a Bailian result, one that failed without one.
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id="bailian_dag",
        model="wan2.6-t2v",
        prompt="A video whose stored copy is planted.",
        size="1280*720",
        duration=5,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
    )
    BailianText2VideoOperator(
        task_id="refused",
        bailian_conn_id="bailian_dag",
        model="wan2.6-t2v",
        prompt="A video Bailian refuses [fail:DataInspectionFailed]",
        size="1280*720",
        duration=5,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
    )
    # Generations that keep a copy inside the roots (a folder, a prefix, a prefix read with
    # a connection, an S3 prefix): the only copies the gallery serves are the ones these
    # tasks wrote.
    for task_id, destination in {
        "stored_local": f"{VIDEO_DIR}/planted.mp4",
        "stored_memory": "memory://bailian-gallery/videos/planted.mp4",
        "stored_conn": "memory://gallery_store@bailian-gallery/by-conn/planted.mp4",
        "stored_s3": f"{S3_STORE}/videos/planted.mp4",
        # Its own copy, but outside every root: never served.
        "stored_s3_outside": f"{S3_STORE}/elsewhere/planted.mp4",
    }.items():
        BailianText2VideoOperator(
            task_id=task_id,
            bailian_conn_id="bailian_dag",
            model="wan2.6-t2v",
            prompt=f"A video kept by {task_id}.",
            size="1280*720",
            duration=5,
            deferrable=False,
            poll_interval=0.2,
            download_to=destination,
        )
