"""One status watcher per event loop and account: waiting costs per video, not per queue.

Bailian runs only a few tasks of an account at once (5 for wan2.5+); the rest wait
PENDING, maybe for hours. Polling every waiting task on its own spends the account's
shared query budget (20 QPS) on queued tasks that cannot have changed. Instead every
``BailianTaskTrigger`` of an account registers its task with the watcher of its event
loop and awaits the terminal result.

DashScope style ("list" strategy): the watcher reads the account's ``status=RUNNING``
task list (short, since concurrency is capped) to learn which watched tasks run and
since when, lists every ``list_interval`` seconds (D, a connection extra) while any
watched task may be running (a task can fail seconds after it starts), and reads a task
that left the RUNNING list once with ``GET /tasks/{id}`` (the list carries no video URL
or usage). A task that registers is placed by the next list read, not by a read of its
own (only a task submitted long ago, a restarted triggerer's, which may have finished
unseen, is read at once). Bailian starts an account's queued tasks in order, so once a
task submitted later is seen running or finished, every earlier one still believed
queued has started: one missing from the list ran entirely between two list reads and
is read. Queued tasks are read on their own only while their model's slots look free. A
list that is missing (404) or keeps failing hands the tasks to per-task polling for a
while (logged once).

Gateway style ("queue" strategy; no list endpoint): each task is polled on its own, but
the shared limiter serves the most urgent query first (a RUNNING task near its expected
finish before a PENDING one). A running video is read every ``max_interval`` until it may
finish (``EARLIEST_FINISH``), then every 9 s shrinking to ``GATEWAY_FINISH_WINDOW`` (6 s)
by 60 % of its expected time. A PENDING task is not read while
the account's slots for its model are known to be full: Bailian starts an account's tasks
in order, so one read of the first queued task every ``QUEUED_RECHECK`` stands for all
behind it, and a task submitted behind full slots is not read on arrival. When a finish
frees a slot, the next queued task (submission order) has most likely started: it is read
soon after and scheduled as a running task from that moment.

Each watcher is correct on its own (Airflow may run the same trigger twice, on several
triggerers): its state is only what it has read, so a new one picks up where a lost one
stopped. It only reads; it never cancels.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
import math
import random
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_provider_bailian import metrics
from airflow_provider_bailian.exceptions import BailianAPIError, BailianError
from airflow_provider_bailian.hooks.bailian_async import BailianAsyncClient
from airflow_provider_bailian.hooks.rate_limit import IDLE, NORMAL, URGENT
from airflow_provider_bailian.models import TaskResult, TaskStatus, running_limit
from airflow_provider_bailian.polling import (
    DEFAULT_MAX_ERROR_SECONDS,
    PollPolicy,
    expected_generation_seconds,
)
from airflow_provider_bailian.protocol import ApiStyle, is_transient
from airflow_provider_bailian.wait_target import WaitTarget

# The logger keeps the name it had under hooks/: logging configured for it still applies.
log = logging.getLogger("airflow_provider_bailian.hooks.watcher")

#: The earliest a video can be ready, as a share of its expected generation time.
EARLIEST_FINISH = 0.4
#: The longest pause of the list stream while the tasks are polled one by one (fallback).
MAX_QUIET_LIST_INTERVAL = 30.0
#: Page sizes tried for the task list: its maximum is not published, so smaller on a 400.
LIST_PAGE_SIZES = (100, 50, 20, 10)
#: Failed list reads in a row before the tasks fall back to per-task polling, and for how long.
LIST_FAILURES_BEFORE_FALLBACK = 3
FALLBACK_SECONDS = 300.0
#: A task submitted this long before it registers may have finished unseen: read it once
#: unless the first list read shows it running.
FRESH_SECONDS = 60.0
#: A queued task a later one overtook (not in order after all) is read again at most this often.
PENDING_RECHECK = 30.0
#: Gateway style: a PENDING task behind full slots is still read this often (a safety net),
#: or, deep in the queue, once in the earliest time its turn can come.
QUEUED_RECHECK = 300.0
#: Gateway style: a queued task behind another queued one is read at most this often: Bailian
#: starts an account's tasks in order, so the first of them, read every ``QUEUED_RECHECK``,
#: stands for the rest (one found running early starts a chain of reads, see ``_saw``).
DEEP_RECHECK = 1800.0
#: Gateway style: a queued task whose predecessor's finish freed a slot is read this long
#: after the finish was seen (the service starts it at once), then once more if still PENDING.
START_READ_DELAY = 1.0
START_READ_RETRY = 3.0
#: Gateway style, once a video may be finishing: the sleep between two reads (a finish is
#: seen within it; reading a late video every 2 s costs three times the reads for 2 s
#: less), shortened by up to ``GATEWAY_JITTER`` so many waits do not read in step.
GATEWAY_FINISH_WINDOW = 6.0
GATEWAY_JITTER = 0.1
#: ... but few videos finish right after ``EARLIEST_FINISH``: there the sleep starts at this
#: many seconds and shrinks to the window by this share of the expected time.
GATEWAY_EARLY_WINDOW = 9.0
GATEWAY_DENSE_FROM = 0.6
#: Timers may fire a little early (the loop's clock resolution): a deadline this close counts
#: as reached, or a coroutine could spin on ever shorter sleeps.
CLOCK_SLACK = 0.001
#: Strategies: "list" (DashScope), "queue" (gateway), "per_task" (every task on its own).
STRATEGIES = ("list", "queue", "per_task")


#: What the watcher believes of a task not yet seen running: read PENDING, or not read yet.
QUEUED = (TaskStatus.PENDING, None)
#: The statuses of a task that has started.
STARTED = (TaskStatus.RUNNING, TaskStatus.SUCCEEDED, TaskStatus.FAILED)


class WatchStrategy(str, Enum):
    """How a watcher learns its tasks' statuses; equal to its string (``"list"``), which
    every place that takes a strategy also accepts. The values are ``STRATEGIES``."""

    LIST = "list"  # DashScope: the account's RUNNING list, direct reads only when needed
    QUEUE = "queue"  # gateway: per-task polls, ordered by urgency, queued tasks held back
    PER_TASK = "per_task"  # every task polled on its own by its PollPolicy

    @classmethod
    def parse(cls, value: WatchStrategy | str) -> WatchStrategy:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"strategy={value!r}: expected one of {', '.join(s.value for s in cls)}"
            ) from None

    def __str__(self) -> str:
        return self.value


class WaitFailed(Exception):
    """The wait ended without a terminal status (a permanent error, or errors for too long)."""

    def __init__(self, message: str, error: BailianError | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = getattr(error, "code", None)
        self.request_id = getattr(error, "request_id", None)


@dataclass(eq=False)
class Registration:
    """One waiter on one task: its result future and the last status the watcher saw."""

    task_id: str
    future: asyncio.Future[TaskResult]
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    status: str = "unknown"  # the text of the last status seen, for the trigger's log lines


@dataclass(eq=False)
class _Watch:
    target: WaitTarget
    expected: float
    poll_interval: float | None
    since: float  # local epoch seconds the task was submitted (or the wait started)
    max_error_seconds: float
    seq: int
    registrations: set[Registration] = field(default_factory=set)
    status: TaskStatus | None = None  # None: not read yet
    seen_running: bool = False
    running_since: float | None = None
    checked_at: float | None = None
    misses: int = 0  # direct reads said RUNNING while the list did not show it
    list_blind: bool = False
    busy: bool = False  # a direct read or a poller owns it right now
    turn: asyncio.Event | None = None  # gateway: set when a slot may be ours
    registered_at: float = 0.0
    started_hint: float | None = None  # gateway: a finish freed a slot for it at this time
    hint_tries: int = 0
    order_misses: int = 0  # list: reads that found it PENDING although a later one started
    _policy: PollPolicy | None = None

    @property
    def task_id(self) -> str:
        return self.target.task_id

    @property
    def model(self) -> str | None:
        return self.target.model

    @property
    def submitted_at(self) -> float | None:
        return self.target.submitted_at

    @property
    def policy(self) -> PollPolicy:
        """The per-task policy (backoff, per-task polling), made when first needed: a
        thousand registrations at once must stay cheap for the event loop."""
        if self._policy is None:
            self._policy = PollPolicy.create(self.target, poll_interval=self.poll_interval)
        return self._policy

    @property
    def order(self) -> tuple[float, int]:
        """Place in the account's queue: Bailian starts queued tasks first come, first served."""
        return (self.since, self.seq)


class StatusWatcher:
    """Waits for many tasks of one account in one event loop (see the module docstring)."""

    def __init__(
        self, client: BailianAsyncClient, strategy: WatchStrategy | str | None = None
    ) -> None:
        if strategy is None:
            dashscope = client.protocol.style is ApiStyle.DASHSCOPE
            strategy = WatchStrategy.LIST if dashscope else WatchStrategy.QUEUE
        self.client = client
        self.strategy = WatchStrategy.parse(strategy)
        self._watches: dict[str, _Watch] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        # Kept up to date as statuses change, so no step walks every watched task:
        self._running: Counter[str | None] = Counter()  # watched tasks RUNNING, by model
        self._queue: dict[str | None, list[tuple[float, int, _Watch]]] = {}  # not yet RUNNING
        self._seen_running: set[_Watch] = set()
        self._unchecked: set[_Watch] = set()
        self._min_poll_interval = math.inf
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._page_sizes = list(LIST_PAGE_SIZES)
        self._list_failures = 0
        self._fallback_until = 0.0
        self._fallback_logged = False
        self._listed: dict[str, dict[str, Any]] = {}
        self._listed_at: float | None = None
        self._running_by_model: Counter[str] = Counter()
        self._list_sent_at: float | None = None
        #: By model: the queue place of the latest watched task known to have started.
        self._started_upto: dict[str | None, tuple[float, int]] = {}
        #: By model: the most tasks seen running at once (gateway, see ``_more_slots``).
        self._most_running: Counter[str | None] = Counter()
        #: By model: the queue place and time of the last read that found the first queued
        #: task PENDING (every task after it was queued then too).
        self._head_pending: dict[str | None, tuple[tuple[float, int], float]] = {}

    # ---- registering -------------------------------------------------------------------
    def register(
        self,
        target: WaitTarget | str,
        *,
        model: str | None = None,
        duration: int | None = None,
        poll_interval: float | None = None,
        submitted_at: float | None = None,
        started_at: float | None = None,
        max_error_seconds: float = DEFAULT_MAX_ERROR_SECONDS,
    ) -> Registration:
        """Watch ``target`` (or a task id with its facts as keywords); the registration's
        future gets the terminal result."""
        target = WaitTarget.of(target, model=model, duration=duration, submitted_at=submitted_at)
        task_id = target.task_id
        watch = self._watches.get(task_id)
        if watch is None:
            watch = self._watches[task_id] = _Watch(
                target=target,
                expected=expected_generation_seconds(target.model, target.duration),
                poll_interval=poll_interval if poll_interval and poll_interval > 0 else None,
                since=target.submitted_at or started_at or time.time(),
                max_error_seconds=max_error_seconds,
                seq=next(self._seq),
                registered_at=time.time(),
            )
            bisect.insort(self._queue.setdefault(target.model, []), (*watch.order, watch))
            self._unchecked.add(watch)
            self._min_poll_interval = min(self._min_poll_interval, watch.poll_interval or math.inf)
            self._start(watch)
        elif poll_interval and poll_interval > 0:
            watch.poll_interval = min(watch.poll_interval or poll_interval, poll_interval)
            self._min_poll_interval = min(self._min_poll_interval, poll_interval)
        reg = Registration(task_id, asyncio.get_running_loop().create_future())
        reg.status = _text(watch.status)
        watch.registrations.add(reg)
        return reg

    def unregister(self, reg: Registration) -> None:
        """The waiter is gone (event sent, timeout, cancelled): stop watching when it was the last."""
        watch = self._watches.get(reg.task_id)
        if watch is None:
            return
        watch.registrations.discard(reg)
        if not watch.registrations:
            self._drop(watch)

    async def wait(self, target: WaitTarget | str, **options: Any) -> TaskResult:
        """Register, await the terminal result, unregister."""
        reg = self.register(target, **options)
        try:
            return await reg.future
        finally:
            self.unregister(reg)

    @property
    def watched(self) -> int:
        return len(self._watches)

    # ---- bookkeeping ---------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start(self, watch: _Watch) -> None:
        if self.strategy is WatchStrategy.LIST and time.time() >= self._fallback_until:
            if self._runner is None or self._runner.done():
                self._runner = asyncio.get_running_loop().create_task(self._list_stream())
            self._wake.set()
        else:
            self._spawn(self._poll_alone(watch))

    def _drop(self, watch: _Watch) -> None:
        if self._watches.get(watch.task_id) is watch:
            del self._watches[watch.task_id]
            self._leave_queue(watch)
            self._seen_running.discard(watch)
            self._unchecked.discard(watch)
            if watch.status is TaskStatus.RUNNING:
                self._running[watch.model] -= 1
                self._release(watch.model)
            if not self._watches:
                self._min_poll_interval = math.inf
                self._stop_helpers()

    def _stop_helpers(self) -> None:
        """Nothing left to watch: end the list stream and the pollers now, not after their
        sleep (a test or ``dag.test()`` may close the event loop right after the last wait)."""
        current = asyncio.current_task()
        for task in [self._runner, *self._tasks]:
            if task is not None and task is not current and not task.done():
                task.cancel()

    def _leave_queue(self, watch: _Watch) -> None:
        queue = self._queue.get(watch.model, [])
        i = self._ahead(watch)
        if i < len(queue) and queue[i][2] is watch:
            queue.pop(i)

    def _note(self, watch: _Watch, status: TaskStatus) -> None:
        if status is watch.status:
            return
        was = watch.status
        watch.status = status
        for reg in watch.registrations:
            reg.status = _text(status)
            reg.changed.set()
        freed_at = None
        if status is TaskStatus.RUNNING:
            self._running[watch.model] += 1
            self._leave_queue(watch)
        elif was is TaskStatus.RUNNING:
            self._running[watch.model] -= 1
            freed_at = time.time()
        elif status not in QUEUED:
            self._leave_queue(watch)
        if status in STARTED:
            upto = self._started_upto.get(watch.model)
            if upto is None or watch.order > upto:
                self._started_upto[watch.model] = watch.order
        self._release(watch.model, freed_at)

    def _release(self, model: str | None, freed_at: float | None = None) -> None:
        """A slot of ``model`` may be free: the queued tasks next in line may poll now.

        ``freed_at``: a watched task of ``model`` finished, so the next queued one has most
        likely started (gateway: it is read soon after, see ``_queued``).
        """
        free = self._free_by_watch(model)
        queue = self._queue.get(model, [])
        hinted = False
        for *_, watch in queue[:free]:
            if freed_at is not None:
                hinted = self._hint(watch, freed_at) or hinted
            if watch.turn is not None:
                watch.turn.set()
        if freed_at is not None and not hinted:
            # A finish frees a slot whatever the count says (the account may run more than
            # the documented limit): the next queued task without a hint gets one.
            self._hint_next(model, freed_at, start=free)
        if len(queue) > free and (first := queue[free][2]).turn is not None:
            first.turn.set()  # now first behind the slots: its recheck gets shorter

    def _finish(self, watch: _Watch, result: TaskResult) -> None:
        metrics.detected(self.client, watch.model, result, watch.submitted_at)
        self._note(watch, result.status)
        for reg in watch.registrations:
            if not reg.future.done():
                reg.future.set_result(result)
        self._drop(watch)

    def _fail(self, watch: _Watch, message: str, error: BailianError | None) -> None:
        for reg in watch.registrations:
            if not reg.future.done():
                reg.future.set_exception(WaitFailed(message, error))
        self._drop(watch)

    def _watching(self, watch: _Watch) -> bool:
        return self._watches.get(watch.task_id) is watch

    # ---- one task, read directly ---------------------------------------------------------
    async def _get(self, watch: _Watch, urgency: int) -> TaskResult | None:
        """One status read, retried on transient errors; ``None`` when the wait ended."""
        errors = 0
        errors_since: float | None = None
        task_id = watch.task_id
        while self._watching(watch):
            try:
                metrics.status_request(self.client, "task")
                return await self.client.get_task(task_id, urgency)
            except BailianError as exc:
                metrics.throttled(self.client, exc, "query")
                now = time.time()
                if not is_transient(exc):
                    self._fail(watch, f"Polling Bailian task {task_id} failed: {exc}", exc)
                    return None
                errors += 1
                errors_since = errors_since or now
                if now - errors_since > watch.max_error_seconds:
                    self._fail(
                        watch,
                        f"Polling Bailian task {task_id} failed {errors} times in a row over "
                        f"{now - errors_since:.0f} s; last error: {exc}",
                        exc,
                    )
                    return None
                delay = watch.policy.error_delay(errors, exc.retry_after)
                log.warning(
                    "Polling Bailian task %s failed (%s); retry %d in %.1f s",
                    task_id,
                    exc,
                    errors,
                    delay,
                )
                await asyncio.sleep(delay)
        return None

    def _urgency(self, watch: _Watch, now: float) -> int:
        if self.strategy is WatchStrategy.PER_TASK:
            return NORMAL
        if watch.status is not TaskStatus.RUNNING:
            return IDLE
        started = watch.running_since or now
        return URGENT if now - started >= EARLIEST_FINISH * watch.expected else NORMAL

    def _saw(self, watch: _Watch, result: TaskResult, now: float) -> bool:
        """Record a direct read; True when it ended the wait."""
        watch.checked_at = now
        self._unchecked.discard(watch)
        if result.status is TaskStatus.PENDING and self._ahead(watch) == 0:
            self._head_pending[watch.model] = (watch.order, now)
        self._note(watch, result.status)
        if result.status.is_terminal:
            self._finish(watch, result)
            return True
        if result.status is TaskStatus.RUNNING:
            if self.strategy is WatchStrategy.QUEUE:
                self._more_slots(watch.model, now)
            watch.seen_running = True
            self._seen_running.add(watch)
            if watch.running_since is None:
                watch.running_since = watch.policy._generation_start(result, now)
                if watch.started_hint is not None and not result.scheduled_time:
                    # No start time in the answer: it started when the slot was freed.
                    watch.running_since = min(watch.running_since, watch.started_hint)
                    watch.policy._running_since = watch.running_since
        return False

    def _more_slots(self, model: str | None, now: float) -> None:
        """Gateway: more tasks seen running than ever before and than the limit allows (a
        finish not seen yet, or a higher limit for this account): the next queued one may
        have started too, read it."""
        running = self._running[model]
        if running <= max(running_limit(model), self._most_running[model]):
            return
        self._most_running[model] = running
        self._hint_next(model, now)

    def _hint(self, watch: _Watch, at: float) -> bool:
        """Gateway: ``watch`` has most likely started at ``at``: it is read soon after (see
        ``_queued``). False when it already has a hint."""
        if watch.started_hint is not None or watch.status not in QUEUED:
            return False
        watch.started_hint, watch.hint_tries = at, 0
        if watch.turn is not None:
            watch.turn.set()
        return True

    def _hint_next(self, model: str | None, at: float, start: int = 0) -> None:
        """Hint the first queued task of ``model`` from place ``start`` that has none yet."""
        for *_, watch in self._queue.get(model, [])[start:]:
            if self._hint(watch, at):
                return

    def _presumed_started(self, watch: _Watch) -> bool:
        """A later task of its model was seen running or finished: it has started too."""
        upto = self._started_upto.get(watch.model)
        return upto is not None and watch.order < upto

    async def _read_once(self, watch: _Watch) -> None:
        """List strategy: the one direct read of a task (it left the RUNNING list, it has
        started unseen, it may have, or it is an old task registering)."""
        watch.busy = True
        try:
            left_list = watch.seen_running
            presumed = not left_list and self._presumed_started(watch)
            result = await self._get(watch, URGENT if left_list or presumed else IDLE)
            if result is None or self._saw(watch, result, time.time()):
                return
            if presumed and result.status is TaskStatus.PENDING:
                watch.order_misses += 1  # not in order after all: ask less often
            if left_list and result.status is TaskStatus.RUNNING:
                watch.misses += 1
                if watch.misses >= 2:
                    # The list does not show this task (another scope?): poll it on its own.
                    watch.list_blind = True
                    log.info("Bailian task %s is not in the task list; polling it", watch.task_id)
                    self._spawn(self._poll_alone(watch))
        finally:
            if not watch.list_blind:
                watch.busy = False

    async def _poll_alone(self, watch: _Watch) -> None:
        """Per-task polling with ``PollPolicy`` (gateway, fallback, or the old behaviour)."""
        watch.busy = True
        try:
            if self._queued_on_arrival(watch):
                # Behind a full set of slots the moment it was submitted: read it on its turn.
                await self._queued(watch, 0.0)
            while self._watching(watch):
                listed = self.strategy is WatchStrategy.LIST and not watch.list_blind
                if listed and time.time() >= self._fallback_until:
                    return  # the list stream takes this task back
                result = await self._get(watch, self._urgency(watch, time.time()))
                now = time.time()
                if result is None or self._saw(watch, result, now):
                    return
                delay = self._running_delay(watch, watch.policy.next_delay(result, now), now)
                if (
                    result.status is TaskStatus.PENDING
                    and self.strategy is not WatchStrategy.PER_TASK
                ):
                    if watch.started_hint is not None:
                        # Not started yet after all: look once more, then wait for a slot.
                        watch.hint_tries += 1
                        retry = watch.hint_tries < 2
                        watch.started_hint = (
                            now + START_READ_RETRY - START_READ_DELAY if retry else None
                        )
                    await self._queued(watch, delay)
                else:
                    await asyncio.sleep(delay)
        finally:
            watch.busy = False

    def _queued_on_arrival(self, watch: _Watch) -> bool:
        """Gateway: submitted so recently, behind so many tasks of its model, that it cannot
        have started (none of those can have finished yet): its first read waits its turn."""
        if self.strategy is not WatchStrategy.QUEUE or watch.submitted_at is None:
            return False
        young = time.time() - watch.submitted_at < EARLIEST_FINISH * watch.expected
        # The first one behind the slots is read all the same: found running, it tells that
        # the account runs more than the documented limit (see ``_more_slots``).
        return young and self._ahead(watch) > self._free_by_watch(watch.model)

    def _running_delay(self, watch: _Watch, delay: float, now: float) -> float:
        """Gateway: once the video may be finishing, read it every ``GATEWAY_FINISH_WINDOW``
        (wider just after ``EARLIEST_FINISH``; ``poll_interval`` still caps it); before, every
        ``max_interval`` (only a failure can end it), but none past that moment."""
        if (
            self.strategy is not WatchStrategy.QUEUE
            or watch.status is not TaskStatus.RUNNING
            or watch.running_since is None
        ):
            return delay
        bound = watch.poll_interval or math.inf
        may_finish = watch.running_since + EARLIEST_FINISH * watch.expected
        if now < may_finish:
            sparse = max(delay, watch.policy.max_interval)
            return min(
                bound, sparse, max(may_finish - now, CLOCK_SLACK) + GATEWAY_FINISH_WINDOW / 2
            )
        # Few videos finish this early: the sleep shrinks from the wider bound to the window.
        early = 1 - (now - may_finish) / ((GATEWAY_DENSE_FROM - EARLIEST_FINISH) * watch.expected)
        wider = max(0.0, early) * (GATEWAY_EARLY_WINDOW - GATEWAY_FINISH_WINDOW)
        window = GATEWAY_FINISH_WINDOW + wider
        return min(bound, window * (1 - GATEWAY_JITTER * random.random()))

    # ---- gateway: PENDING tasks behind full slots wait their turn ------------------------
    def _next_in_line(self, watch: _Watch) -> bool:
        """May this queued task have started? Only if a slot of its model is free for it."""
        return self._ahead(watch) < self._free_by_watch(watch.model)

    async def _queued(self, watch: _Watch, delay: float) -> None:
        """Sleep ``delay``, then longer while the task cannot have started (slots full)."""
        entered = time.time()
        first = entered + delay
        while self._watching(watch):
            now = time.time()
            soon = now + CLOCK_SLACK
            last = self._queued_since(watch, entered) + self._queued_recheck(watch, delay)
            hinted = None if watch.started_hint is None else watch.started_hint + START_READ_DELAY
            if soon >= last or (soon >= first and self._next_in_line(watch)):
                return
            if hinted is not None and soon >= hinted:
                return
            if watch.turn is None:
                watch.turn = asyncio.Event()
            watch.turn.clear()
            timeout = (first if soon < first else last) - now
            if hinted is not None:
                timeout = min(timeout, hinted - now)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(watch.turn.wait(), timeout=timeout)

    def _free_by_watch(self, model: str | None) -> int:
        """Slots of ``model`` free as far as the tasks this watcher saw running tell."""
        return max(0, running_limit(model) - self._running[model])

    def _ahead(self, watch: _Watch) -> int:
        """Watched tasks of its model before it in the queue, not yet seen running."""
        queue = self._queue.get(watch.model, [])
        return bisect.bisect_left(queue, watch.order, key=lambda item: item[:2])

    def _queued_since(self, watch: _Watch, entered: float) -> float:
        """Since when it is known to be queued: a task before it found PENDING says so too."""
        head = self._head_pending.get(watch.model)
        if head is not None and head[0] <= watch.order:
            return max(entered, head[1])
        return entered

    def _queued_recheck(self, watch: _Watch, delay: float) -> float:
        """How long a queued task behind full slots sleeps at most (the safety net)."""
        # The safety net spends at most a quarter of the query rate on queued tasks.
        rate = self.client.limiter.rate
        share = len(self._queue.get(watch.model, [])) / (0.25 * rate) if rate > 0 else 0.0
        # Deep in the queue its turn cannot come before every task ahead had a turn.
        ahead = self._ahead(watch)
        limit = running_limit(watch.model)
        turn_in = (ahead // limit) * EARLIEST_FINISH * watch.expected
        recheck = QUEUED_RECHECK if ahead <= self._free_by_watch(watch.model) else DEEP_RECHECK
        cap = max(delay, recheck, share, turn_in)
        if watch.poll_interval:
            cap = min(cap, max(delay, watch.poll_interval))
        return cap

    # ---- DashScope: one list stream for every watched task -------------------------------
    async def _list_stream(self) -> None:
        while self._watches:
            now = time.time()
            if now < self._fallback_until:
                for watch in list(self._watches.values()):
                    if not watch.busy:
                        self._spawn(self._poll_alone(watch))
                await self._nap(min(self._fallback_until - now, MAX_QUIET_LIST_INTERVAL))
                continue
            sent = time.time()
            try:
                listed = await self._read_running_list()
            except BailianError as exc:
                await self._list_failed(exc)
                continue
            self._list_failures = 0
            self._listed, self._listed_at, self._list_sent_at = listed, time.time(), sent
            self._running_by_model = Counter(
                str(r.get("model_name") or "") for r in listed.values()
            )
            self._apply(self._listed_at)
            until = time.time() + self._next_list_delay(time.time())
            while self._watches and time.time() + CLOCK_SLACK < until:
                if await self._nap(until - time.time()):
                    self._apply(time.time())  # new registrations: decide with the last list
                    until = min(until, time.time() + self._next_list_delay(time.time()))

    async def _nap(self, seconds: float) -> bool:
        """Sleep, or less when a task registers; True when woken."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, seconds))
        except asyncio.TimeoutError:
            return False
        return True

    async def _read_running_list(self) -> dict[str, dict[str, Any]]:
        """Every RUNNING task of the account (all pages), by task id."""
        rows: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            size = self._page_sizes[0]
            try:
                metrics.status_request(self.client, "list")
                data = await self.client.list_tasks(status="RUNNING", page_no=page, page_size=size)
            except BailianAPIError as exc:
                if exc.status == 400 and len(self._page_sizes) > 1:
                    log.debug("The task list refused page_size=%d (%s); trying smaller", size, exc)
                    self._page_sizes.pop(0)
                    rows, page = {}, 1
                    continue
                raise
            items = data.get("data") if isinstance(data, dict) else None
            if not isinstance(items, list) and isinstance(data, dict):
                items = data.get("tasks")
            if not isinstance(items, list):
                raise BailianAPIError(
                    f"Unreadable list answer (no 'data' or 'tasks' array): {str(data)[:200]}",
                    status=200,
                )
            for item in items:
                # A server that ignores the status filter must not make a task look running.
                running = isinstance(item, dict) and item.get("status", "RUNNING") == "RUNNING"
                if running and item.get("task_id"):
                    rows[str(item["task_id"])] = item
            pages = data.get("total_page")
            if not items or not isinstance(pages, int) or page >= pages:
                return rows
            page += 1

    async def _list_failed(self, exc: BailianError) -> None:
        metrics.throttled(self.client, exc, "list")
        self._list_failures += 1
        status = getattr(exc, "status", None)
        missing = status in (404, 405, 501)
        if missing or not is_transient(exc) or self._list_failures >= LIST_FAILURES_BEFORE_FALLBACK:
            self._list_failures = 0
            self._fallback_until = time.time() + (math.inf if missing else FALLBACK_SECONDS)
            if not self._fallback_logged:
                self._fallback_logged = True
                log.warning(
                    "The Bailian task list at %s is %s (%s): its %d waits poll their tasks one "
                    "by one%s",
                    self.client.settings.base_url,
                    "missing" if missing else "failing",
                    exc,
                    len(self._watches),
                    "" if missing else f" for {FALLBACK_SECONDS:.0f} s, then try the list again",
                )
            return
        delay = min(30.0, 2.0**self._list_failures)
        await asyncio.sleep(max(delay, getattr(exc, "retry_after", None) or 0.0))

    def _free_slots(self, model: str | None) -> int:
        """Slots of ``model`` the last list showed free (the list counts other applications' tasks too)."""
        counts = self._running_by_model
        running = counts[model] if model else sum(counts.values())
        return max(0, running_limit(model) - running)

    def _placed(self, watch: _Watch) -> bool:
        """Has a list read sent after the task registered been applied (it saw the task)?"""
        return self._list_sent_at is not None and self._list_sent_at >= watch.registered_at

    def _apply(self, now: float) -> None:
        """Bring the watched tasks up to date with the last RUNNING list.

        Only the tasks that can need a step are visited: those in the list, those seen
        running, new ones, and queued ones that have started (a later one has) or may
        have (their model's slots look free).
        """
        for tid in self._listed:
            watch = self._watches.get(tid)
            if watch is None or watch.busy:
                continue
            self._note(watch, TaskStatus.RUNNING)
            watch.seen_running, watch.misses = True, 0
            self._seen_running.add(watch)
            self._unchecked.discard(watch)
            if watch.running_since is None:
                watch.running_since = _start_time(self._listed[tid], now)
        visit = set(self._seen_running) | self._unchecked
        queued: dict[_Watch, bool] = {}  # queued task -> it has started (a later one has)
        for model, queue in self._queue.items():
            upto = self._started_upto.get(model)
            free = self._free_slots(model)
            for i, (*order, watch) in enumerate(queue):
                started = upto is not None and tuple(order) < upto
                if not started and i >= free:
                    break
                queued[watch] = started
        visit.update(queued)
        for watch in sorted(visit, key=lambda w: w.order):
            if watch.busy or not self._watching(watch) or watch.task_id in self._listed:
                continue
            if not self._placed(watch):
                continue  # the next list read places it
            if watch.seen_running:
                # It left the RUNNING list (finished): read it, once per newer list.
                if watch.checked_at is None or watch.checked_at < (self._listed_at or 0.0):
                    self._spawn(self._read_once(watch))
                continue
            if watch in self._unchecked:
                self._unchecked.discard(watch)
                if watch.registered_at - watch.since > FRESH_SECONDS:
                    # Submitted long ago (a restarted triggerer): it may have finished unseen.
                    self._spawn(self._read_once(watch))
                continue
            if watch not in queued:
                continue
            last = watch.checked_at
            if queued[watch]:
                # A later task started, so this one has: not in the list, it already ended.
                interval = min(PENDING_RECHECK, self._dense_interval() * 2**watch.order_misses)
            else:
                # Slots look free: it may have started and ended between two list reads.
                interval = self._dense_interval()
            if last is None or now - last >= interval - CLOCK_SLACK:
                self._spawn(self._read_once(watch))

    def _dense_interval(self) -> float:
        return min(self.client.settings.list_interval or 5.0, self._min_poll_interval)

    def _next_list_delay(self, now: float) -> float:
        """D while anything is watched: any queued task may start at any moment and end
        seconds later (a content check), so a longer period could miss both."""
        return self._dense_interval()


def _start_time(row: dict[str, Any], now: float) -> float:
    """A list item's ``start_time`` (epoch ms) when plausible on our clock, else now."""
    value = row.get("start_time")
    if value is None:
        return now
    try:
        started = float(value) / 1000.0
    except (TypeError, ValueError):
        return now
    return started if now - 86400 <= started <= now else now


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, StatusWatcher]] = (
    weakref.WeakKeyDictionary()
)


def _text(status: TaskStatus | None) -> str:
    """A status as the trigger's log lines show it ("RUNNING"; "unknown" before any read)."""
    return "unknown" if status is None else status.value


def watcher_for(client: BailianAsyncClient) -> StatusWatcher:
    """The watcher of the running event loop for the client's account (base URL + key)."""
    settings = client.settings
    key = settings.account_key
    per_loop = _watchers.setdefault(asyncio.get_running_loop(), {})
    watcher = per_loop.get(key)
    if watcher is None:
        watcher = per_loop[key] = StatusWatcher(client)
    else:
        watcher.client = client  # the latest settings (list_interval, rate) apply
    return watcher
