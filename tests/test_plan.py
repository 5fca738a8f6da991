"""Batch planning through Airflow against the emulator: validate, price, approve, then spend."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian._compat import AIRFLOW_V3
from tests.conftest import run_dag, ti_states, xcom

FILE = "bailian_plan_dags.py"


@pytest.fixture
def dag_conn(emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    make_conn("bailian_dag", emulator.base_url)
    return emulator


@pytest.fixture
def no_network_from_plans(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every socket connection to the emulator, and make the hook's sender explode."""
    from airflow_provider_bailian.hooks.bailian import BailianHook

    port = int(emulator.base_url.rsplit(":", 1)[1].split("/")[0])
    seen: list[Any] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[1:2] == (port,):
            seen.append(address)
        return real_connect(sock, address)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        seen.append("BailianHook._send")
        raise AssertionError("planning must not send an HTTP request")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(BailianHook, "_send", refuse)
    return seen


@pytest.fixture
def plans_run_here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count plans made in this process: the guards above only see what runs here."""
    from airflow_provider_bailian.operators.plan import BailianPlanOperator

    made: list[int] = []
    real_plan = BailianPlanOperator.plan

    def plan(self: Any) -> Any:
        result = real_plan(self)
        made.append(len(result.items))
        return result

    monkeypatch.setattr(BailianPlanOperator, "plan", plan)
    return made


def test_valid_plan_drives_one_submission_per_item(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_plan_valid")
    assert ti_states(dag_run) == {
        "plan": "success",
        **{f"generate[{i}]": "success" for i in range(4)},
    }
    plan = xcom(dag_run, "plan", key="plan")
    assert (plan["total"], plan["currency"], plan["videos"]) == (17.0, "CNY", 4)
    assert [
        (i["index"], i["model"], i["duration"], i["tier"], i["estimate"]) for i in plan["items"]
    ] == [
        (0, "wan2.6-t2v", 10, "720P", 6.0),
        (1, "wan2.7-t2v", 5, "720P", 3.0),
        (2, "wan2.6-t2v", 5, "1080P", 5.0),
        (3, "wan2.6-t2v", 5, "720P", 3.0),
    ]
    kwargs = xcom(dag_run, "plan")
    assert kwargs[0]["duration"] == 10  # coerced from "10", as the operator would
    assert kwargs[1]["resolution"] == "720P"
    assert kwargs[2]["size"] == "1920*1080"
    assert all(len(k["plan_fingerprint"]) == 32 for k in kwargs)
    # Exactly one submission per planned item, with the planned body.
    bodies = sorted((s["body"] for s in dag_conn.submissions), key=lambda b: b["input"]["prompt"])
    assert len(bodies) == 4
    assert [b["input"]["prompt"] for b in bodies] == sorted(k["prompt"] for k in kwargs)
    heron = next(b for b in bodies if "heron" in b["input"]["prompt"])
    assert heron["parameters"] == {"size": "1920*1080", "seed": 7}
    text = "".join(capfd.readouterr())
    # The log table: grouped by model and tier, with the total.
    assert "wan2.6-t2v  720P        2       15" in text
    assert "total" in text
    assert "17.00 CNY" in text


def test_invalid_items_are_reported_together_and_nothing_is_sent(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_plan_invalid")
    states = ti_states(dag_run)
    assert states["plan"] == "failed"
    assert set(states) == {"plan", "generate"}
    assert states["generate"] == "upstream_failed"
    assert dag_conn.requests == []
    text = "".join(capfd.readouterr())
    assert "5 of 7 planned requests are invalid; nothing was sent" in text
    for line in (
        "requests[1].duration=20 is not allowed: an integer from 2 to 15 for wan2.6-t2v",
        "requests[3].size='720P' is not allowed: one of 1280*720",
        "requests[3].seed=-1 is not allowed: an integer from 0 to 2147483647",
        "requests[4].mode='hologram' is not allowed: one of text",
        "requests[5].promt='plan: a typo' is not allowed: a parameter of BailianText2VideoOperator",
        "requests[6]=42 is not allowed: a dict of the generation's keyword arguments, or a prompt",
    ):
        assert line in text, line


def test_max_total_cost_refuses_the_batch(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_plan_max_total")
    assert ti_states(dag_run) == {"plan": "failed", "generate": "upstream_failed"}
    assert dag_conn.requests == []
    text = "".join(capfd.readouterr())
    assert "total estimate 17.00 CNY for 4 videos is above max_total_cost=10 CNY" in text
    (plan_ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "plan"]
    assert plan_ti.try_number <= 1  # retries=3, yet a budget refusal is final


def test_edited_request_refuses_to_submit(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_plan_edited")
    assert ti_states(dag_run) == {"plan": "success", "generate[0]": "failed"}
    assert dag_conn.requests == []
    text = "".join(capfd.readouterr())
    assert "is not the request its plan priced and approved" in text
    assert "model wan2.6-t2v, 15 s" in text
    assert "Nothing was sent" in text
    (generate,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "generate"]
    assert generate.try_number <= 1  # retries=2, yet the refusal is final


def test_plan_task_makes_no_http_request(
    dag_conn: Any, no_network_from_plans: list[Any], plans_run_here: list[int]
) -> None:
    dag_run = run_dag(FILE, "bailian_t_plan_from_json")
    assert ti_states(dag_run) == {"plan": "success"}
    assert plans_run_here == [2]  # the plan ran under the guards
    assert no_network_from_plans == []
    assert dag_conn.requests == []
    plan = xcom(dag_run, "plan", key="plan")
    # 5 s at 1080P (wan2.6 default size) + 5 s of wanx2.1 turbo (0.24 CNY/s).
    assert (plan["total"], plan["videos"]) == (6.2, 2)
    assert [k["prompt"] for k in xcom(dag_run, "plan")] == [
        "json: a paper boat on a canal",
        "json: a paper boat at night",
    ]
    # Control: the recorder does see a connection to the emulator.
    import requests

    requests.get(f"{dag_conn.base_url}/_emulator/requests", timeout=5)
    assert no_network_from_plans


@pytest.mark.skipif(AIRFLOW_V3, reason="Airflow 3.1+ asks a person (tested in scripts/e2e.sh)")
def test_approval_needs_airflow_3_1(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_plan_approval")
    assert ti_states(dag_run) == {"plan": "failed", "generate": "upstream_failed"}
    assert dag_conn.requests == []
    text = "".join(capfd.readouterr())
    assert "above approve_above=5, but approval needs Airflow 3.1+" in text
    assert "this is Airflow 2.11" in text


def test_approval_answers() -> None:
    from airflow_provider_bailian.approval import decision

    person = {"id": "1", "name": "ana"}
    assert decision({"chosen_options": ["Approve"], "responded_by_user": person}) == (
        True,
        "approved by ana",
    )
    assert decision({"chosen_options": ["Reject"], "responded_by_user": person}) == (
        False,
        "rejected by ana",
    )
    approved, why = decision({"chosen_options": ["Reject"], "timedout": True})
    assert not approved
    assert "timed out" in why
    assert decision({"error": "late", "error_type": "timeout"})[0] is False


def test_plan_in_python_matches_the_operator(tmp_path: Path) -> None:
    """The plan's table and XCom shape, without Airflow running anything."""
    from airflow_provider_bailian.planning import build_plan
    from airflow_provider_bailian.pricing import PriceTable

    plan = build_plan(
        [{"prompt": "a"}, {"prompt": "b", "duration": 10}, {"prompt": "c", "model": "wan9"}],
        defaults={"size": "1280*720"},
        conn_id="c",
        price_table=lambda prices, conn_id: PriceTable("cn-beijing", prices),
    )
    assert plan.total == 9.0
    assert plan.unpriced == [2]
    assert plan.to_xcom()["items"][2]["estimate"] is None
    assert "+ 1 unpriced" in plan.table()
    assert plan.table(markdown=True).splitlines()[0].startswith("| mode | model | tier")


def _loaded_after(imports: str) -> set[str]:
    heavy = (
        "requests",
        "httpx",
        "tenacity",
        "airflow.providers.standard.operators.hitl",
        "airflow_provider_bailian.hooks.bailian",
    )
    probe = f"import sys\n{imports}\nprint('LOADED=' + ','.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED="))
    return set(filter(None, line[len("LOADED=") :].split(",")))


def test_plan_module_is_cheap_to_import() -> None:
    """DAG files import it at every parse: no HTTP client, no human-in-the-loop machinery."""
    airflow_alone = _loaded_after("from airflow_provider_bailian._compat import BaseOperator")
    ours = _loaded_after("import airflow_provider_bailian.operators.plan")
    assert ours <= airflow_alone, ours - airflow_alone


def test_image_and_reference_items_are_planned_by_their_mode() -> None:
    """A plan item names its mode: each is validated and priced by that mode's own rules."""
    from airflow_provider_bailian.exceptions import BailianPlanValidationError
    from airflow_provider_bailian.planning import build_plan
    from airflow_provider_bailian.pricing import PriceTable

    def table(prices: Any, conn_id: str) -> PriceTable:
        return PriceTable("cn-beijing", prices)

    plan = build_plan(
        [
            {"mode": "image", "image": "https://example.com/a.png", "resolution": "1080P"},
            {
                "mode": "reference",
                "prompt": "character1 waves at character2",
                "references": ["https://example.com/a.png", "https://example.com/b.png"],
                "size": "1280*720",
            },
        ],
        defaults=None,
        conn_id="c",
        price_table=table,
    )
    items = plan.to_xcom()["items"]
    assert [(i["mode"], i["model"], i["tier"], i["estimate"]) for i in items] == [
        ("image", "wan2.6-i2v", "1080P", 5.0),
        ("reference", "wan2.6-r2v", "720P", 3.0),
    ]
    with pytest.raises(BailianPlanValidationError) as caught:
        build_plan(
            [
                {"mode": "reference", "prompt": "six", "references": ["https://x/a.png"] * 6},
                {"mode": "image", "image": "https://x/a.png", "size": "1280*720"},
            ],
            defaults=None,
            conn_id="c",
            price_table=table,
        )
    text = str(caught.value)
    assert "requests[0].references" in text
    assert "requests[1].size" in text


def test_planned_image_batch_reads_the_photo_at_run_time(dag_conn: Any) -> None:
    """plan (image mode, a local photo by name) -> mapped image operator: one submission
    per item, the photo sent as a data URI, the planned fingerprint accepted."""
    import base64

    from tests.conftest import _HOME
    from tests.images import write_image

    photo = write_image(_HOME, "plan-photo.png", 640, 480)
    dag_run = run_dag(FILE, "bailian_t_plan_images")
    assert ti_states(dag_run) == {
        "plan": "success",
        "generate[0]": "success",
        "generate[1]": "success",
    }
    assert xcom(dag_run, "plan", key="plan")["total"] == 9.0  # 5 s + 10 s at 0.6 CNY/s
    bodies = [s["body"] for s in dag_conn.submissions]
    assert len(bodies) == 2
    for body in bodies:
        uri = body["input"]["img_url"]
        assert base64.b64decode(uri.split(",", 1)[1]) == photo.read_bytes()
