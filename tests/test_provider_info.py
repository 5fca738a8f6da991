"""The installed provider as Airflow's own CLI sees it, and the cheap-import promise."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from airflow_provider_bailian.get_provider_info import get_provider_info


def _airflow_json(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", *args, "--output", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_airflow_cli_lists_provider_hook_trigger_and_link() -> None:
    procs = {
        name: _airflow_json("providers", name) for name in ("list", "hooks", "triggers", "links")
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stderr[-2000:]
        out[name] = json.loads(stdout[stdout.index("[") :])
    assert any(row.get("package_name") == "airflow-provider-bailian" for row in out["list"])
    hooks = {row.get("connection_type"): row for row in out["hooks"]}
    assert hooks["bailian"]["class"] == "airflow_provider_bailian.hooks.bailian.BailianHook"
    assert any(
        row.get("package_name") == "airflow-provider-bailian"
        and row.get("class") == "airflow_provider_bailian.triggers.task"
        for row in out["triggers"]
    )
    assert any("BailianVideoLink" in str(row) for row in out["links"])


def test_connection_form_metadata() -> None:
    (conn,) = get_provider_info()["connection-types"]
    assert conn["connection-type"] == "bailian"
    fields = conn["conn-fields"]
    assert {"api_style", "region", "workspace", "timeout"} <= set(fields)
    assert "gateway" in fields["api_style"]["description"]
    assert "dashscope" in fields["api_style"]["description"]
    assert conn["ui-field-behaviour"]["relabeling"]["password"] == "API key"


def test_ui_metadata_matches_the_classic_hook_methods() -> None:
    from airflow_provider_bailian.hooks.bailian import BailianHook

    behaviour = BailianHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == ["schema", "port", "login"]
    assert behaviour["relabeling"]["host"] == "Base URL"


_PROBE = (
    "import sys\n"
    "{imports}\n"
    "print('LOADED=' + ','.join(m for m in ('requests', 'httpx', 'tenacity') if m in sys.modules))\n"
)


def _loaded_after(imports: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(imports=imports)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED="))
    return set(filter(None, line[len("LOADED=") :].split(",")))


def test_modules_import_without_http_clients() -> None:
    """DAG files import operators every few seconds: no HTTP client or retry library at import.

    (The trigger module is loaded only by triggerers, and loads httpx on purpose.)
    """
    airflow_alone = _loaded_after(
        "from airflow_provider_bailian._compat import BaseOperator, BaseSensorOperator\n"
        "from airflow.triggers.base import BaseTrigger"
    )
    ours = _loaded_after(
        "import airflow_provider_bailian.operators.text2video\n"
        "import airflow_provider_bailian.sensors.task\n"
        "import airflow_provider_bailian.hooks.bailian"
    )
    assert ours <= airflow_alone, ours - airflow_alone


def test_api_style_and_region_are_drop_downs_of_the_allowed_values() -> None:
    from airflow_provider_bailian.protocol import REGIONS, ApiStyle

    fields = get_provider_info()["connection-types"][0]["conn-fields"]
    assert fields["api_style"]["schema"]["enum"] == [None, *(s.value for s in ApiStyle)]
    assert fields["region"]["schema"]["enum"] == [None, *REGIONS]
    for name in ("api_style", "region"):
        shown = fields[name]["schema"]["values_display"]
        assert set(shown) <= {"null", *REGIONS, *(s.value for s in ApiStyle)}


def test_classic_form_hints_the_allowed_values() -> None:
    """Airflow 2.11 accepts only text, number, password and boolean provider fields: the
    allowed values of the two drop-downs are in the fields' placeholders there."""
    from airflow_provider_bailian.get_provider_info import API_STYLES, REGIONS
    from airflow_provider_bailian.hooks.bailian import BailianHook

    placeholders = BailianHook.get_ui_field_behaviour()["placeholders"]
    assert placeholders["api_style"].split(" | ") == list(API_STYLES)
    assert placeholders["region"].split(" | ") == list(REGIONS)


def test_config_options_are_declared_and_airflow_lists_them() -> None:
    """``[bailian] gallery_roots`` and ``input_roots``: empty by default, in Airflow's config."""
    from airflow_provider_bailian import storage_roots

    options = get_provider_info()["config"][storage_roots.SECTION]["options"]
    assert set(options) == {storage_roots.GALLERY_ROOTS, storage_roots.INPUT_ROOTS}
    assert all(o["default"] == "" and o["example"] for o in options.values())
    env = {**os.environ, "AIRFLOW__BAILIAN__GALLERY_ROOTS": "/data/bailian-videos"}
    env.pop("AIRFLOW__BAILIAN__INPUT_ROOTS", None)
    listed = subprocess.run(
        [sys.executable, "-m", "airflow", "config", "list", "--section", "bailian"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "gallery_roots" in listed.stdout
    assert "input_roots" in listed.stdout
    value = subprocess.run(
        [sys.executable, "-m", "airflow", "config", "get-value", "bailian", "gallery_roots"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert value.stdout.strip().splitlines()[-1] == "/data/bailian-videos"


def test_the_delivery_contract_is_cheap_and_one() -> None:
    """``outputs`` loads no Airflow (the gallery and lineage read it); its names are the
    ones the operator modules have always exported."""
    probe = (
        "import sys\n"
        "import airflow_provider_bailian.outputs\n"
        "print('AF=' + ','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('airflow', 'sqlalchemy', 'requests', 'httpx'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "AF=\n" in done.stdout + "\n", done.stdout

    from airflow_provider_bailian import outputs
    from airflow_provider_bailian.links import video
    from airflow_provider_bailian.operators import base, text2video
    from airflow_provider_bailian.plugins import videos

    names = [n for n in dir(outputs) if n.startswith("XCOM_") and n != "XCOM_KEYS"]
    names += ["asset_uri", "declare_video_asset", "record_asset_events", "usage_summary"]
    for name in names:
        assert getattr(base, name) is getattr(outputs, name), name
        assert getattr(text2video, name) is getattr(outputs, name), name
    assert video.XCOM_VIDEO_URL == outputs.XCOM_VIDEO_URL == "video_url"
    assert videos.XCOM_KEYS == ("task_id", "video_url", "result", "usage", "cost", "video_path")
