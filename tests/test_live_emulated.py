"""The live smoke test's own code path, run against the emulator instead of Bailian.

``pytest -m live`` needs a real key and the internet, so CI never runs it; this runs the very
same module in a child pytest with ``BAILIAN_LIVE_BASE_URL`` pointing at the local emulator,
so a change that breaks the live check is caught before a user pays to find out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAKE_LIVE_KEY = "sk-fake-live-check"


@pytest.mark.bailian_emulator(api_key=FAKE_LIVE_KEY, task_seconds=4, pending_seconds=2)
def test_live_check_passes_against_the_emulator(bailian_emulator: Any) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "BAILIAN_TEST_", "BAILIAN_LIVE_", "PYTEST_"))
    }
    env.update(
        BAILIAN_LIVE_API_KEY=FAKE_LIVE_KEY,
        BAILIAN_LIVE_BASE_URL=bailian_emulator.base_url,
        BAILIAN_LIVE_POLL_INTERVAL="0.5",
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "live", "tests/test_live.py", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "2 passed" in out.stdout
    assert bailian_emulator.count("submit") == 2
    assert bailian_emulator.count("cancel") == 1
    assert bailian_emulator.count("list") >= 2
    assert bailian_emulator.count("video") == 1
