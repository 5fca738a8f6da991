"""Image inputs a run conf chooses (through ``params``), for the ``[bailian] input_roots`` tests."""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.image2video import BailianImage2VideoOperator
from airflow_provider_bailian.operators.reference2video import BailianReference2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
IMAGES = os.environ.get("BAILIAN_TEST_IMAGE_DIR", "/nonexistent/bailian-test-images")
WAIT = {"wait_for_completion": True, "poll_interval": 0.1, "bailian_conn_id": "bailian_dag"}

with DAG(
    "bailian_i_from_conf",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"image": IMAGES + "/mug.png"},
) as image_from_conf:
    BailianImage2VideoOperator(
        task_id="generate",
        image="{{ params.image }}",
        prompt="the mug slowly turns",
        resolution="720P",
        deferrable=False,
        **WAIT,
    )

with DAG(
    "bailian_r_from_conf",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"first": IMAGES + "/mug.png", "second": IMAGES + "/mug.jpg"},
) as references_from_conf:
    BailianReference2VideoOperator(
        task_id="generate",
        prompt="character1 pours tea for character2",
        references=["{{ params.first }}", "{{ params.second }}"],
        size="1280*720",
        duration=4,
        deferrable=False,
        **WAIT,
    )
