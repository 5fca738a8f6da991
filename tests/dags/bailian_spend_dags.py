"""Delivery and spend DAGs the test-suite runs (connection ``bailian_dag``)."""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.download import BailianDownloadVideoOperator
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator
from airflow_provider_bailian.sensors.task import BailianTaskSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
CONN = "bailian_dag"
OUT = os.environ.get("BAILIAN_TEST_VIDEO_DIR", "/tmp/bailian-test-videos")


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False)


with _dag("bailian_t_max_cost") as max_cost_dag:
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        model="wan2.6-t2v",
        prompt="an expensive 15-second epic",
        size="1920*1080",
        duration=15,
        max_cost=10,
        retries=3,
    )

with _dag("bailian_t_dry_run") as dry_run_dag:
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        model="wan2.7-t2v",
        prompt="a dry run of a {{ params.thing }}",
        resolution="720P",
        ratio="9:16",
        duration=8,
        dry_run=True,
        params={"thing": "lighthouse"},
    )

with _dag("bailian_t_download_templated") as download_dag:
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        model="wanx2.1-t2v-turbo",
        prompt="a lighthouse in fog",
        size="832*480",
        poll_interval=0.1,
        deferrable=True,
        download_to=OUT + "/{{ run_id | replace(':', '_') }}/lighthouse.mp4",
        prices={"currency": "USD", "wanx2.1-t2v-turbo": {"*": 0.036}},
    )

with _dag("bailian_t_download_later") as download_later_dag:
    submit = BailianText2VideoOperator(
        task_id="submit", bailian_conn_id=CONN, model="wan2.6-t2v", prompt="a kite"
    )
    wait = BailianTaskSensor(
        task_id="wait",
        bailian_conn_id=CONN,
        bailian_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
        poke_interval=0.1,
    )
    fetch = BailianDownloadVideoOperator(
        task_id="download",
        bailian_conn_id=CONN,
        bailian_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
        destination=OUT + "/later/kite.mp4",
    )
    submit >> wait >> fetch
