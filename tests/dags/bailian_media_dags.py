"""Media-protocol DAGs the test-suite runs: editing, continuation, wan3.0 references, speech.

Connection ``bailian_media`` (``bailian_media_rec`` for the recovery DAGs). Local files live
in ``BAILIAN_TEST_MEDIA_DIR``; they need not exist when the DAG is parsed.
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
from airflow_provider_bailian.operators.plan import BailianPlanOperator
from airflow_provider_bailian.operators.reference2video import BailianReference2VideoOperator
from airflow_provider_bailian.operators.speech2video import BailianSpeech2VideoOperator
from airflow_provider_bailian.operators.video_edit import BailianVideoEditOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
CONN = "bailian_media"
FILES = os.environ.get("BAILIAN_TEST_MEDIA_DIR", "/nonexistent/bailian-test-media")
WAIT = {"wait_for_completion": True, "poll_interval": 0.1, "bailian_conn_id": CONN}
NO_DELAY = {"retry_delay": timedelta(seconds=0)}
EDIT = {
    "video": FILES + "/product.mp4",
    "references": [FILES + "/style.png"],
    "prompt": "restyle the product video as a watercolour",
    "resolution": "720P",
    "audio_setting": "origin",
}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False)


with _dag("bailian_m_edit") as edit_dag:
    BailianVideoEditOperator(task_id="generate", deferrable=True, **EDIT, **WAIT)

with _dag("bailian_m_edit_dry_run") as edit_dry_run_dag:
    BailianVideoEditOperator(task_id="generate", bailian_conn_id=CONN, dry_run=True, **EDIT)

for where in ("worker", "deferred"):
    with _dag(f"bailian_m_edit_recover_{where}") as recover_dag:
        BailianVideoEditOperator(
            task_id="generate",
            deferrable=where == "deferred",
            retries=1,
            **NO_DELAY,
            **EDIT,
            **{**WAIT, "bailian_conn_id": "bailian_media_rec"},
        )
    globals()[f"recover_{where}_dag"] = recover_dag

with _dag("bailian_m_edit_reattach") as reattach_dag:
    BailianVideoEditOperator(
        task_id="generate",
        deferrable=False,
        timeout=1.5,
        retries=15,
        **NO_DELAY,
        **EDIT,
        **WAIT,
    )

with _dag("bailian_m_wan30_references") as wan30_dag:
    BailianReference2VideoOperator(
        task_id="generate",
        model="wan3.0-video",
        prompt="Image 1 pours tea for Image 2 while Audio 1 plays",
        references=[FILES + "/host.png", FILES + "/guest.jpg"],
        reference_audio=[FILES + "/voice.wav"],
        resolution="720P",
        ratio="16:9",
        duration=5,
        deferrable=True,
        **WAIT,
    )

with _dag("bailian_m_continue") as continue_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        model="wan2.7-i2v",
        first_clip=FILES + "/product.mp4",
        prompt="the camera keeps circling the product",
        resolution="720P",
        duration=5,
        deferrable=True,
        **WAIT,
    )

with _dag("bailian_m_speech") as speech_dag:
    BailianSpeech2VideoOperator(
        task_id="generate",
        image=FILES + "/host.png",
        audio=FILES + "/voice.wav",
        resolution="480P",
        deferrable=True,
        **WAIT,
    )

with _dag("bailian_m_plan_edits") as plan_edits_dag:
    plan = BailianPlanOperator(
        task_id="plan",
        requests=[
            {"mode": "edit", "prompt": "restyle as a watercolour", "duration": 5},
            {"mode": "edit", "prompt": "restyle as a pencil sketch", "duration": 4},
        ],
        defaults={"video": "https://example.com/product.mp4", "resolution": "720P"},
        max_total_cost=20,
        approve_above=20,
        bailian_conn_id=CONN,
    )
    BailianVideoEditOperator.partial(task_id="generate", **WAIT).expand_kwargs(plan.output)
