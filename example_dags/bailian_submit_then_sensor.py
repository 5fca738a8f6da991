"""Submit in one task, wait in a sensor: the classic split when waiting has its own policy.

The sensor reads the task id from the submit task's XCom and, when the video is ready,
returns the full result and pushes ``video_url``; ``download`` then copies the video into
``BAILIAN_VIDEO_DIR`` before its signed URL expires.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_bailian.operators.download import BailianDownloadVideoOperator
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator
from airflow_provider_bailian.sensors.task import BailianTaskSensor

VIDEO_DIR = os.environ.get("BAILIAN_VIDEO_DIR", "/tmp/bailian_videos")
POKE_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or 15.0

with DAG(
    dag_id="bailian_submit_then_sensor",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    submit = BailianText2VideoOperator(
        task_id="submit",
        model="wan2.5-t2v-preview",
        prompt="Time-lapse of clouds over a mountain lake at dawn.",
        size="832*480",
        duration=5,
    )
    # [START howto_sensor_bailian_task]
    wait = BailianTaskSensor(
        task_id="wait",
        bailian_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
        deferrable=True,
        poke_interval=POKE_INTERVAL,
        timeout=30 * 60,
    )
    # [END howto_sensor_bailian_task]
    # [START howto_operator_bailian_download]
    download = BailianDownloadVideoOperator(
        task_id="download",
        bailian_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
        destination=VIDEO_DIR + "/{{ ti.xcom_pull(task_ids='submit') }}.mp4",
    )
    # [END howto_operator_bailian_download]

    @task
    def report(result: dict, **context) -> str:
        print(f"BAILIAN_VIDEO_URL={result['video_url']} usage={result['usage']}")
        return result["video_url"]

    submit >> wait >> download
    report(wait.output)
