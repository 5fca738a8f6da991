"""Plans whose items try to set more than request fields (connection ``bailian_dag``).

Items are untrusted input: by default they may set only request fields; ``item_keys`` is
the DAG author's list of the other arguments items may set.
"""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.plan import BailianPlanOperator
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
CONN = "bailian_dag"
VIDEO_DIR = os.environ.get("BAILIAN_TEST_VIDEO_DIR", "/nonexistent")
CHEAP = {"wan2.6-t2v": {"*": 0.0001}}

SMUGGLED = [
    {"prompt": "keys: fine"},
    {"prompt": "keys: free", "prices": CHEAP},
    {"prompt": "keys: elsewhere", "download_to": f"{VIDEO_DIR}/elsewhere.mp4"},
    {"prompt": "keys: another account", "bailian_conn_id": "bailian_other", "max_cost": 1e9},
    {"prompt": "keys: pretend", "dry_run": True, "reattach": False, "deferrable": False},
    {"prompt": "keys: wait", "poll_interval": 0.01, "timeout": 1},
]


def _batch(dag_id: str, requests: list | str, params: dict | None = None, **plan_kwargs) -> DAG:
    """plan -> generate (mapped over the plan's output), on the test connection.

    The connection comes through the plan's defaults (an item may override it only where
    item_keys allows): a key given to ``partial()`` too could not be mapped.
    """
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, params=params) as dag:
        plan = BailianPlanOperator(
            task_id="plan",
            requests=requests,
            defaults={
                "model": "wan2.6-t2v",
                "size": "1280*720",
                "duration": 5,
                "bailian_conn_id": CONN,
            },
            bailian_conn_id=CONN,
            **plan_kwargs,
        )
        BailianText2VideoOperator.partial(
            task_id="generate", wait_for_completion=True, poll_interval=0.2
        ).expand_kwargs(plan.output)
    return dag


refused_dag = _batch("bailian_t_keys_refused", SMUGGLED, max_total_cost=100)

# The same batch from a run conf, as the example takes its prompts from params.
conf_dag = _batch(
    "bailian_t_keys_from_conf",
    "{{ params.batch | tojson }}",
    params={"batch": ["keys: default"]},
    max_total_cost=100,
)

# The author lets items choose where their video goes, carry prices and pick an account.
allowed_dag = _batch(
    "bailian_t_keys_allowed",
    [
        {"prompt": "keys: kept here", "download_to": f"{VIDEO_DIR}/kept.mp4"},
        {"prompt": "keys: dearer", "prices": {"wan2.6-t2v": {"*": 1.0}}},
        {"prompt": "keys: the other account", "bailian_conn_id": "bailian_other"},
    ],
    item_keys=["download_to", "prices", "bailian_conn_id"],
    max_total_cost=100,
)

# Allowed prices still cannot lower the plan's estimate: 3 x 3.00 CNY by the list price
# is above max_total_cost=5 whatever the items say.
cheap_prices_dag = _batch(
    "bailian_t_keys_cheap_prices",
    [{"prompt": f"keys: cheap {i}", "prices": CHEAP} for i in range(3)],
    item_keys=["prices"],
    max_total_cost=5,
)
