"""DAGs for ambiguous submissions (connection ``bailian_recovery``), with retries as users set them."""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
CONN = "bailian_recovery"
PROMPT = "a lighthouse in the fog"
REQUEST = {
    "model": "wan2.6-t2v",
    "size": "1280*720",
    "duration": 5,
    "bailian_conn_id": CONN,
    "poll_interval": 0.1,
    "retry_delay": timedelta(seconds=0),
}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False)


# One generation task, waiting in the triggerer or in the worker, retries=1.
for deferrable in (True, False):
    with _dag(f"bailian_t_recover_{'deferred' if deferrable else 'worker'}") as recover_dag:
        BailianText2VideoOperator(
            task_id="generate",
            prompt=PROMPT,
            wait_for_completion=True,
            deferrable=deferrable,
            retries=1,
            **REQUEST,
        )
    globals()[f"recover_{deferrable}_dag"] = recover_dag

# Submit only (no wait), retries=2.
with _dag("bailian_t_recover_submit_only") as submit_only_dag:
    BailianText2VideoOperator(task_id="generate", prompt=PROMPT, retries=2, **REQUEST)

# Two items of a mapped batch with the same prompt.
with _dag("bailian_t_recover_mapped") as mapped_dag:
    BailianText2VideoOperator.partial(
        task_id="generate", wait_for_completion=True, deferrable=False, retries=1, **REQUEST
    ).expand(prompt=[PROMPT, PROMPT])

# A first try that gives up waiting before the video is ready; the retry finds it finished.
with _dag("bailian_t_recover_finished") as finished_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt=PROMPT,
        wait_for_completion=True,
        deferrable=True,
        timeout=0.3,
        retries=1,
        **{**REQUEST, "retry_delay": timedelta(seconds=2)},
    )
