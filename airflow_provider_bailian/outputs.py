"""What a generation delivers: the XCom keys, the usage summary, the asset URI and events.

One module for the contract every consumer reads: the generation and download operators
push these keys, the sensor pushes ``video_url``, the gallery reads them back, lineage and
the asset events name the video by ``asset_uri``. It imports no Airflow at module level, so
the api-server (the gallery) and the OpenLineage listener load it for nothing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_bailian.results import TaskResult, Usage

#: The Bailian task id (also the operator's return value).
XCOM_TASK_ID = "task_id"
#: The signed video URL: pushed as ``None`` first, so the "Bailian video" link always finds it.
XCOM_VIDEO_URL = "video_url"
#: The whole task result (``TaskResult.to_dict()``).
XCOM_RESULT = "result"
#: Where ``download_to`` (or the download operator) stored the video.
XCOM_VIDEO_PATH = "video_path"
#: The billed usage (``usage_summary``).
XCOM_USAGE = "usage"
#: The cost by the price table (``CostEstimate.to_dict()``), or ``None``.
XCOM_COST = "cost"
#: Every key a generation operator pushes, in that order.
XCOM_KEYS = (XCOM_TASK_ID, XCOM_VIDEO_URL, XCOM_RESULT, XCOM_USAGE, XCOM_COST, XCOM_VIDEO_PATH)


def asset_uri(destination: str) -> str:
    """The asset URI of a download destination: ``file://`` + absolute path for local files."""
    if "://" in destination:
        return destination
    return "file://" + os.path.abspath(os.path.expanduser(destination))


def declare_video_asset(destination: str | None, kwargs: dict[str, Any]) -> None:
    """A destination known at parse time becomes the task's asset outlet (unless set)."""
    if destination and "{{" not in str(destination) and not kwargs.get("outlets"):
        # Airflow's asset class, only for an operator that declares one.
        from airflow_provider_bailian._compat import asset

        kwargs["outlets"] = [asset(asset_uri(str(destination)))]


def usage_summary(usage: Usage | None) -> dict[str, Any] | None:
    """The billed usage as plain JSON for XCom (both answer shapes normalised)."""
    if usage is None:
        return None
    return {
        "video_seconds": usage.video_seconds,
        "video_count": usage.video_count,
        "size": usage.size,
        "tier": usage.tier,
        "raw": usage.raw,
    }


def record_asset_events(context: Any, outlets: Any, result: TaskResult, model: str | None) -> None:
    """Put the task id, model and prompt on the asset events of the downloaded video."""
    # Both run in a worker only, after a download; the gallery imports this module too.
    from airflow_provider_bailian._compat import is_asset
    from airflow_provider_bailian.download import url_expiry

    events = context.get("outlet_events")
    if events is None:
        return
    expiry = url_expiry(result.video_url or "")
    extra = {
        "bailian_task_id": result.task_id,
        "model": model,
        "prompt": result.orig_prompt,
        "video_url_expires": expiry.isoformat() if expiry else None,
    }
    for outlet in outlets or ():
        if is_asset(outlet):
            events[outlet].extra.update(extra)
