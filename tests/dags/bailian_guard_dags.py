"""Guards against oversized input and output (connection ``bailian_dag``)."""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.image2video import BailianImage2VideoOperator
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

VIDEO_DIR = os.environ.get("BAILIAN_TEST_VIDEO_DIR", "/nonexistent")
IMAGE_DIR = os.environ.get("BAILIAN_TEST_IMAGE_DIR", "/nonexistent")
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("bailian_t_download_cap", schedule=None, start_date=START, catchup=False) as capped_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt="cap: a long, long river",
        bailian_conn_id="bailian_dag",
        download_to=f"{VIDEO_DIR}/capped.mp4",
        max_download_bytes=2048,
        deferrable=False,
        poll_interval=0.1,
    )

with DAG("bailian_t_image_bomb", schedule=None, start_date=START, catchup=False) as bomb_dag:
    # A PNG whose header claims 100000 x 100000 pixels.
    BailianImage2VideoOperator(
        task_id="generate",
        image=f"{IMAGE_DIR}/bomb.png",
        prompt="bomb: it never opens",
        bailian_conn_id="bailian_dag",
        retries=2,
    )
