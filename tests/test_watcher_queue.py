"""Queued tasks are never lost sight of: detection bounds and read counts, over HTTP.

The emulator queues an account's tasks behind 5 slots, as Bailian does. Times are minutes
of the service's clock run faster (``tests/scaled_clock.py``); every bound is asserted on
the emulator's clock: the time of the read that saw a task's end against that end.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.hooks.bailian_async import BailianAsyncClient, connection_settings
from airflow_provider_bailian.polling import expected_generation_seconds
from airflow_provider_bailian.triggers.watcher import GATEWAY_FINISH_WINDOW, StatusWatcher
from tests.scaled_clock import ScaledClock

MODEL = "wan2.6-t2v"
EXPECTED = expected_generation_seconds(MODEL, 5)  # 120 s
#: HTTP timeouts run on the fast clock too: long enough for a busy machine.
SLOW = {"timeout": 3000, "connect_timeout": 3000}


def _submit(emulator: Any, conn_id: str, lengths: list[float], fails: list[bool]) -> list[str]:
    hook = BailianHook(conn_id)
    ids = []
    for length, fail in zip(lengths, fails, strict=True):
        emulator.configure(task_seconds=length)  # fixed per task when it is submitted
        prompt = "[fail:DataInspectionFailed] a lantern" if fail else "a lantern at dusk"
        ids.append(hook.submit_text2video(model=MODEL, prompt=prompt, duration=5).task_id)
    hook.close()
    return ids


def _wait(clock: ScaledClock, conn_id: str, ids: list[str], strategy: str) -> list[Any]:
    settings = BailianHook(conn_id).settings  # read before: it takes real time

    async def main() -> list[Any]:
        watcher = StatusWatcher(BailianAsyncClient(settings), strategy)
        submitted = clock.now()
        return list(
            await asyncio.gather(
                *(watcher.wait(t, model=MODEL, duration=5, submitted_at=submitted) for t in ids)
            )
        )

    return clock.run(main())


def _detection(emulator: Any, ids: list[str], waiting_since: float) -> dict[str, float]:
    """Per task: seconds from its end (or the start of the wait, when it ended before: the
    submissions take real time) to the first read after it, on the emulator's clock."""
    tasks = emulator.tasks
    seen: dict[str, float] = {}
    for r in emulator.requests:
        tid = r["task_id"]
        if r["route"] == "query" and r["status"] == 200 and tid not in seen:
            end = tasks[tid]["end_time"]
            if r["time"] >= end:
                seen[tid] = r["time"] - max(end, waiting_since)
    assert set(seen) == set(ids)
    return seen


def _status_reads(emulator: Any) -> Counter[str]:
    return Counter(r["route"] for r in emulator.requests if r["route"] in ("query", "list"))


def _gateway_queue(
    emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch, n: int, slots: int, seed: int
) -> tuple[list[str], float]:
    """n videos of 0.6-1.4x the expected time on an account running ``slots`` at once,
    waited for gateway style; asserts every finish seen within the bound. The ids, and
    when the wait began (the emulator's clock)."""
    clock = ScaledClock(speed=25)
    clock.install(monkeypatch)
    conn = make_conn(f"gw{slots}", emulator.base_url, api_style="gateway", **SLOW)
    # No start time in the answers: a queued task's start is inferred from the finish before.
    emulator.configure(max_concurrent=slots, pending_seconds=0, query_rps=20, start_times=False)
    rng = random.Random(seed)
    lengths = [rng.uniform(0.6, 1.4) * EXPECTED for _ in range(n)]
    ids = _submit(emulator, conn, lengths, [False] * n)
    waiting_since = clock.now()
    results = _wait(clock, conn, ids, "queue")
    assert [r.status.value for r in results] == ["SUCCEEDED"] * n
    detection = _detection(emulator, ids, waiting_since)
    # 6 s between reads of a video that may be finishing, and some slack for a busy machine.
    assert max(detection.values()) <= GATEWAY_FINISH_WINDOW + 4, sorted(detection.values())
    return ids, waiting_since


def test_gateway_sees_every_finish_in_a_queue_within_the_bound(
    emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 12
    ids, waiting_since = _gateway_queue(emulator, make_conn, monkeypatch, n, slots=5, seed=3)
    reads = _status_reads(emulator)
    assert reads["list"] == 0
    assert reads["query"] <= 16 * n, reads  # the benchmark measures about 15 per video
    # Queued tasks are read when their turn can have come, not on arrival nor every 300 s.
    tasks = emulator.tasks
    pending = [
        r
        for r in emulator.requests
        if r["route"] == "query" and r["time"] < tasks[r["task_id"]]["scheduled_time"]
    ]
    assert len(pending) <= n, [(r["task_id"], r["time"]) for r in pending]
    assert not [r for r in emulator.requests if r["status"] == 429]
    # A queued task is read soon after the finish that freed its slot, not 15-300 s later.
    for tid in ids:
        start = tasks[tid]["scheduled_time"]
        if start < waiting_since:
            continue  # started before anyone waited: read when the wait starts
        first_running = min(
            r["time"] for r in emulator.requests if r["task_id"] == tid and r["time"] >= start
        )
        reads = [(r["time"] - start, r["status"]) for r in emulator.requests if r["task_id"] == tid]
        assert first_running - start <= 2 * GATEWAY_FINISH_WINDOW, (tid, start, reads)


def test_dashscope_sees_tasks_that_start_and_end_between_two_list_reads(
    emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ScaledClock(speed=10)
    clock.install(monkeypatch)
    list_interval = 5.0
    conn = make_conn(
        "dsq", emulator.base_url, api_style="dashscope", list_interval=list_interval, **SLOW
    )
    emulator.configure(max_concurrent=5, pending_seconds=0, query_rps=20)
    n = 20
    rng = random.Random(5)
    fails = [i % 3 == 1 for i in range(n)]  # a content check ends them 3 s after they start
    lengths = [3.0 if f else rng.uniform(0.1, 0.3) * EXPECTED for f in fails]
    ids = _submit(emulator, conn, lengths, fails)
    waiting_since = clock.now()
    results = _wait(clock, conn, ids, "list")
    assert Counter(r.status.value for r in results) == {"SUCCEEDED": 13, "FAILED": 7}
    detection = _detection(emulator, ids, waiting_since)
    assert max(detection.values()) <= 2 * list_interval, sorted(detection.values())
    reads = _status_reads(emulator)
    assert reads["query"] <= n + 3, reads  # one read per finished task, a few in the tail
    assert not [r for r in emulator.requests if r["status"] == 429]


def test_dashscope_places_new_tasks_by_the_list_not_by_their_own_reads(
    emulator: Any, make_conn: Any
) -> None:
    """Tasks registering while the last list showed free slots are not read on their own:
    the next list read places them (running, or queued behind the slots they filled)."""
    conn = make_conn("dsr", emulator.base_url, api_style="dashscope", list_interval=0.2)
    emulator.configure(max_concurrent=5, pending_seconds=0)
    first = _submit(emulator, conn, [2.0] * 3, [False] * 3)

    async def main() -> list[Any]:
        watcher = StatusWatcher(BailianAsyncClient(await connection_settings(conn)), "list")
        waits = [asyncio.ensure_future(watcher.wait(t, model=MODEL)) for t in first]
        await asyncio.sleep(0.5)  # the first wave runs; its list shows 2 slots free
        later = await asyncio.to_thread(_submit, emulator, conn, [0.5] * 15, [False] * 15)
        waits += [asyncio.ensure_future(watcher.wait(t, model=MODEL)) for t in later]
        return list(await asyncio.gather(*waits))

    results = asyncio.run(main())
    assert [r.status.value for r in results] == ["SUCCEEDED"] * 18
    tasks = emulator.tasks
    queries = [r for r in emulator.requests if r["route"] == "query"]
    read_early = [r["task_id"] for r in queries if r["time"] < tasks[r["task_id"]]["end_time"]]
    assert read_early == []  # no read at registration, none of a queued task
    assert Counter(r["task_id"] for r in queries) == dict.fromkeys(tasks, 1)  # one per finish


def test_gateway_follows_an_account_that_runs_more_than_the_documented_limit(
    emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """7 slots where the table says 5: the tasks that start beyond the limit are not lost."""
    n = 12
    ids, waiting_since = _gateway_queue(emulator, make_conn, monkeypatch, n, slots=7, seed=4)
    tasks = emulator.tasks
    for tid in ids:
        start = max(tasks[tid]["scheduled_time"], waiting_since)
        first_running = min(
            r["time"] for r in emulator.requests if r["task_id"] == tid and r["time"] >= start
        )
        # Found running within a few reads of its start, not at the next 5-minute recheck.
        assert first_running - start <= 2 * GATEWAY_FINISH_WINDOW, (tid, first_running - start)
    assert _status_reads(emulator)["query"] <= 16 * n
