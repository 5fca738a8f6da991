"""One exception family for everything Bailian can refuse or break.

Each error carries what an operator on call needs to act: the HTTP status, the
API's ``code`` and ``message``, the ``request_id`` to quote to Alibaba support and,
where known, the Bailian ``task_id``. Messages never contain the API token.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_bailian._compat import AirflowException, AirflowFailException


class BailianError(AirflowException):
    """Base of every error this provider raises."""

    #: Seconds the server asked us to wait (``Retry-After``), when it said so.
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        task_id: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.task_id = task_id
        super().__init__(self._render())

    def _render(self) -> str:
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code={self.code}")
        if self.task_id:
            details.append(f"task_id={self.task_id}")
        if self.request_id:
            details.append(f"request_id={self.request_id}")
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the structured fields when the error crosses a process boundary.
        kwargs = {
            "status": self.status,
            "code": self.code,
            "request_id": self.request_id,
            "task_id": self.task_id,
        }
        return (_rebuild, (type(self), self.message, kwargs))


def _rebuild(cls: type[BailianError], message: str, kwargs: dict[str, Any]) -> BailianError:
    err = cls.__new__(cls)
    BailianError.__init__(err, message, **kwargs)
    return err


class BailianValidationError(BailianError, AirflowFailException, ValueError):
    """A request field is invalid; raised before anything is sent (a retry cannot fix it)."""

    def __init__(self, problems: list[tuple[str, Any, str]]) -> None:
        self.problems = problems
        self.field, self.value, self.allowed = problems[0]
        lines = [
            f"{field}={value!r} is not allowed: {allowed}" for field, value, allowed in problems
        ]
        super().__init__("Invalid Bailian request: " + "; ".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,))


class BailianBudgetError(BailianError, AirflowFailException):
    """The estimated cost is above ``max_cost`` (or cannot be estimated); nothing was sent."""


class BailianPlanValidationError(BailianValidationError):
    """Items of a planned batch are invalid: all of them at once, each by index and field."""

    def __init__(self, problems: list[tuple[str, Any, str]], total_items: int = 0) -> None:
        self.problems = problems
        self.field, self.value, self.allowed = problems[0]
        self.total_items = total_items
        items = {name.split(".")[0] for name, _, _ in problems}
        lines = [
            f"  {name}={value!r} is not allowed: {allowed}" for name, value, allowed in problems
        ]
        BailianError.__init__(
            self,
            f"{len(items)} of {total_items} planned requests are invalid; nothing was sent:\n"
            + "\n".join(lines),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.total_items))


class BailianPlanMismatchError(BailianError, AirflowFailException):
    """The rendered request is not the one its plan priced; nothing was sent."""


class BailianAPIError(BailianError):
    """The API answered with an error (non-2xx status, or an unreadable body)."""


class BailianPermanentError(BailianAPIError, AirflowFailException):
    """Bailian refused in a way no retry can fix (wrong key, bad parameter, overdue account,
    content check, no access, unknown model): the task fails at once, Airflow's ``retries``
    are not spent on it."""


class BailianTransportError(BailianError):
    """The request did not get an answer: connection refused, timeout, dropped connection."""

    #: False only when the server certainly saw nothing (DNS failure, connection refused).
    request_sent: bool = True


class BailianAmbiguousSubmissionError(BailianAPIError):
    """A submission failed in a way that may have created a (billed) task.

    It is never resent automatically: a duplicate would cost money. Check the
    Bailian console (or ``BailianHook.list_tasks``) before submitting again.
    """


class BailianUnresolvedSubmissionError(BailianAmbiguousSubmissionError, AirflowFailException):
    """An earlier submission may have created a task that cannot be identified safely.

    Raised by a retry that finds a submission intent without a task id where the task
    list cannot settle it (the gateway style has no list), or when several listed tasks
    match the request. Fail-fast: ``retries`` must not send it again; the message says
    how to go on.
    """


class BailianRecordError(BailianError):
    """The submission record could not be read or written (metadata database, state store).

    Never treated as "no record": the try fails without submitting, and a retry reads
    the record again.
    """


class BailianTaskFailedError(BailianError):
    """The Bailian task ended FAILED, CANCELED or UNKNOWN (expired or not found)."""


class BailianWaitTimeoutError(BailianError):
    """Waiting for a task took longer than allowed; the Bailian task itself goes on."""
