"""Planned batches that wait for a person: the end-to-end check approves one, rejects one,
and lets the third time out.

Both use ``bailian_default`` (the main emulator); their prompts start with the DAG id, so the
check counts each batch's submissions apart from the examples'.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_bailian.operators.plan import BailianPlanOperator
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")

TIMEOUTS = {"approve": timedelta(minutes=30), "reject": timedelta(minutes=30)}
TIMEOUTS["timeout"] = timedelta(seconds=5)

for decision, timeout in TIMEOUTS.items():
    dag_id = f"bailian_e2e_plan_{decision}"
    with DAG(
        dag_id, schedule=None, start_date=START, catchup=False, tags=["bailian-e2e"]
    ) as plan_dag:
        plan = BailianPlanOperator(
            task_id="plan",
            requests=[
                {"prompt": f"{dag_id}: a glass of water on a sunny sill"},
                {"prompt": f"{dag_id}: a cat asleep on a keyboard", "duration": 8},
                {"prompt": f"{dag_id}: a city timelapse", "size": "1920*1080", "duration": 10},
            ],
            defaults={"model": "wan2.6-t2v", "size": "1280*720"},
            max_total_cost=100,
            approve_above=1,
            approval_timeout=timeout,
        )
        videos = BailianText2VideoOperator.partial(
            task_id="generate", wait_for_completion=True, deferrable=True, poll_interval=1
        ).expand_kwargs(plan.output)

        @task
        def report(task_ids: list[str]) -> int:
            return len(task_ids)

        report(videos.output)
    globals()[dag_id] = plan_dag
