"""Wan 3.0 with two reference images and a reference audio, in one request.

``wan3.0-video`` takes up to 10 reference images, reference videos and audio (at most 15 s
each kind), a PDF or a link; the prompt names them "Image 1", "Image 2", "Audio 1" in the
order given. Images are sent inline; a local audio file is uploaded (DashScope style).
``duration=-1`` lets the model pick the length: the estimate counts the maximum (30 s).
Set ``BAILIAN_HOST_IMAGE``, ``BAILIAN_GUEST_IMAGE`` and ``BAILIAN_VOICE_AUDIO``.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.reference2video import BailianReference2VideoOperator

HOST = os.environ.get("BAILIAN_HOST_IMAGE", "https://example.com/cast/host.png")
GUEST = os.environ.get("BAILIAN_GUEST_IMAGE", "https://example.com/cast/guest.png")
VOICE = os.environ.get("BAILIAN_VOICE_AUDIO", "https://example.com/audio/welcome.wav")
POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None

with DAG(
    dag_id="bailian_wan30_references",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_bailian_wan30_references]
    BailianReference2VideoOperator(
        task_id="interview",
        bailian_conn_id="bailian_dashscope",
        model="wan3.0-video",
        prompt="Image 1 welcomes Image 2 to the studio, speaking the words of Audio 1.",
        references=[HOST, GUEST],
        reference_audio=[VOICE],
        resolution="720P",
        ratio="16:9",
        duration=-1,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=2,
    )
    # [END howto_operator_bailian_wan30_references]
