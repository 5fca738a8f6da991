"""Submit a video and wait for it in one deferrable task (no worker slot while it renders).

The operator pushes ``task_id``, ``video_url`` and ``result`` to XCom. A retry of the same
task instance waits for the video the first try submitted instead of paying again.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

# Seconds between status checks at most; unset = the adaptive policy (docs/triggers/task.md).
POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None

with DAG(
    dag_id="bailian_wait_deferrable",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_bailian_text2video_deferrable]
    generate = BailianText2VideoOperator(
        task_id="generate",
        model="wan2.6-t2v",
        prompt="A paper boat drifts down a rainy street, cinematic, shallow depth of field.",
        size="1280*720",
        duration=5,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=30 * 60,
        retries=2,
    )
    # [END howto_operator_bailian_text2video_deferrable]

    @task
    def publish(**context) -> str:
        video_url = context["ti"].xcom_pull(task_ids="generate", key="video_url")
        result = context["ti"].xcom_pull(task_ids="generate", key="result")
        print(f"BAILIAN_VIDEO_URL={video_url} status={result['status']}")
        return video_url

    generate >> publish()
