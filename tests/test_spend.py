"""Cost estimates, max_cost and dry_run (nothing sent), usage and cost in XCom, downloads in DAGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian._compat import AIRFLOW_V3
from airflow_provider_bailian.hooks.bailian import BailianHook
from tests.conftest import asset_events, run_dag, ti_states, xcom

FILE = "bailian_spend_dags.py"


@pytest.mark.parametrize(
    ("fields", "amount", "tier"),
    [
        ({"model": "wan2.6-t2v", "size": "1280*720", "duration": 10}, 6.0, "720P"),
        ({"model": "wan2.6-t2v"}, 5.0, "1080P"),  # default 1920*1080, 5 s
        ({"model": "wan2.7-t2v", "resolution": "720P", "ratio": "1:1", "duration": 4}, 2.4, "720P"),
        ({"model": "wan2.5-t2v-preview", "size": "832*480"}, 1.5, "480P"),
        ({"model": "wan2.2-t2v-plus", "size": "1920*1080"}, 3.5, "1080P"),
        ({"model": "wanx2.1-t2v-turbo", "size": "1280*720"}, 1.2, "720P"),
        ({"model": "wan2.1-t2v-plus"}, 3.5, "720P"),  # alias of wanx2.1-t2v-plus
    ],
)
def test_estimate_per_model_and_tier_beijing(
    hook: BailianHook, fields: dict, amount: float, tier: str
) -> None:
    estimate = hook.estimate_cost(prompt="p", **fields)
    assert estimate is not None
    assert estimate.amount == pytest.approx(amount)
    assert (estimate.currency, estimate.tier) == ("CNY", tier)
    assert "CNY" in str(estimate)


def test_international_region_and_overrides(emulator: Any, make_conn: Any) -> None:
    make_conn("intl", emulator.base_url, api_style="dashscope", region="ap-southeast-1")
    hook = BailianHook("intl")
    estimate = hook.estimate_cost(model="wan2.6-t2v", prompt="p", size="1280*720", duration=5)
    assert estimate.amount == pytest.approx(5 * 0.733924)
    override = {"currency": "USD", "wan2.6-t2v": {"720P": 0.10, "1080P": 0.15}}
    estimate = hook.estimate_cost(model="wan2.6-t2v", prompt="p", size="1280*720", prices=override)
    assert (estimate.amount, estimate.currency, estimate.source) == (0.5, "USD", "your price table")
    make_conn("conn_prices", emulator.base_url, prices=override)
    estimate = BailianHook("conn_prices").estimate_cost(model="wan2.6-t2v", prompt="p")
    assert (estimate.amount, estimate.currency) == (0.75, "USD")
    assert BailianHook("intl").estimate_cost(model="wan9-t2v", prompt="p") is None
    assert emulator.requests == []


@pytest.fixture
def dag_conn(emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    make_conn("bailian_dag", emulator.base_url)
    monkeypatch.setenv("BAILIAN_TEST_VIDEO_DIR", str(tmp_path))
    return emulator


def test_max_cost_refuses_and_sends_nothing(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_max_cost")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert dag_conn.requests == []
    out = capfd.readouterr()
    assert "Estimated cost 15.00 CNY (15 s x 1 CNY/s, wan2.6-t2v 1080P" in out.out + out.err
    assert "above max_cost=10 CNY. Nothing was sent" in out.out + out.err
    (ti,) = dag_run.get_task_instances()
    assert ti.try_number <= 1  # no retry: a budget refusal is final


def test_dry_run_sends_nothing_and_shows_the_body(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_dry_run")
    assert ti_states(dag_run) == {"generate": "success"}
    assert dag_conn.requests == []
    out = capfd.readouterr()
    text = out.out + out.err
    assert "Dry run: nothing is sent" in text
    assert '"prompt": "a dry run of a lighthouse"' in text
    assert '"ratio": "9:16"' in text
    assert "4.80 CNY" in text  # 8 s x 0.6 CNY/s at 720P


def test_download_to_with_usage_cost_and_path(dag_conn: Any, tmp_path: Path) -> None:
    dag_run = run_dag(FILE, "bailian_t_download_templated")
    assert ti_states(dag_run) == {"generate": "success"}
    path = Path(xcom(dag_run, "generate", key="video_path"))
    assert path.parent.parent == tmp_path
    assert path.read_bytes()[4:8] == b"ftyp"
    usage = xcom(dag_run, "generate", key="usage")
    assert (usage["video_seconds"], usage["size"], usage["tier"]) == (5, "832*480", "480P")
    cost = xcom(dag_run, "generate", key="cost")
    assert cost["currency"] == "USD"
    assert cost["amount"] == pytest.approx(0.18)
    assert cost["source"] == "your price table"


def test_download_operator_later_in_the_pipeline(dag_conn: Any, tmp_path: Path) -> None:
    dag_run = run_dag(FILE, "bailian_t_download_later")
    assert ti_states(dag_run) == {"submit": "success", "wait": "success", "download": "success"}
    target = tmp_path / "later" / "kite.mp4"
    assert xcom(dag_run, "download") == str(target)
    assert xcom(dag_run, "download", key="video_path") == str(target)
    assert target.read_bytes()[4:8] == b"ftyp"
    video_requests = [r for r in dag_conn.requests if r["route"] == "video"]
    assert [r["auth_header"] for r in video_requests] == [False]
    events = asset_events(f"file://{target}")
    # Airflow 2.11's dag.test records dataset events only for datasets already in the database.
    assert events or not AIRFLOW_V3
    for event in events:
        assert event["bailian_task_id"] == xcom(dag_run, "submit")
