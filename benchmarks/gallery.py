"""How fast the gallery answers with many generations in the metadata database.

    python benchmarks/gallery.py [GENERATIONS] [--write]

Runs one mapped DAG of 10 videos through Airflow against the local emulator, then copies
its run (dag run, task instances, XComs, rendered fields) in SQL until the database holds
GENERATIONS generations (default 10,000) across 10 DAGs. It then times a page of 50 from
``GET /bailian/api/videos`` through Airflow's api-server app (auth middleware, JWT check,
permitted-DAG lookup, the plugin's queries) and the data layer alone, for the first page,
a deep page and a filtered one. The metadata database is SQLite in a temporary Airflow home
unless ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` says otherwise. With ``--write`` the table
replaces the "Gallery" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENERATIONS = int(next((a for a in sys.argv[1:] if a.isdigit()), "10000"))
WRITE = "--write" in sys.argv
PER_RUN = 10
DAGS = 10
REPEAT = 15
DAG_FILE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_bailian.operators.text2video import BailianText2VideoOperator

with DAG("bench_gallery_0", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    BailianText2VideoOperator.partial(
        task_id="generate", model="wan2.6-t2v", size="1280*720", duration=5,
        wait_for_completion=True, deferrable=False, poll_interval=0.05,
    ).expand(prompt=[f"benchmark prompt {i}: a slow pan over a harbour" for i in range(10)])
"""


def prepare_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="bailian-gallery-bench-"))
    (home / "dags").mkdir()
    (home / "dags" / "bench_gallery.py").write_text(DAG_FILE)
    (home / "passwords.json").write_text(json.dumps({"admin": "bench"}))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": "bench-" + "0123456789abcdef" * 4,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True
    )
    return home


def run_template() -> Any:
    """One real run of 10 generations, made by the operator through Airflow."""
    import importlib.util

    from airflow_provider_bailian.emulator import BailianEmulator

    with BailianEmulator(api_key="sk-fake-bench", task_seconds=0.05) as emu:
        os.environ["AIRFLOW_CONN_BAILIAN_DEFAULT"] = json.dumps(
            {"conn_type": "bailian", "host": emu.base_url, "password": "sk-fake-bench"}
        )
        path = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / "bench_gallery.py"
        spec = importlib.util.spec_from_file_location("bench_gallery", path)
        assert spec
        assert spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag_run = module.dag.test()
    assert str(getattr(dag_run.state, "value", dag_run.state)) == "success", dag_run.state
    return dag_run


def copy_rows(session: Any, table: Any, where: Any, overrides: dict[str, Any]) -> None:
    """INSERT INTO table SELECT ... with some columns replaced (SQL expressions or values)."""
    from sqlalchemy import Integer, insert, literal, select

    surrogate = len(table.primary_key.columns) == 1  # an auto-increment id: let the DB pick
    columns = [
        c for c in table.c if not (surrogate and c.primary_key and isinstance(c.type, Integer))
    ]
    values = [
        literal(overrides[c.name], type_=c.type).label(c.name) if c.name in overrides else c
        for c in columns
    ]
    session.execute(
        insert(table).from_select([c.name for c in columns], select(*values).where(where))
    )


def seed(template: Any, total: int) -> int:
    """Copy the template run until ``total`` generations exist; returns how many there are."""
    import uuid
    from datetime import datetime, timedelta, timezone

    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as RTIF
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    runs_needed = total // PER_RUN - 1
    now = datetime.now(timezone.utc)
    dag_ids = [f"bench_gallery_{i}" for i in range(DAGS)]
    with create_session() as session:
        for dag_id in dag_ids[1:]:  # more DAGs: the same DAG row under other ids
            copy_rows(
                session, DagModel.__table__, DagModel.dag_id == template.dag_id, {"dag_id": dag_id}
            )
        for n in range(runs_needed):
            dag_id = dag_ids[(n + 1) % DAGS]
            run_id = f"bench__{n:06d}"
            copy_rows(
                session,
                DagRun.__table__,
                DagRun.id == template.id,
                {"dag_id": dag_id, "run_id": run_id, "logical_date": None},
            )
            ended = now - timedelta(minutes=n + 1)
            new_run = session.scalar(
                select(DagRun.id).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
            )
            for map_index in range(PER_RUN):
                ti_where = (
                    (TI.dag_id == template.dag_id)
                    & (TI.run_id == template.run_id)
                    & (TI.map_index == map_index)
                )
                copy_rows(
                    session,
                    TI.__table__,
                    ti_where,
                    {"id": uuid.uuid4(), "dag_id": dag_id, "run_id": run_id, "end_date": ended},
                )
            copy_rows(
                session,
                XComModel.__table__,
                XComModel.dag_run_id == template.id,
                {"dag_run_id": new_run, "dag_id": dag_id, "run_id": run_id},
            )
            copy_rows(
                session,
                RTIF.__table__,
                (RTIF.dag_id == template.dag_id) & (RTIF.run_id == template.run_id),
                {"dag_id": dag_id, "run_id": run_id},
            )
            if n % 100 == 99:
                session.commit()
        session.commit()
        return (
            session.scalar(select(func.count()).select_from(TI).where(TI.task_id == "generate"))
            or 0
        )


def timed(func: Any) -> tuple[float, float, Any]:
    """Median and worst of REPEAT calls, in milliseconds, and the last result."""
    times, result = [], None
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


def measure() -> list[tuple[str, float, float, int]]:
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils.session import create_session
    from fastapi.testclient import TestClient

    from airflow_provider_bailian.plugins.videos import list_videos

    client = TestClient(create_app("core"))
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    headers = {"Authorization": f"Bearer {token}"}
    rows = []
    cases = {
        "first page": {},
        "page 100 (offset 4,950)": {"offset": 4950},
        "one DAG, first page": {"dag_id": "bench_gallery_3"},
    }
    for name, params in cases.items():

        def call(params: dict[str, Any] = params) -> Any:
            resp = client.get(
                "/bailian/api/videos", params={"limit": 50, **params}, headers=headers
            )
            assert resp.status_code == 200, resp.text
            return resp

        median, worst, resp = timed(call)
        rows.append((f"HTTP, {name}", median, worst, len(resp.json())))
    readable = {f"bench_gallery_{i}" for i in range(DAGS)}
    with create_session() as session:
        median, worst, page = timed(
            lambda: list_videos(session, readable_dag_ids=readable, limit=50)
        )
        rows.append(("data layer only, first page", median, worst, len(page.videos)))
    return rows


def write_results(lines: list[str]) -> None:
    results = ROOT / "benchmarks" / "RESULTS.md"
    text = results.read_text()
    start = text.find("## Gallery")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + text[end + 1 :] if end >= 0 else text[:start]
    results.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")


def main() -> None:
    home = prepare_home()
    database = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite").split(":")[0]
    started = time.perf_counter()
    template = run_template()
    count = seed(template, GENERATIONS)
    seeded = time.perf_counter() - started
    rows = measure()
    lines = [
        f"## Gallery: a page of 50 from {count:,} generations",
        "",
        f"`python benchmarks/gallery.py {GENERATIONS} --write`: {count:,} generations in {DAGS} "
        f"DAGs ({database} metadata database; one real run of {PER_RUN} videos through the operator "
        f"and the emulator, copied in SQL; {seeded:.0f} s to prepare). `GET /bailian/api/videos` "
        "through Airflow's api-server app in process (JWT check, permitted-DAG lookup, the plugin's "
        f"three queries, JSON), {REPEAT} calls each.",
        "",
        "| request | median | worst | videos |",
        "|---|---|---|---|",
        *[
            f"| {name} | {median:.0f} ms | {worst:.0f} ms | {n} |"
            for name, median, worst, n in rows
        ],
    ]
    print("\n".join(lines))
    if WRITE:
        write_results(lines)
    import shutil

    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
