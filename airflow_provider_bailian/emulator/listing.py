"""The task list: its answer, and its open questions made configurable (its page size
limit and array key, tasks that other applications of the same account run); also the
per-model concurrency option's check.

The real maximum ``page_size`` is not published (a 400 above it), newer clients read the
array from ``tasks`` instead of ``data``, and the list shows every task of the main
account, whichever key submitted it: clients must survive all three.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_bailian.emulator.clock import STATUSES, Task, parse_list_time
from airflow_provider_bailian.emulator.replies import ApiError, is_int, new_id

#: Emulator options of the task list, with their defaults.
LIST_OPTIONS: dict[str, Any] = {"list_max_page_size": 100, "list_key": "data"}


def check_list_option(name: str, value: Any) -> Any:
    """Its maximum page size (None: no maximum) and its array key ("data" or "tasks")."""
    if name == "list_key":
        if value not in ("data", "tasks"):
            raise ValueError(f"list_key must be 'data' or 'tasks', got {value!r}")
        return value
    if value is not None and (not is_int(value) or value < 1):
        raise ValueError(f"list_max_page_size must be a positive integer or None, got {value!r}")
    return value


def check_page_size(page_size: int, limit: int | None) -> None:
    """Answer 400 above the configured maximum page size, as the real list may."""
    if limit is not None and page_size > limit:
        raise ApiError(
            400, "InvalidParameter", f"page_size: must be at most {limit}, got {page_size}"
        )


def other_app_task(now: float, *, model: str, total: float, api_key_id: str) -> Task:
    """A task another application of the account submitted with another key."""
    return Task(
        task_id=new_id(),
        model=model,
        style="dashscope",
        request_id=new_id(),
        prompt="another application's prompt",
        prompt_truncated=False,
        actual_prompt=None,
        input={},
        parameters={},
        size="1280*720",
        sr=720,
        duration=5,
        new_usage=True,
        created=now,
        pending=0.0,
        total=total,
        failure=None,
        video_bytes=None,
        api_key_id=api_key_id,
    )


def check_model_concurrency(value: Any) -> dict[str, int]:
    """Tasks running at once per model: ``{model: n}`` (None: no per-model limit)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and is_int(v) and v >= 1 for k, v in value.items()
    ):
        raise ValueError(f"model_concurrency must map model names to integers >= 1, got {value!r}")
    return dict(value)


def _bad(field_name: str, reason: str) -> ApiError:
    return ApiError(400, "InvalidParameter", f"{field_name}: {reason}")


def _positive(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, f"must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise _bad(name, f"must be a positive integer, got {raw!r}")
    return value


def list_payload(
    tasks: Iterable[Task],
    now: float,
    query: Mapping[str, str],
    max_page_size: int | None,
    list_key: str,
) -> dict[str, Any]:
    """The task list's answer for ``query`` (page, status, model, window of at most 24 h)."""
    page_no = _positive(query, "page_no", 1)
    page_size = _positive(query, "page_size", 10)
    check_page_size(page_size, max_page_size)
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise _bad("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    try:
        end = parse_list_time(query["end_time"]) if query.get("end_time") else None
        start = parse_list_time(query["start_time"]) if query.get("start_time") else None
    except ValueError:
        raise _bad("start_time/end_time", "expected YYYYMMDDhhmmss") from None
    if end is None:
        end = now if start is None else min(start + 86400, now)
    if start is None:
        start = end - 86400
    if end < start:
        raise _bad("start_time/end_time", "start_time is after end_time")
    if end - start > 86400:
        raise _bad("start_time/end_time", "the time window must not exceed 24 hours")
    rows = []
    for task in sorted(tasks, key=lambda t: t.created, reverse=True):
        if not start <= task.created <= end + 1:
            continue
        if query.get("task_id") and task.task_id != query["task_id"]:
            continue
        if query.get("model_name") and task.model != query["model_name"]:
            continue
        if status is not None and task.status(now) != status:
            continue
        rows.append(task.list_row(now))
    total = len(rows)
    return {
        "request_id": new_id(),
        "total": total,
        "total_page": math.ceil(total / page_size) if total else 0,
        "page_no": page_no,
        "page_size": page_size,
        list_key: rows[(page_no - 1) * page_size : page_no * page_size],
    }
