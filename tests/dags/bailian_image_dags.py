"""Image and reference DAGs the test-suite runs (connection ``bailian_dag``).

File inputs live in ``BAILIAN_TEST_IMAGE_DIR``; they need not exist when the DAG is
parsed (a file input is read at execute time only).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.image2video import BailianImage2VideoOperator
from airflow_provider_bailian.operators.reference2video import BailianReference2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
CONN = "bailian_dag"
IMAGES = os.environ.get("BAILIAN_TEST_IMAGE_DIR", "/nonexistent/bailian-test-images")
OUT = os.environ.get("BAILIAN_TEST_VIDEO_DIR", "/tmp/bailian-test-videos")
WAIT = {"wait_for_completion": True, "poll_interval": 0.1, "bailian_conn_id": CONN}
NO_DELAY = {"retry_delay": timedelta(seconds=0)}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False)


with _dag("bailian_i_dry_run") as dry_run_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        image=IMAGES + "/{{ params.name }}.png",
        prompt="the mug slowly turns",
        model="wan2.6-i2v",
        resolution="720P",
        duration=10,
        dry_run=True,
        params={"name": "mug"},
    )

with _dag("bailian_i_max_cost") as max_cost_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        image=IMAGES + "/mug.png",
        prompt="an expensive turn",
        duration=15,
        max_cost=1,
        retries=2,
        **NO_DELAY,
    )

with _dag("bailian_i_bad_image") as bad_image_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        image=IMAGES + "/notes.png",  # text bytes under an image name
        prompt="p",
        retries=2,
        **NO_DELAY,
    )

with _dag("bailian_r_bad_references") as bad_references_dag:
    BailianReference2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        prompt="character1 meets character2",
        references=[IMAGES + "/mug.png", IMAGES + "/tiny.png", IMAGES + "/missing.png"],
        size="1280*720",
    )

with _dag("bailian_i_deferrable") as deferrable_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        image=IMAGES + "/mug.png",
        prompt="the mug slowly turns on a wooden table",
        resolution="720P",
        deferrable=True,
        download_to=OUT + "/{{ run_id | replace(':', '_') }}/mug.mp4",
        **WAIT,
    )

with _dag("bailian_i_worker_wait") as worker_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        image=IMAGES + "/mug.jpg",
        prompt="steam rises from the mug",
        model="wan2.6-i2v-flash",
        audio=False,
        resolution="720P",
        deferrable=False,
        **WAIT,
    )

with _dag("bailian_i_upload") as upload_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        image=IMAGES + "/mug.png",
        prompt="the mug slowly turns",
        resolution="720P",
        upload_local_files=True,
        deferrable=True,
        **WAIT,
    )

for where in ("worker", "deferred"):
    with _dag(f"bailian_i_reattach_{where}") as reattach_dag:
        BailianImage2VideoOperator(
            task_id="generate",
            image=IMAGES + "/mug.png",
            prompt="the mug slowly turns",
            resolution="720P",
            deferrable=where == "deferred",
            timeout=1.5,
            retries=15,
            **NO_DELAY,
            **WAIT,
        )
    globals()[f"reattach_{where}_dag"] = reattach_dag

with _dag("bailian_r_deferrable") as reference_dag:
    BailianReference2VideoOperator(
        task_id="generate",
        prompt="character1 pours tea for character2",
        references=[IMAGES + "/mug.png", IMAGES + "/mug.jpg"],
        size="1280*720",
        duration=4,
        deferrable=True,
        **WAIT,
    )

with _dag("bailian_i_dry_run_upload") as dry_run_upload_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        image=IMAGES + "/mug.png",
        prompt="p",
        upload_local_files=True,
        dry_run=True,
    )
