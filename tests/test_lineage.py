"""OpenLineage: a generation reports its video, its prompt file and its Bailian task.

Needs ``apache-airflow-providers-openlineage`` (skipped without it). The DAG runs through
Airflow with the OpenLineage listener and its ``file`` transport, and the test reads the
events the provider's own machinery emitted. A second test checks that without the
OpenLineage provider nothing of it is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DAGS_FOLDER, run_dag, ti_states


@pytest.fixture
def lineage_events(
    emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[list[dict[str, Any]], Path]]:
    pytest.importorskip("airflow.providers.openlineage")
    events_file = tmp_path / "events.jsonl"
    video = tmp_path / "videos" / "fox.mp4"
    make_conn("bailian_dag", emulator.base_url)
    monkeypatch.setenv("BAILIAN_LINEAGE_TEST_VIDEO", str(video))
    monkeypatch.setenv(
        "AIRFLOW__OPENLINEAGE__TRANSPORT",
        json.dumps({"type": "file", "log_file_path": str(events_file), "append": True}),
    )
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "bailian-tests")
    _forget_openlineage_settings()
    listeners = _task_listener_manager()
    listener = _openlineage_listener()
    # Airflow registers the listener when it loads plugins, only if OpenLineage was enabled
    # then: earlier tests in this process ran without a transport.
    added = not listeners.pm.is_registered(listener)
    if added:
        listeners.add_listener(listener)
    try:
        dag_run = run_dag("bailian_lineage_dags.py", "bailian_t_lineage")
        assert ti_states(dag_run) == {"generate": "success"}
        assert events_file.exists(), "the OpenLineage listener emitted nothing"
        events = [json.loads(line) for line in events_file.read_text().splitlines() if line]
        yield events, video
    finally:
        if added:
            listeners.pm.unregister(listener)
        monkeypatch.undo()
        _forget_openlineage_settings()


def _task_listener_manager() -> Any:
    try:
        from airflow.sdk.listener import get_listener_manager
    except ImportError:  # Airflow 2.11
        from airflow.listeners.listener import get_listener_manager
    return get_listener_manager()


def _openlineage_listener() -> Any:
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    return get_openlineage_listener()


def _forget_openlineage_settings() -> None:
    """The OpenLineage provider caches its settings and client per process: start afresh."""
    from airflow.providers.openlineage import conf

    for value in vars(conf).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()
    _openlineage_listener().adapter._client = None


def test_generation_reports_video_prompt_file_and_task(
    lineage_events: tuple[list[dict[str, Any]], Path], emulator: Any
) -> None:
    events, video = lineage_events
    complete = [
        e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(".generate")
    ]
    assert complete, [(e["eventType"], e["job"]["name"]) for e in events]
    event = complete[-1]
    assert {"namespace": "file", "name": str(video)} in [
        {"namespace": o["namespace"], "name": o["name"]} for o in event["outputs"]
    ]
    assert {"namespace": "file", "name": str(DAGS_FOLDER / "bailian_prompt.txt")} in [
        {"namespace": i["namespace"], "name": i["name"]} for i in event["inputs"]
    ]
    facet = event["run"]["facets"]["bailian"]
    (task_id,) = emulator.tasks
    assert facet["bailian_task_id"] == task_id
    assert facet["model"] == "wan2.6-t2v"
    assert facet["video_seconds"] == 5
    text = json.dumps(events)
    assert "sk-fake" not in text
    assert "Signature=" not in text


def test_the_video_url_location_without_its_signature() -> None:
    pytest.importorskip("airflow.providers.openlineage")
    from airflow_provider_bailian.lineage import dataset_of, operator_lineage

    url = "https://dashscope-result.oss-cn-beijing.aliyuncs.com/1/v.mp4?Expires=1&Signature=abc"
    lineage = operator_lineage({"video_url": url, "bailian_task_id": "t-1", "model": "wan2.6-t2v"})
    (output,) = lineage.outputs
    assert output.namespace == "https://dashscope-result.oss-cn-beijing.aliyuncs.com"
    assert output.name == "/1/v.mp4"
    assert dataset_of("s3://bucket/videos/a.mp4").namespace == "s3://bucket"
    assert dataset_of("s3://bucket/videos/a.mp4").name == "videos/a.mp4"
    assert lineage.inputs == []
    assert lineage.run_facets["bailian"].bailian_task_id == "t-1"


def test_operators_import_nothing_of_openlineage() -> None:
    """Operators and hooks never import OpenLineage themselves (no cost when absent)."""
    probe = (
        "import sys\n"
        "from airflow_provider_bailian._compat import BaseOperator, BaseHook\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_bailian.operators.text2video\n"
        "import airflow_provider_bailian.hooks.bailian\n"
        "new = set(sys.modules) - before\n"
        "print('OL=' + ','.join(sorted(m for m in new if 'lineage' in m)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "OL=\n" in done.stdout + "\n", done.stdout
