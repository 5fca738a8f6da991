"""Waiting at queue scale: the status watcher behind BailianTaskTrigger, over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from typing import Any

import pytest

from airflow_provider_bailian.hooks import bailian_async
from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.triggers import watcher
from airflow_provider_bailian.triggers.task import BailianTaskTrigger
from tests.conftest import FAKE_KEY

REQUEST = {"model": "wan2.6-t2v", "prompt": "a lantern at dusk", "size": "1280*720"}
WATCHER_LOG = "airflow_provider_bailian.hooks.watcher"


def _submit(conn_id: str, n: int = 1, **changes: Any) -> list[str]:
    hook = BailianHook(conn_id)
    return [hook.submit_text2video(**{**REQUEST, **changes}).task_id for _ in range(n)]


async def _wait_all(task_ids: list[str], conn_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    async def one(task_id: str) -> dict[str, Any]:
        events = [e.payload async for e in BailianTaskTrigger(task_id, conn_id, **kwargs).run()]
        assert len(events) == 1
        return events[0]

    return list(await asyncio.gather(*(one(t) for t in task_ids)))


def _routes(emulator: Any) -> Counter[str]:
    return Counter(r["route"] for r in emulator.requests if r["route"] != "submit")


def _queried_ids(emulator: Any) -> Counter[str]:
    return Counter(r["task_id"] for r in emulator.requests if r["route"] == "query")


@pytest.fixture
def ds(emulator: Any, make_conn: Any) -> str:
    return make_conn("ds", emulator.base_url, api_style="dashscope", list_interval=0.2)


def test_many_triggers_share_one_watcher_and_read_each_task_once(ds: str, emulator: Any) -> None:
    emulator.configure(max_concurrent=5, pending_seconds=0, task_seconds=0.6)
    task_ids = _submit(ds, 20)

    async def main() -> tuple[list[dict[str, Any]], int]:
        events = await _wait_all(task_ids, ds, poll_interval=0.2)
        return events, len(watcher._watchers[asyncio.get_running_loop()])

    events, watchers = asyncio.run(main())
    assert [e["status"] for e in events] == ["success"] * 20
    assert watchers == 1
    routes = _routes(emulator)
    # Each finished task is read once; the queued ones are not read while the slots are full.
    assert routes["query"] == 20, routes
    assert set(_queried_ids(emulator)) == set(task_ids)
    # 20 tasks of 0.6 s, 5 at a time: about 2.4 s of batch, one list read per 0.2 s.
    assert routes["list"] <= 25, routes
    assert all(
        r["query"].get("status") == "RUNNING" for r in emulator.requests if r["route"] == "list"
    )


def test_list_missing_falls_back_to_per_task_polling_logged_once(
    ds: str, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=WATCHER_LOG)
    emulator.add_fault("list", "error", times=1000, status=404, code="NotFound", message="no")
    task_ids = _submit(ds, 5)
    events = asyncio.run(_wait_all(task_ids, ds, poll_interval=0.1))
    assert [e["status"] for e in events] == ["success"] * 5
    assert _routes(emulator)["list"] == 1  # missing: not asked again by this watcher
    assert caplog.text.count("is missing") == 1, caplog.text


@pytest.mark.parametrize("kind", ["500", "503", "502"])
def test_list_failing_falls_back_after_a_few_tries_logged_once(
    ds: str, emulator: Any, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.WARNING, logger=WATCHER_LOG)
    monkey_fast = {"LIST_FAILURES_BEFORE_FALLBACK": 2, "FALLBACK_SECONDS": 0.5}
    saved = {name: getattr(watcher, name) for name in monkey_fast}
    for name, value in monkey_fast.items():
        setattr(watcher, name, value)
    try:
        emulator.add_fault("list", kind, times=1000)
        task_ids = _submit(ds, 5)
        events = asyncio.run(_wait_all(task_ids, ds, poll_interval=0.1))
    finally:
        for name, value in saved.items():
            setattr(watcher, name, value)
    assert [e["status"] for e in events] == ["success"] * 5
    assert caplog.text.count("is failing") == 1, caplog.text


def test_a_throttled_list_is_retried_without_falling_back(
    ds: str, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=WATCHER_LOG)
    emulator.configure(pending_seconds=0)
    emulator.add_fault("list", "429", times=1, retry_after=0)
    task_ids = _submit(ds, 3)
    events = asyncio.run(_wait_all(task_ids, ds, poll_interval=0.2))
    assert [e["status"] for e in events] == ["success"] * 3
    assert "one by one" not in caplog.text
    assert _routes(emulator)["query"] <= 6  # list-driven: no per-task polling


def test_paged_list_with_a_small_maximum_and_other_applications(ds: str, emulator: Any) -> None:
    emulator.configure(list_max_page_size=10, pending_seconds=0, task_seconds=1.0)
    others = emulator.add_other_app_tasks(15, task_seconds=30)
    task_ids = _submit(ds, 3)
    events = asyncio.run(_wait_all(task_ids, ds, poll_interval=0.2))
    assert [e["status"] for e in events] == ["success"] * 3
    lists = [r for r in emulator.requests if r["route"] == "list"]
    sizes = [int(r["query"]["page_size"]) for r in lists]
    assert sizes[:4] == [100, 50, 20, 10]  # the maximum is learned from the 400s
    assert [r["status"] for r in lists[:3]] == [400, 400, 400]
    assert {r["query"]["page_no"] for r in lists if r["status"] == 200} == {"1", "2"}
    assert not set(_queried_ids(emulator)) & set(others)  # other applications' tasks: never read


def test_list_answering_with_tasks_instead_of_data(
    ds: str, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=WATCHER_LOG)
    emulator.configure(list_key="tasks", pending_seconds=0, max_concurrent=5, task_seconds=0.5)
    task_ids = _submit(ds, 4)
    events = asyncio.run(_wait_all(task_ids, ds, poll_interval=0.2))
    assert [e["status"] for e in events] == ["success"] * 4
    assert "one by one" not in caplog.text
    assert _queried_ids(emulator) == Counter(task_ids)  # statuses came from the list
    assert all(r["status"] == 200 for r in emulator.requests if r["route"] == "list")


def test_pending_to_failed_without_ever_running(ds: str, emulator: Any) -> None:
    emulator.configure(pending_seconds=5, task_seconds=0.8)  # PENDING until it ends
    (task_id,) = _submit(ds, prompt="[fail:InternalError] lantern")
    (event,) = asyncio.run(_wait_all([task_id], ds, poll_interval=0.2))
    assert event["status"] == "failed"
    assert event["result"]["status"] == "FAILED"
    assert event["code"] == "InternalError"


def test_cancelled_while_pending_and_watched(ds: str, emulator: Any) -> None:
    emulator.configure(pending_seconds=60, task_seconds=120)
    (task_id,) = _submit(ds)

    async def main() -> dict[str, Any]:
        waiting = asyncio.ensure_future(_wait_all([task_id], ds, poll_interval=0.2))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await asyncio.to_thread(BailianHook(ds).cancel_task, task_id)
        return (await waiting)[0]

    event = asyncio.run(main())
    assert (event["status"], event["result"]["status"]) == ("failed", "CANCELED")


def test_a_restarted_triggerer_picks_up_the_same_tasks(ds: str, emulator: Any) -> None:
    emulator.configure(pending_seconds=0, task_seconds=30)
    task_ids = _submit(ds, 3)
    kwargs = [BailianTaskTrigger(t, ds, poll_interval=0.2).serialize()[1] for t in task_ids]

    async def first_triggerer() -> None:
        runs = [asyncio.ensure_future(_wait_all([t], ds, poll_interval=0.2)) for t in task_ids]
        await asyncio.sleep(0.6)
        for run in runs:  # the triggerer dies: its waits are cancelled mid-way
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)

    asyncio.run(first_triggerer())
    emulator.advance(40)  # the tasks finish while no triggerer watches them

    async def second_triggerer() -> list[dict[str, Any]]:
        async def one(kw: dict[str, Any]) -> dict[str, Any]:
            return next(iter([e.payload async for e in BailianTaskTrigger(**kw).run()]))

        return list(await asyncio.gather(*(one(kw) for kw in kwargs)))

    events = asyncio.run(second_triggerer())
    assert [e["status"] for e in events] == ["success"] * 3
    assert [e["result"]["task_id"] for e in events] == task_ids


def test_two_watchers_on_one_account_are_each_correct(ds: str, emulator: Any) -> None:
    emulator.configure(pending_seconds=0, task_seconds=0.8, max_concurrent=5)
    task_ids = _submit(ds, 6)
    results: dict[str, list[dict[str, Any]]] = {}

    def triggerer(name: str) -> None:
        results[name] = asyncio.run(_wait_all(task_ids, ds, poll_interval=0.2))

    threads = [threading.Thread(target=triggerer, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for name in ("a", "b"):
        assert [e["status"] for e in results[name]] == ["success"] * 6
        assert [e["result"]["task_id"] for e in results[name]] == task_ids
    assert _routes(emulator)["cancel"] == 0


def test_one_query_budget_for_list_and_single_queries(ds: str, emulator: Any) -> None:
    import requests

    (task_id,) = _submit(ds)
    emulator.configure(query_rps=3)
    headers = {"Authorization": f"Bearer {FAKE_KEY}"}
    base = emulator.base_url + "/api/v1/tasks"
    with requests.Session() as session:
        answers = [
            session.get(base + "/", params={"page_size": 1}, headers=headers).status_code,
            session.get(f"{base}/{task_id}", headers=headers).status_code,
            session.get(base + "/", params={"page_size": 1}, headers=headers).status_code,
            session.get(f"{base}/{task_id}", headers=headers).status_code,
        ]
    assert answers == [200, 200, 200, 429]  # list and single queries drain one budget


def test_gateway_waits_in_order_of_urgency(emulator: Any, make_conn: Any) -> None:
    make_conn("gw", emulator.base_url, api_style="gateway")
    emulator.configure(max_concurrent=5, pending_seconds=0, task_seconds=0.6)
    task_ids = _submit("gw", 12)
    events = asyncio.run(_wait_all(task_ids, "gw", poll_interval=0.2))
    assert [e["status"] for e in events] == ["success"] * 12
    assert _routes(emulator)["list"] == 0  # the gateway has no list endpoint


def test_the_limiter_serves_the_most_urgent_first() -> None:
    limiter = bailian_async.QueryRateLimiter(rate=20)
    served: list[str] = []

    async def ask(name: str, urgency: int) -> None:
        await limiter.acquire(urgency)
        served.append(name)

    async def main() -> None:
        await limiter.acquire()  # takes the free slot: the others queue
        await asyncio.gather(
            ask("pending-1", bailian_async.IDLE),
            ask("pending-2", bailian_async.IDLE),
            ask("running", bailian_async.NORMAL),
            ask("finishing", bailian_async.URGENT),
        )

    asyncio.run(main())
    assert served == ["finishing", "running", "pending-1", "pending-2"]


def test_list_interval_is_a_connection_setting(emulator: Any, make_conn: Any) -> None:
    from airflow_provider_bailian.connection import BailianSettings

    class Conn:
        conn_id, host, schema, port, password = "c", emulator.base_url, None, None, "sk-fake-x"
        extra_dejson: dict[str, Any] = {}

    assert BailianSettings.from_connection(Conn()).list_interval == 5.0
    Conn.extra_dejson = {"list_interval": "2.5"}
    assert BailianSettings.from_connection(Conn()).list_interval == 2.5
    Conn.extra_dejson = {"list_interval": "soon"}
    with pytest.raises(Exception, match="list_interval='soon' is not a number"):
        BailianSettings.from_connection(Conn())
