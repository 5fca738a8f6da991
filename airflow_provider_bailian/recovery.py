"""Find the task an ambiguous submission may have created, in Bailian's own task list.

A submission that got no answer (a 5xx, a read timeout, a dropped connection, a
worker that died before writing the task id) may have created a paid task or not.
DashScope lists every task of the account with its model and creation time
(``gmt_create``, epoch ms) and a task's query returns its ``orig_prompt``, so the
question can be answered from the service's records instead of guessed:

* list the tasks of the request's model (the default last-24-hours list, never a
  narrow ``start_time``/``end_time`` window whose time zone is unknown), keep those
  created from shortly before the intent to shortly after the failure, skip the ones
  another task instance of the DAG run holds, and read each remaining one once;
* compare what the query returns with the request body (see :func:`compare`);
* exactly one match: that is the submission; several: do not guess; none after a
  second list read a few seconds later (the list may lag): nothing was created.

The search is plain logic over a :class:`TaskReader` (the hook supplies one that goes
through its retry rules and the account's query limiter); it is bounded in list
pages, task reads and time, and it never submits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from airflow_provider_bailian.models import TaskResult

log = logging.getLogger(__name__)


class Verdict(str, Enum):
    MATCH = "match"  # the answer shows the request's prompt (or another input field)
    MISMATCH = "mismatch"  # a field the answer shows differs from the request
    UNCONFIRMED = "unconfirmed"  # nothing differs, nothing identifies it either (yet)


class Outcome(str, Enum):
    RECOVERED = "recovered"  # exactly one live match: reattach to it
    ABSENT = "absent"  # the whole window was read, no live match: nothing to wait for
    SEVERAL = "several"  # more than one live match: do not guess
    UNDECIDED = "undecided"  # candidates that cannot be told apart, or an unread window


@dataclass(frozen=True)
class RecoveryLimits:
    """Bounds of one search; connection extras ``recovery_*`` override them."""

    settle: float = 5.0  # seconds between the two list reads when nothing is found
    list_reads: int = 2
    page_size: int = 100  # the emulator's maximum; the real one is not published
    max_pages: int = 5
    max_candidates: int = 30  # task reads per search
    skew: float = 120.0  # seconds of clock difference allowed on both sides of the window
    watch_timeout: float = 600.0  # how long to watch candidates that do not show a prompt yet
    watch_interval: float = 10.0

    @property
    def twin_wait(self) -> float:
        """With one match, how long unconfirmed candidates may still settle: six re-reads."""
        return 6 * self.watch_interval

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any]) -> RecoveryLimits:
        limits = cls()
        names = {
            "settle": float,
            "skew": float,
            "timeout": float,
            "interval": float,
            "max_candidates": int,
        }
        for name, kind in names.items():
            raw = extras.get(f"recovery_{name}")
            if raw in (None, ""):
                continue
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                from airflow_provider_bailian.exceptions import BailianError

                raise BailianError(
                    f"Connection extra recovery_{name}={raw!r} is not a number"
                ) from None
            attr = {"timeout": "watch_timeout", "interval": "watch_interval"}.get(name, name)
            limits = replace(limits, **{attr: max(value, 0)})
        return limits


@dataclass
class Candidate:
    """A listed task that could be the orphaned submission."""

    task_id: str
    status: str
    created_ms: int | None
    verdict: Verdict = Verdict.UNCONFIRMED
    reason: str = "not read"
    result: TaskResult | None = None

    @property
    def live(self) -> bool:
        """Running or finished with a video: the only kind that costs money."""
        return self.status in ("PENDING", "RUNNING", "SUCCEEDED")

    def describe(self) -> str:
        return f"{self.task_id} ({self.status}, {self.verdict.value}: {self.reason})"


@dataclass
class RecoveryResult:
    outcome: Outcome
    candidates: list[Candidate] = field(default_factory=list)
    task: Candidate | None = None
    list_reads: int = 0
    task_reads: int = 0
    note: str = ""

    def ids(self, verdict: Verdict | None = None) -> list[str]:
        return [
            c.task_id
            for c in self.candidates
            if c.live and (verdict is None or c.verdict is verdict)
        ]

    def summary(self) -> str:
        seen = "; ".join(c.describe() for c in self.candidates) or "none"
        return (
            f"{self.list_reads} list read(s), {self.task_reads} task read(s); "
            f"candidates: {seen}{'; ' + self.note if self.note else ''}"
        )


class TaskReader(Protocol):
    def list_page(self, *, model: str, page_no: int, page_size: int) -> Mapping[str, Any]: ...

    def read(self, task_id: str) -> tuple[TaskResult, Mapping[str, Any]]: ...


# ---- matching ----------------------------------------------------------------------------
#: Input fields that identify a request (what the user wrote or uploaded); a parameter
#: equal by chance (a size, a duration) never identifies a task on its own.
_USAGE_PARAMETERS = {
    "size": ("size", "video_ratio"),
    "duration": ("output_video_duration", "video_duration"),
}


def compare(body: Mapping[str, Any], answer: Mapping[str, Any]) -> tuple[Verdict, str]:
    """Compare a request body with what a task query returned.

    ``answer`` is the query's ``output`` object with the answer's ``usage`` under
    ``"usage"``. Compared, each only when both sides have it: ``input.prompt`` with
    ``orig_prompt`` (a service promise, §4), every other ``input.*`` field with a key of
    the same name, every ``parameters.*`` field with ``output.parameters`` when the answer
    carries it, and ``size``/``duration`` with the usage block of a finished task. A
    difference anywhere is a mismatch; the prompt or another input field being equal is a
    match; otherwise (a request without a prompt, an answer without ``orig_prompt``) the
    task is unconfirmed and never claimed.
    """
    inputs = body.get("input") or {}
    evidence: list[str] = []
    for name, wanted in inputs.items():
        shown = answer.get("orig_prompt") if name == "prompt" else answer.get(name)
        if wanted is None or shown is None:
            continue
        if not _same(wanted, shown):
            return Verdict.MISMATCH, f"input.{name} differs"
        evidence.append(f"input.{name}")
    shown_params = answer.get("parameters")
    shown_params = shown_params if isinstance(shown_params, Mapping) else {}
    raw_usage = answer.get("usage")
    usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, Mapping) else {}
    for name, wanted in (body.get("parameters") or {}).items():
        shown = shown_params.get(name)
        if shown is None:
            shown = next((usage[k] for k in _USAGE_PARAMETERS.get(name, ()) if k in usage), None)
        if wanted is None or shown is None:
            continue
        if not _same(wanted, shown):
            return Verdict.MISMATCH, f"parameters.{name} differs"
    if evidence:
        return Verdict.MATCH, " and ".join(evidence) + " equal"
    return Verdict.UNCONFIRMED, "the answer shows no input field to compare"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


# ---- the search --------------------------------------------------------------------------
def find_orphan(
    reader: TaskReader,
    body: Mapping[str, Any],
    *,
    since: float,
    until: float,
    claimed: Callable[[str], bool],
    limits: RecoveryLimits | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RecoveryResult:
    """Search for the task a submission of ``body`` sent between ``since`` and ``until``.

    ``since``/``until`` are epoch seconds (the intent and the failure); ``claimed(task_id)``
    says whether another task instance of the DAG run holds that task.
    """
    limits = limits or RecoveryLimits()
    model = str(body.get("model") or "")
    lo_ms = int((since - limits.skew) * 1000)
    hi_ms = int((until + limits.skew) * 1000)
    found: dict[str, Candidate] = {}
    state = RecoveryResult(Outcome.UNDECIDED)
    complete = False
    for attempt in range(max(1, limits.list_reads)):
        if attempt:
            sleep(limits.settle)
        items, complete = _list_window(reader, model, lo_ms, limits, state)
        for item in items:
            tid = str(item.get("task_id") or "")
            if not tid or tid in found:
                continue
            if item.get("model_name") not in (None, model):
                continue
            created = _as_int(item.get("gmt_create"))
            if created is not None and not lo_ms <= created <= hi_ms:
                continue
            if claimed(tid):
                log.info("Bailian task %s is held by another task instance of this run", tid)
                continue
            cand = Candidate(tid, str(item.get("status") or "UNKNOWN").upper(), created)
            found[tid] = cand
            if cand.live:
                _read(reader, body, cand, state, limits)
            else:
                cand.reason = "ended without a video (not billed)"
        state.candidates = sorted(found.values(), key=lambda c: c.created_ms or 0)
        if state.ids(Verdict.MATCH):
            break
    _watch(reader, body, state, limits, clock, sleep)
    return _decide(state, complete)


def _list_window(
    reader: TaskReader, model: str, lo_ms: int, limits: RecoveryLimits, state: RecoveryResult
) -> tuple[list[Mapping[str, Any]], bool]:
    """The listed tasks of ``model``, page by page, down to the window's start.

    Returns the items and whether the window was read whole: the last page was reached,
    or a page sorted newest first already reached tasks older than the window.
    """
    items: list[Mapping[str, Any]] = []
    for page_no in range(1, limits.max_pages + 1):
        page = reader.list_page(model=model, page_no=page_no, page_size=limits.page_size)
        state.list_reads += 1
        rows = page.get("data", page.get("tasks")) or []
        rows = [r for r in rows if isinstance(r, Mapping)]
        items.extend(rows)
        total_pages = _as_int(page.get("total_page"))
        if not rows or (total_pages is not None and page_no >= total_pages):
            return items, True
        page_size = _as_int(page.get("page_size")) or limits.page_size
        if total_pages is None and len(rows) < page_size:
            return items, True
        created = [_as_int(r.get("gmt_create")) for r in rows]
        newest_first = None not in created and created == sorted(created, reverse=True)  # type: ignore[type-var]
        if newest_first and created[-1] < lo_ms:  # type: ignore[operator]
            return items, True
    state.note = f"the list was not read back to the window's start within {limits.max_pages} pages"
    return items, False


def _read(
    reader: TaskReader,
    body: Mapping[str, Any],
    cand: Candidate,
    state: RecoveryResult,
    limits: RecoveryLimits,
) -> None:
    if state.task_reads >= limits.max_candidates:
        cand.reason = f"not read (more than {limits.max_candidates} candidates)"
        return
    result, answer = reader.read(cand.task_id)
    state.task_reads += 1
    cand.result = result
    cand.status = result.status.value
    cand.verdict, cand.reason = compare(body, answer)


def _watch(
    reader: TaskReader,
    body: Mapping[str, Any],
    state: RecoveryResult,
    limits: RecoveryLimits,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Re-read the running candidates that do not show their prompt yet, until they do.

    The prompt is promised in a finished task's answer; a running task may not show it.
    With no match yet, one of them may be this submission: watch them up to
    ``watch_timeout`` (waiting on it is waiting on our video). With one match, an
    unconfirmed task could be a twin sent together (the same request twice): watch them
    up to ``twin_wait`` more, so that a twin that settles shows as "several".
    """
    deadline = clock() + limits.watch_timeout
    twin_deadline: float | None = None
    while len(state.ids(Verdict.MATCH)) < 2:  # two matches already settle it: "several"
        if state.ids(Verdict.MATCH) and twin_deadline is None:
            twin_deadline = clock() + limits.twin_wait
            deadline = min(deadline, twin_deadline)
        pending = [
            c
            for c in state.candidates
            if c.verdict is Verdict.UNCONFIRMED
            and c.result is not None
            and c.result.status.is_active
        ]
        if not pending or clock() + limits.watch_interval > deadline:
            return
        shown = ", ".join(c.task_id for c in pending[:5])
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        log.info(
            "Waiting for Bailian task(s) %s%s to show their prompt (up to %.0f s more)",
            shown,
            more,
            deadline - clock(),
        )
        sleep(limits.watch_interval)
        for cand in pending:
            _read(reader, body, cand, state, replace(limits, max_candidates=10**9))


def _decide(state: RecoveryResult, complete: bool) -> RecoveryResult:
    matches = [c for c in state.candidates if c.live and c.verdict is Verdict.MATCH]
    open_ = [c for c in state.candidates if c.live and c.verdict is Verdict.UNCONFIRMED]
    if len(matches) > 1:
        state.outcome = Outcome.SEVERAL
    elif matches:
        # Unsettled candidates cannot make it "several" any more (they were watched for a
        # twin); taking the one match never sends anything, so it never pays twice.
        state.outcome, state.task = Outcome.RECOVERED, matches[0]
    elif open_ or not complete:
        state.outcome = Outcome.UNDECIDED
    else:
        state.outcome = Outcome.ABSENT
    return state


def _as_int(value: Any, default: int | None = None) -> int | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return default
