"""Plan items are untrusted: they set request fields only, unless the DAG author allows more.

Run through Airflow (``dag.test()`` and ``airflow dags test`` with a run conf) against the
emulator: a refused item fails the plan before anything is sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.emulator import BailianEmulator
from airflow_provider_bailian.exceptions import BailianPlanValidationError
from airflow_provider_bailian.operators.plan import BailianPlanOperator
from airflow_provider_bailian.planning import build_plan
from airflow_provider_bailian.pricing import PriceTable
from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states, xcom

FILE = "bailian_item_keys_dags.py"
CHEAP = {"wan2.6-t2v": {"*": 0.0001}}


@pytest.fixture
def videos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "videos"
    monkeypatch.setenv("BAILIAN_TEST_VIDEO_DIR", str(folder))
    return folder


@pytest.fixture
def dag_conn(emulator: Any, make_conn: Any, videos: Path) -> Any:
    make_conn("bailian_dag", emulator.base_url)
    make_conn("bailian_other", emulator.base_url, key="sk-fake-other-account")
    return emulator


def _text(capfd: Any) -> str:
    out = capfd.readouterr()
    return all_logs() + out.out + out.err


def _refused(text: str, index: int, key: str, value: Any) -> bool:
    """One report line names the item, the key, its value (clipped) and how to allow it."""
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:40]
    start = f"requests[{index}].{key}={shown}"
    return any(
        line.lstrip().startswith(start)
        and "is not allowed: only request fields of a text generation" in line
        and line.rstrip().endswith(f"with BailianPlanOperator(item_keys=[{key!r}])")
        for line in text.splitlines()
    )


def test_items_setting_spend_account_or_delivery_fail_the_plan(
    dag_conn: Any, videos: Path, capfd: Any
) -> None:
    dag_run = run_dag(FILE, "bailian_t_keys_refused")
    assert ti_states(dag_run) == {"plan": "failed", "generate": "upstream_failed"}
    assert dag_conn.requests == []
    assert not videos.exists()
    text = _text(capfd)
    assert "5 of 6 planned requests are invalid; nothing was sent" in text
    for index, key, value in (
        (1, "prices", CHEAP),
        (2, "download_to", f"{videos}/elsewhere.mp4"),
        (3, "bailian_conn_id", "bailian_other"),
        (3, "max_cost", 1e9),
        (4, "dry_run", True),
        (4, "reattach", False),
        (4, "deferrable", False),
        (5, "poll_interval", 0.01),
        (5, "timeout", 1),
    ):
        assert _refused(text, index, key, value), (key, text[-3000:])
    # What items may set, in the message: the request type's own fields.
    assert (
        "(audio, audio_url, duration, media, model, negative_prompt, prompt, prompt_extend, ratio"
        in text
    )
    assert "requests[0]" not in text


def test_a_run_conf_cannot_price_its_items_or_move_their_videos(
    dag_conn: Any, videos: Path, capfd: Any
) -> None:
    items = [
        {"prompt": "conf: free", "prices": CHEAP},
        {"prompt": "conf: elsewhere", "download_to": str(videos / "x.mp4")},
        {"prompt": "conf: another account", "bailian_conn_id": "bailian_other"},
    ]
    dag_run = run_dag(FILE, "bailian_t_keys_from_conf", run_conf={"batch": items})
    assert ti_states(dag_run) == {"plan": "failed", "generate": "upstream_failed"}
    assert dag_conn.requests == []
    assert not videos.exists()
    text = _text(capfd)
    assert "3 of 3 planned requests are invalid; nothing was sent" in text
    assert _refused(text, 0, "prices", CHEAP)
    assert _refused(text, 1, "download_to", str(videos / "x.mp4"))
    assert _refused(text, 2, "bailian_conn_id", "bailian_other")


def test_item_keys_let_the_author_allow_more(dag_conn: Any, make_conn: Any, videos: Path) -> None:
    with BailianEmulator(api_key="sk-fake-other-account", task_seconds=0.5) as other:
        make_conn("bailian_other", other.base_url, key="sk-fake-other-account")
        dag_run = run_dag(FILE, "bailian_t_keys_allowed")
        assert [r["body"]["input"]["prompt"] for r in other.submissions] == [
            "keys: the other account"
        ]
    assert ti_states(dag_run) == {
        "plan": "success",
        "generate[0]": "success",
        "generate[1]": "success",
        "generate[2]": "success",
    }
    assert (videos / "kept.mp4").read_bytes()[4:8] == b"ftyp"
    assert xcom(dag_run, "generate", key="video_path", map_index=0) == str(videos / "kept.mp4")
    plan = xcom(dag_run, "plan", key="plan")
    # The list price (0.6 CNY/s at 720P), except where the item's dearer price raises it.
    assert [i["estimate"] for i in plan["items"]] == [3.0, 5.0, 3.0]
    assert plan["total"] == 11.0
    assert sorted(r["body"]["input"]["prompt"] for r in dag_conn.submissions) == [
        "keys: dearer",
        "keys: kept here",
    ]


def test_allowed_item_prices_never_lower_the_estimate(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_t_keys_cheap_prices")
    assert ti_states(dag_run) == {"plan": "failed", "generate": "upstream_failed"}
    assert dag_conn.requests == []
    assert "total estimate 9.00 CNY for 3 videos is above max_total_cost=5 CNY" in _text(capfd)


def test_item_keys_are_checked() -> None:
    def table(prices: Any, conn_id: str) -> PriceTable:
        return PriceTable("cn-beijing", prices)

    for keys, named in ((["plan_fingerprint"], "plan_fingerprint"), (["downlaod_to"], "downl")):
        with pytest.raises(BailianPlanValidationError, match=f"item_keys='{named}"):
            build_plan(["p"], defaults=None, conn_id="c", price_table=table, item_keys=keys)
    with pytest.raises(TypeError, match="list of argument names"):
        BailianPlanOperator(task_id="p", requests=[], item_keys="prices")
    # Another currency cannot stand in for the plan's: the list price stays.
    plan = build_plan(
        [{"prompt": "p", "prices": {"currency": "USD", "wan2.6-t2v": {"*": 9.0}}}],
        defaults={"size": "1280*720"},
        conn_id="c",
        price_table=lambda prices, conn: PriceTable("cn-beijing", prices),
        item_keys=["prices"],
    )
    assert (plan.total, plan.currency) == (3.0, "CNY")
    # A model the plan's table cannot price stays unpriced, whatever the item says.
    plan = build_plan(
        [{"prompt": "p", "model": "wan9-t2v", "prices": {"wan9-t2v": {"*": 0.0001}}}],
        defaults=None,
        conn_id="c",
        price_table=table,
        item_keys=["prices"],
    )
    assert plan.unpriced == [0]
    # Defaults are the author's: they may carry any argument.
    plan = build_plan(["p"], defaults={"download_to": "/tmp/v.mp4"}, conn_id="c", price_table=table)
    assert plan.generation_kwargs()[0]["download_to"] == "/tmp/v.mp4"


def test_example_triggered_with_a_hostile_conf_sends_nothing(
    emulator: Any, make_conn: Any, tmp_path: Path
) -> None:
    """``airflow dags test`` of the shipped example with a conf an attacker would send."""
    make_conn("bailian_default", emulator.base_url)
    target = tmp_path / "overwritten.txt"
    target.write_text("keep me")
    conf = {
        "prompts": [
            {"prompt": "A fox, free of charge", "prices": {"wan2.6-t2v": {"*": 0.0001}}},
            {"prompt": "A fox over a file", "download_to": str(target)},
            {"prompt": "A fox on another account", "bailian_conn_id": "bailian_other"},
        ]
    }
    command = [sys.executable, "-m", "airflow", "dags", "test", "bailian_mapped_prompts"]
    done = subprocess.run(
        [*command, "-c", json.dumps(conf)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    text = done.stdout + done.stderr + all_logs()
    assert "3 of 3 planned requests are invalid; nothing was sent" in text, text[-4000:]
    assert _refused(text, 0, "prices", {"wan2.6-t2v": {"*": 0.0001}})
    assert _refused(text, 1, "download_to", str(target))
    assert _refused(text, 2, "bailian_conn_id", "bailian_other")
    assert emulator.requests == []
    assert target.read_text() == "keep me"
    assert FAKE_KEY not in text


def test_a_template_in_a_conf_prompt_fails_the_plan(
    emulator: Any, make_conn: Any, capfd: Any
) -> None:
    """Airflow renders a mapped task's templated fields, values from XCom included: a conf
    prompt carrying Jinja would run as a template in the generation task (reading a
    connection, a variable...). The plan refuses it; nothing renders it, nothing is sent."""
    make_conn("bailian_default", emulator.base_url)
    prompts = [
        "A sign that reads {{ conn.bailian_default.password }}",
        {"prompt": "A fox", "negative_prompt": "{% for x in range(9) %}x{% endfor %}"},
        "A fox {# quiet #}",
        "A plain fox, {curly} but no template",
    ]
    dag_run = run_dag(
        "bailian_mapped_prompts.py", "bailian_mapped_prompts", run_conf={"prompts": prompts}
    )
    assert ti_states(dag_run)["prompts"] == "failed"
    assert emulator.requests == []
    text = _text(capfd)
    assert "3 of 4 planned requests are invalid; nothing was sent" in text
    for index, key in ((0, "prompt"), (1, "negative_prompt"), (2, "prompt")):
        assert f"requests[{index}].{key}=" in text
    assert "is not allowed: text without Jinja markers" in text
    assert FAKE_KEY not in text
