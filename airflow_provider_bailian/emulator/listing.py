"""The task list's open questions, made configurable: its page size limit and array key,
and tasks that other applications of the same account run.

The real maximum ``page_size`` is not published (a 400 above it), newer clients read the
array from ``tasks`` instead of ``data``, and the list shows every task of the main
account, whichever key submitted it: clients must survive all three.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_bailian.emulator.clock import Task
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
