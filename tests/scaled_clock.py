"""A clock running ``speed`` times faster than real time, shared by the emulator and the waits.

Waiting behaviour is defined in minutes (a video takes one to three); a test runs it in
seconds by speeding up the one clock that the emulator's tasks and rate windows, the
watcher, the limiter and the event loop all read. Bounds are then asserted on that clock
(the emulator's recorded request times against its tasks' end times), not on wall time.
"""

from __future__ import annotations

import asyncio
import selectors
import time
import types
from collections.abc import Coroutine
from typing import Any

import pytest


class ScaledClock:
    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._real = time.monotonic()
        self._wall = time.time()

    def now(self) -> float:
        return self._wall + (time.monotonic() - self._real) * self.speed

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the emulator, the watcher and the async client read this clock."""
        from airflow_provider_bailian.emulator import clock, server
        from airflow_provider_bailian.hooks import bailian_async, rate_limit
        from airflow_provider_bailian.triggers import watcher

        shim = types.SimpleNamespace(
            time=self.now, monotonic=self.now, perf_counter=time.perf_counter, sleep=time.sleep
        )
        for module in (server, clock, watcher, bailian_async, rate_limit):
            monkeypatch.setattr(module, "time", shim)
        monkeypatch.setattr(rate_limit, "_limiters", {})

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine in an event loop whose timers run on this clock."""
        clock = self

        class Selector(selectors.DefaultSelector):
            def select(self, timeout: float | None = None) -> list[Any]:
                return super().select(None if timeout is None else timeout / clock.speed)

        loop = asyncio.SelectorEventLoop(Selector())
        loop.time = self.now  # type: ignore[method-assign]
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
