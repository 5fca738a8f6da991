"""DAGs the test-suite runs through Airflow (copied into the dags folder by conftest)."""

from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("bailian_t_templated", schedule=None, start_date=START, catchup=False) as templated:
    submit = BailianText2VideoOperator(
        task_id="submit",
        bailian_conn_id="bailian_dag",
        model="{{ params.model }}",
        prompt="bailian_prompt.txt",
        size="{{ params.size }}",
        duration="{{ params.duration }}",
        seed="{{ params.seed }}",
        params={
            "model": "wan2.6-t2v",
            "size": "1280*720",
            "duration": 5,
            "seed": 11,
            "subject": "a fox",
        },
    )

    @task
    def check(tid: str, **context) -> str:
        assert tid == context["ti"].xcom_pull(task_ids="submit", key="task_id")
        return tid

    check(submit.output)

with DAG("bailian_t_invalid", schedule=None, start_date=START, catchup=False) as invalid:
    BailianText2VideoOperator(
        task_id="submit",
        bailian_conn_id="bailian_dag",
        model="wan2.5-t2v-preview",
        prompt="a fox",
        size="{{ params.size }}",
        params={"size": "640*480"},
        retries=2,
    )
