"""The "Bailian videos" gallery: an Airflow plugin with a FastAPI app at ``/bailian``.

Registered through the ``airflow.plugins`` entry point, so installing the provider is all a
user does. On Airflow 3.1+ it adds a page to the UI's navigation (an external view shown
inside the UI) and mounts the app in the api-server:

* ``GET /bailian/`` the page: static HTML and script, no data in it;
* ``GET /bailian/api/videos`` finished and failed generations the caller may read, newest
  first (query ``dag_id``, ``run_id``, ``limit``, ``offset``; the total in ``X-Total-Count``);
* ``GET /bailian/api/filters`` the DAGs and runs that have generations, for the filters;
* ``GET /bailian/api/videos/file`` the stored copy of one video (``video_path``), streamed,
  only from the folders and prefixes of ``[bailian] gallery_roots`` (see ``videos.py``).

Airflow does not authenticate plugin apps, so every data route depends on Airflow's own
``get_user`` (the UI's JWT cookie or a ``Bearer`` token, checked by the configured auth
manager) and narrows what it reads to the DAGs the auth manager says the user may read.
On Airflow 2.11 the plugin is empty: the "Bailian video" extra link stays the way in.

Every answer carries ``X-Content-Type-Options: nosniff``; the page a Content-Security-Policy
that allows its own script, style and API only (no inline code) and the signed video URLs.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures, whose
# types are imported inside ``create_app`` (Airflow 3.1+ only), at definition time.
import asyncio
from pathlib import Path
from typing import Annotated, Any

from airflow_provider_bailian._compat import AIRFLOW_V3_1

try:
    from airflow.plugins_manager import AirflowPlugin
except ImportError:  # pragma: no cover - every supported Airflow has it
    AirflowPlugin = object  # type: ignore[assignment,misc]

URL_PREFIX = "/bailian"
STATIC_DIR = Path(__file__).with_name("static")
PAGE_NAME = "Bailian videos"
#: The page: its own files and API, videos from here or a signed http(s) URL, framed only by
#: the Airflow UI of the same origin.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; media-src 'self' https: http:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
#: A video opened on its own: nothing in it runs.
FILE_CSP = "default-src 'none'; media-src 'self'; sandbox"


def create_app() -> Any:
    """The FastAPI app mounted at ``/bailian`` (Airflow 3.1+ only)."""
    # The api-server's web stack: only when the app is built (Airflow 3.1+).
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.common.db.common import SessionDep
    from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
    from fastapi import Depends, FastAPI, HTTPException, Query, Response, status
    from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
    from fastapi.staticfiles import StaticFiles

    # The api-server's web stack: only when the app is built (Airflow 3.1+).
    from airflow_provider_bailian.plugins import videos

    app = FastAPI(title="Bailian videos", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def security_headers(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # The page is also reachable as static/index.html: every answer has a policy.
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        return response

    read_xcoms = [Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.XCOM))]

    def readable_dag_ids(user: GetUserDep) -> set[str]:
        return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))

    ReadableDagIds = Annotated[set[str], Depends(readable_dag_ids)]

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html",
            headers={"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP},
        )

    @app.get("/api/videos", dependencies=read_xcoms, response_model=None)
    def list_videos(
        session: SessionDep,
        readable: ReadableDagIds,
        dag_id: Annotated[str | None, Query(max_length=videos.ID_MAX_LENGTH)] = None,
        run_id: Annotated[str | None, Query(max_length=videos.ID_MAX_LENGTH)] = None,
        limit: Annotated[int, Query(ge=1, le=videos.MAX_LIMIT)] = videos.DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=videos.MAX_OFFSET)] = 0,
    ) -> JSONResponse:
        found = videos.list_videos(
            session,
            readable_dag_ids=readable,
            dag_id=dag_id,
            run_id=run_id,
            limit=limit,
            offset=offset,
        )
        headers = {"X-Total-Count": str(found.total_entries), "Cache-Control": "no-store"}
        return JSONResponse(found.videos, headers=headers)

    @app.get("/api/filters", dependencies=read_xcoms)
    def list_filters(session: SessionDep, readable: ReadableDagIds) -> dict[str, list[str]]:
        return videos.list_filters(session, readable_dag_ids=readable)

    @app.get("/api/videos/file", dependencies=read_xcoms)
    def video_file(
        session: SessionDep,
        readable: ReadableDagIds,
        dag_id: Annotated[str, Query(min_length=1, max_length=videos.ID_MAX_LENGTH)],
        run_id: Annotated[str, Query(min_length=1, max_length=videos.ID_MAX_LENGTH)],
        task_id: Annotated[str, Query(min_length=1, max_length=videos.ID_MAX_LENGTH)],
        map_index: Annotated[int, Query(ge=-1, le=videos.MAX_MAP_INDEX)] = -1,
    ) -> Response:
        if dag_id not in readable:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
        key = videos.TaskKey(dag_id, run_id, task_id, map_index)
        missing = HTTPException(status.HTTP_404_NOT_FOUND, "No stored copy of this video")
        copy = videos.stored_copy(
            key,
            videos.generation_xcoms(session, key),
            videos.gallery_roots(),
            videos.rendered_fields(session, key),
        )
        if copy is None:
            raise missing
        headers = {
            "Content-Disposition": f'inline; filename="{videos.download_name(key)}"',
            "Content-Security-Policy": FILE_CSP,
            "Cache-Control": "private",
        }
        if copy.local:
            return FileResponse(copy.location, media_type="video/mp4", headers=headers)
        chunks = videos.open_stored(key, copy)
        if chunks is None:
            raise missing
        return StreamingResponse(chunks, media_type="video/mp4", headers=headers)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


class LazyGalleryApp:
    """The ASGI app Airflow mounts at ``/bailian``; builds the FastAPI app on first use.

    Every Airflow process loads plugins (task processes do, for listeners), but only the
    api-server serves this app: building it at import would cost each of them the import of
    FastAPI routing and Airflow's API security (about 0.9 s).
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            app = await asyncio.to_thread(create_app)
            if self._app is None:
                self._app = app
        await self._app(scope, receive, send)


class BailianGalleryPlugin(AirflowPlugin):
    """The gallery page and its API (Airflow 3.1+); nothing on older Airflow."""

    name = "bailian_gallery"
    if AIRFLOW_V3_1:
        fastapi_apps = [{"app": LazyGalleryApp(), "url_prefix": URL_PREFIX, "name": PAGE_NAME}]
        external_views = [
            {
                "name": PAGE_NAME,
                "href": URL_PREFIX.lstrip("/") + "/",
                "destination": "nav",
                "category": "browse",
                "url_route": "bailian_videos",
            }
        ]
