"""pytest plugin: the ``bailian_emulator`` fixture.

A started :class:`~airflow_provider_bailian.emulator.BailianEmulator` on a free port with
``task_seconds=1``, stopped after the test. Options come from the marker::

    @pytest.mark.bailian_emulator(task_seconds=0.3, api_key="sk-fake-test")
    def test_something(bailian_emulator): ...

Cheap to import (no Airflow): it is loaded into every pytest run of the project.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_bailian.emulator.server import BailianEmulator

_DEFAULTS: dict[str, Any] = {"task_seconds": 1.0}


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        "bailian_emulator(**options): BailianEmulator options for the bailian_emulator fixture",
    )


@pytest.fixture
def bailian_emulator(request: pytest.FixtureRequest) -> Iterator[BailianEmulator]:
    """A running Bailian API emulator for one test (see the module docstring)."""
    # On use: pytest loads this plugin in every session of a project that installs us.
    from airflow_provider_bailian.emulator.server import BailianEmulator

    options = dict(_DEFAULTS)
    marker = request.node.get_closest_marker("bailian_emulator")
    if marker is not None:
        if marker.args:
            raise TypeError("the bailian_emulator marker takes keyword options only")
        options.update(marker.kwargs)
    options.pop("port", None)  # always a free port, so parallel runs never collide
    with BailianEmulator(**options) as emulator:
        yield emulator
