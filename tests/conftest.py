"""Test setup: an isolated Airflow home and database, and the local Bailian emulator.

The environment is set before anything imports Airflow. DAG files (the examples and
the test DAGs in ``tests/dags``) are copied into a temporary dags folder, because
Airflow 3's ``dag.test()`` runs DAGs from the configured folder.

The suite runs in parallel (pytest-xdist, options in ``scripts/test.sh``). Each worker
process has its own Airflow home, dags folder and metadata database (keyed on
``PYTEST_XDIST_WORKER``), so tests in different workers never share a file or a row. For a
test to be safe in parallel it must:

- write only under ``tmp_path`` (or ``tmp_path_factory``) or this worker's Airflow home
  (``_HOME``; DAG files read ``BAILIAN_TEST_AIRFLOW_HOME``), never to a fixed path or into the
  repository;
- listen only on ports the OS picks (``BailianEmulator()`` binds port 0; for a server of its
  own, bind port 0 or ask for a free port just before starting it);
- recognise its own processes by something unique to the test (a pid, a ``uuid`` marker),
  never by a process name;
- change ``os.environ`` only through ``monkeypatch`` (or put it back itself);
- keep state shared between tests (a module- or session-scoped fixture, module globals)
  inside one test module: the suite runs with ``--dist loadfile``, which runs each module
  whole on one worker, so such a fixture (an api-server, a wheel build) is built once and
  modules run side by side.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAKE_KEY = "sk-fake-test-4f1c2b9e7d"  # obviously fake; tests grep for it in logs

# Test modules import helpers from here as ``tests.conftest``: a second import of this
# module must reuse the same Airflow home, not make another one. An xdist worker inherits
# the controller's environment: it makes its own home once, inside the controller's (which
# also holds the migrated database the workers copy), marked with the worker's name.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("BAILIAN_TEST_AIRFLOW_HOME_OF") != _WORKER:
    _run_home = os.environ.get("BAILIAN_TEST_AIRFLOW_HOME") or tempfile.mkdtemp(
        prefix="bailian-airflow-home-"
    )
    os.environ["BAILIAN_TEST_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix=f"{_WORKER}-", dir=_run_home)
    os.environ["BAILIAN_TEST_AIRFLOW_HOME_OF"] = _WORKER
#: True in the process that made the home (and so removes it).
_CREATED = "BAILIAN_TEST_AIRFLOW_HOME" not in os.environ
if _CREATED:
    os.environ["BAILIAN_TEST_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bailian-airflow-home-")
_HOME = Path(os.environ["BAILIAN_TEST_AIRFLOW_HOME"])
DAGS_FOLDER = _HOME / "dags"
DAGS_FOLDER.mkdir(exist_ok=True)
for folder in (ROOT / "example_dags", ROOT / "tests" / "dags"):
    for item in folder.iterdir():
        if item.suffix in (".py", ".txt", ".json"):
            shutil.copy(item, DAGS_FOLDER / item.name)

os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": r"airflow.*|airflow_provider_bailian.*",
    }
)
os.environ.pop("AIRFLOW_CONN_BAILIAN_DEFAULT", None)

#: Fast retries for tests; the defaults (seconds to minutes) are for real services.
FAST_EXTRAS: dict[str, Any] = {
    "retry_min_wait": 0.01,
    "retry_max_wait": 0.05,
    "throttle_max_wait": 3,
    "timeout": 5,
    "connect_timeout": 2,
    "query_rate_limit": 0,
}


def conn_json(base_url: str, *, key: str = FAKE_KEY, **extra: Any) -> str:
    """An ``AIRFLOW_CONN_*`` value for a bailian connection."""
    return json.dumps(
        {
            "conn_type": "bailian",
            "host": base_url,
            "password": key,
            "extra": {**FAST_EXTRAS, **extra},
        }
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the home this process made (the xdist controller's holds its workers' homes)."""
    if _CREATED and not _WORKER:
        shutil.rmtree(_HOME, ignore_errors=True)


def _migrated_database() -> Path:
    """A freshly migrated metadata database: made once per run, copied by each xdist worker.

    Migrating takes seconds of CPU; the workers of one run share one migration (under a file
    lock in the controller's home), then each works on its own copy.
    """
    env = os.environ.copy()
    if not _WORKER:
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            capture_output=True,
            env=env,
        )
        return _HOME / "airflow.db"
    template = _HOME.parent / "migrated"
    with open(_HOME.parent / "migrated.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "ready").exists():
            template.mkdir(exist_ok=True)
            env["AIRFLOW_HOME"] = str(template)
            subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                check=True,
                capture_output=True,
                env=env,
            )
            (template / "ready").touch()
    config = _HOME / "airflow.cfg"
    if not config.exists():  # the one ``db migrate`` writes, with this home's paths
        text = (template / "airflow.cfg").read_text()
        config.write_text(text.replace(str(template), str(_HOME)))
    return Path(shutil.copy(template / "airflow.db", _HOME / "airflow.db"))


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Iterator[Path]:
    """Migrate the temporary metadata database once per session (per run under xdist)."""
    _migrated_database()
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_trigger_settings() -> None:
    """Tests reuse connection ids for different emulators: forget settings triggers cached."""
    from airflow_provider_bailian.hooks import bailian_async

    bailian_async._settings.clear()


@pytest.fixture
def emulator() -> Iterator[Any]:
    """A fresh emulator per test that accepts only FAKE_KEY."""
    from airflow_provider_bailian.emulator import BailianEmulator

    with BailianEmulator(api_key=FAKE_KEY, task_seconds=1.0) as emu:
        yield emu


@pytest.fixture(params=["gateway", "dashscope"])
def api_style(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_conn(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Define a bailian connection through the environment: make_conn(conn_id, url, ...)."""

    def _make(conn_id: str, base_url: str, **kwargs: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn_json(base_url, **kwargs))
        return conn_id

    return _make


@pytest.fixture
def hook(emulator: Any, make_conn: Any, api_style: str) -> Any:
    """A BailianHook on the emulator, in each API style."""
    from airflow_provider_bailian.hooks.bailian import BailianHook

    make_conn("bailian_test", emulator.base_url, api_style=api_style)
    h = BailianHook(bailian_conn_id="bailian_test")
    yield h
    h.close()


def load_dag(file_name: str, dag_id: str) -> Any:
    """Import a DAG file from the dags folder and return one of its DAGs."""
    path = DAGS_FOLDER / file_name
    spec = importlib.util.spec_from_file_location(f"bailian_test_dag_{path.stem}", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for value in vars(module).values():
        if getattr(value, "dag_id", None) == dag_id and hasattr(value, "test"):
            return value
    raise LookupError(f"{dag_id} not in {file_name}")


def run_dag(file_name: str, dag_id: str, **kwargs: Any) -> Any:
    """Run a DAG through Airflow (``dag.test()``) and return its DagRun."""
    dag = load_dag(file_name, dag_id)
    return dag.test(**kwargs)


def ti_states(dag_run: Any) -> dict[str, str]:
    """Task id (with map index when mapped) -> final state of a finished run."""
    states = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        states[key] = str(getattr(ti.state, "value", ti.state))
    return states


def xcom(dag_run: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    """An XCom value of a finished run, read from the metadata database (both Airflow versions)."""
    from airflow.utils.session import create_session

    where = {"run_id": dag_run.run_id, "key": key, "dag_id": dag_run.dag_id}
    try:
        from airflow.models.xcom import XComModel
    except ImportError:  # Airflow 2.11
        from airflow.models.xcom import XCom

        return XCom.get_one(**where, task_id=task_id, map_index=map_index)
    with create_session() as session:
        query = XComModel.get_many(
            run_id=dag_run.run_id,
            key=key,
            task_ids=task_id,
            dag_ids=dag_run.dag_id,
            map_indexes=map_index,
        )
        row = session.scalars(query).first()
        if row is None:
            raise KeyError(f"no XCom {key!r} for {task_id}")
        return XComModel.deserialize_value(row)


def all_logs(home: Path | None = None) -> str:
    """Every task log file written under the Airflow home."""
    base = (home or _HOME) / "logs"
    if not base.exists():
        return ""
    return "\n".join(p.read_text(errors="replace") for p in base.rglob("*") if p.is_file())


def asset_events(uri: str) -> list[dict[str, Any]]:
    """The ``extra`` of every asset (dataset on 2.11) event recorded for ``uri``."""
    from airflow.utils.session import create_session

    try:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        key = "asset_id"
    except ImportError:  # Airflow 2.11
        from airflow.models.dataset import DatasetEvent as Event
        from airflow.models.dataset import DatasetModel as Model

        key = "dataset_id"
    with create_session() as session:
        model = session.query(Model).filter(Model.uri == uri).one_or_none()
        if model is None:
            return []
        events = session.query(Event).filter(getattr(Event, key) == model.id).all()
        return [dict(e.extra or {}) for e in events]
