"""The submission record: what a try sent, kept where the next try of its task instance looks.

``reattach.SubmissionLedger`` stores it (the task state store, or an Airflow Variable as
JSON) as a plain object in one of two stages:

* the *intent*, written before the request is sent: ``fingerprint``, ``model``,
  ``duration``, ``intent_at``; after an ambiguous answer also ``failed_at`` and
  ``request_id``;
* the *submitted* record, written as soon as the answer names the task: ``task_id``,
  ``request_id``, ``fingerprint``, ``submitted_at``, ``model``, ``duration``.

Each record carries ``"schema": 1``. Records written before the key existed have the same
keys, so a record without it reads as schema 1; a later schema only adds keys, and one
this version does not know is refused (the try fails, nothing is sent), never guessed at:
a misread record could pay for a video twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from airflow_provider_bailian.exceptions import BailianRecordError
from airflow_provider_bailian.wait_target import WaitTarget

#: The schema this version writes.
SCHEMA = 1
#: The schemas it reads (a record without a ``schema`` key reads as 1).
READABLE_SCHEMAS = (1,)


@dataclass(frozen=True)
class SubmissionRecord:
    """One task instance's submission: an intent, or an intent answered with a task id."""

    fingerprint: str
    model: str | None = None
    duration: int | None = None
    intent_at: float | None = None  # epoch seconds the request was about to be sent
    failed_at: float | None = None  # epoch seconds an ambiguous answer came back
    task_id: str | None = None
    request_id: str | None = None
    submitted_at: float | None = None
    schema: int = SCHEMA

    # ---- the stages, built here only ----------------------------------------------------
    @classmethod
    def intent(
        cls, fingerprint: str, *, model: str | None, duration: int | None, at: float | None = None
    ) -> SubmissionRecord:
        """About to send: a retry that finds only this knows a task may exist unrecorded."""
        return cls(
            fingerprint=fingerprint,
            model=model,
            duration=duration,
            intent_at=time.time() if at is None else at,
        )

    def ambiguous(self, request_id: str | None, *, at: float | None = None) -> SubmissionRecord:
        """The answer did not say whether a task was created (the search runs up to ``at``)."""
        return replace(self, failed_at=time.time() if at is None else at, request_id=request_id)

    def submitted(
        self, task_id: str, request_id: str | None, *, submitted_at: float | None = None
    ) -> SubmissionRecord:
        """The task exists: its id (the intent's times are no longer needed)."""
        return replace(
            self,
            task_id=task_id,
            request_id=request_id,
            submitted_at=submitted_at or time.time(),
            intent_at=None,
            failed_at=None,
        )

    @property
    def is_submitted(self) -> bool:
        return bool(self.task_id)

    def target(self) -> WaitTarget:
        """What a wait for the submitted task is for."""
        if not self.task_id:
            raise ValueError("an intent has no task to wait for")
        return WaitTarget(
            self.task_id, model=self.model, duration=self.duration, submitted_at=self.submitted_at
        )

    # ---- the stored form ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The stored object: the keys records always had, plus ``schema``."""
        out: dict[str, Any] = {"schema": self.schema}
        if self.task_id:
            out.update(task_id=self.task_id, request_id=self.request_id)
        out["fingerprint"] = self.fingerprint
        if self.task_id:
            out["submitted_at"] = self.submitted_at
        out.update(model=self.model, duration=self.duration)
        if not self.task_id or self.intent_at is not None:
            out["intent_at"] = self.intent_at
        if self.failed_at is not None:
            out["failed_at"] = self.failed_at
            out["request_id"] = self.request_id
        elif self.request_id is not None:
            out["request_id"] = self.request_id
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubmissionRecord:
        """Read a stored record: every form written so far, or refuse it.

        Raises ``BailianRecordError`` for something that is not a record, or a record of a
        schema this version does not read.
        """
        if not isinstance(data, Mapping) or not data.get("fingerprint"):
            raise BailianRecordError(
                "A Bailian submission record is an object with a 'fingerprint'; got "
                f"{type(data).__name__}" + ("" if not isinstance(data, Mapping) else " without one")
            )
        schema = data.get("schema", 1)
        if type(schema) is not int or schema not in READABLE_SCHEMAS:
            readable = ", ".join(str(s) for s in READABLE_SCHEMAS)
            raise BailianRecordError(
                f"schema={schema!r} is not a submission record schema this version of "
                f"airflow-provider-bailian reads (it reads schema {readable}, and records "
                "without a 'schema' key, written by earlier releases)"
            )
        return cls(
            fingerprint=data["fingerprint"],
            model=data.get("model"),
            duration=data.get("duration"),
            intent_at=data.get("intent_at"),
            failed_at=data.get("failed_at"),
            task_id=data.get("task_id") or None,
            request_id=data.get("request_id"),
            submitted_at=data.get("submitted_at"),
            schema=schema,
        )

    # ---- read like the plain dict it used to be ------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """``record.get("task_id")``, as code written for the stored dict reads it."""
        return self.to_dict().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]
