"""Two recurring subjects in a new scene: reference-to-video keeps them recognisable.

The prompt names the subjects ``character1`` and ``character2`` in the order of
``references`` (1 to 5 images, or mp4/mov videos by URL). Files are read at run time.
Set ``BAILIAN_REFERENCE_1`` and ``BAILIAN_REFERENCE_2`` to your subjects.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.reference2video import BailianReference2VideoOperator

REFERENCES = [
    os.environ.get("BAILIAN_REFERENCE_1", "https://example.com/cast/girl.png"),
    os.environ.get("BAILIAN_REFERENCE_2", "https://example.com/cast/robot.png"),
]
POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None

with DAG(
    dag_id="bailian_reference_subjects",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_bailian_reference2video]
    BailianReference2VideoOperator(
        task_id="scene",
        model="wan2.6-r2v",
        prompt="character1 teaches character2 to fly a kite on a windy beach.",
        references=REFERENCES,
        size="1280*720",
        duration=5,
        shot_type="multi",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=2,
    )
    # [END howto_operator_bailian_reference2video]
