"""Many deferred waits in one triggerer process: query budget, loop lag, memory.

Starts the bundled emulator on 127.0.0.1, submits N tasks, then runs N
``BailianTaskTrigger`` coroutines in one event loop (as a triggerer does) sharing one
API key with ``query_rate_limit`` queries per second. Reports the busiest second seen by
the server, the total queries, the worst event-loop lag and the peak RSS.

    python benchmarks/triggers.py [N] [RATE] [TASK_SECONDS]
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from collections import Counter

N = int(sys.argv[1]) if len(sys.argv) > 1 else 500
RATE = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
TASK_SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp())
    from airflow_provider_bailian.emulator import BailianEmulator
    from airflow_provider_bailian.hooks.bailian import BailianHook
    from airflow_provider_bailian.triggers.task import BailianTaskTrigger

    with BailianEmulator(task_seconds=TASK_SECONDS, submit_rps=None) as emu:
        os.environ["AIRFLOW_CONN_BENCH"] = json.dumps(
            {
                "conn_type": "bailian",
                "host": emu.base_url,
                "password": "sk-fake-bench",
                "extra": {"query_rate_limit": RATE},
            }
        )
        hook = BailianHook("bench")
        ids = [hook.submit_text2video(model="wan2.6-t2v", prompt=f"p{i}").task_id for i in range(N)]
        rss_before = rss_mb()

        async def run() -> tuple[list[str], float]:
            lag = 0.0
            stop = False

            async def ticker() -> None:
                nonlocal lag
                while not stop:
                    t = time.perf_counter()
                    await asyncio.sleep(0.05)
                    lag = max(lag, time.perf_counter() - t - 0.05)

            tick = asyncio.create_task(ticker())
            triggers = [BailianTaskTrigger(t, "bench", poll_interval=1.0) for t in ids]

            async def one(trigger: BailianTaskTrigger) -> str:
                async for event in trigger.run():
                    return event.payload["status"]
                return "none"

            statuses = await asyncio.gather(*(one(t) for t in triggers))
            stop = True
            await tick
            return statuses, lag

        started = time.monotonic()
        statuses, lag = asyncio.run(run())
        wall = time.monotonic() - started
        queries = [r for r in emu.requests if r["route"] == "query"]
        per_second = Counter(int(r["time"]) for r in queries)
        throttled = sum(1 for r in queries if r["status"] == 429)
    print(f"triggers: {N}, rate limit: {RATE:g}/s, task_seconds: {TASK_SECONDS:g}")
    print(f"all succeeded: {statuses.count('success') == N} ({Counter(statuses)})")
    print(f"wall time: {wall:.1f} s, queries: {len(queries)}, 429s: {throttled}")
    print(f"busiest second at the server: {max(per_second.values())} queries")
    print(f"worst event-loop lag: {lag * 1000:.0f} ms")
    print(f"peak RSS: {rss_mb():.0f} MB (before the triggers: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
