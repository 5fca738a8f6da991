"""Metrics through Airflow's own Stats: a DAG run with StatsD on, read from a real UDP socket.

The DAG runs in a fresh Python process (``dag.test()``), because Airflow reads
``[metrics]`` when its metrics client is first built; this process listens on
127.0.0.1 for what that one sends.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.metrics import tags_for
from tests.conftest import FAKE_KEY, ROOT

RUN = """
import json, sys
from tests.conftest import run_dag, ti_states, xcom
run = run_dag("bailian_metrics_dags.py", "bailian_metrics")
print("RESULT " + json.dumps({"states": ti_states(run), "cost": xcom(run, "deferred", "cost")}))
"""


@dataclass(frozen=True)
class Metric:
    name: str
    tags: dict[str, str]
    value: float
    kind: str  # c (counter), ms (timer), g (gauge)


class StatsdListener:
    """A UDP socket on 127.0.0.1 that keeps every StatsD line it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            self.lines.extend(data.decode().splitlines())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def bailian(self) -> list[Metric]:
        """Our metrics (InfluxDB-style tags: ``name,k=v,k=v:value|kind``)."""
        found = []
        for line in self.lines:
            head, _, rest = line.partition(":")
            name, *pairs = head.split(",")
            if not name.startswith("airflow.bailian."):
                continue
            value, _, kind = rest.partition("|")
            tags = dict(p.split("=", 1) for p in pairs)
            found.append(Metric(name.removeprefix("airflow."), tags, float(value), kind))
        return found


@pytest.fixture
def listener() -> Iterator[StatsdListener]:
    listening = StatsdListener()
    yield listening
    listening.close()


def run_in_fresh_process(env: dict[str, str], log: Path) -> dict[str, Any]:
    with open(log, "w") as out:
        subprocess.run(
            [sys.executable, "-c", RUN],
            cwd=ROOT,
            # No Fernet key, like this test session (its Airflow config was read before the
            # database migration wrote one): Airflow 2.11 cannot use the newest cryptography's.
            env={**os.environ, "PYTHONPATH": str(ROOT), "AIRFLOW__CORE__FERNET_KEY": "", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=240,
        )
    text = log.read_text()
    results = [line for line in text.splitlines() if line.startswith("RESULT ")]
    assert results, text[-6000:]
    return json.loads(results[-1].removeprefix("RESULT "))


def statsd_env(port: int, on: bool = True) -> dict[str, str]:
    return {
        "AIRFLOW__METRICS__STATSD_ON": str(on),
        "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(port),
        "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
    }


def select(metrics: list[Metric], name: str, **tags: str) -> list[Metric]:
    return [
        m for m in metrics if m.name == name and all(m.tags.get(k) == v for k, v in tags.items())
    ]


def test_a_dag_run_reports_its_videos_money_and_waits_over_statsd(
    emulator: Any, make_conn: Any, listener: StatsdListener, tmp_path: Path
) -> None:
    make_conn("bailian_metrics", emulator.base_url, api_style="dashscope")
    emulator.add_fault("query", "429", retry_after=0)
    outcome = run_in_fresh_process(statsd_env(listener.port), tmp_path / "run.log")
    assert outcome["states"] == {
        "deferred": "success",
        "in_worker": "failed",
        "over_budget": "failed",
    }
    metrics = listener.bailian()
    ours = {"model": "wan2.6-t2v", "conn_id": "bailian_metrics", "api_style": "dashscope"}

    submissions = select(metrics, "bailian.submissions")
    assert [m.tags for m in submissions] == [ours, ours]
    assert sum(m.value for m in submissions) == 2 == len(emulator.submissions)
    (refused,) = select(metrics, "bailian.submissions.refused")
    assert refused.tags == {**ours, "reason": "budget"}
    assert refused.value == 1

    succeeded = select(metrics, "bailian.videos", status="SUCCEEDED")
    failed = select(metrics, "bailian.videos", status="FAILED")
    assert [m.value for m in succeeded] == [1]
    assert succeeded[0].tags == {**ours, "status": "SUCCEEDED"}
    assert [m.value for m in failed] == [1]
    (seconds,) = select(metrics, "bailian.video_seconds")
    assert (seconds.value, seconds.kind, seconds.tags) == (5, "c", ours)
    (cost,) = select(metrics, "bailian.cost")
    assert cost.value == pytest.approx(outcome["cost"]["amount"])
    assert cost.tags == {**ours, "currency": outcome["cost"]["currency"]}

    # The wait is submission to end by Bailian's own clock: exactly what the service reports.
    tasks = {t["prompt"]: t for t in emulator.tasks.values()}
    done = tasks["a lighthouse at dusk"]
    expected_ms = (done["end_time"] - done["submit_time"]) * 1000
    (wait,) = select(metrics, "bailian.wait", status="SUCCEEDED")
    assert wait.kind == "ms"
    assert wait.value == pytest.approx(expected_ms, abs=2)
    assert select(metrics, "bailian.wait", status="FAILED")

    # From the triggerer side: the watcher's reads and how late it saw the finished video.
    (delay,) = select(metrics, "bailian.detection_delay")
    assert delay.kind == "ms"
    assert delay.value >= 0
    assert delay.tags == ours
    lists = select(metrics, "bailian.status_requests", kind="list")
    assert lists
    assert lists[0].tags == {"conn_id": "bailian_metrics", "api_style": "dashscope", "kind": "list"}
    queries = sum(m.value for m in select(metrics, "bailian.status_requests", kind="task"))
    assert queries == emulator.count("query")
    # The one 429 answer (a status query, from the watcher or the worker's wait).
    (throttled,) = select(metrics, "bailian.throttled", by="bailian")
    assert throttled.tags["request"] == "query"


def test_nothing_is_sent_when_metrics_are_off(
    emulator: Any, make_conn: Any, listener: StatsdListener, tmp_path: Path
) -> None:
    make_conn("bailian_metrics", emulator.base_url, api_style="dashscope")
    outcome = run_in_fresh_process(statsd_env(listener.port, on=False), tmp_path / "run.log")
    assert outcome["states"]["deferred"] == "success"
    assert len(emulator.submissions) == 2
    assert listener.lines == []


def test_metric_tags_never_carry_the_key(emulator: Any, make_conn: Any) -> None:
    make_conn("bailian_tags", emulator.base_url, api_style="gateway")
    hook = BailianHook("bailian_tags")
    tags = tags_for(hook, "wan2.6-t2v", status="SUCCEEDED")
    assert tags == {
        "model": "wan2.6-t2v",
        "conn_id": "bailian_tags",
        "api_style": "gateway",
        "status": "SUCCEEDED",
    }
    assert FAKE_KEY not in json.dumps(tags)
