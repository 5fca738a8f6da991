"""The live smoke test's DAG (tests/test_live.py): one cheap video, waited for in the triggerer.

The request comes from ``BAILIAN_LIVE_REQUEST`` (JSON, set by the test); without it the file
still parses, with a request that is never run.
"""

from __future__ import annotations

import json
import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

REQUEST = json.loads(os.environ.get("BAILIAN_LIVE_REQUEST") or '{"max_cost": 0}')

with DAG(
    "bailian_live_smoke",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
) as live_dag:
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id="bailian_live",
        prompt="A paper boat drifts across a calm pond at sunrise, gentle ripples.",
        prompt_extend=False,
        deferrable=True,
        wait_for_completion=True,
        poll_interval=REQUEST.pop("poll_interval", 15),
        timeout=REQUEST.pop("timeout", 1800),
        retries=0,  # a retry reattaches anyway; the smoke test reports the first failure
        **REQUEST,
    )
