"""The image and reference operators through Airflow, against the emulator.

Validation, max_cost and dry_run send nothing; waiting, reattach, download and
uploads go over real HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.exceptions import BailianValidationError
from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.models import Image2VideoRequest, Reference2VideoRequest
from tests.conftest import FAKE_KEY, all_logs, load_dag, run_dag, ti_states
from tests.images import write_image

FILE = "bailian_image_dags.py"


@pytest.fixture
def images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    write_image(folder, "mug.png", 640, 480, "PNG")
    write_image(folder, "mug.jpg", 480, 640, "JPEG")
    write_image(folder, "tiny.png", 64, 64, "PNG")
    (folder / "notes.png").write_text("not an image")
    monkeypatch.setenv("BAILIAN_TEST_IMAGE_DIR", str(folder))
    monkeypatch.setenv("BAILIAN_TEST_VIDEO_DIR", str(tmp_path / "videos"))
    return folder


@pytest.fixture
def dag_conn(emulator: Any, make_conn: Any, api_style: str, images: Path) -> Any:
    make_conn("bailian_dag", emulator.base_url, api_style=api_style)
    return emulator


def _output(capfd: Any) -> str:
    out = capfd.readouterr()
    return all_logs() + out.out + out.err


def test_parsing_reads_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler parses DAG files often: a file input is not even looked at then."""
    monkeypatch.setenv("BAILIAN_TEST_IMAGE_DIR", "/nonexistent/folder")
    dag = load_dag(FILE, "bailian_i_deferrable")
    assert dag.get_task("generate").image == "/nonexistent/folder/mug.png"


def test_dry_run_reads_checks_and_sends_nothing(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_i_dry_run")
    assert ti_states(dag_run) == {"generate": "success"}
    assert dag_conn.requests == []
    text = _output(capfd)
    assert "Dry run: nothing is sent" in text
    assert '"img_url": "data:image/png;base64,' in text
    assert "6.00 CNY" in text  # 10 s x 0.6 CNY/s at 720P
    assert "/task/bailian/image2video" in text or "/video-generation/video-synthesis" in text


def test_dry_run_says_files_would_be_uploaded(dag_conn: Any, api_style: str, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_i_dry_run_upload")
    assert dag_conn.requests == []
    text = _output(capfd)
    if api_style == "dashscope":
        assert ti_states(dag_run) == {"generate": "success"}
        assert "would be uploaded first and sent as oss:// URLs" in text
    else:  # the gateway cannot resolve uploads: refused as a real run would be
        assert ti_states(dag_run) == {"generate": "failed"}
        assert "upload_local_files=True is not allowed" in text


def test_max_cost_refuses_and_sends_nothing(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_i_max_cost")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert dag_conn.requests == []
    assert "above max_cost=1 CNY. Nothing was sent" in _output(capfd)
    (ti,) = dag_run.get_task_instances()
    assert ti.try_number <= 1


def test_bad_file_fails_once_and_sends_nothing(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_i_bad_image")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert dag_conn.requests == []
    text = _output(capfd)
    assert "image=" in text
    assert "notes.png" in text
    assert "JPEG, PNG, BMP, WEBP" in text
    (ti,) = dag_run.get_task_instances()
    assert ti.try_number <= 1  # invalid input is final: no retry
    assert FAKE_KEY not in text


def test_every_bad_reference_named_and_nothing_sent(dag_conn: Any, capfd: Any) -> None:
    dag_run = run_dag(FILE, "bailian_r_bad_references")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert dag_conn.requests == []
    text = _output(capfd)
    assert "references[1]" in text
    assert "240-5000 px" in text
    assert "references[2]" in text


@pytest.mark.parametrize(
    "request_",
    [
        Image2VideoRequest(model="wan2.6-i2v", image="https://e.com/a.png", duration=99),
        Image2VideoRequest(model="wan2.6-i2v", image="/nonexistent/a.png", prompt="p"),
        Reference2VideoRequest(model="wan2.6-r2v", prompt="p", references=[]),
    ],
)
def test_hook_sends_nothing_for_a_bad_request(
    hook: BailianHook, emulator: Any, request_: Any
) -> None:
    with pytest.raises(BailianValidationError) as info:
        hook.submit_video(request_)
    assert emulator.requests == []
    assert FAKE_KEY not in str(info.value)


def test_no_gateway_route_fails_before_sending(emulator: Any, make_conn: Any, images: Path) -> None:
    make_conn("gw", emulator.base_url, api_style="gateway")
    hook = BailianHook("gw")
    request = Image2VideoRequest(
        model="wan2.2-kf2v-flash", image=str(images / "mug.png"), last_frame=str(images / "mug.png")
    )
    with pytest.raises(BailianValidationError) as info:
        hook.submit_video(request)
    assert "wan2.2-kf2v-flash" in str(info.value)
    assert "gateway" in str(info.value)
    with pytest.raises(BailianValidationError) as info:
        hook.submit_video(
            Image2VideoRequest(model="wan2.6-i2v", image=str(images / "mug.png"), prompt="p"),
            upload_local_files=True,
        )
    assert info.value.problems[0][0] == "upload_local_files"
    assert emulator.requests == []
    assert FAKE_KEY not in json.dumps([str(e) for e in [info.value]])


def test_operator_modules_import_no_image_or_http_library() -> None:
    from tests.test_provider_info import _loaded_after

    airflow_alone = _loaded_after(
        "from airflow_provider_bailian._compat import BaseOperator, BaseSensorOperator\n"
        "from airflow.triggers.base import BaseTrigger"
    )
    ours = _loaded_after(
        "import airflow_provider_bailian.operators.image2video\n"
        "import airflow_provider_bailian.operators.reference2video\n"
        "import airflow_provider_bailian.media"
    )
    assert ours <= airflow_alone, ours - airflow_alone
    probe = (
        "import sys\n"
        "import airflow_provider_bailian.operators.image2video\n"
        "import airflow_provider_bailian.media\n"
        "print('PIL' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"
