"""DAGs that only the end-to-end deployment check runs (scripts/e2e.sh).

Each uses its own connection so the check can give it an emulator with the behaviour
it needs: ``bailian_pending`` (tasks stay PENDING), ``bailian_running`` (tasks stay
RUNNING), ``bailian_queue`` (one slot, held by another task, so new tasks queue PENDING),
``bailian_slow`` (videos of 75 s: still waited for when the triggerer restarts),
``bailian_default`` (scaled-down real timings). ``bailian_e2e_s3`` keeps its video in a
bucket of the local S3 server.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["bailian-e2e"])


with _dag("bailian_e2e_worker_wait") as worker_wait:
    # Waits in the worker, so a SIGKILL of that worker is a real crash mid-wait.
    BailianText2VideoOperator(
        task_id="generate",
        prompt="e2e: a worker that dies while it waits",
        size="1280*720",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=1,
        retries=2,
        retry_delay=timedelta(seconds=2),
    )

with _dag("bailian_e2e_deferred") as deferred:
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id="bailian_slow",
        prompt="e2e: {{ dag_run.conf.get('prompt', 'a deferred wait') }}",
        size="1280*720",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
    )

for name in ("pending", "running"):
    with _dag(f"bailian_e2e_mark_failed_{name}") as mark_failed:
        BailianText2VideoOperator(
            task_id="generate",
            bailian_conn_id=f"bailian_{name}",
            prompt=f"e2e: a {name} task whose user gives up",
            size="1280*720",
            wait_for_completion=True,
            deferrable=True,
            poll_interval=1,
        )
    globals()[f"mark_failed_{name}"] = mark_failed

#: The failover check's videos (connection ``bailian_queue``: an account whose slots are busy).
FAILOVER_PROMPTS = [f"e2e: failover video {i}" for i in range(3)]

with _dag("bailian_e2e_failover") as failover:
    # Deferred while the triggerer that holds them stalls past its heartbeat: the triggers
    # move to the other triggerer, the stalled one's on_kill must cancel nothing, and no
    # retry is needed (one would submit again).
    BailianText2VideoOperator.partial(
        task_id="generate",
        bailian_conn_id="bailian_queue",
        size="1280*720",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
        retries=1,
        retry_delay=timedelta(seconds=1),
    ).expand(prompt=FAILOVER_PROMPTS)

with _dag("bailian_e2e_mark_failed_worker") as mark_failed_worker:
    # Waits in the worker: marking it failed kills the task process, whose on_kill must
    # read that a person stopped it before it cancels the PENDING task.
    BailianText2VideoOperator(
        task_id="generate",
        bailian_conn_id="bailian_pending",
        prompt="e2e: a worker wait whose user gives up",
        size="1280*720",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=1,
    )

#: A bucket on the local S3 server e2e.sh starts, read through the ``aws`` connection ``aws_e2e``.
S3_VIDEO = "s3://aws_e2e@bailian-e2e/videos/{{ dag.dag_id }}.mp4"

with _dag("bailian_e2e_s3") as s3:
    # Downloaded through the Amazon provider's s3 filesystem, as a deployment keeps its videos.
    # It waits in the worker: the download is the worker's either way, and the triggerer's
    # checks keep the triggers they had.
    BailianText2VideoOperator(
        task_id="generate",
        prompt="e2e: a video kept in S3",
        size="1280*720",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=1,
        download_to=S3_VIDEO,
    )
