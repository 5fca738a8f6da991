"""A transition between two storyboard frames: the video starts on one and ends on the other.

``wan2.2-kf2v-flash`` takes a first and a last frame (always 5 s, silent) on its own
endpoint, which only the DashScope API style reaches; ``wan2.7-i2v`` does the same
through its ``media`` input. The frames may be URLs or files (read at run time).
Set ``BAILIAN_FIRST_FRAME`` and ``BAILIAN_LAST_FRAME``; the connection
``bailian_dashscope`` must use ``api_style=dashscope``.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_bailian.operators.image2video import BailianImage2VideoOperator

FIRST = os.environ.get("BAILIAN_FIRST_FRAME", "https://example.com/storyboard/shot-01.png")
LAST = os.environ.get("BAILIAN_LAST_FRAME", "https://example.com/storyboard/shot-02.png")
POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None

with DAG(
    dag_id="bailian_first_last_frame",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_bailian_first_last_frame]
    transition = BailianImage2VideoOperator(
        task_id="transition",
        bailian_conn_id="bailian_dashscope",
        model="wan2.2-kf2v-flash",
        image=FIRST,
        last_frame=LAST,
        prompt="The camera glides from the harbour at dawn to the lighthouse at dusk.",
        resolution="720P",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=2,
    )
    # [END howto_operator_bailian_first_last_frame]

    @task
    def report(**context) -> str:
        video_url = context["ti"].xcom_pull(task_ids="transition", key="video_url")
        print(f"BAILIAN_VIDEO_URL={video_url}")
        return video_url

    transition >> report()
