"""A DAG whose tasks produce every kind of Bailian metric (connection ``bailian_metrics``).

``tests/test_metrics.py`` runs it with StatsD on and reads what arrives over UDP.
"""

from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

CONN = "bailian_metrics"
REQUEST = {"model": "wan2.6-t2v", "size": "1280*720", "duration": 5, "bailian_conn_id": CONN}

with DAG(
    "bailian_metrics", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False
) as metrics_dag:
    # Waits in the triggerer (dag.test() runs the trigger in this process).
    BailianText2VideoOperator(
        task_id="deferred",
        prompt="a lighthouse at dusk",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.2,
        **REQUEST,
    )
    # Waits in the worker; Bailian fails the video.
    BailianText2VideoOperator(
        task_id="in_worker",
        prompt="[fail:DataInspectionFailed] a lighthouse at dawn",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
        **REQUEST,
    )
    # Refused by its budget: nothing is sent.
    BailianText2VideoOperator(
        task_id="over_budget",
        prompt="a lighthouse at noon",
        max_cost=0.01,
        **REQUEST,
    )
