"""``[bailian] input_roots``: which files a run conf may make the worker read and send.

Image inputs are templated, so whoever may trigger a DAG may point them at any file the
worker can read. Empty (the default) keeps that behaviour; set, every local or object-storage
input must lie inside one of its folders or prefixes, checked before anything is read or
sent. The DAGs run through Airflow against the emulator, with the inputs in the run conf.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states
from tests.images import write_image

FILE = "bailian_input_roots_dags.py"
ROOTS = "AIRFLOW__BAILIAN__INPUT_ROOTS"


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An allowed folder with two images and a symlink to an image outside it."""
    images = tmp_path / "images"
    outside = tmp_path / "outside"
    images.mkdir()
    outside.mkdir()
    write_image(images, "mug.png", 640, 480, "PNG")
    write_image(images, "mug.jpg", 480, 640, "JPEG")
    write_image(outside, "secret.png", 640, 480, "PNG")
    (images / "link.png").symlink_to(outside / "secret.png")
    monkeypatch.setenv("BAILIAN_TEST_IMAGE_DIR", str(images))
    return {"images": images, "outside": outside}


@pytest.fixture
def dag_conn(emulator: Any, make_conn: Any, folders: dict[str, Path]) -> Any:
    make_conn("bailian_dag", emulator.base_url)
    return emulator


def _output(capfd: Any) -> str:
    out = capfd.readouterr()
    return all_logs() + out.out + out.err


def test_without_input_roots_any_readable_file_is_sent(
    dag_conn: Any, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's behaviour, documented: the worker reads whatever the run conf names."""
    monkeypatch.delenv(ROOTS, raising=False)
    run = run_dag(
        FILE, "bailian_i_from_conf", run_conf={"image": str(folders["outside"] / "secret.png")}
    )
    assert ti_states(run) == {"generate": "success"}
    assert len(dag_conn.submissions) == 1


def test_an_input_inside_the_roots_is_sent(
    dag_conn: Any, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOTS, f"/nonexistent/other,\n{folders['images']}")
    run = run_dag(FILE, "bailian_r_from_conf")
    assert ti_states(run) == {"generate": "success"}
    assert len(dag_conn.submissions) == 1
    run = run_dag(
        FILE, "bailian_i_from_conf", run_conf={"image": f"file://{folders['images']}/mug.png"}
    )
    assert ti_states(run) == {"generate": "success"}
    assert len(dag_conn.submissions) == 2


@pytest.mark.parametrize(
    "image",
    [
        lambda f: str(f["outside"] / "secret.png"),
        lambda f: str(f["images"] / "link.png"),
        lambda f: f"{f['images']}/../outside/secret.png",
        lambda f: f"file://{f['outside']}/secret.png",
    ],
    ids=["outside", "symlink_out", "dot_dot", "file_url"],
)
def test_an_input_outside_the_roots_is_refused_before_anything_is_sent(
    image: Any, dag_conn: Any, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    monkeypatch.setenv(ROOTS, str(folders["images"]))
    value = image(folders)
    run = run_dag(FILE, "bailian_i_from_conf", run_conf={"image": value})
    assert ti_states(run) == {"generate": "failed"}
    assert dag_conn.requests == []
    text = _output(capfd)
    assert (
        f"image={value!r} is not allowed: a file inside [bailian] input_roots ({folders['images']})"
        in text
    )
    assert "outside the allowed folders" in text
    assert FAKE_KEY not in text
    (ti,) = run.get_task_instances()
    assert ti.try_number <= 1  # a refused input is final: no retry


def test_every_refused_reference_is_named(
    dag_conn: Any, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    monkeypatch.setenv(ROOTS, str(folders["images"]))
    secret = str(folders["outside"] / "secret.png")
    run = run_dag(FILE, "bailian_r_from_conf", run_conf={"second": secret})
    assert ti_states(run) == {"generate": "failed"}
    assert dag_conn.requests == []
    text = _output(capfd)
    assert f"references[1]={secret!r} is not allowed" in text
    assert "references[0]" not in text


@pytest.mark.parametrize(
    ("roots", "image", "reason"),
    [
        (
            "memory://bailian-inputs/images/",
            "memory://someone_elses_conn@bailian-inputs/images/mug.png",
            "names its own connection 'someone_elses_conn'",
        ),
        (
            "memory://bailian-inputs/images/",
            "memory://bailian-inputs/other/mug.png",
            "outside the allowed prefixes",
        ),
        (
            "memory://bailian-inputs/images/",
            "memory://bailian-inputs/images/../other/mug.png",
            "'..' segment",
        ),
        ("memory://bailian-inputs/images/", "/etc/hostname", "outside the allowed folders"),
    ],
    ids=["own_connection", "other_prefix", "dot_dot", "local_with_store_roots"],
)
def test_object_storage_inputs_follow_the_prefixes(
    roots: str,
    image: str,
    reason: str,
    dag_conn: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: Any,
) -> None:
    monkeypatch.setenv(ROOTS, roots)
    run = run_dag(FILE, "bailian_i_from_conf", run_conf={"image": image})
    assert ti_states(run) == {"generate": "failed"}
    assert dag_conn.requests == []
    text = _output(capfd)
    assert f"image={image!r} is not allowed: a file inside [bailian] input_roots ({roots})" in text
    assert reason in text


def test_a_malformed_option_refuses_every_file_input(
    dag_conn: Any, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    monkeypatch.setenv(ROOTS, f"{folders['images']}, relative/folder")
    run = run_dag(FILE, "bailian_i_from_conf")
    assert ti_states(run) == {"generate": "failed"}
    assert dag_conn.requests == []
    assert (
        "a well-formed [bailian] input_roots (root 'relative/folder' is not an absolute folder)"
        in _output(capfd)
    )
