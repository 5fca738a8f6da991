"""BailianTaskTrigger: wait for a Bailian task in the triggerer, without a worker slot.

The trigger only reads the task (Airflow may run the same trigger on two
triggerers at once), through the shared async client: one pooled httpx client per
event loop and base URL, one query rate limiter per API key. It yields exactly one
event. Its optional ``on_kill`` (Airflow 3.3+, when a user marks the task failed or
clears it) cancels a task that is still PENDING; ``cleanup`` never cancels anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

# Everything the coroutines use is imported here, when the triggerer loads the class:
# an import inside ``run()`` would be blocking I/O in the shared event loop.
from airflow_provider_bailian.connection import DEFAULT_CONN_ID
from airflow_provider_bailian.exceptions import BailianError
from airflow_provider_bailian.hooks.bailian_async import BailianAsyncClient
from airflow_provider_bailian.models import TaskStatus
from airflow_provider_bailian.polling import DEFAULT_MAX_ERROR_SECONDS, PollPolicy
from airflow_provider_bailian.protocol import (
    CANCELLED_MESSAGE,
    is_transient,
    refuse_cancel_reason,
)


class BailianTaskTrigger(BaseTrigger):
    """Polls one Bailian task until it is terminal or ``deadline`` (epoch seconds) passes.

    Events (``status`` key): ``success`` with ``result`` (the full result dict);
    ``failed`` (FAILED, CANCELED, UNKNOWN) with ``code`` and ``message``; ``timeout``;
    ``error`` (a permanent error, or transient errors for longer than
    ``max_error_seconds``).
    """

    def __init__(
        self,
        bailian_task_id: str,
        bailian_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float | None = None,
        deadline: float | None = None,
        model: str | None = None,
        duration: int | None = None,
        submitted_at: float | None = None,
        cancel_on_kill: bool = False,
        max_error_seconds: float = DEFAULT_MAX_ERROR_SECONDS,
        started_at: float | None = None,
    ) -> None:
        super().__init__()
        self.bailian_task_id = bailian_task_id
        self.bailian_conn_id = bailian_conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.model = model
        self.duration = duration
        self.submitted_at = submitted_at
        self.cancel_on_kill = cancel_on_kill
        self.max_error_seconds = max_error_seconds
        # Kept across triggerer restarts so "waited N s" stays true.
        self.started_at = started_at if started_at is not None else time.time()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "bailian_task_id": self.bailian_task_id,
                "bailian_conn_id": self.bailian_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "model": self.model,
                "duration": self.duration,
                "submitted_at": self.submitted_at,
                "cancel_on_kill": self.cancel_on_kill,
                "max_error_seconds": self.max_error_seconds,
                "started_at": self.started_at,
            },
        )

    def _event(self, status: str, **fields: Any) -> TriggerEvent:
        payload = {
            "status": status,
            "task_id": self.bailian_task_id,
            "elapsed": round(time.time() - self.started_at, 3),
            **fields,
        }
        return TriggerEvent(payload)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        task_id = self.bailian_task_id
        try:
            client = await BailianAsyncClient.from_conn_id(self.bailian_conn_id)
        except BailianError as exc:
            yield self._event("error", message=str(exc))
            return
        policy = PollPolicy.create(
            model=self.model,
            duration=self.duration,
            poll_interval=self.poll_interval,
            submitted_at=self.submitted_at,
        )
        errors = 0
        errors_since: float | None = None
        last_status = "unknown"
        while True:
            now = time.time()
            if self.deadline is not None and now >= self.deadline:
                waited = now - self.started_at
                yield self._event(
                    "timeout",
                    message=(
                        f"Waited {waited:.0f} s for Bailian task {task_id}, which is still "
                        f"{last_status}; it was not cancelled and may still produce (and bill) "
                        "a video"
                    ),
                )
                return
            try:
                result = await client.get_task(task_id)
            except BailianError as exc:
                if not is_transient(exc):
                    yield self._event(
                        "error",
                        message=f"Polling Bailian task {task_id} failed: {exc}",
                        code=exc.code,
                        request_id=exc.request_id,
                    )
                    return
                errors += 1
                errors_since = errors_since or now
                if now - errors_since > self.max_error_seconds:
                    yield self._event(
                        "error",
                        message=(
                            f"Polling Bailian task {task_id} failed {errors} times in a row over "
                            f"{now - errors_since:.0f} s; last error: {exc}"
                        ),
                        code=exc.code,
                        request_id=exc.request_id,
                    )
                    return
                delay = policy.error_delay(errors, exc.retry_after)
                self.log.warning(
                    "Polling Bailian task %s failed (%s); retry %d in %.1f s",
                    task_id,
                    exc,
                    errors,
                    delay,
                )
            else:
                errors, errors_since = 0, None
                changed = result.status.value != last_status
                last_status = result.status.value
                if result.status is TaskStatus.SUCCEEDED:
                    yield self._event("success", result=result.to_dict())
                    return
                if result.status.is_terminal:
                    yield self._event(
                        "failed",
                        message=result.describe_failure(),
                        code=result.code,
                        request_id=result.request_id,
                        result=result.to_dict(),
                    )
                    return
                delay = policy.next_delay(result, now)
                # One line per status change: a triggerer may hold thousands of waits.
                (self.log.info if changed else self.log.debug)(
                    "Bailian task %s is %s; next check in %.1f s", task_id, last_status, delay
                )
            if self.deadline is not None:
                delay = min(delay, max(0.0, self.deadline - time.time()))
            await asyncio.sleep(delay)

    async def on_kill(self) -> None:
        """The user stopped the deferred task: cancel it if that is still free (PENDING)."""
        if not self.cancel_on_kill:
            return
        task_id = self.bailian_task_id
        try:
            client = await BailianAsyncClient.from_conn_id(self.bailian_conn_id)
            reason = refuse_cancel_reason(await client.get_task(task_id), client.protocol)
            if reason:
                self.log.info(reason)
                return
            await client.cancel_task(task_id)
            self.log.info(CANCELLED_MESSAGE, task_id)
        except BailianError as exc:
            self.log.warning("Could not cancel Bailian task %s: %s", task_id, exc)
