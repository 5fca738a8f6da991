"""Submit a Wan text-to-video task and use its task id downstream.

Run it end to end against the bundled emulator (no real token needed):
``bash scripts/demo.sh``. With a real key, define ``bailian_default`` as a connection
(docs/connections/bailian.md) and the same DAG runs against Bailian.
"""

from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

with DAG(
    dag_id="bailian_text2video",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_bailian_text2video]
    submit = BailianText2VideoOperator(
        task_id="submit",
        model="wan2.6-t2v",
        prompt="A small cartoon kitten in golden armour stands on a snowy cliff at sunrise.",
        negative_prompt="blurry, low quality",
        size="1280*720",
        duration=5,
        prompt_extend=True,
        shot_type="single",
        seed=42,
    )
    # [END howto_operator_bailian_text2video]

    @task
    def report(bailian_task_id: str) -> str:
        """Downstream tasks get the Bailian task id from XCom (``submit.output``)."""
        print(f"BAILIAN_TASK_ID={bailian_task_id}")
        return bailian_task_id

    report(submit.output)
