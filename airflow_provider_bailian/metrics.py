"""What an operations team watches: counters and timers sent through Airflow's own ``Stats``.

Airflow's ``[metrics]`` settings decide everything: StatsD, Datadog or OpenTelemetry,
the prefix, allow and block lists, tags (InfluxDB-style on StatsD, native on Datadog
and OpenTelemetry); with metrics off nothing is sent. Tags say the model, the
connection id and the API style where the emitting code knows them.

Every function here is safe to call anywhere: a metric never fails a task or a trigger.
Sending is a UDP datagram (StatsD, Datadog) or an in-memory update (OpenTelemetry
exports from its own thread); the one blocking step, building the client (a DNS lookup,
imports), happens off the event loop in triggers (:func:`aprepare`).
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_bailian.models import TaskResult

log = logging.getLogger(__name__)

SUBMISSIONS = "bailian.submissions"
REFUSED = "bailian.submissions.refused"
VIDEOS = "bailian.videos"
VIDEO_SECONDS = "bailian.video_seconds"
COST = "bailian.cost"
WAIT = "bailian.wait"
DETECTION_DELAY = "bailian.detection_delay"
STATUS_REQUESTS = "bailian.status_requests"
THROTTLED = "bailian.throttled"
RECOVERIES = "bailian.recoveries"

_prepared = False


def _settings_of(source: Any) -> Any:
    """The ``BailianSettings`` behind a hook, an async client, an operator or the settings."""
    from airflow_provider_bailian.connection import BailianSettings

    if isinstance(source, BailianSettings):
        return source
    settings = getattr(source, "settings", None)
    if settings is None and getattr(source, "hook", None) is not None:
        settings = source.hook.settings
    return settings if isinstance(settings, BailianSettings) else None


def tags_for(source: Any, model: str | None = None, /, **extra: Any) -> dict[str, str]:
    """model, conn_id and api_style (where known), plus ``extra``; never an API key."""
    tags: dict[str, str] = {}
    model = model or getattr(source, "model", None)
    if isinstance(model, str) and model:
        tags["model"] = model
    try:
        settings = _settings_of(source)
    except Exception:  # e.g. a missing connection: the metric goes out without these tags
        settings = None
    if settings is not None:
        tags["conn_id"] = settings.conn_id
        tags["api_style"] = settings.style.value
    tags.update({k: str(v) for k, v in extra.items() if v is not None})
    return tags


def _send(
    method: str, name: str, value: Any, source: Any, model: str | None, /, **tags: Any
) -> None:
    try:
        from airflow_provider_bailian._compat import stats

        getattr(stats(), method)(name, value, tags=tags_for(source, model, **tags))
    except Exception as exc:  # a metric never fails the work it measures
        log.debug("Could not emit metric %s: %s", name, exc)


def incr(
    name: str, source: Any = None, model: str | None = None, count: float = 1, /, **tags: Any
) -> None:
    """Add ``count`` to the counter ``name``; tags from ``source`` (and ``model``) plus ``tags``."""
    _send("incr", name, count, source, model, **tags)


def timing(
    name: str, seconds: float, source: Any = None, model: str | None = None, /, **tags: Any
) -> None:
    """Record a duration (sent as a timer, in milliseconds on StatsD)."""
    _send("timing", name, timedelta(seconds=max(0.0, seconds)), source, model, **tags)


def prepare() -> None:
    """Build Airflow's metrics client now (blocking: imports, the StatsD host's DNS lookup)."""
    global _prepared
    try:
        # What the metric functions import, so none is a first import on an event loop.
        from airflow_provider_bailian import connection, models, polling, protocol  # noqa: F401
        from airflow_provider_bailian._compat import stats

        stats().timer()  # no name: builds the client, emits nothing
        _load_metric_registry()
    except Exception as exc:
        log.debug("Could not prepare Airflow's metrics client: %s", exc)
    _prepared = True


def _load_metric_registry() -> None:
    """Airflow 3.2+ reads its metric registry (a YAML file) on the first metric: read it now."""
    try:
        from airflow.sdk._shared.observability.metrics import stats as shared
    except ImportError:
        return
    load = getattr(shared, "_get_registry", None)
    if load is not None:
        load()


async def aprepare() -> None:
    """``prepare()`` from a coroutine: once per process, in a thread, never on the loop."""
    if not _prepared:
        import asyncio

        await asyncio.to_thread(prepare)


# ---- what the call sites say, one line each --------------------------------------------


def submitted(source: Any, model: str | None) -> None:
    """A submission Bailian accepted (a task was created, and is paid for)."""
    incr(SUBMISSIONS, source, model)


def recovery(source: Any, model: str | None, outcome: str) -> None:
    """A retry that did not submit blindly: ``reattached``, or a task list search's outcome."""
    incr(RECOVERIES, source, model, outcome=outcome)


def throttled(source: Any, error: BaseException | None, where: str) -> None:
    """Bailian answered 429 (``by=bailian``); the limiter's own holds use :func:`held`."""
    from airflow_provider_bailian.protocol import is_throttled

    if error is not None and is_throttled(error):
        incr(THROTTLED, source, None, by="bailian", request=where)


def held() -> None:
    """The per-account query limiter made a status request wait for its slot."""
    incr(THROTTLED, None, None, by="limiter")


def status_request(source: Any, kind: str) -> None:
    """One status read sent to Bailian (``task``: a task's query; ``list``: a list page)."""
    incr(STATUS_REQUESTS, source, None, kind=kind)


def video_ended(source: Any, result: TaskResult | dict[str, Any] | None, cost: Any = None) -> None:
    """A generation task learned its video's final status: count it, time it, bill it.

    ``bailian.wait`` is the submission-to-finish time by Bailian's own clock (its
    ``submit_time`` and ``end_time``), so it holds across retries and triggerer restarts.
    """
    if result is None:
        return
    try:
        result = _as_result(result)
        incr(VIDEOS, source, None, status=result.status.value)
        waited = _server_seconds(result)
        if waited is not None:
            timing(WAIT, waited, source, None, status=result.status.value)
        usage = result.usage
        if usage is not None and usage.video_seconds:
            incr(VIDEO_SECONDS, source, None, float(usage.video_seconds))
        if cost is not None:
            incr(COST, source, None, float(cost.amount), currency=cost.currency)
    except Exception as exc:
        log.debug("Could not emit the video metrics: %s", exc)


def detected(
    source: Any, model: str | None, result: TaskResult, submitted_at: float | None
) -> None:
    """How long after the video was ready the watcher saw it (when the submission time is known).

    Bailian's end time is put on the local clock through the moment we submitted, as the
    poll policy does with its scheduled time.
    """
    try:
        import time

        waited = _server_seconds(result)
        if submitted_at is None or waited is None:
            return
        timing(DETECTION_DELAY, time.time() - (submitted_at + waited), source, model)
    except Exception as exc:
        log.debug("Could not emit the detection delay: %s", exc)


def count_refusals(execute: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an operator's ``execute``: a validation, budget or plan refusal (raised before
    anything is sent) counts as ``bailian.submissions.refused`` with its ``reason``."""

    @functools.wraps(execute)
    def wrapper(self: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return execute(self, context, *args, **kwargs)
        except Exception as exc:
            reason = refusal_reason(exc)
            if reason is not None:
                incr(REFUSED, self, None, reason=reason)
            raise

    return wrapper


def refusal_reason(exc: BaseException) -> str | None:
    from airflow_provider_bailian.exceptions import (
        BailianBudgetError,
        BailianPlanMismatchError,
        BailianPlanValidationError,
        BailianValidationError,
    )

    if isinstance(exc, (BailianPlanMismatchError, BailianPlanValidationError)):
        return "plan"
    if isinstance(exc, BailianBudgetError):
        return "budget"
    if isinstance(exc, BailianValidationError):
        return "validation"
    return None


def _as_result(result: TaskResult | dict[str, Any]) -> TaskResult:
    from airflow_provider_bailian.models import TaskResult

    return result if isinstance(result, TaskResult) else TaskResult.from_dict(result)


def _server_seconds(result: TaskResult) -> float | None:
    """Submission to end by Bailian's clock, when the answer carries both times."""
    from airflow_provider_bailian.polling import parse_server_time

    submitted = parse_server_time(result.submit_time)
    ended = parse_server_time(result.end_time)
    if submitted is None or ended is None or ended < submitted:
        return None
    return ended - submitted
