"""Task statuses and results: what a submission and a query answer say, whatever the style.

Plain Python (no Airflow, no I/O), shared by the hook, the trigger, the watcher and the
operators. ``models.py`` re-exports every name here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any

from airflow_provider_bailian.capabilities import tier_of_size

#: Codes of Bailian's content check (on the submission's 400 or on a FAILED task).
CONTENT_CHECK_CODES = frozenset(
    {
        "DataInspectionFailed",
        "InvalidParameter.DataInspection",
        "InternalError.Algo.DataInspectionFailed",
    }
)
CONTENT_CHECK_NOTE = (
    "Bailian's content check refused the prompt or the inputs; a retry of the same request "
    "fails the same way (change the prompt or the inputs)"
)


def content_check_note(code: str | None) -> str | None:
    """What to tell a user about a content-check refusal; ``None`` for any other code."""
    return CONTENT_CHECK_NOTE if code in CONTENT_CHECK_CODES else None


class TaskStatus(str, Enum):
    """Lifecycle of a Bailian task: PENDING -> RUNNING -> SUCCEEDED | FAILED."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"  # no such task, or older than 24 h

    @classmethod
    def parse(cls, value: Any) -> TaskStatus:
        try:
            return cls(str(value).upper())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_active(self) -> bool:
        return self in (TaskStatus.PENDING, TaskStatus.RUNNING)

    @property
    def is_terminal(self) -> bool:
        return not self.is_active

    def __str__(self) -> str:
        return self.value


def as_int(value: Any) -> int | None:
    """Coerce a templated value ("5", 5.0) to int; ``None`` when it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


@dataclass(frozen=True)
class Submission:
    """What a successful submission returns."""

    task_id: str
    request_id: str | None
    status: TaskStatus = TaskStatus.PENDING


@dataclass(frozen=True)
class Usage:
    """Billed output, normalised from both answer shapes (pre-wan2.6 and wan2.6+)."""

    video_count: int | None = None
    video_seconds: float | None = None
    size: str | None = None
    resolution: int | None = None  # "SR": 480, 720, 1080
    raw: dict[str, Any] = field(default_factory=dict)
    input_video_seconds: float | None = None  # reference videos, billed too (r2v)

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        seconds = raw.get("output_video_duration", raw.get("video_duration", raw.get("duration")))
        sr = raw.get("SR")
        inp = raw.get("input_video_duration")
        return cls(
            video_count=as_int(raw.get("video_count")),
            video_seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
            size=raw.get("size") or raw.get("video_ratio"),
            resolution=as_int(sr) if sr is not None else None,
            raw=dict(raw),
            input_video_seconds=float(inp) if isinstance(inp, (int, float)) else None,
        )

    @property
    def tier(self) -> str | None:
        if self.resolution:
            return f"{self.resolution}P"
        return tier_of_size(self.size)


@dataclass(frozen=True)
class TaskResult:
    """One task as the query endpoint describes it, whatever the API style."""

    task_id: str
    status: TaskStatus
    request_id: str | None = None
    video_url: str | None = None
    orig_prompt: str | None = None
    actual_prompt: str | None = None
    submit_time: str | None = None
    scheduled_time: str | None = None
    end_time: str | None = None
    code: str | None = None
    message: str | None = None
    usage: Usage | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict for XCom and trigger events."""
        data = asdict(self)
        data["status"] = self.status.value
        data["usage"] = self.usage.raw if self.usage else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskResult:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["status"] = TaskStatus.parse(data.get("status"))
        kwargs["usage"] = Usage.parse(data.get("usage"))
        return cls(**kwargs)

    def describe_failure(self, model: str | None = None) -> str:
        """A one-line account of why the task did not succeed.

        A task can end FAILED with neither code nor message (seen with wan3.0-video): the
        message then says so and names everything known, for Alibaba's support.
        """
        if self.status is TaskStatus.UNKNOWN:
            return f"Bailian task {self.task_id} is UNKNOWN: no such task, or it is older than 24 hours"
        of_model = f" (model {model})" if model else ""
        if not (self.code or self.message):
            return (
                f"Bailian task {self.task_id}{of_model} ended {self.status.value} and Bailian gave "
                f"no reason (no code or message in its answer; task_id={self.task_id}, "
                f"request_id={self.request_id or 'unknown'}, model={model or 'unknown'})"
            )
        reason = f"{self.code}: {self.message}" if self.message else str(self.code)
        note = content_check_note(self.code)
        text = f"Bailian task {self.task_id}{of_model} ended {self.status.value} ({reason})"
        return f"{text}. {note}" if note else text
