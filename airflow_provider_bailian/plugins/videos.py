"""The gallery's data: Bailian generations read from the XComs the operators push.

One place for what the gallery may show. Every query takes the set of DAG ids the caller
may read (from Airflow's auth manager) and never returns a row outside it, so the routes in
``gallery.py`` cannot forget the check. Works on the metadata database of Airflow 3.x
(XCom values stored as JSON); the routes that call it need Airflow 3.1+.

A generation is a task instance that pushed both ``video_url`` (pushed first, by every
Bailian generation operator) and ``task_id`` (the Bailian task id, once submitted), and whose
state is final. A page costs three indexed queries whatever the history: the page of task
instances with the total count, the XComs of those task instances, their rendered fields.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow_provider_bailian.download import url_expiry

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: XCom keys the generation operators push (``operators/text2video.py``).
KEY_TASK_ID = "task_id"
KEY_VIDEO_URL = "video_url"
KEY_RESULT = "result"
KEY_USAGE = "usage"
KEY_COST = "cost"
KEY_VIDEO_PATH = "video_path"
XCOM_KEYS = (KEY_TASK_ID, KEY_VIDEO_URL, KEY_RESULT, KEY_USAGE, KEY_COST, KEY_VIDEO_PATH)
FINAL_STATES = ("success", "failed")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
_LOCAL_SCHEMES = ("", "file", "local")


@dataclass(frozen=True)
class VideoPage:
    videos: list[dict[str, Any]]
    total_entries: int


@dataclass(frozen=True)
class TaskKey:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int


def _models() -> tuple[Any, Any, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    return XComModel, TaskInstance, RenderedTaskInstanceFields


def _generations(
    readable_dag_ids: Collection[str], dag_id: str | None, run_id: str | None
) -> tuple[Any, Any]:
    """The filtered ``select`` of final generations (unordered) and the TaskInstance model."""
    from sqlalchemy import and_, exists, select
    from sqlalchemy.orm import aliased

    XComModel, TI, _ = _models()
    submitted = aliased(XComModel)
    link = aliased(XComModel)
    query = (
        select(
            TI.dag_id,
            TI.run_id,
            TI.task_id,
            TI.map_index,
            TI.state,
            TI.end_date,
            submitted.dag_run_id,
        )
        .join(
            submitted,
            and_(
                submitted.dag_id == TI.dag_id,
                submitted.run_id == TI.run_id,
                submitted.task_id == TI.task_id,
                submitted.map_index == TI.map_index,
                submitted.key == KEY_TASK_ID,
            ),
        )
        .where(
            exists().where(
                link.dag_run_id == submitted.dag_run_id,
                link.task_id == submitted.task_id,
                link.map_index == submitted.map_index,
                link.key == KEY_VIDEO_URL,
            ),
            TI.state.in_(FINAL_STATES),
            TI.dag_id.in_(sorted(readable_dag_ids)),
        )
    )
    if dag_id:
        query = query.where(TI.dag_id == dag_id)
    if run_id:
        query = query.where(TI.run_id == run_id)
    return query, TI


def list_videos(
    session: Session,
    *,
    readable_dag_ids: Collection[str],
    dag_id: str | None = None,
    run_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    now: datetime | None = None,
) -> VideoPage:
    """One page of generations the caller may read, newest first."""
    from sqlalchemy import func, select

    if not readable_dag_ids or (dag_id and dag_id not in readable_dag_ids):
        return VideoPage(videos=[], total_entries=0)
    query, TI = _generations(readable_dag_ids, dag_id, run_id)
    # The total rides along as a window count: one pass over the generations, not two.
    rows = session.execute(
        query.add_columns(func.count().over().label("total"))
        .order_by(
            TI.end_date.desc().nulls_last(),
            TI.dag_id,
            TI.run_id,
            TI.task_id,
            TI.map_index,
        )
        .limit(max(1, min(limit, MAX_LIMIT)))
        .offset(max(0, offset))
    ).all()
    if rows:
        total = rows[0].total
    else:  # past the last page
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    keys = [TaskKey(r.dag_id, r.run_id, r.task_id, r.map_index) for r in rows]
    xcoms = _xcoms_of(session, keys, [r.dag_run_id for r in rows])
    rendered = _rendered_fields_of(session, keys)
    now = now or datetime.now(timezone.utc)
    videos = [
        describe(key, row.state, row.end_date, xcoms.get(key, {}), rendered.get(key, {}), now)
        for key, row in zip(keys, rows, strict=True)
    ]
    return VideoPage(videos=videos, total_entries=total)


def list_filters(session: Session, *, readable_dag_ids: Collection[str]) -> dict[str, list[str]]:
    """The DAGs with generations the caller may read, each with its runs (newest first)."""
    from sqlalchemy import func, select

    if not readable_dag_ids:
        return {}
    query, _ = _generations(readable_dag_ids, None, None)
    sub = query.subquery()
    last_end = func.max(sub.c.end_date)
    runs = session.execute(
        select(sub.c.dag_id, sub.c.run_id, last_end)
        .group_by(sub.c.dag_id, sub.c.run_id)
        .order_by(sub.c.dag_id, last_end.desc())
    ).all()
    filters: dict[str, list[str]] = {}
    for dag, run, _ in runs:
        filters.setdefault(dag, []).append(run)
    return filters


def _ti_clause(model: Any, keys: Iterable[TaskKey]) -> Any:
    from sqlalchemy import tuple_

    return tuple_(model.dag_id, model.run_id, model.task_id, model.map_index).in_(
        [(k.dag_id, k.run_id, k.task_id, k.map_index) for k in keys]
    )


def _xcoms_of(
    session: Session, keys: list[TaskKey], dag_run_ids: list[int]
) -> dict[TaskKey, dict[str, Any]]:
    """The generation XComs of these task instances, by the XCom table's primary key
    (dag run, task, map index, key); rows of other task instances are dropped here."""
    from sqlalchemy import select

    if not keys:
        return {}
    XComModel, _, _ = _models()
    wanted = set(keys)
    found: dict[TaskKey, dict[str, Any]] = {}
    rows = session.execute(
        select(
            XComModel.dag_id,
            XComModel.run_id,
            XComModel.task_id,
            XComModel.map_index,
            XComModel.key,
            XComModel.value,
        ).where(
            XComModel.dag_run_id.in_(set(dag_run_ids)),
            XComModel.task_id.in_({k.task_id for k in keys}),
            XComModel.key.in_(XCOM_KEYS),
        )
    ).all()
    for row in rows:
        key = TaskKey(row.dag_id, row.run_id, row.task_id, row.map_index)
        if key in wanted:
            found.setdefault(key, {})[row.key] = XComModel.deserialize_value(row)
    return found


def _rendered_fields_of(session: Session, keys: list[TaskKey]) -> dict[TaskKey, dict[str, Any]]:
    """Rendered ``prompt`` and ``model`` (Airflow keeps them for recent runs only)."""
    from sqlalchemy import select

    if not keys:
        return {}
    _, _, RTIF = _models()
    rows = session.execute(
        select(RTIF.dag_id, RTIF.run_id, RTIF.task_id, RTIF.map_index, RTIF.rendered_fields).where(
            _ti_clause(RTIF, keys)
        )
    ).all()
    return {
        TaskKey(r.dag_id, r.run_id, r.task_id, r.map_index): r.rendered_fields or {} for r in rows
    }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "None" else None


def describe(
    key: TaskKey,
    state: Any,
    end_date: datetime | None,
    xcoms: dict[str, Any],
    rendered: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """One generation as the API returns it. The page picks its player from ``play``."""
    result = _dict(xcoms.get(KEY_RESULT))
    usage = _dict(xcoms.get(KEY_USAGE))
    cost = _dict(xcoms.get(KEY_COST)) or None
    state = getattr(state, "value", state)
    video_url = _text(xcoms.get(KEY_VIDEO_URL))
    expiry = url_expiry(video_url) if video_url else None
    video_path = _text(xcoms.get(KEY_VIDEO_PATH))
    status = result.get("status") or ("SUCCEEDED" if state == "success" else "FAILED")
    item = {
        "dag_id": key.dag_id,
        "run_id": key.run_id,
        "task_id": key.task_id,
        "map_index": key.map_index,
        "bailian_task_id": _text(xcoms.get(KEY_TASK_ID)) or result.get("task_id"),
        "model": (cost or {}).get("model") or _text(rendered.get("model")),
        "prompt": result.get("orig_prompt") or _text(rendered.get("prompt")),
        "actual_prompt": result.get("actual_prompt"),
        "status": status,
        "state": state,
        "message": result.get("message"),
        "video_url": video_url,
        "video_url_expires": expiry.isoformat() if expiry else None,
        "video_url_expired": bool(expiry and expiry <= now),
        "video_path": video_path,
        "resolution": usage.get("size") or usage.get("tier") or (cost or {}).get("tier"),
        "duration": usage.get("video_seconds"),
        "usage": usage or None,
        "cost": cost,
        "end_date": end_date.isoformat() if end_date else None,
        "ti_url": ti_url(key),
    }
    item["play"] = play_source(item)
    return item


def ti_url(key: TaskKey) -> str:
    """The task instance in Airflow's UI, relative to the gallery page (``/bailian/``)."""
    parts = [quote(p, safe="") for p in (key.dag_id, key.run_id, key.task_id)]
    url = "../dags/{}/runs/{}/tasks/{}".format(*parts)
    return f"{url}/mapped/{key.map_index}" if key.map_index >= 0 else url


def file_url(item: dict[str, Any]) -> str:
    """The gallery route streaming the stored copy, relative to the gallery page."""
    query = {k: item[k] for k in ("dag_id", "run_id", "task_id", "map_index")}
    return "api/videos/file?" + urlencode(query)


def play_source(item: dict[str, Any]) -> dict[str, Any]:
    """What the page plays: the stored copy, else the signed URL while valid, else nothing."""
    if item["video_path"] and servable(item["video_path"]):
        return {"kind": "stored", "url": file_url(item)}
    if item["video_url"] and not item["video_url_expired"]:
        return {"kind": "signed", "url": item["video_url"]}
    if item["video_url"] or item["video_path"]:
        return {"kind": "expired", "url": None}
    return {"kind": "none", "url": None}


def _scheme(location: str) -> str:
    return location.split("://", 1)[0].lower() if "://" in location else ""


def local_path(location: str) -> str | None:
    """The file system path of a local ``video_path`` (plain or ``file://``), else ``None``."""
    if _scheme(location) not in _LOCAL_SCHEMES:
        return None
    return location.split("://", 1)[1] if "://" in location else location


def servable(location: str) -> bool:
    """Whether this api-server can read the stored copy (local file here, or a known store)."""
    path = local_path(location)
    if path is not None:
        return os.path.isfile(path)
    try:
        import fsspec

        fsspec.get_filesystem_class(_scheme(location))
    except (ImportError, ValueError):
        return False
    return True


def stored_location(session: Session, key: TaskKey) -> str | None:
    """The ``video_path`` XCom of one generation (the caller has checked read access)."""
    from sqlalchemy import select

    XComModel, _, _ = _models()
    row = session.execute(
        select(XComModel.value).where(
            XComModel.dag_id == key.dag_id,
            XComModel.run_id == key.run_id,
            XComModel.task_id == key.task_id,
            XComModel.map_index == key.map_index,
            XComModel.key == KEY_VIDEO_PATH,
        )
    ).first()
    return _text(XComModel.deserialize_value(row)) if row else None
