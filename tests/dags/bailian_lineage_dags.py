"""A generation whose prompt is a template file and whose video is downloaded (lineage tests)."""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

with DAG(
    "bailian_t_lineage",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"subject": "a fox", "size": "1280*720"},
) as lineage:
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id="bailian_dag",
        model="wan2.6-t2v",
        prompt="bailian_prompt.txt",
        size="1280*720",
        duration=5,
        deferrable=False,
        poll_interval=0.2,
        download_to=os.environ.get("BAILIAN_LINEAGE_TEST_VIDEO", "/tmp/bailian-lineage.mp4"),
    )
