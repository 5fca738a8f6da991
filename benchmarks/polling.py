"""How many status queries a wait costs, and how late it sees the finished video.

Simulates the provider's ``PollPolicy`` and the official SDK's schedule (1, 1, 2, 2, 2,
4, 4, 4, 5, 5, ... s) on a virtual clock for videos that finish earlier than, on, and
later than expected. No network; deterministic (seeded jitter).

    python benchmarks/polling.py            # prints a Markdown table
"""

from __future__ import annotations

import random
from itertools import count

from airflow_provider_bailian.models import TaskResult, TaskStatus
from airflow_provider_bailian.polling import PollPolicy, expected_generation_seconds

QUEUE_SECONDS = 5.0


def sdk_delays():
    """dashscope's wait(): 1 s, doubling every 3 polls, capped at 5 s."""
    for i in count():
        yield min(5, 2 ** (i // 3) if i >= 2 else 1)


def simulate(finish_after: float, policy: PollPolicy | None) -> tuple[int, float]:
    """Queries made and seconds between the video being ready and being seen."""
    now, queries = 0.0, 0
    sdk = sdk_delays()
    while True:
        queries += 1
        if now >= QUEUE_SECONDS + finish_after:
            return queries, now - (QUEUE_SECONDS + finish_after)
        status = TaskStatus.PENDING if now < QUEUE_SECONDS else TaskStatus.RUNNING
        result = TaskResult(task_id="t", status=status)
        now += policy.next_delay(result, now) if policy else next(sdk)


def main() -> None:
    expected = expected_generation_seconds("wan2.6-t2v", 5)
    rows = []
    for label, finish in [
        ("early (0.6x)", 0.6 * expected),
        ("on time (1.0x)", expected),
        ("late (1.6x)", 1.6 * expected),
        ("very late (3x)", 3 * expected),
    ]:
        policy = PollPolicy.create(model="wan2.6-t2v", duration=5, submitted_at=0.0)
        policy._rng = random.Random(7)
        ours = simulate(finish, policy)
        sdk = simulate(finish, None)
        rows.append((label, finish, *ours, *sdk))
    rng = random.Random(1)
    samples = [rng.uniform(0.5 * expected, 2.0 * expected) for _ in range(500)]
    totals = {"ours": [0, 0.0], "sdk": [0, 0.0]}
    for finish in samples:
        policy = PollPolicy.create(model="wan2.6-t2v", duration=5, submitted_at=0.0)
        policy._rng = random.Random(int(finish * 1000))
        for name, pol in (("ours", policy), ("sdk", None)):
            q, lag = simulate(finish, pol)
            totals[name][0] += q
            totals[name][1] += lag
    n = len(samples)
    rows.append(
        (
            "mean of 500 (0.5x-2x)",
            sum(samples) / n,
            round(totals["ours"][0] / n, 1),
            totals["ours"][1] / n,
            round(totals["sdk"][0] / n, 1),
            totals["sdk"][1] / n,
        )
    )
    print(
        f"wan2.6-t2v, 5 s of video, expected generation {expected:.0f} s, "
        f"{QUEUE_SECONDS:.0f} s in the queue.\n"
    )
    print(
        "| video ready after | generation s | provider queries | provider sees it after | "
        "SDK queries | SDK sees it after |"
    )
    print("|---|---|---|---|---|---|")
    for label, finish, q, lag, sq, slag in rows:
        print(f"| {label} | {finish:.0f} | {q} | {lag:.1f} s | {sq} | {slag:.1f} s |")


if __name__ == "__main__":
    main()
