"""Animate a product photo from your own storage and keep the video.

The photo is a local path (or any object-storage URL Airflow reads, e.g.
``s3://bucket/products/mug.jpg`` with the Amazon provider installed). It is read when
the task runs, checked against the model's limits, and sent as a data URI: the
scheduler never opens it. ``download_to`` copies the finished video beside it.
Set ``BAILIAN_PRODUCT_PHOTO`` and ``BAILIAN_VIDEO_DIR`` to choose the files.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.image2video import BailianImage2VideoOperator

PHOTO = os.environ.get("BAILIAN_PRODUCT_PHOTO", "/opt/airflow/data/products/mug.jpg")
VIDEO_DIR = os.environ.get("BAILIAN_VIDEO_DIR", "/tmp/bailian_videos")
POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None

with DAG(
    dag_id="bailian_product_photo",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_bailian_image2video]
    BailianImage2VideoOperator(
        task_id="animate",
        image=PHOTO,
        prompt="The mug turns slowly on a wooden table; steam rises; soft studio light.",
        model="wan2.6-i2v",
        resolution="720P",
        duration=5,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        download_to=VIDEO_DIR + "/product-{{ ds }}.mp4",
        max_cost=5.0,  # CNY by the list price
        retries=2,
    )
    # [END howto_operator_bailian_image2video]
