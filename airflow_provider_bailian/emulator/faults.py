"""Failures on demand: injected HTTP faults, throttling answers and failing tasks.

A fault targets a route (see :data:`FAULT_ROUTES`) and is consumed first-in first-out;
``fault_rate`` adds random faults on queries. A prompt carrying ``[fail]`` or
``[fail:Code]`` makes its task end FAILED with that code, as the service reports it;
``[fail:]`` makes it end FAILED with no code and no message at all, as wan3.0 tasks have
been seen to. ``[reject]`` (``[reject:Code]``) fails the submission itself with the
content check's 400 ``DataInspectionFailed`` (or that code). Bodies without a prompt (speech
to video) get the same through the ``submit`` faults ``fail_task`` and ``inspection``.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_bailian.emulator.replies import Reply, error_reply, is_int

#: Routes a fault can target ("any" matches every API, upload and video route):
#: ``policy`` is the upload policy request, ``upload`` the form POST of a file.
FAULT_ROUTES = ("submit", "query", "cancel", "list", "video", "policy", "upload", "any")
#: Fault kinds, each with the options it takes.
FAULT_KINDS: dict[str, tuple[str, ...]] = {
    "500": (),
    "500_created": (),
    "502": (),
    "503": (),
    "429": ("retry_after", "code", "message"),
    "nonjson": ("status",),
    "empty": ("status",),
    "drop": (),
    "drop_created": (),
    "slow": ("seconds",),
    "truncate": ("bytes",),
    "error": ("status", "code", "message"),
    # The submission is refused by the content check (400 DataInspectionFailed).
    "inspection": ("code", "message"),
    # The submission succeeds; its task ends FAILED (after ``seconds``) with this code and
    # message, or with none at all when neither is given.
    "fail_task": ("code", "message", "seconds"),
}
# Kinds that change the task a submission makes rather than the answer.
TASK_KINDS = ("fail_task",)
# Kinds that let the request run and then spoil (or delay) its answer.
_AFTER_KINDS = ("500_created", "drop_created", "truncate")

#: Messages the service gives for task failures, by code.
FAILURE_MESSAGES = {
    "DataInspectionFailed": "Output data may contain inappropriate content.",
    "InvalidParameter.DataInspection": "Input data may contain inappropriate content.",
    "InternalError": "An internal error has occured, please try again later.",
    "InternalError.Algo": "An internal error has occured during execution.",
    "ModelServingError": "Model serving error, please try again later.",
    "InvalidURL": "The audio url can not be downloaded.",
    "InvalidParameter": "The request parameters are invalid.",
    "InternalError.Algo.DataInspectionFailed": "Output data may contain inappropriate content.",
}
#: The content check's answers to a submission, by code.
REFUSAL_MESSAGES = {
    "DataInspectionFailed": "Input data may contain inappropriate content.",
    "InvalidParameter.DataInspection": "Input data may contain inappropriate content.",
    "InternalError.Algo.DataInspectionFailed": "Input data may contain inappropriate content.",
    "Arrearage": "Access denied, please make sure your account is in good standing.",
}
_FAIL_MARKER = re.compile(r"\[fail(:([A-Za-z0-9_.\-]*))?\]")
_REJECT_MARKER = re.compile(r"\[reject(?::([A-Za-z0-9_.\-]+))?\]")

THROTTLE_MESSAGES = {
    "Throttling": "Requests throttling triggered.",
    "Throttling.RateQuota": "Requests rate limit exceeded, please try again later.",
    "Throttling.BurstRate": "Request rate increased too quickly, please try again later.",
    "Throttling.AllocationQuota": "Allocated quota exceeded, please increase your quota limit.",
}

_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass
class Fault:
    route: str
    kind: str
    remaining: int
    opts: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"route": self.route, "kind": self.kind, "times": self.remaining, **self.opts}


def parse_fault_spec(spec: str) -> tuple[str, str, int, dict[str, Any]]:
    """Parse ``ROUTE:KIND[:TIMES][:key=value...]`` (the CLI's ``--fault``).

    Values that look like numbers become numbers, so ``query:slow:1:seconds=2.5`` works.
    """
    parts = spec.split(":")
    if len(parts) < 2:
        raise ValueError(f"fault {spec!r}: expected ROUTE:KIND[:TIMES][:key=value...]")
    route, kind, rest = parts[0], parts[1], parts[2:]
    times = 1
    opts: dict[str, Any] = {}
    if rest and "=" not in rest[0]:
        times = int(rest.pop(0))
    for item in rest:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"fault {spec!r}: option {item!r} is not key=value")
        value: Any = raw
        for conv in (int, float):
            try:
                value = conv(raw)
                break
            except ValueError:
                continue
        opts[key] = value
    return route, kind, times, opts


def check_fault(route: str, kind: str, times: int, opts: Mapping[str, Any]) -> None:
    """Raise ValueError naming what is wrong with a fault before it is queued."""
    if route not in FAULT_ROUTES:
        raise ValueError(f"fault route {route!r} is not one of {', '.join(FAULT_ROUTES)}")
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    if not is_int(times) or times < 1:
        raise ValueError(f"fault times must be an integer >= 1, got {times!r}")
    unknown = set(opts) - set(FAULT_KINDS[kind])
    if unknown:
        allowed = ", ".join(FAULT_KINDS[kind]) or "none"
        raise ValueError(
            f"fault kind {kind!r} takes no option {', '.join(sorted(unknown))} (allowed: {allowed})"
        )
    for key in ("status",):
        if key in opts and (not is_int(opts[key]) or not 100 <= opts[key] <= 599):
            raise ValueError(f"fault option {key} must be an HTTP status, got {opts[key]!r}")
    if kind in (*TASK_KINDS, "inspection") and route != "submit":
        raise ValueError(f"fault kind {kind!r} applies to the submit route only, not {route!r}")
    for key in ("seconds", "retry_after"):
        if key in opts and (not isinstance(opts[key], (int, float)) or opts[key] < 0):
            raise ValueError(f"fault option {key} must be a number >= 0, got {opts[key]!r}")
    if "bytes" in opts and (not is_int(opts["bytes"]) or opts["bytes"] < 0):
        raise ValueError(f"fault option bytes must be an integer >= 0, got {opts['bytes']!r}")


class FaultQueue:
    """Faults waiting for their route, consumed first-in first-out; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, route: str, kind: str, times: int, opts: Mapping[str, Any]) -> None:
        check_fault(route, kind, times, opts)
        with self._lock:
            self._faults.append(Fault(route, kind, times, dict(opts)))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def take(self, route: str, fault_rate: float, rng: random.Random) -> Fault | None:
        """The fault for one request on ``route``, or None; random ones only on queries."""
        with self._lock:
            for fault in self._faults:
                if fault.route in (route, "any"):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return Fault(fault.route, fault.kind, 1, dict(fault.opts))
            if route == "query" and fault_rate > 0 and rng.random() < fault_rate:
                return Fault("query", rng.choice(("500", "503", "drop")), 1, {})
        return None


def inject(
    fault: Fault | None,
    route: str,
    answer: Callable[[], Reply],
    wait: Callable[[float], object],
) -> Reply:
    """Answer a request through ``fault``: instead of ``answer()``, or after it.

    ``500_created``/``drop_created`` let a submit create its task and then lose the answer
    (the case that tempts a client to pay twice); ``truncate`` cuts the body short.
    """
    if fault is None:
        return answer()
    kind = fault.kind
    if kind == "slow":
        wait(float(fault.opts.get("seconds", 1.0)))
    elif kind not in _AFTER_KINDS:
        reply = fault_reply(fault)
        reply.fault = kind
        return reply
    reply = answer()
    if kind in ("500_created", "drop_created"):
        created = reply.task_id if (route == "submit" and reply.status == 200) else None
        reply = fault_reply(Fault(route, kind.split("_")[0], 1, {}))
        reply.task_id = created
    elif kind == "truncate":
        reply.truncate_at = int(fault.opts.get("bytes", reply.length // 2))
    reply.fault = kind
    return reply


def fault_reply(fault: Fault) -> Reply:
    """The answer a fault gives in place of the real one."""
    kind, opts = fault.kind, fault.opts
    if kind == "500":
        return error_reply(
            500, "InternalError", "An internal error has occured, please try again later."
        )
    if kind == "502":
        return Reply(status=502, body=_HTML_502, content_type="text/html")
    if kind == "503":
        return error_reply(503, "ModelUnavailable", "Model is unavailable, please try again later.")
    if kind == "429":
        code = str(opts.get("code", "Throttling.RateQuota"))
        message = str(opts.get("message", THROTTLE_MESSAGES.get(code, "Throttled.")))
        retry_after = opts.get("retry_after", 1)
        return error_reply(429, code, message, {"Retry-After": f"{retry_after:g}"})
    if kind == "nonjson":
        return Reply(
            status=int(opts.get("status", 200)),
            body=b"upstream error",
            content_type="text/plain",
        )
    if kind == "empty":
        return Reply(status=int(opts.get("status", 502)), content_type=None)
    if kind == "drop":
        return Reply(status=0, drop=True)
    if kind == "inspection":
        code = str(opts.get("code", "DataInspectionFailed"))
        message = REFUSAL_MESSAGES.get(code, REFUSAL_MESSAGES["DataInspectionFailed"])
        return error_reply(400, code, str(opts.get("message", message)))
    if kind == "error":
        return error_reply(
            int(opts.get("status", 400)),
            str(opts.get("code", "InvalidParameter")),
            str(opts.get("message", "Injected error.")),
        )
    raise AssertionError(f"unhandled fault kind {kind}")


def throttled_reply() -> Reply:
    """The service's 429 when a configured rate limit is exceeded."""
    return error_reply(
        429,
        "Throttling.RateQuota",
        THROTTLE_MESSAGES["Throttling.RateQuota"],
        {"Retry-After": "1"},
    )


def prompt_failure(prompt: str) -> tuple[str, str] | None:
    """The (code, message) a ``[fail:Code]`` marker in a prompt asks for, if any;
    ``("", "")`` for ``[fail:]``: a failure the service gives no reason for."""
    marker = _FAIL_MARKER.search(prompt)
    if not marker:
        return None
    if marker.group(1) is not None and not marker.group(2):
        return "", ""
    code = marker.group(2) or "InternalError"
    return code, FAILURE_MESSAGES.get(code, f"The task failed with {code}.")


def task_failure(fault: Fault) -> tuple[str, str]:
    """The (code, message) a ``fail_task`` fault gives its task; empty: no reason given."""
    code = str(fault.opts.get("code", ""))
    default = FAILURE_MESSAGES.get(code, f"The task failed with {code}.") if code else ""
    return code, str(fault.opts.get("message", default))


def prompt_refusal(prompt: str) -> tuple[int, str, str] | None:
    """(status, code, message) of the 400 a ``[reject:Code]`` marker asks for, if any."""
    marker = _REJECT_MARKER.search(prompt)
    if not marker:
        return None
    code = marker.group(1) or "DataInspectionFailed"
    return 400, code, REFUSAL_MESSAGES.get(code, f"The request was refused with {code}.")
