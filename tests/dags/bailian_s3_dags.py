"""DAGs that keep their files in S3 (``tests/test_s3.py`` runs them against a local S3 server).

The ``aws`` connection and the bucket come from the environment the test sets.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.image2video import BailianImage2VideoOperator
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

CONN = "bailian_s3"
STORE = "s3://{}@{}".format(
    os.environ.get("BAILIAN_TEST_AWS_CONN", "aws_default"),
    os.environ.get("BAILIAN_TEST_BUCKET", "bailian-test"),
)
PROMPTS = ["a kite over dunes", "a kite over waves", "a kite over roofs"]


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False)


with _dag("bailian_s3_mapped") as mapped_dag:
    BailianText2VideoOperator.partial(
        task_id="generate",
        bailian_conn_id=CONN,
        model="wan2.6-t2v",
        size="1280*720",
        duration=5,
        poll_interval=0.2,
        download_to=STORE + "/videos/{{ ti.map_index }}.mp4",
    ).expand(prompt=PROMPTS)

with _dag("bailian_s3_image") as image_dag:
    BailianImage2VideoOperator(
        task_id="generate",
        bailian_conn_id=CONN,
        image=STORE + "/inputs/mug.png",
        prompt="the mug slowly turns",
        model="wan2.6-i2v",
        resolution="720P",
        duration=5,
        wait_for_completion=True,
        poll_interval=0.2,
    )
