"""Restyle a product video: the same shots, a new look, the original sound.

``wan2.7-videoedit`` edits one input video along the prompt and optional reference images.
A local (or object-storage) video is read at run time, checked, and uploaded to Bailian's
temporary storage, so the connection ``bailian_dashscope`` must use ``api_style=dashscope``.
Editing bills the input seconds too: the estimate counts them. Set
``BAILIAN_PRODUCT_VIDEO`` (and optionally ``BAILIAN_STYLE_IMAGE``).
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.video_edit import BailianVideoEditOperator

VIDEO = os.environ.get("BAILIAN_PRODUCT_VIDEO", "https://example.com/products/kettle.mp4")
STYLE = os.environ.get("BAILIAN_STYLE_IMAGE", "https://example.com/styles/watercolour.png")
POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None

with DAG(
    dag_id="bailian_video_edit",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_bailian_video_edit]
    BailianVideoEditOperator(
        task_id="restyle",
        bailian_conn_id="bailian_dashscope",
        video=VIDEO,
        references=[STYLE],
        prompt="Repaint the product video as a soft watercolour in the style of the image.",
        resolution="720P",
        audio_setting="origin",
        max_cost=20,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=2,
    )
    # [END howto_operator_bailian_video_edit]
