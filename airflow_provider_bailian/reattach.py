"""Remember what a task instance submitted, so a retry waits instead of paying twice.

XCom is wiped at the start of every try, so the submission is recorded where the
next try of the same task instance (same dag, run, task, map index) finds it, on
any worker:

* Airflow 3.3+: the task state store (``context["task_state_store"]``, AIP-103),
  scoped to the task instance across tries and expiring after 30 days by default.
* Older Airflow: an Airflow Variable named ``bailian_submission__<hash>`` (also in the
  metadata database), deleted when the task instance succeeds.

Two writes per submission: the *intent* (request fingerprint, model, time) before
the request is sent, and the task id right after the answer (``SubmissionRecord``, a
versioned record: ``submission_record.py``). A retry that finds an
intent without a task id knows a submission may exist that nobody recorded (an
ambiguous 5xx, a timeout, a worker that died before the second write) and never
submits blindly: on the DashScope style it looks for the task in Bailian's task list
(``recovery.py``); the gateway style has no list, so the task fails fast. A record
that cannot be read is never taken for "no record": the try fails without sending.

A task id is *claimed* in a DAG run by the task instance that publishes it as its
``task_id`` XCom (done as soon as the id is known); a search never takes a task that
another task instance of the run has claimed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian import metrics
from airflow_provider_bailian.exceptions import (
    BailianAmbiguousSubmissionError,
    BailianError,
    BailianRecordError,
    BailianTransportError,
    BailianUnresolvedSubmissionError,
)
from airflow_provider_bailian.models import TaskStatus
from airflow_provider_bailian.outputs import XCOM_TASK_ID
from airflow_provider_bailian.submission_record import SubmissionRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_bailian.hooks.bailian import BailianHook
    from airflow_provider_bailian.models import Submission, TaskResult
    from airflow_provider_bailian.recovery import RecoveryResult

log = logging.getLogger(__name__)

STATE_KEY = "bailian_submission"
#: The XCom key a task instance publishes its Bailian task id under (its claim in the run).
CLAIM_XCOM_KEY = XCOM_TASK_ID


def request_fingerprint(body: dict[str, Any], conn_id: str) -> str:
    """Same request to the same connection -> same fingerprint."""
    payload = json.dumps({"conn_id": conn_id, "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


class SubmissionLedger:
    """Reads and writes the submission record of the running task instance."""

    def __init__(self, context: Any) -> None:
        self._store = context.get("task_state_store") if hasattr(context, "get") else None
        ti = context["ti"]
        self._ti = ti
        self._variable = "bailian_submission__" + _identity(ti)

    @property
    def backend(self) -> str:
        return "task state store" if self._store is not None else "Airflow Variable"

    @property
    def location(self) -> str:
        """Where the record is, in words a user can act on."""
        if self._store is not None:
            return f"the task state store key {STATE_KEY!r} of this task instance"
        return f"the Airflow Variable {self._variable!r}"

    def read(self) -> SubmissionRecord | None:
        """The record (an intent, or an intent with its task id); ``None`` when there is none.

        Raises ``BailianRecordError`` when the store fails or holds something unreadable
        (also a record of a schema this version does not read).
        """
        try:
            if self._store is not None:
                value = self._store.get(STATE_KEY)
            else:
                value = _variable().get(self._variable, None)  # positional: keyword differs
        except Exception as exc:
            raise BailianRecordError(
                f"Could not read the Bailian submission record from the {self.backend} "
                f"({type(exc).__name__}: {exc}); nothing was sent, since a record that cannot "
                "be read may hold a submission that is already paid for"
            ) from None
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if not isinstance(value, dict) or not value.get("fingerprint"):
            raise BailianRecordError(
                f"The Bailian submission record in {self.location} is unreadable; nothing was "
                "sent. Delete it to submit anyway"
            )
        try:
            return SubmissionRecord.from_dict(value)
        except BailianRecordError as exc:
            raise BailianRecordError(
                f"The Bailian submission record in {self.location} cannot be used: "
                f"{exc.message}. Nothing was sent; a newer version wrote it (upgrade this one), "
                "or delete it to submit anyway"
            ) from None

    def load(self) -> SubmissionRecord | None:
        """The record if it holds a submitted task id, else ``None``."""
        record = self.read()
        return record if record and record.is_submitted else None

    def save(self, record: SubmissionRecord | Mapping[str, Any]) -> None:
        """Store the record (a plain dict in the stored form is read as one first)."""
        if not isinstance(record, SubmissionRecord):
            record = SubmissionRecord.from_dict(record)
        value = record.to_dict()
        try:
            if self._store is not None:
                self._store.set(STATE_KEY, value)
            else:
                _variable().set(self._variable, json.dumps(value))
        except Exception as exc:
            raise BailianRecordError(
                f"Could not write the Bailian submission record to the {self.backend} "
                f"({type(exc).__name__}: {exc})"
            ) from None

    def take_cancel_mark(self, task_id: str) -> dict[str, Any] | None:
        """What an earlier try's ``on_kill`` noted when it cancelled ``task_id`` (then forgotten)."""
        return CancelMarks(self._ti).take(task_id)

    def clear(self) -> None:
        try:
            if self._store is not None:
                self._store.delete(STATE_KEY)
            else:
                _variable().delete(self._variable)
        except Exception as exc:  # never fail a finished task over bookkeeping
            log.warning("Could not clear the Bailian submission record: %s", exc)


def _identity(ti: Any) -> str:
    """A task instance across its tries (dag, run, task, map index), as a name part."""
    identity = "|".join(
        str(x) for x in (ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1))
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:40]


class CancelMarks:
    """The note an ``on_kill`` leaves when it cancels its Bailian task, for the next try.

    A retry that finds its task CANCELED says who cancelled it: this task instance's own
    ``on_kill`` (because a person stopped a try) or someone else (the console, the API).
    The note is an Airflow Variable ``bailian_cancelled__<hash>`` on every Airflow version,
    since a trigger can write Variables but not the task state store; it is written only
    when a cancel happens and deleted by the try that reads it. Submission records are
    unchanged, so records written before the note existed read as before.
    """

    PREFIX = "bailian_cancelled__"

    def __init__(self, ti: Any) -> None:
        self.name = self.PREFIX + _identity(ti)

    def write(self, task_id: str, **facts: Any) -> None:
        """Raises on failure; callers on the way out log it and go on."""
        _variable().set(
            self.name, json.dumps({"task_id": task_id, "cancelled_at": time.time(), **facts})
        )

    def take(self, task_id: str) -> dict[str, Any] | None:
        """The note for ``task_id``, deleted once read; ``None`` when there is none."""
        try:
            value = _variable().get(self.name, None)
        except Exception as exc:  # a note is for the log only: never fail a try over it
            log.warning("Could not read the cancel note %s: %s", self.name, exc)
            return None
        try:
            note = json.loads(value) if isinstance(value, str) and value else None
        except ValueError:
            note = None
        if not isinstance(note, dict) or note.get("task_id") != task_id:
            return None
        try:
            _variable().delete(self.name)
        except Exception as exc:
            log.warning("Could not delete the cancel note %s: %s", self.name, exc)
        return note


class RunClaims:
    """The Bailian task ids other task instances of this DAG run have claimed.

    A claim is the ``task_id`` XCom a task instance publishes once it knows its task:
    XCom is scoped to the run, readable by every task instance of it, and removed with
    the run, so claims need no cleanup. The running task instance has no such XCom
    while it searches (XCom is wiped at the start of each try), so every value found
    belongs to another task instance.
    """

    def __init__(self, context: Any) -> None:
        self._ti = context["ti"]
        self._dag = context.get("dag") if hasattr(context, "get") else None

    def held(self) -> set[str]:
        try:
            values = self._read()
        except Exception as exc:
            raise BailianRecordError(
                "Could not read which Bailian tasks the other task instances of this run "
                f"hold ({type(exc).__name__}: {exc}); nothing was sent"
            ) from None
        return {str(v) for v in values if isinstance(v, str) and v}

    def _read(self) -> list[Any]:
        # Every task of the DAG: a mapped task's operator attributes are not readable here.
        task_ids = [t.task_id for t in getattr(self._dag, "tasks", ()) or ()]
        if not task_ids:
            return []
        # A list of task ids and no map_indexes: every map index of every task, on 2.11
        # (one query) and on 3.x (XCom.get_all per task).
        values = self._ti.xcom_pull(task_ids=task_ids, key=CLAIM_XCOM_KEY)
        return list(values or [])


@dataclass(frozen=True)
class Obtained:
    """The task this try waits for, and its result when it has already finished."""

    record: SubmissionRecord
    finished: TaskResult | None = None


class SubmitOnce:
    """Submit a request at most once per task instance, whatever fails and whenever.

    :param submit: sends the request (after any spend check) and returns the Submission;
        it is called only when no earlier submission can give this try its video.
    """

    def __init__(
        self,
        *,
        hook: BailianHook,
        ledger: SubmissionLedger | None,
        claims: RunClaims | None,
        body: dict[str, Any],
        fingerprint: str,
        duration: int | None,
        submit: Callable[[], Submission],
        log: logging.Logger | Any = log,
    ) -> None:
        self.hook = hook
        self.ledger = ledger
        self.claims = claims
        self.body = body
        self.fingerprint = fingerprint
        self.model = body.get("model")
        self.duration = duration
        self._submit = submit
        self.log = log

    # ---- entry point ------------------------------------------------------------------
    def obtain(self) -> Obtained:
        if self.ledger is None:  # reattach=False: the user asked for a plain submission
            submission = self._submit()
            return Obtained(self._record(submission.task_id, submission.request_id, save=False))
        prior = self.ledger.read()
        if prior is not None:
            found = self._from_prior(prior)
            if found is not None:
                return found
        return self._submit_fresh()

    # ---- an earlier try's record ------------------------------------------------------
    def _from_prior(self, prior: SubmissionRecord) -> Obtained | None:
        task_id = prior.task_id
        if prior.fingerprint != self.fingerprint:
            if task_id:
                self.log.info(
                    "An earlier try submitted Bailian task %s for a different request; "
                    "submitting anew",
                    task_id,
                )
            else:
                self.log.warning(
                    "An earlier try sent a different request (request_id %s) and got no answer; "
                    "it may have created a task (check the Bailian console). Submitting this "
                    "request",
                    prior.request_id,
                )
            return None
        if task_id:
            return self._reattach(prior)
        return self._recover_intent(prior)

    def _reattach(self, record: SubmissionRecord) -> Obtained | None:
        prior = record.task_id
        assert prior is not None
        result = self.hook.get_task(prior)
        done = result.status is TaskStatus.SUCCEEDED
        if result.status.is_active or done:
            self.log.info(
                "Reattaching to Bailian task %s (%s) submitted by an earlier try (found in the "
                "%s); not submitting again",
                prior,
                result.status.value,
                self.ledger.backend if self.ledger else "record",
            )
            metrics.recovery(self.hook, self.model, "reattached")
            return Obtained(record, result if done else None)
        if result.status is TaskStatus.CANCELED:
            self.log.warning("%s; submitting a new one", self._who_cancelled(prior))
            return None
        self.log.warning(
            "The earlier try's Bailian task %s is %s; submitting a new one",
            prior,
            result.status.value,
        )
        return None

    def _who_cancelled(self, task_id: str) -> str:
        """A cancelled task costs its queue position: say who cancelled it, as far as known."""
        note = self.ledger.take_cancel_mark(task_id) if self.ledger is not None else None
        if note is None:
            return (
                f"The earlier try's Bailian task {task_id} was CANCELED, and not by this task "
                "instance's on_kill (it left no note): it was cancelled outside this task "
                "(the Bailian console, the API, another program using the same key), and its "
                "place in the queue is lost"
            )
        by = note.get("by") or "on_kill"
        why = f" ({note['reason']})" if note.get("reason") else ""
        return (
            f"The earlier try's Bailian task {task_id} was CANCELED by this task instance's own "
            f"{by} at {_when(note.get('cancelled_at'))}{why}"
        )

    def _recover_intent(self, intent: SubmissionRecord) -> Obtained | None:
        """A retry found an intent without a task id: find the task, or prove there is none."""
        sent_at = _when(intent.intent_at)
        if not self.hook.protocol.can_list:
            assert self.ledger is not None
            raise BailianUnresolvedSubmissionError(
                f"An earlier try of this task instance sent a submission at {sent_at} and got no "
                "answer saying whether Bailian created the task. The "
                f"{self.hook.protocol.style.value} API style has no task list to look it up in, "
                "so it is NOT sent again (a duplicate would be billed). Check the console for a "
                "task created then; to submit anyway, delete "
                f"{self.ledger.location} and clear this task, or run it with reattach=False",
                request_id=intent.request_id,
            )
        if intent.intent_at is None:
            assert self.ledger is not None
            raise BailianRecordError(
                f"The Bailian submission record in {self.ledger.location} is an intent without "
                "its time (intent_at), so the task list cannot be searched for it; nothing was "
                "sent. Delete it to submit anyway"
            )
        until = intent.failed_at or (intent.intent_at + self.hook.submission_bound)
        self.log.info(
            "An earlier try's submission (sent at %s) got no task id; looking for it in "
            "Bailian's task list before sending anything",
            sent_at,
        )
        found = self._search(intent, until)
        if found is None:
            self.log.warning(
                "No Bailian task matches the submission an earlier try sent at %s: it was not "
                "created. Submitting it now",
                sent_at,
            )
        return found

    # ---- a new submission -------------------------------------------------------------
    def _submit_fresh(self, *, resend: bool = False) -> Obtained:
        assert self.ledger is not None
        intent = self._intent()
        try:
            self.ledger.save(intent)
        except BailianRecordError as exc:
            raise BailianRecordError(f"{exc.message}; nothing was sent") from None
        try:
            submission = self._submit()
        except BailianAmbiguousSubmissionError as exc:
            return self._after_ambiguous(intent, exc, resend=resend)
        except BailianError as exc:
            if isinstance(exc, BailianTransportError) and exc.request_sent:
                raise
            self.ledger.clear()  # answered or never sent: nothing was created
            raise
        try:
            return Obtained(self._record(submission.task_id, submission.request_id))
        except BailianRecordError as exc:
            raise BailianRecordError(
                f"Bailian task {submission.task_id} was submitted but its task id could not be "
                f"recorded: {exc.message}. A retry finds it in the task list (DashScope style) "
                "rather than submitting again",
                task_id=submission.task_id,
            ) from None

    def _after_ambiguous(
        self, intent: SubmissionRecord, exc: BailianAmbiguousSubmissionError, *, resend: bool
    ) -> Obtained:
        assert self.ledger is not None
        intent = intent.ambiguous(exc.request_id)
        try:
            self.ledger.save(intent)
        except BailianRecordError as err:  # the first intent is there: still covered
            self.log.warning("Could not note the failure time in the record: %s", err)
        if not self.hook.protocol.can_list or resend:
            raise exc
        self.log.warning(
            "The submission may have created a task (%s); looking for it in Bailian's task list",
            exc.message,
        )
        assert intent.failed_at is not None
        found = self._search(intent, intent.failed_at)
        if found is not None:
            return found
        self.log.warning(
            "No Bailian task matches the request after the bounded search: the submission was "
            "not created, so sending it again (once)"
        )
        return self._submit_fresh(resend=True)

    # ---- the search ---------------------------------------------------------------------
    def _search(self, intent: SubmissionRecord, until: float) -> Obtained | None:
        """Obtained on a match, ``None`` when nothing was created; raises otherwise."""
        from airflow_provider_bailian.recovery import Outcome, Verdict

        assert intent.intent_at is not None
        held = self.claims.held() if self.claims is not None else set()
        found = self.hook.find_orphaned_task(
            self.body, since=intent.intent_at, until=until, claimed=held.__contains__
        )
        metrics.recovery(self.hook, self.model, found.outcome.value)
        if found.outcome is Outcome.RECOVERED:
            assert found.task is not None
            task = found.task
            self.log.info(
                "Recovered the submission: Bailian task %s (%s, %s) matches the request; "
                "reattaching to it, not submitting again (%s)",
                task.task_id,
                task.status,
                task.reason,
                found.summary(),
            )
            submitted_at = task.created_ms / 1000 if task.created_ms else intent.intent_at
            record = self._record(task.task_id, None, submitted_at=submitted_at)
            done = task.result if task.status == "SUCCEEDED" else None
            return Obtained(record, done)
        if found.outcome is Outcome.ABSENT:
            self.log.info("Task list search: %s", found.summary())
            return None
        if found.outcome is Outcome.SEVERAL:
            ids = ", ".join(found.ids(Verdict.MATCH))
            raise BailianUnresolvedSubmissionError(
                f"Several Bailian tasks match this request ({ids}); not guessing which one this "
                "task instance submitted, and not sending another. Pick one in the console (e.g. "
                "wait for it with BailianTaskSensor) or cancel the extras; " + found.summary(),
                request_id=intent.request_id,
            )
        raise self._undecided(found, intent)

    def _undecided(self, found: RecoveryResult, intent: SubmissionRecord) -> BailianError:
        from airflow_provider_bailian.recovery import Verdict

        ids = found.ids(Verdict.UNCONFIRMED)
        message = (
            "Could not tell whether the ambiguous submission created a Bailian task"
            + (f": task(s) {', '.join(ids)} may be it" if ids else "")
            + f". Nothing was sent again; {found.summary()}"
        )
        running = any(c.status in ("PENDING", "RUNNING") for c in found.candidates)
        if running or found.note:  # a retry may see more (a prompt, the rest of the list)
            return BailianAmbiguousSubmissionError(
                message + ". A retry searches again", request_id=intent.request_id
            )
        return BailianUnresolvedSubmissionError(
            message + ". Check them in the console", request_id=intent.request_id
        )

    def _record(
        self,
        task_id: str,
        request_id: str | None,
        *,
        submitted_at: float | None = None,
        save: bool = True,
    ) -> SubmissionRecord:
        record = self._intent().submitted(task_id, request_id, submitted_at=submitted_at)
        if save and self.ledger is not None:
            self.ledger.save(record)
        return record

    def _intent(self) -> SubmissionRecord:
        """Where every record of this request starts: its fingerprint, model and duration."""
        return SubmissionRecord.intent(self.fingerprint, model=self.model, duration=self.duration)


def _when(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)):
        return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _variable() -> Any:
    try:
        from airflow.sdk import Variable
    except ImportError:
        from airflow.models import Variable
    return Variable
