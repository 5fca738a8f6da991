"""The async Bailian client that triggers use: httpx, pooled, rate limited, never blocking.

One ``httpx.AsyncClient`` per event loop and base URL is shared by every trigger
of the process (a trigger never opens its own pool), and one rate limiter per API
key spaces all status queries of that key evenly, because Bailian's query limit
(20 QPS for DashScope) is per account, not per task. The HTTP rules come from
``protocol.py``, exactly as for the sync hook.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import weakref
from typing import TYPE_CHECKING, Any

# Imported when the module loads, never inside a coroutine: a first import in the
# triggerer's event loop is blocking file I/O that stalls every other trigger.
import certifi
import httpx

from airflow_provider_bailian import metrics
from airflow_provider_bailian._compat import aget_connection, amask_secret
from airflow_provider_bailian.connection import BailianSettings
from airflow_provider_bailian.hooks.rate_limit import (  # noqa: F401 (the limiter's old home)
    IDLE,
    NORMAL,
    URGENT,
    QueryRateLimiter,
    _limiters,
    rate_limiter_for,
)
from airflow_provider_bailian.protocol import HttpAnswer, HttpRequest

if TYPE_CHECKING:
    from airflow_provider_bailian.models import TaskResult
    from airflow_provider_bailian.protocol import BailianProtocol

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)
#: Connection settings read by a trigger, reused by the triggers of the process for a few
#: seconds: a thousand waits starting together read the connection once, not a thousand
#: times, and an edited connection is seen by the next trigger that starts after that.
SETTINGS_TTL = 5.0
_settings: dict[str, tuple[float, BailianSettings]] = {}
_settings_reads: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, asyncio.Task[BailianSettings]]
] = weakref.WeakKeyDictionary()


_ssl_context: ssl.SSLContext | None = None


async def _tls_context() -> ssl.SSLContext:
    """Loading CA certificates takes tens of milliseconds of blocking I/O: do it once, off the loop."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = await asyncio.to_thread(ssl.create_default_context, cafile=certifi.where())
    return _ssl_context


async def shared_http_client(settings: BailianSettings) -> httpx.AsyncClient:
    """The pooled client of the running event loop for this base URL."""
    loop = asyncio.get_running_loop()
    per_loop = _clients.setdefault(loop, {})
    client = per_loop.get(settings.base_url)
    if client is None or client.is_closed:
        tls = await _tls_context()
        client = per_loop.get(settings.base_url)  # another trigger may have made it meanwhile
        if client is None or client.is_closed:
            client = per_loop[settings.base_url] = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                follow_redirects=False,
                verify=tls,
            )
    return client


async def _read_settings(conn_id: str) -> BailianSettings:
    await metrics.aprepare()  # Airflow's metrics client is built in a thread, not on the loop
    conn = await aget_connection(conn_id)
    if conn.password:
        await amask_secret(conn.password)
    settings = BailianSettings.from_connection(conn)
    _settings[conn_id] = (time.monotonic() + SETTINGS_TTL, settings)
    return settings


async def connection_settings(conn_id: str) -> BailianSettings:
    """The connection's settings: cached for ``SETTINGS_TTL`` s, and read once however many
    triggers ask at the same moment."""
    cached = _settings.get(conn_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    loop = asyncio.get_running_loop()
    reads = _settings_reads.setdefault(loop, {})
    read = reads.get(conn_id)
    if read is None:
        read = reads[conn_id] = loop.create_task(_read_settings(conn_id))
        read.add_done_callback(lambda _: reads.pop(conn_id, None))
    return await asyncio.shield(read)


class BailianAsyncClient:
    """Async twin of the hook's read operations, for triggers."""

    def __init__(self, settings: BailianSettings) -> None:
        self.settings = settings
        self.protocol: BailianProtocol = settings.protocol()
        self.limiter = rate_limiter_for(settings)

    @classmethod
    async def from_conn_id(cls, conn_id: str) -> BailianAsyncClient:
        """A client for a connection, read with Airflow's async API (never blocking the loop)."""
        return cls(await connection_settings(conn_id))

    async def _send(self, request: HttpRequest, urgency: int = NORMAL) -> HttpAnswer:
        await self.limiter.acquire(urgency)
        client = await shared_http_client(self.settings)
        try:
            resp = await client.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                json=request.json,
                params=request.params,
            )
        except httpx.HTTPError as exc:
            sent = not isinstance(exc, httpx.ConnectError)
            raise self.protocol.transport_error(request, exc, sent=sent) from None
        return HttpAnswer(
            status=resp.status_code,
            body=resp.content,
            headers=dict(resp.headers),
            content_type=resp.headers.get("content-type", ""),
        )

    async def get_task(self, task_id: str, urgency: int = NORMAL) -> TaskResult:
        """One status query (no retries here: the caller owns the backoff)."""
        answer = await self._send(self.protocol.query(task_id), urgency)
        return self.protocol.parse_task(task_id, answer)

    async def list_tasks(self, urgency: int = URGENT, **filters: Any) -> Any:
        """One page of the account's task list (DashScope only), as the flat JSON answer."""
        answer = await self._send(self.protocol.list_tasks(**filters), urgency)
        return self.protocol.parse_ok(answer, operation="list")

    async def cancel_task(self, task_id: str) -> Any:
        http = self.protocol.cancel(task_id)
        return self.protocol.parse_ok(await self._send(http), operation="cancel", task_id=task_id)
