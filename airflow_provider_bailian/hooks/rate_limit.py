"""The query rate limiter: one per Bailian account, shared by the sync hook and the async client.

Bailian's query limit (20 QPS for DashScope) is per account, not per task, so every status
query of one account in the process, sync or async, takes its slot from the same limiter.
It imports nothing heavy: the sync hook loads it without the async client's httpx.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
import weakref
from typing import TYPE_CHECKING

from airflow_provider_bailian import metrics

if TYPE_CHECKING:
    from airflow_provider_bailian.connection import BailianSettings

_limiters: dict[str, QueryRateLimiter] = {}


#: Urgency of a query for the shared limiter (lower is served first).
URGENT, NORMAL, IDLE = 0, 1, 2


class QueryRateLimiter:
    """Spaces calls evenly at ``rate`` per second, across every coroutine that shares it.

    When callers queue, the most urgent goes first (a RUNNING task near its finish before
    a PENDING one), then the oldest: the account's query budget goes where a finish can be
    seen. A free slot is taken without an ``await`` in between, so the spacing holds across
    event loops; the queue of waiters is per event loop.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next_slot = 0.0
        self._seq = itertools.count()
        self._dispatchers: set[asyncio.Task[None]] = set()
        self._queues: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, list[tuple[int, int, asyncio.Future[None]]]
        ] = weakref.WeakKeyDictionary()

    def reserve(self) -> float:
        """Take the next slot; returns how long to wait for it (the sync hook sleeps it)."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self.rate
        return slot - now

    async def acquire(self, urgency: int = NORMAL) -> None:
        if self.rate <= 0:
            return
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, [])
        now = time.monotonic()
        if not queue and now >= self._next_slot:
            self._next_slot = now + 1.0 / self.rate
            return
        metrics.held()
        waiter: asyncio.Future[None] = loop.create_future()
        heapq.heappush(queue, (urgency, next(self._seq), waiter))
        if len(queue) == 1:
            task = loop.create_task(self._dispatch(queue))
            self._dispatchers.add(task)
            task.add_done_callback(self._dispatchers.discard)
        await waiter

    async def _dispatch(self, queue: list[tuple[int, int, asyncio.Future[None]]]) -> None:
        """Hand out slots to the queued callers of one loop, most urgent first."""
        while queue:
            now = time.monotonic()
            if now + 1e-4 < self._next_slot:  # a timer may fire a little early
                await asyncio.sleep(self._next_slot - now)
                continue
            _, _, waiter = heapq.heappop(queue)
            if waiter.done():  # its caller was cancelled
                continue
            self._next_slot = max(now, self._next_slot) + 1.0 / max(self.rate, 1e-9)
            waiter.set_result(None)


def rate_limiter_for(settings: BailianSettings) -> QueryRateLimiter:
    """The process-wide limiter of one API key (the most conservative rate asked wins)."""
    key = settings.account_key
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = _limiters[key] = QueryRateLimiter(settings.query_rate_limit)
    elif 0 < settings.query_rate_limit < limiter.rate or limiter.rate <= 0:
        limiter.rate = settings.query_rate_limit
    return limiter
