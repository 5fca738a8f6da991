"""The trigger's event, read in one place: the operator and the sensor decode it alike.

``BailianTaskTrigger`` ends a wait with one event, a plain dict (it crosses the triggerer
and the metadata database): ``status`` ("success", "failed", "timeout", "error"), the
Bailian ``task_id``, ``elapsed`` seconds, and either the task's ``result`` or Bailian's
``message``, ``code`` and ``request_id``. It imports no Airflow: the worker loads it only
when a deferred task resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian.exceptions import (
    BailianError,
    BailianTaskFailedError,
    BailianWaitTimeoutError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_bailian.models import TaskResult


@dataclass(frozen=True)
class WaitEvent:
    """How a deferred wait ended, as the trigger's event says it."""

    status: str | None
    task_id: str | None = None
    elapsed: float | None = None
    result: dict[str, Any] | None = None
    message: str | None = None
    code: str | None = None
    request_id: str | None = None

    @classmethod
    def decode(cls, event: Mapping[str, Any]) -> WaitEvent:
        return cls(
            status=event.get("status"),
            task_id=event.get("task_id"),
            elapsed=event.get("elapsed"),
            result=event.get("result"),
            message=event.get("message"),
            code=event.get("code"),
            request_id=event.get("request_id"),
        )

    def task_result(self) -> TaskResult | None:
        """The task's final answer, when the event carries one."""
        if not self.result:
            return None
        from airflow_provider_bailian.models import TaskResult  # only when a wait ends

        return TaskResult.from_dict(self.result)

    def error(self) -> BailianError:
        """The error an unsuccessful wait raises, naming Bailian's code and message."""
        error_cls = {
            "failed": BailianTaskFailedError,
            "timeout": BailianWaitTimeoutError,
        }.get(self.status or "", BailianError)
        return error_cls(
            self.message or f"Bailian wait ended with {self.status}",
            code=self.code,
            task_id=self.task_id,
            request_id=self.request_id,
        )
