"""Batch planning DAGs the test-suite runs (connection ``bailian_dag``)."""

from __future__ import annotations

import os

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_bailian.operators.image2video import BailianImage2VideoOperator
from airflow_provider_bailian.operators.plan import BailianPlanOperator
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
CONN = "bailian_dag"

VALID = [
    {"prompt": "plan: a lighthouse at dusk", "duration": "10"},
    {
        "prompt": "plan: a kite over dunes",
        "model": "wan2.7-t2v",
        "resolution": "720p",
        "size": None,
    },
    {"prompt": "plan: a heron in the reeds", "size": "1920x1080", "seed": 7},
    "plan: rain on a tin roof",  # a bare string is a prompt
]
INVALID = [
    {"prompt": "plan: fine"},
    {"prompt": "plan: too long", "duration": 20},
    {"prompt": "plan: fine too"},
    {"prompt": "plan: bad size", "size": "720P", "seed": -1},
    {"prompt": "", "mode": "hologram"},
    {"promt": "plan: a typo"},
    42,
]


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False)


def _batch(dag_id: str, requests: list, **plan_kwargs):
    """plan -> generate (mapped over the plan's output), on the test connection."""
    generate_kwargs = plan_kwargs.pop("generate_kwargs", {})
    with _dag(dag_id) as dag:
        plan = BailianPlanOperator(
            task_id="plan",
            requests=requests,
            defaults={"model": "wan2.6-t2v", "size": "1280*720"},
            bailian_conn_id=CONN,
            **plan_kwargs,
        )
        BailianText2VideoOperator.partial(
            task_id="generate", bailian_conn_id=CONN, **generate_kwargs
        ).expand_kwargs(plan.output)
    return dag


valid_dag = _batch("bailian_t_plan_valid", VALID, max_total_cost=20, approve_above=20)
invalid_dag = _batch("bailian_t_plan_invalid", INVALID)
over_budget_dag = _batch("bailian_t_plan_max_total", VALID, max_total_cost=10, retries=3)
# 2.11: a total above approve_above cannot be approved there; 3.x: the same DAG waits.
approval_dag = _batch("bailian_t_plan_approval", VALID, approve_above=5)

with _dag("bailian_t_plan_edited") as edited_dag:
    # The generation task sets a duration its planned items did not have: what it would
    # render is not what the plan priced.
    planned = BailianPlanOperator(
        task_id="plan",
        requests=[{"prompt": "plan: an edited request"}],
        defaults={"size": "1280*720"},
        bailian_conn_id=CONN,
    )
    BailianText2VideoOperator.partial(
        task_id="generate", bailian_conn_id=CONN, duration=15, retries=2
    ).expand_kwargs(planned.output)

with _dag("bailian_t_plan_from_json") as json_dag:
    # The batch from a JSON file beside the DAG (template_ext), planned only.
    BailianPlanOperator(task_id="plan", requests="bailian_plan_batch.json", bailian_conn_id=CONN)

# Image and reference modes: a plan item names its mode; a local photo is read at run time,
# by the generation task, never by the plan (which checks its fingerprint by file name).
PHOTO = os.path.join(os.environ.get("BAILIAN_TEST_AIRFLOW_HOME", "/tmp"), "plan-photo.png")
IMAGE_ITEMS = [
    {"mode": "image", "image": PHOTO, "prompt": "plan: the photo comes alive"},
    {"mode": "image", "image": PHOTO, "prompt": "plan: slowly", "duration": 10},
]
with _dag("bailian_t_plan_images") as images_dag:
    image_plan = BailianPlanOperator(
        task_id="plan",
        requests=IMAGE_ITEMS,
        defaults={"model": "wan2.6-i2v", "resolution": "720P"},
        bailian_conn_id=CONN,
    )
    BailianImage2VideoOperator.partial(task_id="generate", bailian_conn_id=CONN).expand_kwargs(
        image_plan.output
    )
