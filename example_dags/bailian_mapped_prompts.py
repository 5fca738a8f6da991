"""A batch of prompts, planned before anything is spent, then one video per prompt.

1. ``prompts`` (BailianPlanOperator) validates every prompt with the generation operator's
   own rules (all invalid prompts are reported at once), prices the batch with the price
   table and logs it as a table. It sends nothing to Bailian. A total above
   ``max_total_cost`` fails it; above ``approve_above`` a person approves the batch in the
   Airflow UI (Required actions; Airflow 3.1+), and a rejection or ``approval_timeout``
   skips the batch: nothing is sent.
2. ``generate`` makes one video per planned prompt (dynamic task mapping). Each task
   refuses to submit a request that is not the one planned, and a retry reattaches to the
   task it already paid for. Bailian runs at most 5 wan2.5/2.6/2.7 tasks at once per
   account; the ``bailian`` pool (5 slots, counting deferred tasks) keeps Airflow from
   piling up more than that. Create it once:

       airflow pools set bailian 5 "Bailian text-to-video concurrency" --include-deferred

3. ``total_cost`` sums what the batch actually cost, beside the plan's estimate.

Trigger it with your own prompts: ``{"prompts": ["...", ...]}``; an item may also be a dict
of any arguments of BailianText2VideoOperator (``{"prompt": "...", "duration": 10}``).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_bailian.operators.plan import BailianPlanOperator
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

POLL_INTERVAL = float(os.environ.get("BAILIAN_EXAMPLE_POLL_INTERVAL", "0")) or None
BAILIAN_POOL = "bailian"

with DAG(
    dag_id="bailian_mapped_prompts",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bailian", "example"],
    doc_md=__doc__,
    params={
        "prompts": [
            "A red fox trots across fresh snow, morning light.",
            "Waves crash on black volcanic sand, slow motion.",
            "A tram passes through a neon-lit street at night.",
        ]
    },
) as dag:
    # The planned prompts: validated, priced and, above approve_above, approved.
    # [START howto_operator_bailian_plan]
    plan = BailianPlanOperator(
        task_id="prompts",
        requests="{{ params.prompts | tojson }}",
        defaults={"model": "wan2.6-t2v", "size": "1280*720", "duration": 5},
        max_total_cost=500,  # CNY by the Beijing list price: fail above it
        approve_above=50,  # ask a person above it (Airflow 3.1+)
        approval_timeout=timedelta(hours=12),
    )

    videos = BailianText2VideoOperator.partial(
        task_id="generate",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        pool=BAILIAN_POOL,
        retries=2,
    ).expand_kwargs(plan.output)
    # [END howto_operator_bailian_plan]

    # [START howto_operator_bailian_total_cost]
    @task
    def total_cost(task_ids: list[str], **context) -> dict:
        """What the run actually spent: the sum of each video's ``cost`` XCom."""
        ti = context["ti"]
        costs = [c for c in ti.xcom_pull(task_ids="generate", key="cost") or [] if c]
        currencies = {c["currency"] for c in costs}
        total = {
            "videos": len(task_ids),
            "seconds": sum(c["seconds"] for c in costs),
            "amount": round(sum(c["amount"] for c in costs), 6),
            "currency": currencies.pop() if len(currencies) == 1 else sorted(currencies),
        }
        planned = ti.xcom_pull(task_ids="prompts", key="plan") or {}
        print(f"BAILIAN_PLANNED_COST={planned.get('total')} {planned.get('currency')}")
        print(f"BAILIAN_TOTAL_COST={total}")
        return total

    total_cost(videos.output)
    # [END howto_operator_bailian_total_cost]
