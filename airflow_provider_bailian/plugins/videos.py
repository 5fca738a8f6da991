"""The gallery's data: Bailian generations read from the XComs the operators push.

One place for what the gallery may show. Every query takes the set of DAG ids the caller
may read (from Airflow's auth manager) and never returns a row outside it, so the routes in
``gallery.py`` cannot forget the check. Works on the metadata database of Airflow 3.x
(XCom values stored as JSON); the routes that call it need Airflow 3.1+.

A generation is a task instance that pushed both ``video_url`` (pushed first, by every
Bailian generation operator) and ``task_id`` (the Bailian task id, once submitted), and whose
state is final. A page costs three indexed queries whatever the history: the page of task
instances with the total count, the XComs of those task instances, their rendered fields.

A stored copy (``video_path``) is any string an XCom writer chose, so the api-server reads it
only when it lies inside ``[bailian] gallery_roots`` (``storage_roots``), the task instance
carries the provider's own result, the location is the one the task itself rendered for
``download_to`` (Airflow's rendered fields, written by the worker only: an XCom writer cannot
name another DAG's copy), and the bytes start like an MP4/MOV; otherwise the tile plays the
signed URL and the reason is logged once.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow_provider_bailian import storage_roots
from airflow_provider_bailian._compat import object_storage_path
from airflow_provider_bailian.download import url_expiry
from airflow_provider_bailian.outputs import (
    XCOM_COST,
    XCOM_KEYS,
    XCOM_RESULT,
    XCOM_TASK_ID,
    XCOM_USAGE,
    XCOM_VIDEO_PATH,
    XCOM_VIDEO_URL,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: The operators' template field the stored copy was written to (``operators/base.py``).
FIELD_DOWNLOAD_TO = "download_to"
FINAL_STATES = ("success", "failed")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
#: Bounds of the other query parameters: past them the routes answer 422, the database is
#: never asked (a 64-bit overflow there is a 500).
MAX_OFFSET = 1_000_000
MAX_MAP_INDEX = 2**31 - 1
ID_MAX_LENGTH = 250  # Airflow's own limit on DAG, run and task ids
#: The filters list: at most this many DAGs, each with at most this many newest runs.
MAX_FILTER_DAGS = 500
MAX_FILTER_RUNS = 100
#: How many bytes of a stored copy are read to tell an MP4/MOV (``ftyp`` box at offset 4).
VIDEO_HEAD = 12

log = logging.getLogger(__name__)


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
    # The metadata database: on the api-server only, when a route asks.
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    return XComModel, TaskInstance, RenderedTaskInstanceFields


def _generations(
    readable_dag_ids: Collection[str], dag_id: str | None, run_id: str | None
) -> tuple[Any, Any]:
    """The filtered ``select`` of final generations (unordered) and the TaskInstance model."""
    # The metadata database: on the api-server only, when a route asks.
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
                submitted.key == XCOM_TASK_ID,
            ),
        )
        .where(
            exists().where(
                link.dag_run_id == submitted.dag_run_id,
                link.task_id == submitted.task_id,
                link.map_index == submitted.map_index,
                link.key == XCOM_VIDEO_URL,
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
    roots: Collection[storage_roots.Root] | None = None,
) -> VideoPage:
    """One page of generations the caller may read, newest first.

    ``roots``: where stored copies may be read (default ``[bailian] gallery_roots``).
    """
    # The metadata database: on the api-server only, when a route asks.
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
        .offset(max(0, min(offset, MAX_OFFSET)))
    ).all()
    if rows:
        total = rows[0].total
    else:  # past the last page
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    keys = [TaskKey(r.dag_id, r.run_id, r.task_id, r.map_index) for r in rows]
    xcoms = _xcoms_of(session, keys, [r.dag_run_id for r in rows])
    rendered = _rendered_fields_of(session, keys)
    now = now or datetime.now(timezone.utc)
    roots = gallery_roots() if roots is None else tuple(roots)
    videos = [
        describe(
            key, row.state, row.end_date, xcoms.get(key, {}), rendered.get(key, {}), now, roots
        )
        for key, row in zip(keys, rows, strict=True)
    ]
    return VideoPage(videos=videos, total_entries=total)


def list_filters(session: Session, *, readable_dag_ids: Collection[str]) -> dict[str, list[str]]:
    """The DAGs with generations the caller may read, each with its runs (newest first).

    Capped: the first ``MAX_FILTER_DAGS`` DAGs by id, each with its ``MAX_FILTER_RUNS``
    newest runs (older runs stay reachable through the DAG filter and the pages).
    """
    # The metadata database: on the api-server only, when a route asks.
    from sqlalchemy import func, select

    if not readable_dag_ids:
        return {}
    query, _ = _generations(readable_dag_ids, None, None)
    sub = query.subquery()
    last_end = func.max(sub.c.end_date)
    per_run = (
        select(
            sub.c.dag_id,
            sub.c.run_id,
            last_end.label("last_end"),
            func.row_number()
            .over(partition_by=sub.c.dag_id, order_by=last_end.desc())
            .label("newest"),
            func.dense_rank().over(order_by=sub.c.dag_id).label("dag_rank"),
        )
        .group_by(sub.c.dag_id, sub.c.run_id)
        .subquery()
    )
    runs = session.execute(
        select(per_run.c.dag_id, per_run.c.run_id, per_run.c.last_end)
        .where(per_run.c.newest <= MAX_FILTER_RUNS, per_run.c.dag_rank <= MAX_FILTER_DAGS)
        .order_by(per_run.c.dag_id, per_run.c.last_end.desc(), per_run.c.run_id)
    ).all()
    filters: dict[str, list[str]] = {}
    for dag, run, _ in runs:
        filters.setdefault(dag, []).append(run)
    return filters


def _ti_clause(model: Any, keys: Iterable[TaskKey]) -> Any:
    # The metadata database: on the api-server only, when a route asks.
    from sqlalchemy import tuple_

    return tuple_(model.dag_id, model.run_id, model.task_id, model.map_index).in_(
        [(k.dag_id, k.run_id, k.task_id, k.map_index) for k in keys]
    )


def _xcoms_of(
    session: Session, keys: list[TaskKey], dag_run_ids: list[int]
) -> dict[TaskKey, dict[str, Any]]:
    """The generation XComs of these task instances, by the XCom table's primary key
    (dag run, task, map index, key); rows of other task instances are dropped here."""
    # The metadata database: on the api-server only, when a route asks.
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
    # The metadata database: on the api-server only, when a route asks.
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
    roots: Collection[storage_roots.Root] = (),
) -> dict[str, Any]:
    """One generation as the API returns it. The page picks its player from ``play``."""
    result = _dict(xcoms.get(XCOM_RESULT))
    usage = _dict(xcoms.get(XCOM_USAGE))
    cost = _dict(xcoms.get(XCOM_COST)) or None
    state = getattr(state, "value", state)
    video_url = _text(xcoms.get(XCOM_VIDEO_URL))
    expiry = url_expiry(video_url) if video_url else None
    video_path = _text(xcoms.get(XCOM_VIDEO_PATH))
    status = result.get("status") or ("SUCCEEDED" if state == "success" else "FAILED")
    item = {
        "dag_id": key.dag_id,
        "run_id": key.run_id,
        "task_id": key.task_id,
        "map_index": key.map_index,
        "bailian_task_id": _text(xcoms.get(XCOM_TASK_ID)) or result.get("task_id"),
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
    stored = stored_copy(key, xcoms, roots, rendered) is not None
    item["play"] = play_source(item, stored=stored)
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


def play_source(item: dict[str, Any], *, stored: bool) -> dict[str, Any]:
    """What the page plays: the stored copy, else the signed URL while valid, else nothing."""
    if stored:
        return {"kind": "stored", "url": file_url(item)}
    if item["video_url"] and not item["video_url_expired"]:
        return {"kind": "signed", "url": item["video_url"]}
    if item["video_url"] or item["video_path"]:
        return {"kind": "expired", "url": None}
    return {"kind": "none", "url": None}


def gallery_roots() -> tuple[storage_roots.Root, ...]:
    """``[bailian] gallery_roots`` of the api-server; a malformed value serves nothing."""
    # The metadata database: on the api-server only, when a route asks.
    from airflow.configuration import conf

    try:
        return storage_roots.configured_roots(storage_roots.GALLERY_ROOTS, conf)
    except storage_roots.NotAllowed as exc:
        storage_roots.log_once(
            log,
            "Bailian gallery: [bailian] gallery_roots is ignored (%s): no stored copy is served",
            exc,
        )
        return ()


def is_generation(xcoms: dict[str, Any]) -> bool:
    """The provider's own XComs of a finished generation: the Bailian task id and its result."""
    task_id = _text(xcoms.get(XCOM_TASK_ID))
    result = _dict(xcoms.get(XCOM_RESULT))
    return (
        bool(task_id) and result.get("task_id") == task_id and result.get("status") == "SUCCEEDED"
    )


def looks_like_video(head: bytes) -> bool:
    """MP4 and MOV files (ISO base media) open with a box whose type is ``ftyp``."""
    return len(head) >= 8 and head[4:8] == b"ftyp"


def stored_copy(
    key: TaskKey,
    xcoms: dict[str, Any],
    roots: Collection[storage_roots.Root],
    rendered: dict[str, Any] | None = None,
) -> storage_roots.Allowed | None:
    """Where the api-server may read this generation's stored copy, or ``None`` (why: logged
    once). ``rendered``: the task instance's rendered template fields, whose ``download_to``
    must name the same location. A local copy is checked down to its first bytes; an
    object-store copy by its URL here and by its bytes when the file route opens it
    (``open_stored``)."""
    location = _text(xcoms.get(XCOM_VIDEO_PATH))
    if location is None:
        return None
    if not roots:
        storage_roots.log_once(
            log,
            "Bailian gallery: [bailian] gallery_roots is empty, so no stored copy (video_path) "
            "is served; tiles play the signed URL while it is valid",
        )
        return None
    try:
        allowed = storage_roots.resolve(location, roots)
        if not is_generation(xcoms):
            raise storage_roots.NotAllowed("the task instance has no SUCCEEDED Bailian result")
        if not _rendered_here(allowed, (rendered or {}).get(FIELD_DOWNLOAD_TO), roots):
            raise storage_roots.NotAllowed(
                "it is not where the task instance's rendered download_to wrote its copy "
                "(Airflow keeps rendered fields for the newest runs only)"
            )
        if allowed.local:
            _check_local_video(allowed.location)
        elif not _known_store(location):
            raise storage_roots.NotAllowed("no file system is installed for its scheme")
    except storage_roots.NotAllowed as exc:
        _refused(key, location, str(exc))
        return None
    return allowed


def _rendered_here(
    allowed: storage_roots.Allowed, download_to: Any, roots: Collection[storage_roots.Root]
) -> bool:
    """Does the task's own rendered ``download_to`` resolve to the same location?"""
    if not isinstance(download_to, str):
        return False
    try:
        return storage_roots.resolve(download_to, roots) == allowed
    except storage_roots.NotAllowed:
        return False


def _refused(key: TaskKey, location: str, reason: str) -> None:
    storage_roots.log_once(
        log,
        "Bailian gallery: not serving video_path %r of %s: %s",
        location,
        f"{key.dag_id}/{key.run_id}/{key.task_id}[{key.map_index}]",
        reason,
    )


def _check_local_video(path: str) -> None:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO or a device
            raise storage_roots.NotAllowed("not a regular file")
        with open(path, "rb") as handle:
            head = handle.read(VIDEO_HEAD)
    except OSError as exc:
        raise storage_roots.NotAllowed(f"unreadable ({type(exc).__name__})") from None
    if not looks_like_video(head):
        raise storage_roots.NotAllowed("its bytes are not an MP4/MOV video")


def _known_store(location: str) -> bool:
    try:
        # Optional: object stores, present with Airflow's object storage.
        import fsspec

        fsspec.get_filesystem_class(location.split("://", 1)[0].lower())
    except (ImportError, ValueError):
        return False
    return True


def open_stored(
    key: TaskKey, allowed: storage_roots.Allowed, chunk_size: int = 1024 * 1024
) -> Iterator[bytes] | None:
    """The chunks of an object-store copy, once its first bytes show a video; else ``None``."""
    try:
        source = object_storage_path(allowed.location).open("rb")
    except Exception as exc:  # any store's own error: missing, denied, no connection
        _refused(key, allowed.location, f"unreadable ({type(exc).__name__})")
        return None
    try:
        first = source.read(chunk_size)
    except Exception as exc:
        source.close()
        _refused(key, allowed.location, f"unreadable ({type(exc).__name__})")
        return None
    if not looks_like_video(first[:VIDEO_HEAD]):
        source.close()
        _refused(key, allowed.location, "its bytes are not an MP4/MOV video")
        return None

    def chunks() -> Iterator[bytes]:
        with source:
            chunk = first
            while chunk:
                yield chunk
                chunk = source.read(chunk_size)

    return chunks()


def download_name(key: TaskKey) -> str:
    """``<task>.mp4`` for ``Content-Disposition`` (``<task>-<map index>.mp4`` when mapped)."""
    name = key.task_id if key.map_index < 0 else f"{key.task_id}-{key.map_index}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".mp4"


def generation_xcoms(session: Session, key: TaskKey) -> dict[str, Any]:
    """The generation XComs of one task instance (the caller has checked read access)."""
    # The metadata database: on the api-server only, when a route asks.
    from sqlalchemy import select

    XComModel, _, _ = _models()
    rows = session.execute(
        select(XComModel.key, XComModel.value).where(
            XComModel.dag_id == key.dag_id,
            XComModel.run_id == key.run_id,
            XComModel.task_id == key.task_id,
            XComModel.map_index == key.map_index,
            XComModel.key.in_(XCOM_KEYS),
        )
    ).all()
    return {row.key: XComModel.deserialize_value(row) for row in rows}


def rendered_fields(session: Session, key: TaskKey) -> dict[str, Any]:
    """The rendered template fields of one task instance (empty once Airflow dropped them)."""
    return _rendered_fields_of(session, [key]).get(key, {})
