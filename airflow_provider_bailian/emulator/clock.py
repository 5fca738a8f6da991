"""Tasks and time: their lifecycle, the queue behind ``max_concurrent``, rate windows.

Task progress is computed from the clock whenever a task is looked at, so there is no
background worker: a task is PENDING, then RUNNING, then SUCCEEDED or FAILED purely as a
function of the time since it could start. :func:`schedule` gives queued tasks the start
time they had under the concurrency limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN")
# Alibaba reports task times in Beijing time.
SERVICE_TZ = timezone(timedelta(hours=8))


def fmt_time(ts: float) -> str:
    """A timestamp as the service writes it: Beijing time with milliseconds."""
    dt = datetime.fromtimestamp(ts, SERVICE_TZ)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def parse_list_time(value: str) -> float:
    """The task list's ``YYYYMMDDhhmmss`` (Beijing time) as a timestamp."""
    dt = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=SERVICE_TZ)
    return dt.timestamp()


@dataclass
class Task:
    task_id: str
    model: str
    style: str
    request_id: str
    prompt: str
    prompt_truncated: bool
    actual_prompt: str | None
    input: dict[str, Any]
    parameters: dict[str, Any]
    size: str
    sr: int
    duration: int
    new_usage: bool
    created: float
    pending: float
    total: float
    failure: tuple[str, str] | None
    video_bytes: int | None
    start: float | None = None
    canceled_at: float | None = None
    mode: str = "text2video"
    # Usage fields beyond text-to-video's: wan2.6-i2v-flash's "audio", billed input video.
    usage_extra: dict[str, Any] = field(default_factory=dict)
    api_key_id: str = "emulator"  # another application of the account uses another key

    def status(self, now: float) -> str:
        if self.canceled_at is not None:
            return "CANCELED"
        if self.start is None or now < self.start + self.pending:
            return "PENDING"
        if now < self.start + self.total:
            return "RUNNING"
        return "FAILED" if self.failure else "SUCCEEDED"

    def slot_end(self) -> float:
        assert self.start is not None
        if self.canceled_at is not None:
            return self.canceled_at
        return self.start + self.total

    # ------------------------------------------------------------- views of the task

    def info(self, now: float, video_url: Callable[[Task], str]) -> dict[str, Any]:
        """The emulator's own snapshot (``emulator.tasks``), with every timing."""
        status = self.status(now)
        info: dict[str, Any] = {
            "task_id": self.task_id,
            "status": status,
            "model": self.model,
            "api_style": self.style,
            "mode": self.mode,
            "request_id": self.request_id,
            "prompt": self.prompt,
            "prompt_truncated": self.prompt_truncated,
            "input": self.input,
            "parameters": self.parameters,
            "size": self.size,
            "duration": self.duration,
            "submit_time": self.created,
            "start_time": self.start,
            "scheduled_time": None if self.start is None else self.start + self.pending,
            "end_time": None,
            "canceled_time": self.canceled_at,
            "failure_code": (self.failure[0] or None) if self.failure else None,
            "failure_message": (self.failure[1] or None) if self.failure else None,
            "video_url": None,
        }
        if status in ("SUCCEEDED", "FAILED"):
            info["end_time"] = self.start + self.total  # type: ignore[operator]
        if status == "SUCCEEDED":
            info["video_url"] = video_url(self)
        return info

    def query_payload(
        self, now: float, rid: str, video_url: Callable[[Task], str], start_time: bool = True
    ) -> dict[str, Any]:
        """The body of the service's task query answer (``start_time``: with ``scheduled_time``)."""
        status = self.status(now)
        out: dict[str, Any] = {
            "task_id": self.task_id,
            "task_status": status,
            "submit_time": fmt_time(self.created),
        }
        if start_time and status in ("RUNNING", "SUCCEEDED", "FAILED"):
            out["scheduled_time"] = fmt_time(self.start + self.pending)  # type: ignore[operator]
        if status in ("SUCCEEDED", "FAILED"):
            out["end_time"] = fmt_time(self.start + self.total)  # type: ignore[operator]
        if status == "CANCELED":
            out["end_time"] = fmt_time(self.canceled_at)  # type: ignore[arg-type]
        payload: dict[str, Any] = {"request_id": rid, "output": out}
        if status == "SUCCEEDED":
            out["video_url"] = video_url(self)
            out["orig_prompt"] = self.prompt
            if self.actual_prompt is not None:
                out["actual_prompt"] = self.actual_prompt
            if self.new_usage:
                billed_input = self.usage_extra.get("input_video_duration", 0)
                payload["usage"] = {
                    "duration": float(self.duration + billed_input),
                    "input_video_duration": 0,
                    "output_video_duration": self.duration,
                    "SR": self.sr,
                    "size": self.size,
                    "video_count": 1,
                    **self.usage_extra,
                }
            else:
                payload["usage"] = {
                    "video_count": 1,
                    "video_ratio": self.size,
                    "video_duration": self.duration,
                    **self.usage_extra,
                }
        elif status == "FAILED":
            assert self.failure is not None
            code, message = self.failure  # either may be empty: the service gave no reason
            if code:
                out["code"] = code
            if message:
                out["message"] = message
        return payload

    def list_row(self, now: float) -> dict[str, Any]:
        """One row of the service's task list."""
        status = self.status(now)
        row: dict[str, Any] = {
            "task_id": self.task_id,
            "status": status,
            "model_name": self.model,
            "request_id": self.request_id,
            "gmt_create": int(self.created * 1000),
            "region": "cn-beijing",
            "api_key_id": self.api_key_id,
        }
        if self.start is not None and status != "PENDING":
            row["start_time"] = int((self.start + self.pending) * 1000)
        if status in ("SUCCEEDED", "FAILED"):
            row["end_time"] = int((self.start + self.total) * 1000)  # type: ignore[operator]
        elif status == "CANCELED":
            row["end_time"] = int(self.canceled_at * 1000)  # type: ignore[operator]
        return row


def schedule(
    tasks: Iterable[Task],
    now: float,
    limit: int | None,
    model_limits: Mapping[str, int] | None = None,
) -> None:
    """Give queued tasks the start time they had, given the concurrency limits: ``limit``
    tasks of the account at once (first in, first out), and ``model_limits`` of one model.

    A task waiting for its model's slot lets later tasks of other models start; it never
    starts before a task already started (so the account's count stays exact)."""
    tasks = list(tasks)
    queued = [t for t in tasks if t.start is None and t.canceled_at is None]
    if not queued:
        return
    model_limits = model_limits or {}
    limit = limit or 0
    slots = [(t.start, t.slot_end(), t.model) for t in tasks if t.start is not None]
    last_start = max((s for s, _, _ in slots), default=0.0)
    waiting: set[str] = set()  # models whose first queued task must wait: FIFO per model
    for task in queued:
        cap = model_limits.get(task.model)
        if not limit and cap is None:
            task.start = task.created
            continue
        if task.model in waiting:
            continue
        floor = last_start if limit else 0.0
        if cap is not None:
            floor = max(floor, max((s for s, _, m in slots if m == task.model), default=0.0))
        candidate = max(task.created, floor)
        while True:
            busy = [end for start, end, _ in slots if start <= candidate < end]
            mine = [end for start, end, m in slots if m == task.model and start <= candidate < end]
            over_all = 0 < limit <= len(busy)
            over_mine = cap is not None and len(mine) >= cap
            if not over_all and not over_mine:
                break
            candidate = min((busy if over_all else []) + (mine if over_mine else []))
        if candidate > now:
            if over_all_at(slots, now, limit):
                break
            waiting.add(task.model)
            continue
        task.start = candidate
        slots.append((candidate, task.slot_end(), task.model))
        last_start = max(last_start, candidate)


def over_all_at(slots: list[tuple[float, float, str]], now: float, limit: int) -> bool:
    """Whether the account's limit is reached at ``now``: then nothing queued may start."""
    return 0 < limit <= sum(1 for s, e, _ in slots if s <= now < e)


class RateWindows:
    """Requests per second per bucket (``submit``, ``query``) over a sliding second."""

    def __init__(self, buckets: Iterable[str] = ("submit", "query")) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {b: deque() for b in buckets}

    def allow(self, bucket: str, limit: float | None) -> bool:
        if limit is None:
            return True
        with self._lock:
            now = time.monotonic()
            window = self._windows[bucket]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True

    def clear(self) -> None:
        with self._lock:
            for window in self._windows.values():
                window.clear()
