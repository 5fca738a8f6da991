"""Remember what a task instance submitted, so a retry waits instead of paying twice.

XCom is wiped at the start of every try, so the submitted Bailian task id is kept
where the next try of the same task instance (same dag, run, task, map index)
finds it, on any worker:

* Airflow 3.3+: the task state store (``context["task_state_store"]``, AIP-103),
  scoped to the task instance across tries and expiring after 30 days by default.
* Older Airflow: an Airflow Variable named ``bailian_submission__<hash>`` (also in the
  metadata database), deleted when the task instance succeeds.

The record holds the task id, a fingerprint of the request and connection, and the
submission time. It is written right after the submission and before any wait or
deferral, and removed when the task instance finishes successfully, so a cleared
successful task submits anew. A worker that dies between the submission's answer
and the write cannot be covered (no external system offers an atomic submit+record).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

STATE_KEY = "bailian_submission"


def request_fingerprint(body: dict[str, Any], conn_id: str) -> str:
    """Same request to the same connection -> same fingerprint."""
    payload = json.dumps({"conn_id": conn_id, "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


class SubmissionLedger:
    """Reads and writes the submission record of the running task instance."""

    def __init__(self, context: Any) -> None:
        self._store = context.get("task_state_store") if hasattr(context, "get") else None
        ti = context["ti"]
        identity = "|".join(
            str(x) for x in (ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1))
        )
        self._variable = "bailian_submission__" + hashlib.sha256(identity.encode()).hexdigest()[:40]

    @property
    def backend(self) -> str:
        return "task state store" if self._store is not None else "Airflow Variable"

    def load(self) -> dict[str, Any] | None:
        if self._store is not None:
            value = self._store.get(STATE_KEY)
        else:
            value = _variable().get(
                self._variable, None
            )  # positional: the keyword differs by version
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    value = None
        return value if isinstance(value, dict) and value.get("task_id") else None

    def save(self, record: dict[str, Any]) -> None:
        if self._store is not None:
            self._store.set(STATE_KEY, record)
        else:
            _variable().set(self._variable, json.dumps(record))

    def clear(self) -> None:
        try:
            if self._store is not None:
                self._store.delete(STATE_KEY)
            else:
                _variable().delete(self._variable)
        except Exception as exc:  # never fail a finished task over bookkeeping
            log.warning("Could not clear the Bailian submission record: %s", exc)


def _variable() -> Any:
    try:
        from airflow.sdk import Variable
    except ImportError:
        from airflow.models import Variable  # type: ignore[no-redef]
    return Variable
