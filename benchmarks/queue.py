"""Waiting at queue scale: N videos submitted together to one account, 5 running at once.

Compares, side by side in one run, the ways to wait for all N in one event loop (as one
triggerer runs them):

* ``watcher``: the status watcher, DashScope style (one RUNNING-list stream per account,
  one ``GET`` per finished video);
* ``gateway``: the watcher, gateway style (per-task polls, served by urgency, queued
  tasks held while the account's slots are full);
* ``per-task``: every task polled on its own by ``PollPolicy`` (the behaviour before the
  watcher), through the same shared limiter;
* ``sdk``: the official SDK's ``wait()`` schedule (1, 1, 2, 2, 2, 4, 4, 4, 5, 5 ... s per
  task, no limiter), computed from the schedule.

Generation times are spread over a share of the expected 120 s (wan2.6-t2v, 5 s of video)
that the scenario sets:

* ``default``: 0.5-2x;
* ``gateway``: 0.6-1.4x, the gateway style's detection tail (a queued task's start must be
  inferred from a finish);
* ``dashscope``: 0.2-2x, and one video in ten failing 3 s after it starts (a content
  check): a start and an end can both fall between two list reads;
* ``processes``: the account's budget across processes: two triggerers (a watcher and a
  limiter each, as two processes have) and three workers waiting without deferring
  (per-task polling, a limiter each), all on one account.

Two modes:

* ``sim``: a virtual clock (an event loop whose time jumps to the next timer) and an
  in-process account model behind ``httpx.MockTransport``: the provider's real waiting
  code, no sockets; N = 200, 1,000, 5,000 by default.
* ``http``: the bundled emulator on 127.0.0.1 over real HTTP, with the clock of the
  emulator and the client both running ``--speed`` times faster than real time.

    python benchmarks/queue.py                 # sim at 200, 1000, 5000 and http at 200
    python benchmarks/queue.py sim 200         # one mode, one size
    python benchmarks/queue.py --write         # ... and replace the section in RESULTS.md
    python benchmarks/queue.py sim 20 200 --scenario gateway --strategies gateway --write

Each measurement runs in a subprocess of its own, so peak RSS belongs to that run.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path and its name would shadow
# the standard library's ``queue`` (which asyncio and httpx import): take the folder off.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import asyncio
import bisect
import heapq
import json
import random
import re
import resource
import selectors
import statistics
import subprocess
import tempfile
import time
import types
from collections import Counter, deque
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL, DURATION, EXPECTED, SLOTS = "wan2.6-t2v", 5, 120.0, 5
ACCOUNT_QPS = 20  # the account's query limit (429 above it)
QUERY_RATE = 10.0  # the provider's default query_rate_limit
LIST_INTERVAL = 5.0  # the default list_interval (D)
SEED = 11
STRATEGIES = ("watcher", "gateway", "per-task")
SECTION = "## Waiting at queue scale"
#: Scenario -> (shortest and longest generation as a share of EXPECTED, share failing early).
SCENARIOS = {
    "default": (0.5, 2.0, 0.0),
    "gateway": (0.6, 1.4, 0.0),
    "dashscope": (0.2, 2.0, 0.1),
    "processes": (0.5, 2.0, 0.0),
}
FAIL_AFTER = 3.0  # seconds after its start a failing video ends
#: The processes scenario: triggerers (a watcher each) and workers (per-task waits) on one account.
TRIGGERERS, WORKERS = 2, 3
scenario = "default"


# ---- the account: a FIFO queue with 5 slots ------------------------------------------------
def schedule(n: int, seed: int = SEED) -> tuple[list[float], list[float]]:
    """Start and end (seconds after submission) of n tasks, 5 at a time, first come first served."""
    starts, ends, _ = schedule_with_failures(n, seed)
    return starts, ends


def schedule_with_failures(n: int, seed: int = SEED) -> tuple[list[float], list[float], list[bool]]:
    """The scenario's schedule, and which tasks fail ``FAIL_AFTER`` s after they start."""
    lo, hi, fail_share = SCENARIOS[scenario]
    rng = random.Random(seed)
    free = [0.0] * SLOTS
    starts, ends, failed = [], [], []
    for _ in range(n):
        start = heapq.heappop(free)
        fails = rng.random() < fail_share
        end = start + (FAIL_AFTER if fails else rng.uniform(lo, hi) * EXPECTED)
        heapq.heappush(free, end)
        starts.append(start)
        ends.append(end)
        failed.append(fails)
    return starts, ends, failed


def sdk_figures(ends: list[float]) -> dict[str, Any]:
    """The SDK's wait() per task, from its schedule: every task polls at the same moments."""
    times, t, i = [], 0.0, 0
    horizon = max(ends) + 10
    while t <= horizon:
        times.append(t)
        t += min(5, 2 ** (i // 3) if i >= 2 else 1)
        i += 1
    polls, delays = 0, []
    per_instant = Counter()
    for end in ends:
        k = bisect.bisect_left(times, end)  # the first poll at or after the end sees it
        polls += k + 1
        delays.append(times[k] - end)
        per_instant[k] += 1
    # Tasks still polling at each instant (all share the instants): the busiest second.
    still = len(ends)
    peak, throttled = 0, 0
    for k in range(len(times)):
        peak = max(peak, still)
        throttled += max(0, still - ACCOUNT_QPS)
        still -= per_instant.get(k, 0)
    return {
        "requests": polls,
        "delays": delays,
        "peak_qps": peak,
        "throttled": throttled,
        "makespan": max(ends) + max(delays),
    }


# ---- a virtual clock -------------------------------------------------------------------------
class _Clock:
    def __init__(self, start: float, speed: float | None) -> None:
        self.speed = speed  # None: virtual (jumps); else: real time times speed
        self.base_real = time.monotonic()
        self.base_wall = 1_000_000.0
        self.virtual = start

    def now(self) -> float:
        if self.speed is None:
            return self.virtual
        return self.base_wall + (time.monotonic() - self.base_real) * self.speed

    def shim(self) -> types.SimpleNamespace:
        return types.SimpleNamespace(
            time=self.now, monotonic=self.now, perf_counter=time.perf_counter, sleep=time.sleep
        )


class _Selector(selectors.DefaultSelector):
    """Virtual: a wait jumps the clock. Scaled: a wait lasts timeout / speed real seconds.

    Also records the longest stretch of real time between two waits: a blocked loop.
    """

    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self.clock = clock
        self.block = 0.0  # CPU seconds of the loop's thread: our code, not the machine's load
        self.block_wall = 0.0  # real seconds, including time the thread was not scheduled
        self._mark = time.perf_counter()
        self._mark_cpu = time.thread_time()

    def select(self, timeout: float | None = None) -> list[Any]:
        self.block = max(self.block, time.thread_time() - self._mark_cpu)
        self.block_wall = max(self.block_wall, time.perf_counter() - self._mark)
        if self.clock.speed is None:
            if timeout is None:
                raise RuntimeError("the simulation has nothing left to wait for")
            self.clock.virtual += timeout
            events = super().select(0)
        else:
            events = super().select(None if timeout is None else timeout / self.clock.speed)
        self._mark = time.perf_counter()
        self._mark_cpu = time.thread_time()
        return events


def _loop(clock: _Clock) -> tuple[asyncio.AbstractEventLoop, _Selector]:
    selector = _Selector(clock)
    loop = asyncio.SelectorEventLoop(selector)
    loop.time = clock.now  # type: ignore[method-assign]
    return loop, selector


def _use_clock(clock: _Clock) -> None:
    from airflow_provider_bailian.hooks import bailian_async, rate_limit
    from airflow_provider_bailian.triggers import watcher

    for module in (watcher, bailian_async, rate_limit):
        module.time = clock.shim()  # type: ignore[attr-defined]


# ---- the simulated account behind httpx.MockTransport ---------------------------------------
class _Account:
    def __init__(self, n: int, t0: float, clock: _Clock) -> None:
        starts, ends, self.failed = schedule_with_failures(n)
        self.t0, self.clock = t0, clock
        self.ids = [f"task-{i:05d}" for i in range(n)]
        self.index = {tid: i for i, tid in enumerate(self.ids)}
        self.starts = [t0 + s for s in starts]
        self.ends = [t0 + e for e in ends]
        self.window: deque[float] = deque()
        self.log: list[tuple[float, str, int]] = []
        self.pending_reads: Counter[str] = Counter()

    def status(self, i: int, now: float) -> str:
        if now < self.starts[i]:
            return "PENDING"
        if now < self.ends[i]:
            return "RUNNING"
        return "FAILED" if self.failed[i] else "SUCCEEDED"

    def handle(self, request: Any) -> Any:
        import httpx

        now = self.clock.now()
        path = request.url.path
        kind = "list" if path.rstrip("/").endswith("/tasks") else "get"
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) >= ACCOUNT_QPS:
            self.log.append((now, kind, 429))
            body = {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"}
            return httpx.Response(429, json=body, headers={"Retry-After": "1"})
        self.window.append(now)
        self.log.append((now, kind, 200))
        if kind == "list":
            return httpx.Response(200, json=self._list(dict(request.url.params), now))
        task_id = path.rstrip("/").rsplit("/", 1)[-1]
        return httpx.Response(200, json=self._task(task_id, now))

    def _list(self, params: dict[str, str], now: float) -> dict[str, Any]:
        hi = bisect.bisect_right(self.starts, now)
        rows = []
        for i in range(hi - 1, -1, -1):
            if self.starts[i] < now - 2.5 * EXPECTED:
                break
            if self.status(i, now) == params.get("status", "RUNNING"):
                rows.append(
                    {
                        "task_id": self.ids[i],
                        "status": "RUNNING",
                        "model_name": MODEL,
                        "gmt_create": int(self.t0 * 1000),
                        "start_time": int(self.starts[i] * 1000),
                    }
                )
        size, page = int(params.get("page_size", 10)), int(params.get("page_no", 1))
        return {
            "request_id": "r",
            "total": len(rows),
            "total_page": -(-len(rows) // size),
            "page_no": page,
            "page_size": size,
            "data": rows[(page - 1) * size : page * size],
        }

    def _task(self, task_id: str, now: float) -> dict[str, Any]:
        i = self.index[task_id]
        status = self.status(i, now)
        if status == "PENDING":
            self.pending_reads[task_id] += 1

        def fmt(t: float) -> str:
            return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

        out: dict[str, Any] = {
            "task_id": task_id,
            "task_status": status,
            "submit_time": fmt(self.t0),
        }
        if status != "PENDING" and scenario != "gateway":
            # The gateway scenario's answers carry no start time: the watcher must infer it.
            out["scheduled_time"] = fmt(self.starts[i])
        body: dict[str, Any] = {"request_id": "r", "output": out}
        if status == "FAILED":
            out["end_time"] = fmt(self.ends[i])
            out["code"], out["message"] = "DataInspectionFailed", "Output data may contain ..."
        if status == "SUCCEEDED":
            out["end_time"] = fmt(self.ends[i])
            out["video_url"] = "https://videos.example.invalid/v.mp4"
            body["usage"] = {"duration": 5.0, "video_count": 1, "SR": 720}
        return body


# ---- one run -----------------------------------------------------------------------------
def _settings(base_url: str, style: str) -> Any:
    from airflow_provider_bailian.connection import BailianSettings
    from airflow_provider_bailian.protocol import ApiStyle

    return BailianSettings(
        conn_id="bench",
        style=ApiStyle(style),
        base_url=base_url,
        api_key="sk-fake-bench",
        query_rate_limit=QUERY_RATE,
        list_interval=LIST_INTERVAL,
        timeout=30.0,
    )


async def _wait_all(
    strategy: str, settings: Any, task_ids: list[str], t0: float, clock: _Clock
) -> dict[str, float]:
    from airflow_provider_bailian.hooks.bailian_async import BailianAsyncClient
    from airflow_provider_bailian.hooks.rate_limit import QueryRateLimiter
    from airflow_provider_bailian.triggers.watcher import StatusWatcher

    name = {"watcher": "list", "gateway": "queue", "per-task": "per_task"}[strategy]
    if scenario == "processes":
        # Each process has its own limiter at query_rate_limit: two triggerers (a watcher
        # each, half of the tasks each) and workers waiting for one task each, per-task.
        waiters: list[tuple[Any, list[str]]] = []
        workers, rest = task_ids[:WORKERS], task_ids[WORKERS:]
        for k in range(TRIGGERERS + WORKERS):
            client = BailianAsyncClient(settings)
            client.limiter = QueryRateLimiter(settings.query_rate_limit)
            if k < TRIGGERERS:
                waiters.append((StatusWatcher(client, name), rest[k::TRIGGERERS]))
            else:
                waiters.append((StatusWatcher(client, "per_task"), [workers[k - TRIGGERERS]]))
    else:
        waiters = [(StatusWatcher(BailianAsyncClient(settings), name), task_ids)]
    seen: dict[str, float] = {}

    async def one(watcher: Any, task_id: str) -> None:
        result = await watcher.wait(task_id, model=MODEL, duration=DURATION, submitted_at=t0)
        assert result.status.value in ("SUCCEEDED", "FAILED"), result
        seen[task_id] = clock.now()

    await asyncio.gather(*(one(w, t) for w, ids in waiters for t in ids))
    return seen


def _figures(
    n: int,
    log: list[tuple[float, str, int]],
    seen: dict[str, float],
    ends: dict[str, float],
    t0: float,
) -> dict[str, Any]:
    delays = [seen[t] - ends[t] for t in ends]
    per_second = Counter(int(t) for t, _, _ in log)
    return {
        "requests": len(log),
        "lists": sum(1 for _, kind, _ in log if kind == "list"),
        "delays": delays,
        "peak_qps": max(per_second.values()) if per_second else 0,
        "throttled": sum(1 for *_, status in log if status == 429),
        "makespan": max(seen.values()) - t0,
        "lower_bound": max(ends.values()) - t0,
    }


def run_sim(strategy: str, n: int) -> dict[str, Any]:
    import httpx

    from airflow_provider_bailian.hooks import bailian_async, rate_limit

    # Small enough that a float's step (1e-10 s) stays below the loop's clock resolution:
    # at real epoch magnitudes a virtual jump of a nanosecond would round to nothing.
    t0 = 1_000_000.0
    clock = _Clock(t0, None)
    rate_limit._limiters.clear()
    _use_clock(clock)
    account = _Account(n, t0, clock)
    style = "gateway" if strategy == "gateway" else "dashscope"
    settings = _settings("http://account.invalid", style)
    loop, selector = _loop(clock)
    rss_before = _rss()
    cpu_before = time.process_time()

    async def main() -> dict[str, float]:
        transport = httpx.MockTransport(account.handle)
        bailian_async._clients.setdefault(asyncio.get_running_loop(), {})[settings.base_url] = (
            httpx.AsyncClient(transport=transport)
        )
        return await _wait_all(strategy, settings, account.ids, t0, clock)

    try:
        seen = loop.run_until_complete(main())
    finally:
        loop.close()
    figures = _figures(n, account.log, seen, dict(zip(account.ids, account.ends, strict=True)), t0)
    figures.update(
        cpu=time.process_time() - cpu_before,
        block=selector.block,
        block_wall=selector.block_wall,
        rss=_rss(),
        rss_before=rss_before,
        pending_reads_max=max(account.pending_reads.values(), default=0),
    )
    return figures


def run_http(strategy: str, n: int, speed: float) -> dict[str, Any]:
    from airflow_provider_bailian.emulator import BailianEmulator, server
    from airflow_provider_bailian.emulator import clock as emulator_clock
    from airflow_provider_bailian.hooks.bailian import BailianHook

    clock = _Clock(0.0, speed)
    for module in (server, emulator_clock):  # its task clock and its rate windows
        module.time = clock.shim()  # type: ignore[attr-defined]
    _use_clock(clock)
    starts, ends, failed = schedule_with_failures(n)
    lengths = [e - s for s, e in zip(starts, ends, strict=True)]
    with BailianEmulator(
        api_key="sk-fake-bench", max_concurrent=SLOTS, query_rps=ACCOUNT_QPS
    ) as emu:
        emu.configure(pending_seconds=0)
        style = "gateway" if strategy == "gateway" else "dashscope"
        os.environ["AIRFLOW_CONN_BENCH"] = json.dumps(
            {
                "conn_type": "bailian",
                "host": emu.base_url,
                "password": "sk-fake-bench",
                "extra": {"api_style": style, "retry_min_wait": 0.01, "retry_max_wait": 0.05},
            }
        )
        hook = BailianHook("bench")
        ids = []
        t0 = clock.now()
        for length, fails in zip(lengths, failed, strict=True):
            emu.configure(task_seconds=length)  # fixed per task when it is submitted
            prompt = "[fail:DataInspectionFailed] a lantern" if fails else "a lantern at dusk"
            ids.append(hook.submit_text2video(model=MODEL, prompt=prompt).task_id)
        settings = _settings(emu.base_url, style)
        loop, selector = _loop(clock)
        rss_before, cpu_before = _rss(), time.process_time()
        try:
            seen = loop.run_until_complete(_wait_all(strategy, settings, ids, t0, clock))
        finally:
            loop.close()
        cpu = time.process_time() - cpu_before
        tasks = emu.tasks
        log = [
            (r["time"], r["route"] if r["route"] == "list" else "get", r["status"])
            for r in emu.requests
            if r["route"] in ("query", "list")
        ]
        pending_reads = Counter(
            r["task_id"]
            for r in emu.requests
            if r["route"] == "query" and r["time"] < tasks[r["task_id"]]["start_time"]
        )
    figures = _figures(n, log, seen, {t: tasks[t]["end_time"] for t in ids}, t0)
    figures.update(
        cpu=cpu,
        block=selector.block,
        block_wall=selector.block_wall,
        rss=_rss(),
        rss_before=rss_before,
        pending_reads_max=max(pending_reads.values(), default=0),
        speed=speed,
    )
    return figures


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- the report --------------------------------------------------------------------------
def floor_per_video(makespan: float, n: int) -> float:
    """One list request per D seconds of the batch, plus one read per video."""
    return 1 + makespan / (LIST_INTERVAL * n)


def row(name: str, n: int, f: dict[str, Any], floor: float) -> str:
    delays = sorted(f["delays"])
    p50 = statistics.median(delays)
    p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))]
    per_video = f["requests"] / n
    makespan = f"{f['makespan']:.0f} s / {f.get('lower_bound', f['makespan']):.0f} s"
    if "cpu" not in f:
        return (
            f"| {name} | {per_video:.1f} ({per_video / floor:.2f}x) | {p50:.1f} / {p95:.1f} / "
            f"{delays[-1]:.1f} s | {f['peak_qps']} | {f['throttled']} | - | {makespan} | "
            "- | - | - |"
        )
    minutes = f["makespan"] / 60
    return (
        f"| {name} | {per_video:.1f} ({per_video / floor:.2f}x) | {p50:.1f} / {p95:.1f} / "
        f"{delays[-1]:.1f} s | {f['peak_qps']} | {f['throttled']} | {f['pending_reads_max']} | "
        f"{makespan} | {f['block'] * 1000:.0f} ms ({f['block_wall'] * 1000:.0f} ms) | {f['rss']:.0f} MB ({f['rss_before']:.0f}) | "
        f"{f['cpu'] / minutes:.3f} |"
    )


HEADER = (
    "| way of waiting | status requests per video (x floor) | detection p50 / p95 / max | "
    "peak QPS | 429s | max reads of one PENDING task | makespan / lower bound | "
    "longest loop block, CPU (wall) | peak RSS (before) | CPU-s per minute |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def _child(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME") or tempfile.mkdtemp()}
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(mode: str, n: int, strategies: list[str], speed: float) -> str:
    lines = []
    _, ends = schedule(n)
    sdk = sdk_figures(ends)
    results = {}
    for strategy in strategies:
        args = [mode, str(n), strategy, str(speed), scenario]
        results[strategy] = _child(args)
        print(f"  {mode} N={n} {strategy}: done", file=sys.stderr, flush=True)
    makespan = results[strategies[0]]["lower_bound"]
    floor = floor_per_video(makespan, n)
    where = (
        "virtual clock, in-process account model"
        if mode == "sim"
        else f"emulator over HTTP on 127.0.0.1, clocks {speed:g}x faster than real time"
    )
    title = f"**N = {n:,}**" if scenario == "default" else f"**N = {n:,}, {scenario} scenario**"
    lines.append(
        f"{title} ({where}); batch lower bound {makespan:.0f} s; "
        f"floor(5 s) = {floor:.2f} requests per video\n"
    )
    lines.append(HEADER)
    names = {
        "watcher": "watcher, DashScope style",
        "gateway": "watcher, gateway style",
        "per-task": "per-task `PollPolicy` (before)",
    }
    for strategy in strategies:
        lines.append(row(names[strategy], n, results[strategy], floor))
    sdk["lower_bound"] = makespan
    lines.append(row("SDK `wait()` (schedule only)", n, sdk, floor))
    return "\n".join(lines) + "\n"


def write_section(command: str, parts: list[str]) -> None:
    """Replace this benchmark's section of RESULTS.md; a run of some sizes only replaces
    their tables and keeps the others."""
    path = ROOT / "benchmarks" / "RESULTS.md"
    current = path.read_text()
    start = current.find(SECTION)
    old = ""
    if start >= 0:
        end = current.find("\n## ", start + len(SECTION))
        old = current[start:] if end < 0 else current[start : end + 1]
        current = current.replace(old, "")
    tables = {_key(part): part for part in re.split(r"\n(?=\*\*N = )", old)[1:]}
    tables.update({_key(part): part for part in parts})
    ordered = sorted(tables.items(), key=lambda item: ("HTTP" in item[0], _size(item[0])))
    body = "\n".join(part.rstrip("\n") + "\n" for _, part in ordered)
    commands = re.findall(r"^`python benchmarks/queue.py[^`]*`$", old, flags=re.M)
    runs = "\n".join(dict.fromkeys([*commands, f"`{command}`"]))
    text = f"{SECTION}\n\n{INTRO}\n\nRuns:\n\n{runs}\n\n{body}"
    path.write_text(current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")


def _size(key: str) -> int:
    return int(re.sub(r"\D", "", key.split("**")[1]))


def _key(part: str) -> str:
    """ "**N = 200** (virtual clock...)": the size and the mode of one table."""
    first = part.strip().splitlines()[0]
    return first.split(";")[0].replace("over HTTP", "HTTP")


INTRO = (
    "N videos submitted together to one account (5 running at once, generation times "
    "0.5-2x the expected 120 s), all N waits in one event loop, `query_rate_limit` 10/s, "
    "`list_interval` 5 s, the account answering 429 above 20 queries per second. "
    "Floor(5 s) = 1 + makespan / (5 s x N). Loop block: the longest stretch between two "
    "waits of the event loop, in CPU time of its thread (wall time, on a shared 2-core "
    "machine, in brackets). The SDK row is computed from its schedule (every task polls at "
    "the same moments, no limiter); its 429s are the requests above 20 in a second. Over "
    "HTTP, the CPU column includes the emulator, which runs in the same process. The "
    "per-task and gateway ways are not simulated at N = 5,000 (hours of CPU for a result "
    "that the N = 1,000 row already shows). Scenarios (`--scenario`): *gateway*, generation "
    "times 0.6-1.4x the expected 120 s and, simulated, answers without a start time (the watcher must "
    "infer a queued task's start from the finish that freed its slot); *dashscope*, "
    "0.2-2x and one video in ten failing 3 s after it starts (its start and end can both "
    "fall between two list reads: every finish must still be seen within 2 x "
    "`list_interval` = 10 s); *processes*, two triggerers (a watcher and a limiter each) "
    "and three workers waiting without deferring (per-task, a limiter each) on one account "
    "at `query_rate_limit` 10/s each: the account's budget across processes (its floor "
    "counts one list stream; each triggerer has its own)."
)


def main() -> None:
    global scenario
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, n, strategy, speed = sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
        scenario = sys.argv[6]
        figures = run_sim(strategy, n) if mode == "sim" else run_http(strategy, n, speed)
        print(json.dumps(figures))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", choices=["sim", "http", "all"], default="all")
    parser.add_argument("sizes", nargs="*", type=int)
    parser.add_argument("--speed", type=float, default=40.0)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="default")
    parser.add_argument(
        "--sim-per-task-max",
        type=int,
        default=1000,
        help="largest N at which the per-task and gateway ways are simulated (cost grows with N)",
    )
    parser.add_argument("--write", action="store_true", help="replace the section in RESULTS.md")
    args = parser.parse_args()
    scenario = args.scenario
    strategies = args.strategies.split(",")
    plan: list[tuple[str, int]] = []
    if args.mode in ("sim", "all"):
        plan += [("sim", n) for n in (args.sizes or [200, 1000, 5000])]
    if args.mode in ("http", "all"):
        plan += [("http", n) for n in (args.sizes or [200])]
    parts = []
    for mode, n in plan:
        chosen = strategies
        if mode == "sim" and n > args.sim_per_task_max:
            chosen = [s for s in strategies if s == "watcher"]
        parts.append(report(mode, n, chosen, args.speed))
        print(parts[-1], flush=True)
    if args.write:
        write_section(" ".join(["python benchmarks/queue.py", *sys.argv[1:]]), parts)


if __name__ == "__main__":
    main()
