"""Generate a video, keep it in your storage, and wake a downstream DAG when it lands.

``download_to`` copies the finished video (the signed URL expires after 24 hours) and
declares the file as an asset; ``bailian_publish_video`` is scheduled on that asset and
reads the Bailian task id, model and prompt from the asset event.
Set ``BAILIAN_VIDEO_DIR`` (a local folder, or e.g. ``s3://bucket/videos`` with the Amazon
provider installed) to choose where videos go; add it to ``[bailian] gallery_roots`` for the
gallery to play the kept copy.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG, Asset, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.datasets import Dataset as Asset
    from airflow.decorators import task

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator, asset_uri

VIDEO_DIR = os.environ.get("BAILIAN_VIDEO_DIR", "/tmp/bailian_videos")
POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None
LATEST_VIDEO = Asset(asset_uri(f"{VIDEO_DIR}/latest.mp4"))

with DAG(
    dag_id="bailian_generate_and_download",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as producer:
    # [START howto_operator_bailian_download_to]
    generate = BailianText2VideoOperator(
        task_id="generate",
        model="wan2.6-t2v",
        prompt="A hot-air balloon rises over terraced rice fields at sunrise.",
        size="1280*720",
        duration=5,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        download_to=f"{VIDEO_DIR}/latest.mp4",
        outlets=[LATEST_VIDEO],
        max_cost=10.0,  # CNY by the list price; refuse anything more expensive
        retries=2,
    )
    # [END howto_operator_bailian_download_to]

with DAG(
    dag_id="bailian_publish_video",
    schedule=[LATEST_VIDEO],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
) as consumer:

    @task
    def publish(**context) -> str:
        events = context[
            "triggering_asset_events"
            if "triggering_asset_events" in context
            else "triggering_dataset_events"
        ]
        for asset_events in events.values():
            for event in asset_events:
                print(
                    f"New video from Bailian task {event.extra.get('bailian_task_id')}: "
                    f"{event.extra.get('prompt')}"
                )
        return "published"

    publish()
