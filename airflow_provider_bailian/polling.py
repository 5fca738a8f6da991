"""When to ask Bailian again: the wait policy shared by the operator, the sensor and the trigger.

A Wan video takes one to five minutes. The official SDK polls every 1-5 s for the
whole time (about 30 queries for a two-minute video), and every query counts
against the account's shared 20 QPS. This policy polls by what the task can be
doing:

* PENDING (queued behind the account's concurrency limit): every ``max_interval / 2``.
* RUNNING, before the expected generation time: sparse, sleeping 15 % of the
  remaining expected time (at most ``max_interval``), so checks close in on it.
* RUNNING, up to 60 % past the expected time: dense, every ``min_interval`` (2 s), so a
  finished video is seen within a few seconds.
* RUNNING, later still: the interval grows slowly back to ``max_interval / 2`` (the
  task is slow; polling hard does not make it faster).

The expected time comes from the model and the duration. The start of generation
comes from the task's own ``scheduled_time`` (mapped to the local clock through its
``submit_time`` and the moment we submitted), else from the first poll that saw
RUNNING. Every delay carries +/-10 % jitter so many waits do not poll in step, and
``poll_interval`` (the user's bound) caps every delay. Errors back off exponentially
with jitter, capped at ``max_error_interval``.

For 5-second wan2.6 videos finishing anywhere from 0.5x to 2x the expected time,
this averages about 20 % fewer queries than the SDK and sees the video sooner; for
one that finishes on time, about a third of the SDK's queries (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from airflow_provider_bailian.models import TaskStatus, get_model_spec
from airflow_provider_bailian.wait_target import WaitTarget

if TYPE_CHECKING:
    from airflow_provider_bailian.models import TaskResult

DEFAULT_MIN_INTERVAL = 2.0
DEFAULT_MAX_INTERVAL = 30.0
#: Tuned with ``benchmarks/polling.py`` (see ``benchmarks/RESULTS.md``).
SPARSE_SHARE = 0.15
DENSE_UNTIL = 1.6
LATE_GROWTH = 0.03
DEFAULT_MAX_ERROR_INTERVAL = 60.0
#: A run of consecutive polling errors longer than this fails the wait.
DEFAULT_MAX_ERROR_SECONDS = 600.0
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")


def expected_generation_seconds(model: str | None, duration: int | None) -> float:
    """A typical generation time: about a minute plus 12 s per second of video."""
    seconds = duration or 5
    spec = get_model_spec(model) if model else None
    if spec is not None and "turbo" in spec.name:
        return 30.0 + 6.0 * seconds
    return 60.0 + 12.0 * seconds


def trigger_deadline(timeout: float | None) -> float | None:
    """When a trigger should report its own timeout: a little before Airflow's deferral timeout.

    Airflow's ``TaskDeferralTimeout`` fails the task with no word about Bailian; the
    trigger's own, earlier deadline yields an event that says how long it waited and
    that the Bailian task goes on.
    """
    if not timeout:
        return None
    return time.time() + timeout - min(60.0, max(1.0, timeout * 0.05))


def parse_server_time(value: str | None) -> float | None:
    """A Bailian timestamp ("2026-01-01 12:00:01.123", server-local) as naive epoch seconds."""
    if not value:
        return None
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).timestamp()
        except ValueError:
            continue
    return None


@dataclass
class PollPolicy:
    """Stateful delay calculator for one wait (see the module docstring)."""

    expected_seconds: float = expected_generation_seconds(None, None)
    min_interval: float = DEFAULT_MIN_INTERVAL
    max_interval: float = DEFAULT_MAX_INTERVAL
    max_error_interval: float = DEFAULT_MAX_ERROR_INTERVAL
    submitted_at: float | None = None  # local epoch seconds of our submission, when known
    jitter: float = 0.1
    _running_since: float | None = field(default=None, init=False)
    _rng: random.Random = field(default_factory=random.Random, init=False, repr=False)

    @classmethod
    def create(
        cls,
        target: WaitTarget | None = None,
        *,
        model: str | None = None,
        duration: int | None = None,
        poll_interval: float | None = None,
        submitted_at: float | None = None,
    ) -> PollPolicy:
        """A policy for one wait (``target``, or its facts as keywords); ``poll_interval``
        caps every delay."""
        if target is not None:
            target = WaitTarget.of(
                target, model=model, duration=duration, submitted_at=submitted_at
            )
            model, duration, submitted_at = target.model, target.duration, target.submitted_at
        policy = cls(expected_seconds=expected_generation_seconds(model, duration))
        policy.submitted_at = submitted_at
        if poll_interval is not None and poll_interval > 0:
            policy.max_interval = float(poll_interval)
            policy.min_interval = min(policy.min_interval, float(poll_interval))
            policy.max_error_interval = max(
                float(poll_interval), min(policy.max_error_interval, 4 * float(poll_interval))
            )
        return policy

    def _clamp(self, delay: float) -> float:
        delay *= 1 + self._rng.uniform(-self.jitter, self.jitter)
        return max(self.min_interval, min(self.max_interval, delay))

    def _generation_start(self, result: TaskResult, now: float) -> float:
        if self._running_since is None:
            self._running_since = now
            scheduled = parse_server_time(result.scheduled_time)
            submitted = parse_server_time(result.submit_time)
            if scheduled and submitted and self.submitted_at:
                # Server clock -> local clock through the moment we submitted.
                mapped = self.submitted_at + (scheduled - submitted)
                if mapped <= now:
                    self._running_since = mapped
        return self._running_since

    def next_delay(self, result: TaskResult, now: float | None = None) -> float:
        """Seconds to sleep before the next query, after seeing ``result``."""
        now = time.time() if now is None else now
        if result.status is TaskStatus.PENDING:
            return self._clamp(self.max_interval / 2)
        running_for = now - self._generation_start(result, now)
        expected = self.expected_seconds
        if running_for < expected:
            # Not ready yet: sleep a share of the remaining expected time.
            return self._clamp(self.min_interval + SPARSE_SHARE * (expected - running_for))
        if running_for < DENSE_UNTIL * expected:
            return self._clamp(self.min_interval)
        # Much later than expected: back off slowly, to at most half of max_interval.
        overdue = running_for - DENSE_UNTIL * expected
        return self._clamp(min(self.min_interval + LATE_GROWTH * overdue, self.max_interval / 2))

    def error_delay(self, consecutive_errors: int, retry_after: float | None = None) -> float:
        """Backoff after ``consecutive_errors`` failed polls in a row (1 = first failure)."""
        base = min(self.max_error_interval, self.min_interval * 2 ** max(0, consecutive_errors - 1))
        delay = base * (1 + self._rng.uniform(-self.jitter, self.jitter))
        if retry_after:
            delay = max(delay, retry_after)
        return min(delay, max(self.max_error_interval, retry_after or 0))
