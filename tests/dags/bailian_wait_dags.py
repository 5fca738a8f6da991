"""Waiting DAGs the test-suite runs through Airflow (connection ``bailian_dag``)."""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator
from airflow_provider_bailian.sensors.task import BailianTaskSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
CONN = "bailian_dag"
REQUEST = {"model": "wan2.6-t2v", "size": "1280*720", "duration": 5, "bailian_conn_id": CONN}
NO_DELAY = {"retry_delay": timedelta(seconds=0)}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False)


with _dag("bailian_t_deferrable") as deferrable_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt="a paper boat",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.1,
        **REQUEST,
    )

with _dag("bailian_t_worker_wait") as worker_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt="a paper boat",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.1,
        **REQUEST,
    )

with _dag("bailian_t_fail") as fail_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt="[fail:DataInspectionFailed] a paper boat",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.1,
        **REQUEST,
    )

with _dag("bailian_t_timeout") as timeout_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt="a slow paper boat",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.1,
        timeout=2,
        **REQUEST,
    )

for mode in ("poke", "reschedule", "deferrable"):
    with _dag(f"bailian_t_sensor_{mode}") as sensor_dag:
        submit = BailianText2VideoOperator(task_id="submit", prompt="clouds", **REQUEST)
        BailianTaskSensor(
            task_id="wait",
            bailian_conn_id=CONN,
            bailian_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
            mode="poke" if mode == "deferrable" else mode,
            deferrable=mode == "deferrable",
            poke_interval=0.2,
            timeout=60,
        ).set_upstream(submit)
    globals()[f"sensor_{mode}_dag"] = sensor_dag

for soft in (False, True):
    with _dag(f"bailian_t_sensor_fail_{'soft' if soft else 'hard'}") as sensor_fail_dag:
        submit = BailianText2VideoOperator(
            task_id="submit", prompt="[fail:InvalidParameter] clouds", **REQUEST
        )
        BailianTaskSensor(
            task_id="wait",
            bailian_conn_id=CONN,
            bailian_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
            poke_interval=0.2,
            timeout=60,
            soft_fail=soft,
        ).set_upstream(submit)
    globals()[f"sensor_fail_{soft}_dag"] = sensor_fail_dag

# A first try that gives up waiting (timeout), then retries that must reattach.
for deferrable in (False, True):
    with _dag(f"bailian_t_reattach_{'deferred' if deferrable else 'worker'}") as reattach_dag:
        BailianText2VideoOperator(
            task_id="generate",
            prompt="a patient paper boat",
            wait_for_completion=True,
            deferrable=deferrable,
            poll_interval=0.1,
            timeout=1.5,
            retries=15,
            **NO_DELAY,
            **REQUEST,
        )
    globals()[f"reattach_{deferrable}_dag"] = reattach_dag

with _dag("bailian_t_reattach_changed") as changed_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt="take {{ ti.try_number }} of a paper boat",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.1,
        timeout=1.5,
        retries=1,
        **NO_DELAY,
        **REQUEST,
    )

with _dag("bailian_t_no_reattach") as no_reattach_dag:
    BailianText2VideoOperator(
        task_id="generate",
        prompt="an impatient paper boat",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.1,
        timeout=1.5,
        retries=1,
        reattach=False,
        **NO_DELAY,
        **REQUEST,
    )
