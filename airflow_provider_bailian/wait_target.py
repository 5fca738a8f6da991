"""What a wait is for: one Bailian task and the facts that time its polling.

The operator, the trigger, the status watcher and the poll policy all wait for the same
thing: a task id, the model and video duration (they set the expected generation time)
and when it was submitted (its place in the account's queue, and the clock that maps the
task's own timestamps onto ours). One value carries them, instead of four arguments
riding beside each other through every signature. No Airflow, no I/O: the triggerer and
the worker both import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WaitTarget:
    """The Bailian task to wait for; ``model``, ``duration`` and ``submitted_at`` when known."""

    task_id: str
    model: str | None = None
    duration: int | None = None
    submitted_at: float | None = None  # local epoch seconds of the submission

    @classmethod
    def of(
        cls,
        target: WaitTarget | str,
        *,
        model: str | None = None,
        duration: int | None = None,
        submitted_at: float | None = None,
    ) -> WaitTarget:
        """A target, or a task id with the facts given as keywords (the older call form)."""
        if isinstance(target, WaitTarget):
            _no_facts_beside(target, model=model, duration=duration, submitted_at=submitted_at)
            return target
        return cls(str(target), model=model, duration=duration, submitted_at=submitted_at)


def _no_facts_beside(target: WaitTarget, **facts: Any) -> None:
    """A target already says model, duration and submission time: two answers would clash."""
    given = sorted(name for name, value in facts.items() if value is not None)
    if given:
        raise TypeError(
            f"{', '.join(given)} given beside a WaitTarget ({target!r}): pass either the "
            "target or the task id with its facts as keywords"
        )
