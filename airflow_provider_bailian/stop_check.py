"""Did a person really stop the task? The question every ``on_kill`` asks before cancelling.

Airflow calls a trigger's ``on_kill`` when a user marks its task failed or success or
clears it, but also when a triggerer that missed its heartbeat finds its triggers moved to
another triggerer (apache/airflow#73454); a worker's ``on_kill`` runs on a user's stop,
and also on a worker shutdown or an execution timeout. Only the task instance's state,
read from Airflow at that moment, tells them apart: a task instance that is still waiting
(deferred, running) or about to retry (which reattaches to the same Bailian task) was not
stopped, and its Bailian task must stay in the queue. A state that cannot be read is not
taken for a stop either: losing a queue position is worse than leaving a PENDING task.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

#: States in which the task instance (or its next try) still waits for the Bailian task.
STILL_WAITING = frozenset({"deferred", "running", "up_for_retry", "up_for_reschedule"})
#: How long a worker's ``on_kill`` waits for Airflow's answer: the task supervisor sends
#: SIGKILL 5 s after the SIGTERM that runs it, and the cancel needs some of that time.
LOOKUP_TIMEOUT = 3.0
#: What a trigger's ``on_kill`` keeps of Airflow's ``[triggerer] on_kill_timeout`` for the
#: cancel itself, after the lookup.
CANCEL_RESERVE = 5.0


@dataclass(frozen=True)
class TaskInstanceKey:
    """Which task instance an ``on_kill`` belongs to (the attributes every TI type has)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int | None = None

    @classmethod
    def of(cls, ti: Any) -> TaskInstanceKey | None:
        """From a task instance of any kind (ORM, task SDK, triggerer DTO); None without one."""
        if ti is None:
            return None
        try:
            map_index = getattr(ti, "map_index", -1)
            return cls(
                dag_id=str(ti.dag_id),
                run_id=str(ti.run_id),
                task_id=str(ti.task_id),
                map_index=-1 if map_index is None else int(map_index),
                try_number=getattr(ti, "try_number", None),
            )
        except AttributeError:
            return None


@dataclass(frozen=True)
class KillDecision:
    """Whether to cancel, and the reason the log gives."""

    cancel: bool
    reason: str
    state: str | None = None


def decide(state: str | None, *, found: bool = True, error: str | None = None) -> KillDecision:
    """The decision for a task instance state read just now (``None``: no state, cleared)."""
    if error is not None:
        return KillDecision(
            False,
            f"the task instance's state could not be read from Airflow ({error}), so it is "
            "not known that anyone stopped it",
        )
    if not found:
        return KillDecision(
            False, "Airflow has no such task instance any more, so no one can be said to stop it"
        )
    state = getattr(state, "value", state)
    if state in STILL_WAITING:
        return KillDecision(
            False,
            f"the task instance is still {state}: nobody stopped it (a triggerer handing its "
            "triggers over after a missed heartbeat, a worker or triggerer shutting down, a "
            "timeout, or a retry on its way that reattaches to this Bailian task)",
            state,
        )
    said = "cleared (it has no state)" if state is None else f"now {state}"
    return KillDecision(True, f"the task instance is {said}: it was stopped", state)


def _read(key: TaskInstanceKey) -> KillDecision:
    from airflow_provider_bailian._compat import read_task_instance_state

    try:
        state = read_task_instance_state(key.dag_id, key.run_id, key.task_id, key.map_index)
    except LookupError:
        return decide(None, found=False)
    except Exception as exc:
        return decide(None, error=f"{type(exc).__name__}: {exc}")
    return decide(state)


def trigger_lookup_timeout() -> float:
    """The lookup's share of the time Airflow gives a trigger's on_kill (30 s by default).

    Generous on purpose: the triggerer answers its first task SDK request only after it
    has built its in-process execution API, which takes seconds on a busy machine.
    """
    from airflow_provider_bailian._compat import conf

    try:
        budget = float(conf.getint("triggerer", "on_kill_timeout", fallback=30))
    except Exception:
        budget = 30.0
    return max(CANCEL_RESERVE, budget - CANCEL_RESERVE)


async def adecide(ti: Any, *, timeout: float | None = None) -> KillDecision:
    """From a coroutine (a trigger's on_kill): the lookup runs in a thread, with a timeout."""
    key = TaskInstanceKey.of(ti)
    if key is None:
        return decide(None, error="the trigger was given no task instance")
    if timeout is None:
        timeout = await asyncio.to_thread(trigger_lookup_timeout)
    try:
        return await asyncio.wait_for(asyncio.to_thread(_read, key), timeout)
    except asyncio.TimeoutError:  # the built-in TimeoutError from Python 3.11
        return decide(None, error=f"no answer within {timeout:g} s")


def decide_now(key: TaskInstanceKey | None, *, timeout: float = LOOKUP_TIMEOUT) -> KillDecision:
    """From a worker's on_kill (a signal handler): the lookup runs in a daemon thread, so a
    lookup that cannot proceed (the interrupted code holds the supervisor channel) times out
    instead of hanging the task process."""
    if key is None:
        return decide(None, error="the task instance is not known")
    answer: list[KillDecision] = []
    thread = threading.Thread(target=lambda: answer.append(_read(key)), daemon=True)
    thread.start()
    thread.join(timeout)
    if not answer:
        return decide(None, error=f"no answer within {timeout:g} s")
    return answer[0]
