"""An image whose header claims an enormous size is a bad input, reported like any other."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.exceptions import BailianValidationError
from airflow_provider_bailian.media import load_local_media
from airflow_provider_bailian.models import Image2VideoRequest
from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header says ``width`` x ``height`` (Pillow's bomb check refuses it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def test_bomb_header_is_a_validation_problem(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png())
    data_uri = "data:image/png;base64," + base64.b64encode(bomb_png()).decode()
    for image, shown in ((str(path), str(path)), (data_uri, data_uri[:60] + "...")):
        with pytest.raises(BailianValidationError) as caught:
            load_local_media(Image2VideoRequest(model="wan2.6-i2v", image=image))
        (problem,) = caught.value.problems
        field, value, allowed = problem
        assert (field, value) == ("image", shown)
        assert allowed.startswith("each side 360-2000 px for wan2.6-i2v (Pillow refused it:")
        assert "Image size (10000000000 pixels) exceeds limit" in allowed


def test_bomb_image_fails_the_task_once_and_sends_nothing(
    emulator: Any, make_conn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "bomb.png").write_bytes(bomb_png())
    monkeypatch.setenv("BAILIAN_TEST_IMAGE_DIR", str(folder))
    make_conn("bailian_dag", emulator.base_url)
    dag_run = run_dag("bailian_guard_dags.py", "bailian_t_image_bomb")
    assert ti_states(dag_run) == {"generate": "failed"}
    assert emulator.requests == []
    (ti,) = dag_run.get_task_instances()
    assert ti.try_number <= 1  # invalid input is final: retries=2, yet no retry
    out = capfd.readouterr()
    text = all_logs() + out.out + out.err
    assert f"image='{folder}/bomb.png' is not allowed: each side 360-2000 px" in text
    assert "DecompressionBombError" not in text  # no traceback of it: a validation report
    assert FAKE_KEY not in text
