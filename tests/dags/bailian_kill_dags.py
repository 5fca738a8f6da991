"""A DAG whose finished task instance the stop-check tests give the states a person sets."""

from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

with DAG(
    "bailian_t_kill_check",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
) as kill_check_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt="a kite over the dunes",
        model="wan2.6-t2v",
        size="1280*720",
        bailian_conn_id="bailian_dag",
    )
