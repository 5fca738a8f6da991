"""One video per prompt with dynamic task mapping, capped at the account's concurrency.

Bailian runs at most 5 wan2.5/2.6/2.7 tasks at once per account; more wait PENDING. The
``bailian`` pool (5 slots, counting deferred tasks) keeps Airflow from piling up more
than that. Create it once:

    airflow pools set bailian 5 "Bailian text-to-video concurrency" --include-deferred
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

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

    @task
    def prompts(**context) -> list[str]:
        return list(context["params"]["prompts"])

    videos = BailianText2VideoOperator.partial(
        task_id="generate",
        model="wan2.6-t2v",
        size="1280*720",
        duration=5,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        pool=BAILIAN_POOL,
        retries=2,
    ).expand(prompt=prompts())

    @task
    def total_cost(task_ids: list[str], **context) -> dict:
        """What the run actually spent: the sum of each video's ``cost`` XCom."""
        costs = [c for c in context["ti"].xcom_pull(task_ids="generate", key="cost") or [] if c]
        currencies = {c["currency"] for c in costs}
        total = {
            "videos": len(task_ids),
            "seconds": sum(c["seconds"] for c in costs),
            "amount": round(sum(c["amount"] for c in costs), 6),
            "currency": currencies.pop() if len(currencies) == 1 else sorted(currencies),
        }
        print(f"BAILIAN_TOTAL_COST={total}")
        return total

    total_cost(videos.output)
