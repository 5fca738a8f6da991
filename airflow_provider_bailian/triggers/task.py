"""BailianTaskTrigger: wait for a Bailian task in the triggerer, without a worker slot.

The trigger only reads the task (Airflow may run the same trigger on two
triggerers at once). It registers its task with the status watcher of its event loop
and account (``triggers/watcher.py``), which reads the statuses of all waiting tasks of
that account at once, and turns the terminal result into exactly one event. Its
``on_kill`` (Airflow 3.3+) cancels a task that is still PENDING, with ``cancel_on_kill``
and only once Airflow confirms the task instance is no longer deferred (a person marked
it failed or success, or cleared it; not a trigger moved to another triggerer);
``cleanup`` never cancels anything.
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
from airflow_provider_bailian.polling import DEFAULT_MAX_ERROR_SECONDS
from airflow_provider_bailian.protocol import CANCELLED_MESSAGE, refuse_cancel_reason
from airflow_provider_bailian.stop_check import (
    CANCEL_RESERVE,
    LOOKUP_TIMEOUT,
    KillDecision,
    adecide,
    trigger_lookup_timeout,
)
from airflow_provider_bailian.triggers.watcher import Registration, WaitFailed, watcher_for
from airflow_provider_bailian.wait_target import WaitTarget

#: The on_kill work in progress (a reference, so the loop does not drop a shielded task).
_STOPPING: set[asyncio.Future[None]] = set()


class BailianTaskTrigger(BaseTrigger):
    """Waits for one Bailian task until it is terminal or ``deadline`` (epoch seconds) passes.

    ``poll_interval`` bounds how late a finish is seen (the list period, or the per-task
    poll interval).

    Events (``status`` key): ``success`` with ``result`` (the full result dict);
    ``failed`` (FAILED, CANCELED, UNKNOWN) with ``code`` and ``message``; ``timeout``;
    ``error`` (a permanent error, or transient errors for longer than
    ``max_error_seconds``).

    The task and its facts (``model``, ``duration``, ``submitted_at``) are one
    ``WaitTarget`` (``target``, or build the trigger with ``for_target``); they are
    serialized as the separate keyword arguments they have always been, so a trigger
    stored by an earlier version runs unchanged.
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

    @classmethod
    def for_target(cls, target: WaitTarget, **options: Any) -> BailianTaskTrigger:
        """A trigger waiting for ``target``; ``options`` are the other keyword arguments."""
        return cls(
            target.task_id,
            model=target.model,
            duration=target.duration,
            submitted_at=target.submitted_at,
            **options,
        )

    @property
    def target(self) -> WaitTarget:
        return WaitTarget(
            self.bailian_task_id,
            model=self.model,
            duration=self.duration,
            submitted_at=self.submitted_at,
        )

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
        # Every wait of this account in this event loop shares one watcher (triggers/watcher.py).
        watcher = watcher_for(client)
        reg = watcher.register(
            self.target,
            poll_interval=self.poll_interval,
            started_at=self.started_at,
            max_error_seconds=self.max_error_seconds,
        )
        self.log.info(
            "Waiting for Bailian task %s with the account's status watcher (%s)",
            task_id,
            watcher.strategy,
        )
        try:
            timed_out = await self._await(reg)
        finally:
            watcher.unregister(reg)
        if timed_out:
            waited = time.time() - self.started_at
            yield self._event(
                "timeout",
                message=(
                    f"Waited {waited:.0f} s for Bailian task {task_id}, which is still "
                    f"{reg.status}; it was not cancelled and may still produce (and bill) "
                    "a video"
                ),
            )
            return
        try:
            result = reg.future.result()
        except WaitFailed as exc:
            yield self._event(
                "error", message=exc.message, code=exc.code, request_id=exc.request_id
            )
            return
        if result.status is TaskStatus.SUCCEEDED:
            yield self._event("success", result=result.to_dict())
            return
        yield self._event(
            "failed",
            message=result.describe_failure(self.model),
            code=result.code,
            request_id=result.request_id,
            result=result.to_dict(),
        )

    async def _await(self, reg: Registration) -> bool:
        """Wait for the watcher's answer, logging each status change; True on our deadline."""
        while not reg.future.done():
            remaining = None if self.deadline is None else self.deadline - time.time()
            if remaining is not None and remaining <= 0:
                return True
            changed = asyncio.ensure_future(reg.changed.wait())
            either: set[asyncio.Future[Any]] = {reg.future, changed}
            try:
                await asyncio.wait(either, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
            if reg.changed.is_set() and not reg.future.done():
                reg.changed.clear()
                # One line per status change: a triggerer may hold thousands of waits.
                self.log.info("Bailian task %s is %s", self.bailian_task_id, reg.status)
        return False

    async def on_kill(self) -> None:
        """Cancel the Bailian task, if still free (PENDING), when a person stopped the task.

        Airflow also calls this when a triggerer that missed its heartbeat finds its
        triggers moved to another triggerer: the task instance's state, read from Airflow
        first (``stop_check``), tells the two apart; "still deferred" or no answer leaves
        the Bailian task alone.

        Airflow cancels a stopping trigger again on every sync with the triggerer's
        supervisor (about once a second) until it has finished, which would cut short any
        ``on_kill`` that waits on the network; the work runs shielded and is waited for
        until its own time bound.
        """
        task_id = self.bailian_task_id
        if not self.cancel_on_kill:
            self.log.info("Bailian task %s is not cancelled: cancel_on_kill is off", task_id)
            return
        lookup = trigger_lookup_timeout()  # configuration in memory: no I/O
        loop = asyncio.get_running_loop()
        until = loop.time() + lookup + CANCEL_RESERVE
        work = asyncio.ensure_future(self._cancel_if_stopped(lookup))
        _STOPPING.add(work)
        work.add_done_callback(_STOPPING.discard)
        while True:
            try:
                await asyncio.shield(work)
                return
            except asyncio.CancelledError:
                if work.done() or loop.time() >= until:
                    raise
                current = asyncio.current_task()
                if current is not None and hasattr(current, "uncancel"):
                    current.uncancel()

    async def _cancel_if_stopped(self, lookup_timeout: float) -> None:
        task_id = self.bailian_task_id
        ti = getattr(self, "task_instance", None)
        decision = await adecide(ti, timeout=lookup_timeout)
        if not decision.cancel:
            self.log.warning("Not cancelling Bailian task %s: %s", task_id, decision.reason)
            return
        self.log.info(
            "Cancelling Bailian task %s if it is still PENDING: %s", task_id, decision.reason
        )
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
            return
        await self._note_cancel(ti, decision)

    async def _note_cancel(self, ti: Any, decision: KillDecision) -> None:
        """Leave the next try a note that this on_kill cancelled the task (reattach.CancelMarks)."""
        try_number = getattr(ti, "try_number", None)
        facts = {
            "by": f"on_kill of try {try_number} in the triggerer",
            "reason": decision.reason,
            "ti_state": decision.state,
        }
        try:
            await asyncio.wait_for(
                asyncio.to_thread(_write_note, ti, self.bailian_task_id, facts), LOOKUP_TIMEOUT
            )
        except Exception as exc:  # only a note for the log; the cancel itself is done
            self.log.warning("Could not note the cancel for the next try: %r", exc)


def _write_note(ti: Any, task_id: str, facts: dict[str, Any]) -> None:
    """In a thread: the record module is imported only on the rare path that cancels."""
    from airflow_provider_bailian.reattach import CancelMarks

    CancelMarks(ti).write(task_id, **facts)
