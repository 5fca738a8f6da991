"""Continue a clip: wan2.7-i2v picks up where a video ends ("video extend").

``first_clip`` is the video to continue (2-10 s, MP4 or MOV); a local file is read at run
time and uploaded to Bailian's temporary storage, so the connection ``bailian_dashscope``
must use ``api_style=dashscope``. An optional ``last_frame`` says where the new shot ends.
Set ``BAILIAN_CLIP``.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.image2video import BailianImage2VideoOperator

CLIP = os.environ.get("BAILIAN_CLIP", "https://example.com/shots/opening.mp4")
POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None

with DAG(
    dag_id="bailian_continuation",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_bailian_continuation]
    BailianImage2VideoOperator(
        task_id="continue_shot",
        bailian_conn_id="bailian_dashscope",
        model="wan2.7-i2v",
        first_clip=CLIP,
        prompt="The camera keeps gliding forward as the lights of the city come on.",
        resolution="720P",
        duration=5,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=2,
    )
    # [END howto_operator_bailian_continuation]
