"""A local stand-in for the Bailian (DashScope) text-to-video API.

One HTTP server answers both API styles (the gateway's ``/task/...`` paths and DashScope's
``/api/v1/...`` paths), serves the finished videos as signed OSS-like URLs, and lets tests
inject the failures a real network and a real service produce. Standard library only, so
that importing it costs nothing and it runs wherever Python runs.

Task progress is computed from the clock whenever a task is looked at, so there is no
background worker: a task is PENDING, then RUNNING, then SUCCEEDED or FAILED purely as a
function of the time since it could start.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import random
import re
import secrets
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "FAULT_KINDS",
    "FAULT_ROUTES",
    "MODELS",
    "BailianEmulator",
    "parse_fault_spec",
]

# --------------------------------------------------------------------------------------
# The service's own tables. The emulator plays the service, so it keeps its own copy of
# the facts instead of sharing the client's tables (a shared table would hide a mistake
# on both sides at once).
# --------------------------------------------------------------------------------------

_SIZES_480P = ("832*480", "480*832", "624*624")
_SIZES_720P = ("1280*720", "720*1280", "960*960", "1088*832", "832*1088")
_SIZES_1080P = ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632")
# wan2.7 renders 4:3 and 3:4 at slightly different sizes.
_W27_720P = ("1280*720", "720*1280", "960*960", "1104*832", "832*1104")
_W27_1080P = ("1920*1080", "1080*1920", "1440*1440", "1648*1248", "1248*1648")
_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")

_WAN27 = {
    "tiers": {"720P": _W27_720P, "1080P": _W27_1080P},
    "protocol": "resolution",
    "default_size": "1920*1080",
    "durations": tuple(range(2, 16)),
    "prompt_max": 5000,
    "audio": True,
    "shot_type": False,
    "new_usage": True,
}
_WAN26 = {
    "tiers": {"720P": _SIZES_720P, "1080P": _SIZES_1080P},
    "protocol": "size",
    "default_size": "1920*1080",
    "durations": tuple(range(2, 16)),
    "prompt_max": 1500,
    "audio": True,
    "shot_type": True,
    "new_usage": True,
}
_WAN21_TURBO = {
    "tiers": {"480P": _SIZES_480P, "720P": _SIZES_720P},
    "protocol": "size",
    "default_size": "1280*720",
    "durations": (5,),
    "prompt_max": 800,
    "audio": False,
    "shot_type": False,
    "new_usage": False,
}
_WAN21_PLUS = {
    "tiers": {"720P": _SIZES_720P},
    "protocol": "size",
    "default_size": "1280*720",
    "durations": (5,),
    "prompt_max": 800,
    "audio": False,
    "shot_type": False,
    "new_usage": False,
}

#: Models the emulated service knows, with what each accepts.
MODELS: dict[str, dict[str, Any]] = {
    "wan2.7-t2v": _WAN27,
    "wan2.7-t2v-2026-04-25": _WAN27,
    "wan2.6-t2v": _WAN26,
    "wan2.6-t2v-us": _WAN26,
    "wan2.5-t2v-preview": {
        "tiers": {"480P": _SIZES_480P, "720P": _SIZES_720P, "1080P": _SIZES_1080P},
        "protocol": "size",
        "default_size": "1920*1080",
        "durations": (5, 10),
        "prompt_max": 1500,
        "audio": True,
        "shot_type": False,
        "new_usage": False,
    },
    "wan2.2-t2v-plus": {
        "tiers": {"480P": _SIZES_480P, "1080P": _SIZES_1080P},
        "protocol": "size",
        "default_size": "1920*1080",
        "durations": (5,),
        "prompt_max": 800,
        "audio": False,
        "shot_type": False,
        "new_usage": False,
    },
    "wanx2.1-t2v-turbo": _WAN21_TURBO,
    "wan2.1-t2v-turbo": _WAN21_TURBO,
    "wanx2.1-t2v-plus": _WAN21_PLUS,
    "wan2.1-t2v-plus": _WAN21_PLUS,
}

_NEGATIVE_PROMPT_MAX = 500
_SEED_MAX = 2147483647

#: Messages the service gives for task failures, by code.
_FAILURE_MESSAGES = {
    "DataInspectionFailed": "Output data may contain inappropriate content.",
    "InvalidParameter.DataInspection": "Input data may contain inappropriate content.",
    "InternalError": "An internal error has occured, please try again later.",
    "InternalError.Algo": "An internal error has occured during execution.",
    "ModelServingError": "Model serving error, please try again later.",
    "InvalidURL": "The audio url can not be downloaded.",
    "InvalidParameter": "The request parameters are invalid.",
}
_FAIL_MARKER = re.compile(r"\[fail(?::([A-Za-z0-9_.\-]+))?\]")

_THROTTLE_MESSAGES = {
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

#: Routes a fault can target ("any" matches every API and video route).
FAULT_ROUTES = ("submit", "query", "cancel", "list", "video", "any")
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
}

_STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN")
# Alibaba reports task times in Beijing time.
_SERVICE_TZ = timezone(timedelta(hours=8))
_JSON = "application/json;charset=UTF-8"
_XML = "application/xml"
_CHUNK = 64 * 1024
# Deterministic filler for large videos: byte at absolute offset p is p % 256. Doubled so
# any 64 KiB window can be sliced without wrapping.
_PATTERN = bytes(range(256)) * 512

_SAMPLE_PATH = Path(__file__).with_name("sample.mp4")
_sample_cache: bytes | None = None


def _sample() -> bytes:
    global _sample_cache
    if _sample_cache is None:
        _sample_cache = _SAMPLE_PATH.read_bytes()
    return _sample_cache


_LIST_OPTIONS = ("list_max_page_size", "list_key")


def _check_list_option(name: str, value: Any) -> Any:
    """Options of the task list: its maximum page size (None: none) and its array key."""
    if name == "list_key":
        if value not in ("data", "tasks"):
            raise ValueError(f"list_key must be 'data' or 'tasks', got {value!r}")
        return value
    if value is not None and (not _is_int(value) or value < 1):
        raise ValueError(f"list_max_page_size must be a positive integer or None, got {value!r}")
    return value


def _fmt_time(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, _SERVICE_TZ)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def _parse_list_time(value: str) -> float:
    dt = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=_SERVICE_TZ)
    return dt.timestamp()


def _new_id() -> str:
    return str(uuid.uuid4())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tier_of(model: Mapping[str, Any], size: str) -> str | None:
    for tier, sizes in model["tiers"].items():
        if size in sizes:
            return tier
    return None


# --------------------------------------------------------------------------------------
# Internal types
# --------------------------------------------------------------------------------------


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str | None = _JSON
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None
    # (start, end_exclusive, total, prefix) for a video byte range streamed on the fly.
    stream: tuple[int, int, int, bytes] | None = None
    drop: bool = False
    truncate_at: int | None = None
    task_id: str | None = None
    fault: str | None = None

    @property
    def length(self) -> int:
        if self.stream is not None:
            return self.stream[1] - self.stream[0]
        return len(self.body)


@dataclass
class _Fault:
    route: str
    kind: str
    remaining: int
    opts: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"route": self.route, "kind": self.kind, "times": self.remaining, **self.opts}


@dataclass
class _Task:
    task_id: str
    model: str
    style: str
    request_id: str
    prompt: str
    prompt_truncated: bool
    actual_prompt: str | None
    input: dict[str, Any]
    parameters: dict[str, Any]
    size: str
    sr: int
    duration: int
    new_usage: bool
    created: float
    pending: float
    total: float
    failure: tuple[str, str] | None
    video_bytes: int | None
    start: float | None = None
    canceled_at: float | None = None
    api_key_id: str = "emulator"  # another application of the account uses another key

    def status(self, now: float) -> str:
        if self.canceled_at is not None:
            return "CANCELED"
        if self.start is None or now < self.start + self.pending:
            return "PENDING"
        if now < self.start + self.total:
            return "RUNNING"
        return "FAILED" if self.failure else "SUCCEEDED"

    def slot_end(self) -> float:
        assert self.start is not None
        if self.canceled_at is not None:
            return self.canceled_at
        return self.start + self.total


def _json_reply(
    status: int, payload: Any, request_id: str | None = None, headers: dict | None = None
) -> _Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    hdrs = dict(headers or {})
    if request_id:
        hdrs["X-Request-Id"] = request_id
    return _Reply(status=status, body=body, headers=hdrs, request_id=request_id)


def _error_reply(status: int, code: str, message: str, headers: dict | None = None) -> _Reply:
    rid = _new_id()
    return _json_reply(status, {"request_id": rid, "code": code, "message": message}, rid, headers)


def _oss_error(
    status: int, code: str, message: str, extra: Mapping[str, str] | None = None
) -> _Reply:
    rid = uuid.uuid4().hex[:24].upper()
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<Error>",
        f"  <Code>{code}</Code>",
        f"  <Message>{message}</Message>",
        f"  <RequestId>{rid}</RequestId>",
        "  <HostId>localhost</HostId>",
    ]
    parts += [f"  <{k}>{v}</{k}>" for k, v in (extra or {}).items()]
    parts.append("</Error>\n")
    return _Reply(
        status=status,
        body="\n".join(parts).encode("utf-8"),
        content_type=_XML,
        headers={"x-oss-request-id": rid, "X-Request-Id": rid},
        request_id=rid,
    )


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


def _check_fault(route: str, kind: str, times: int, opts: Mapping[str, Any]) -> None:
    if route not in FAULT_ROUTES:
        raise ValueError(f"fault route {route!r} is not one of {', '.join(FAULT_ROUTES)}")
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    if not _is_int(times) or times < 1:
        raise ValueError(f"fault times must be an integer >= 1, got {times!r}")
    unknown = set(opts) - set(FAULT_KINDS[kind])
    if unknown:
        allowed = ", ".join(FAULT_KINDS[kind]) or "none"
        raise ValueError(
            f"fault kind {kind!r} takes no option {', '.join(sorted(unknown))} (allowed: {allowed})"
        )
    for key in ("status",):
        if key in opts and (not _is_int(opts[key]) or not 100 <= opts[key] <= 599):
            raise ValueError(f"fault option {key} must be an HTTP status, got {opts[key]!r}")
    for key in ("seconds", "retry_after"):
        if key in opts and (not isinstance(opts[key], (int, float)) or opts[key] < 0):
            raise ValueError(f"fault option {key} must be a number >= 0, got {opts[key]!r}")
    if "bytes" in opts and (not _is_int(opts["bytes"]) or opts["bytes"] < 0):
        raise ValueError(f"fault option bytes must be an integer >= 0, got {opts['bytes']!r}")


# --------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # bursts of parallel clients must not overflow the backlog
    emulator: BailianEmulator

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall for
        # seconds on machines without DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        if not self.emulator.quiet:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return "BailianEmulator/1.0"

    def setup(self) -> None:
        super().setup()
        self.server.emulator._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emulator._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the emulator logs on its own."""

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        emu = self.server.emulator
        reply = emu._handle_http(self.command, self.path, self.headers, body)
        try:
            self._write(reply)
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    def _hard_close(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, reply: _Reply) -> None:
        if reply.drop:
            self._hard_close()
            return
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        length = reply.length
        self.send_header("Content-Length", str(length))
        if reply.truncate_at is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        limit = length if reply.truncate_at is None else min(reply.truncate_at, length)
        sent = 0
        for chunk in self.server.emulator._iter_body(reply):
            if sent + len(chunk) > limit:
                chunk = chunk[: limit - sent]
            if chunk:
                self.wfile.write(chunk)
                sent += len(chunk)
            if sent >= limit:
                break
        if reply.truncate_at is not None:
            self._hard_close()


# --------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------


class BailianEmulator:
    """A local Bailian/DashScope text-to-video service on one port.

    Serves the gateway style (``POST /task/bailian/text2video``, ``GET /task/{id}``), the
    DashScope style (``/api/v1/services/aigc/video-generation/video-synthesis``,
    ``/api/v1/tasks/...``), signed video downloads (``/videos/{id}.mp4``) and control
    endpoints under ``/_emulator/`` for tests that run it in another process.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        task_seconds: float = 3.0,
        pending_seconds: float | None = None,
        failure_rate: float = 0.0,
        fault_rate: float = 0.0,
        submit_rps: float | None = None,
        query_rps: float | None = None,
        max_concurrent: int | None = None,
        url_ttl: float = 86400,
        video_bytes: int | None = None,
        seed: int | None = None,
        quiet: bool = True,
        video_host: str = "localhost",
    ) -> None:
        self.host = host
        self._requested_port = port
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._secret = secrets.token_bytes(32)
        self._clock_offset = 0.0
        self._tasks: dict[str, _Task] = {}
        self._records: list[dict[str, Any]] = []
        self._faults: list[_Fault] = []
        self._windows: dict[str, deque[float]] = {"submit": deque(), "query": deque()}
        # Defaults first, then the caller's values through the same checks as configure().
        self.api_key: str | None = None
        self.task_seconds = 3.0
        self.pending_seconds: float | None = None
        self.failure_rate = 0.0
        self.fault_rate = 0.0
        self.submit_rps: float | None = None
        self.query_rps: float | None = None
        self.max_concurrent: int | None = None
        self.url_ttl: float = 86400
        self.video_bytes: int | None = None
        self.seed: int | None = None
        self.quiet = True
        self.video_host = "localhost"
        self.list_max_page_size: int | None = 100
        self.list_key = "data"
        self._rng = random.Random()
        self._fault_rng = random.Random()
        self.configure(
            api_key=api_key,
            task_seconds=task_seconds,
            pending_seconds=pending_seconds,
            failure_rate=failure_rate,
            fault_rate=fault_rate,
            submit_rps=submit_rps,
            query_rps=query_rps,
            max_concurrent=max_concurrent,
            url_ttl=url_ttl,
            video_bytes=video_bytes,
            seed=seed,
            quiet=quiet,
            video_host=video_host,
        )

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> BailianEmulator:
        """Bind the port and serve in a daemon thread. Returns self."""
        if self._server is not None:
            return self
        _sample()  # fail early if the asset is missing
        server_cls = _Server
        if ":" in self.host:

            class _Server6(_Server):
                address_family = socket.AF_INET6

            server_cls = _Server6
        server = server_cls((self.host, self._requested_port), _Handler)
        server.emulator = self
        self._server = server
        self._stop_event.clear()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits at most this long
            name=f"bailian-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection and release the port."""
        server = self._server
        if server is None:
            return
        self._stop_event.set()
        server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BailianEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the requested one until :meth:`start`)."""
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` to give clients (a wildcard host becomes loopback)."""
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # ----------------------------------------------------------------- configuration

    def configure(self, **opts: Any) -> dict[str, Any]:
        """Change options at runtime; returns the resulting configuration.

        Options: api_key, task_seconds, pending_seconds, failure_rate, fault_rate,
        submit_rps, query_rps, max_concurrent, url_ttl, video_bytes, seed, quiet,
        video_host, list_max_page_size, list_key. Task timings are fixed per task when it
        is submitted.
        """
        checked: dict[str, Any] = {}
        for name, value in opts.items():
            checked[name] = self._check_option(name, value)
        with self._lock:
            for name, value in checked.items():
                setattr(self, name, value)
                if name == "seed":
                    self._rng = random.Random(value)
                    self._fault_rng = random.Random(None if value is None else value + 1)
            return self.config

    @property
    def config(self) -> dict[str, Any]:
        """The current options as a JSON-serialisable dict (the API key is not shown)."""
        return {
            "host": self.host,
            "port": self.port,
            "api_key_set": self.api_key is not None,
            "task_seconds": self.task_seconds,
            "pending_seconds": self.pending_seconds,
            "failure_rate": self.failure_rate,
            "fault_rate": self.fault_rate,
            "submit_rps": self.submit_rps,
            "query_rps": self.query_rps,
            "max_concurrent": self.max_concurrent,
            "url_ttl": self.url_ttl,
            "video_bytes": self.video_bytes,
            "seed": self.seed,
            "quiet": self.quiet,
            "video_host": self.video_host,
            "list_max_page_size": self.list_max_page_size,
            "list_key": self.list_key,
        }

    @staticmethod
    def _check_option(name: str, value: Any) -> Any:
        def number(minimum: float = 0.0, maximum: float | None = None) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if value < minimum or (maximum is not None and value > maximum):
                raise ValueError(f"{name} must be in [{minimum}, {maximum}], got {value!r}")
            return float(value)

        if name == "api_key":
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError("api_key must be a non-empty string or None")
            return value
        if name in ("task_seconds", "url_ttl"):
            return number()
        if name in ("failure_rate", "fault_rate"):
            return number(0.0, 1.0)
        if name in ("pending_seconds", "submit_rps", "query_rps"):
            if value is None:
                return None
            return number(0.0 if name == "pending_seconds" else 1e-9)
        if name in ("max_concurrent", "video_bytes", "seed"):
            if value is None:
                return None
            if not _is_int(value) or value < (1 if name == "max_concurrent" else 0):
                raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")
            return value
        if name == "quiet":
            return bool(value)
        if name in _LIST_OPTIONS:
            return _check_list_option(name, value)
        if name == "video_host":
            if not isinstance(value, str) or not value:
                raise ValueError("video_host must be a non-empty string")
            return value
        raise TypeError(f"unknown emulator option {name!r}")

    # ----------------------------------------------------------------- faults

    def add_fault(self, route: str, kind: str, times: int = 1, **opts: Any) -> None:
        """Make the next ``times`` requests on ``route`` fail in the way ``kind`` says.

        Faults are consumed first-in first-out per route; a fault on ``"any"`` matches
        every API and video route. See :data:`FAULT_KINDS` for the kinds and options.
        """
        _check_fault(route, kind, times, opts)
        with self._lock:
            self._faults.append(_Fault(route, kind, times, dict(opts)))

    def clear_faults(self) -> None:
        """Drop every fault not yet consumed."""
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        """Faults not yet consumed, in order."""
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def _take_fault(self, route: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.route in (route, "any"):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return _Fault(fault.route, fault.kind, 1, dict(fault.opts))
            if (
                route == "query"
                and self.fault_rate > 0
                and self._fault_rng.random() < self.fault_rate
            ):
                kind = self._fault_rng.choice(("500", "503", "drop"))
                return _Fault("query", kind, 1, {})
        return None

    # ----------------------------------------------------------------- state access

    def now(self) -> float:
        """The emulator's clock (wall time plus whatever :meth:`advance` added)."""
        return time.time() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward, e.g. to finish tasks or expire video URLs."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._clock_offset += seconds

    def reset(self) -> None:
        """Forget tasks, recorded requests, pending faults, rate windows and clock shifts."""
        with self._lock:
            self._tasks.clear()
            self._records.clear()
            self._faults.clear()
            for window in self._windows.values():
                window.clear()
            self._clock_offset = 0.0

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request received, oldest first (copies; the token is never recorded)."""
        with self._lock:
            return [dict(r) for r in self._records]

    @property
    def submissions(self) -> list[dict[str, Any]]:
        """The recorded submit requests, whatever their answer."""
        return [r for r in self.requests if r["route"] == "submit"]

    def count(self, route: str) -> int:
        """Number of requests seen on ``route``, faulted ones included."""
        with self._lock:
            return sum(1 for r in self._records if r["route"] == route)

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        """Task id -> a snapshot of the task, status as of now."""
        with self._lock:
            now = self.now()
            self._advance(now)
            return {tid: self._task_info(t, now) for tid, t in self._tasks.items()}

    def _task_info(self, task: _Task, now: float) -> dict[str, Any]:
        status = task.status(now)
        info: dict[str, Any] = {
            "task_id": task.task_id,
            "status": status,
            "model": task.model,
            "api_style": task.style,
            "request_id": task.request_id,
            "prompt": task.prompt,
            "prompt_truncated": task.prompt_truncated,
            "input": task.input,
            "parameters": task.parameters,
            "size": task.size,
            "duration": task.duration,
            "submit_time": task.created,
            "start_time": task.start,
            "scheduled_time": None if task.start is None else task.start + task.pending,
            "end_time": None,
            "canceled_time": task.canceled_at,
            "failure_code": task.failure[0] if task.failure else None,
            "failure_message": task.failure[1] if task.failure else None,
            "video_url": None,
        }
        if status in ("SUCCEEDED", "FAILED"):
            info["end_time"] = task.start + task.total  # type: ignore[operator]
        if status == "SUCCEEDED":
            info["video_url"] = self._video_url(task)
        return info

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # ----------------------------------------------------------------- scheduling

    def _advance(self, now: float) -> None:
        """Give queued tasks the start time they had, given the concurrency limit."""
        queued = [t for t in self._tasks.values() if t.start is None and t.canceled_at is None]
        if not queued:
            return
        limit = self.max_concurrent
        if not limit:
            for task in queued:
                task.start = task.created
            return
        slots = [(t.start, t.slot_end()) for t in self._tasks.values() if t.start is not None]
        last_start = max((s for s, _ in slots), default=0.0)
        for task in queued:
            candidate = max(task.created, last_start)
            while True:
                busy = [end for start, end in slots if start <= candidate < end]
                if len(busy) < limit:
                    break
                candidate = min(busy)
            if candidate > now:
                break
            task.start = candidate
            slots.append((candidate, task.slot_end()))
            last_start = candidate

    # ----------------------------------------------------------------- request handling

    def _handle_http(self, method: str, raw_path: str, headers: Any, body: bytes) -> _Reply:
        parts = urlsplit(raw_path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        route, style, task_id = self._classify(method, path)
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        auth = headers.get("Authorization")
        record: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": query,
            "route": route,
            "api_style": style,
            "status": None,
            "authorized": self._token_ok(auth),
            "auth_header": auth is not None,
            "headers": {k: v for k, v in headers.items() if k.lower() != "authorization"},
            "body": parsed,
            "time": time.time(),
            "task_id": task_id,
            "request_id": None,
            "fault": None,
        }
        if route != "control":
            with self._lock:
                self._records.append(record)
        try:
            reply = self._process(
                method, path, query, route, style, task_id, headers, body, parsed, record
            )
        except Exception:  # a bug here must still answer, like a real 500
            if not self.quiet:
                traceback.print_exc()
            reply = _error_reply(
                500, "InternalError", "An internal error has occured, please try again later."
            )
        with self._lock:
            record["status"] = 0 if reply.drop else reply.status
            record["request_id"] = reply.request_id
            record["fault"] = reply.fault
            if reply.task_id:
                record["task_id"] = reply.task_id
            if route == "control":
                self._records.append(record)
        if not self.quiet:
            note = f" fault={reply.fault}" if reply.fault else ""
            tid = f" task={record['task_id']}" if record["task_id"] else ""
            print(
                f"{datetime.now().strftime('%H:%M:%S.%f')[:-3]} {method} {path} "
                f"[{route}] -> {record['status']}{tid}{note}",
                flush=True,
            )
        return reply

    @staticmethod
    def _classify(method: str, path: str) -> tuple[str, str | None, str | None]:
        p = path.rstrip("/") or "/"
        seg = p.strip("/").split("/")
        if p.startswith("/_emulator"):
            return "control", None, None
        if p == "/task/bailian/text2video":
            return ("submit" if method == "POST" else "unknown"), "gateway", None
        if len(seg) == 2 and seg[0] == "task" and method == "GET":
            return "query", "gateway", seg[1]
        if p == "/api/v1/services/aigc/video-generation/video-synthesis":
            return ("submit" if method == "POST" else "unknown"), "dashscope", None
        if p == "/api/v1/tasks":
            return ("list" if method == "GET" else "unknown"), "dashscope", None
        if len(seg) == 4 and seg[:3] == ["api", "v1", "tasks"] and method == "GET":
            return "query", "dashscope", seg[3]
        if len(seg) == 5 and seg[:3] == ["api", "v1", "tasks"] and seg[4] == "cancel":
            return ("cancel" if method == "POST" else "unknown"), "dashscope", seg[3]
        if (
            len(seg) == 2
            and seg[0] == "videos"
            and seg[1].endswith(".mp4")
            and method in ("GET", "HEAD")
        ):
            return "video", None, seg[1][: -len(".mp4")]
        return "unknown", None, None

    def _token_ok(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        expected = self.api_key
        if expected is None:
            return True
        return hmac.compare_digest(token.encode(), expected.encode())

    def _rate_ok(self, bucket: str, limit: float | None) -> bool:
        if limit is None:
            return True
        with self._lock:
            now = time.monotonic()
            window = self._windows[bucket]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True

    def _process(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        route: str,
        style: str | None,
        task_id: str | None,
        headers: Any,
        body: bytes,
        parsed: Any,
        record: dict[str, Any],
    ) -> _Reply:
        if route == "control":
            return self._control(method, path, body, parsed)
        if route == "unknown":
            return _error_reply(404, "NotFound", f"Not found: {method} {path}")

        fault = self._take_fault(route)
        if fault is not None:
            record["fault"] = fault.kind
            if fault.kind == "slow":
                self._stop_event.wait(float(fault.opts.get("seconds", 1.0)))
            elif fault.kind not in ("500_created", "drop_created", "truncate"):
                reply = self._fault_reply(fault)
                reply.fault = fault.kind
                return reply

        if route == "video":
            reply = self._video(method, task_id or "", query, headers)
        else:
            reply = self._api(route, style, task_id, query, headers, body, parsed, record)

        if fault is not None:
            kind = fault.kind
            if kind in ("500_created", "drop_created"):
                created = reply.task_id if (route == "submit" and reply.status == 200) else None
                reply = self._fault_reply(_Fault(route, kind.split("_")[0], 1, {}))
                reply.task_id = created
            elif kind == "truncate":
                reply.truncate_at = int(fault.opts.get("bytes", reply.length // 2))
            reply.fault = kind
        return reply

    def _fault_reply(self, fault: _Fault) -> _Reply:
        kind, opts = fault.kind, fault.opts
        if kind == "500":
            return _error_reply(
                500, "InternalError", "An internal error has occured, please try again later."
            )
        if kind == "502":
            return _Reply(status=502, body=_HTML_502, content_type="text/html")
        if kind == "503":
            return _error_reply(
                503, "ModelUnavailable", "Model is unavailable, please try again later."
            )
        if kind == "429":
            code = str(opts.get("code", "Throttling.RateQuota"))
            message = str(opts.get("message", _THROTTLE_MESSAGES.get(code, "Throttled.")))
            retry_after = opts.get("retry_after", 1)
            return _error_reply(429, code, message, {"Retry-After": f"{retry_after:g}"})
        if kind == "nonjson":
            return _Reply(
                status=int(opts.get("status", 200)),
                body=b"upstream error",
                content_type="text/plain",
            )
        if kind == "empty":
            return _Reply(status=int(opts.get("status", 502)), content_type=None)
        if kind == "drop":
            return _Reply(status=0, drop=True)
        if kind == "error":
            return _error_reply(
                int(opts.get("status", 400)),
                str(opts.get("code", "InvalidParameter")),
                str(opts.get("message", "Injected error.")),
            )
        raise AssertionError(f"unhandled fault kind {kind}")

    def _api(
        self,
        route: str,
        style: str | None,
        task_id: str | None,
        query: dict[str, str],
        headers: Any,
        body: bytes,
        parsed: Any,
        record: dict[str, Any],
    ) -> _Reply:
        if not record["authorized"]:
            return _error_reply(401, "InvalidApiKey", "Invalid API-key provided.")
        if route == "submit":
            if style == "dashscope" and headers.get("X-DashScope-Async", "").lower() != "enable":
                return _error_reply(
                    403, "AccessDenied", "current user api does not support synchronous calls"
                )
            if not self._rate_ok("submit", self.submit_rps):
                return self._throttled()
            try:
                return self._submit(style or "dashscope", body, parsed)
            except _ApiError as exc:
                return _error_reply(exc.status, exc.code, exc.message)
        if not self._rate_ok("query", self.query_rps):
            return self._throttled()
        try:
            if route == "query":
                return self._query(task_id or "")
            if route == "cancel":
                return self._cancel(task_id or "")
            return self._list(query)
        except _ApiError as exc:
            return _error_reply(exc.status, exc.code, exc.message)

    @staticmethod
    def _throttled() -> _Reply:
        return _error_reply(
            429,
            "Throttling.RateQuota",
            _THROTTLE_MESSAGES["Throttling.RateQuota"],
            {"Retry-After": "1"},
        )

    # ----------------------------------------------------------------- submit

    def _submit(self, style: str, body: bytes, parsed: Any) -> _Reply:
        if not body.strip():
            raise _ApiError(400, "InvalidParameter", "body: required (a JSON object)")
        if parsed is None:
            try:
                json.loads(body)
            except ValueError as exc:
                raise _ApiError(400, "InvalidParameter", f"body: not valid JSON ({exc})") from None
        if not isinstance(parsed, dict):
            raise _ApiError(400, "InvalidParameter", "body: must be a JSON object")
        spec = self._validate(parsed)
        rid = _new_id()
        with self._lock:
            now = self.now()
            failure = spec["failure"]
            if failure is None and self.failure_rate > 0 and self._rng.random() < self.failure_rate:
                failure = ("InternalError", _FAILURE_MESSAGES["InternalError"])
            total = self.task_seconds
            pending = self.pending_seconds if self.pending_seconds is not None else 0.2 * total
            task = _Task(
                task_id=_new_id(),
                model=spec["model"],
                style=style,
                request_id=rid,
                prompt=spec["prompt"],
                prompt_truncated=spec["prompt_truncated"],
                actual_prompt=spec["actual_prompt"],
                input=parsed.get("input", {}),
                parameters=parsed.get("parameters") or {},
                size=spec["size"],
                sr=spec["sr"],
                duration=spec["duration"],
                new_usage=spec["new_usage"],
                created=now,
                pending=min(pending, total),
                total=total,
                failure=failure,
                video_bytes=self.video_bytes,
            )
            self._tasks[task.task_id] = task
            self._advance(now)
        reply = _json_reply(
            200,
            {"request_id": rid, "output": {"task_id": task.task_id, "task_status": "PENDING"}},
            rid,
        )
        reply.task_id = task.task_id
        return reply

    @staticmethod
    def _validate(body: dict[str, Any]) -> dict[str, Any]:
        def bad(field_name: str, reason: str, status: int = 400) -> _ApiError:
            return _ApiError(status, "InvalidParameter", f"{field_name}: {reason}")

        model_name = body.get("model")
        if model_name is None or model_name == "":
            raise bad("model", "is required")
        if not isinstance(model_name, str):
            raise bad("model", "must be a string")
        model = MODELS.get(model_name)
        if model is None:
            raise _ApiError(404, "ModelNotFound", "Model not exist.")

        inp = body.get("input")
        if inp is None:
            raise bad("input", "is required")
        if not isinstance(inp, dict):
            raise bad("input", "must be an object")
        prompt = inp.get("prompt")
        if prompt is None:
            raise bad("input.prompt", "is required")
        if not isinstance(prompt, str):
            raise bad("input.prompt", "must be a string")
        if not prompt.strip():
            raise bad("input.prompt", "must not be empty")
        marker = _FAIL_MARKER.search(prompt)
        truncated = len(prompt) > model["prompt_max"]
        kept = prompt[: model["prompt_max"]]

        negative = inp.get("negative_prompt")
        if negative is not None:
            if not isinstance(negative, str):
                raise bad("input.negative_prompt", "must be a string")
            if len(negative) > _NEGATIVE_PROMPT_MAX:
                raise bad(
                    "input.negative_prompt",
                    f"at most {_NEGATIVE_PROMPT_MAX} characters, got {len(negative)}",
                )
        audio_url = inp.get("audio_url")
        if audio_url is not None:
            if not isinstance(audio_url, str) or not re.match(
                r"^(https?|oss)://\S+$", audio_url, re.IGNORECASE
            ):
                raise bad("input.audio_url", "must be an http(s):// or oss:// URL")
            if not model["audio"]:
                raise bad("input.audio_url", f"model {model_name} does not support audio")

        params = body.get("parameters")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise bad("parameters", "must be an object")

        size = params.get("size")
        resolution = params.get("resolution")
        ratio = params.get("ratio")
        all_sizes = [s for sizes in model["tiers"].values() for s in sizes]
        if size is not None and (not isinstance(size, str) or size not in all_sizes):
            raise bad(
                "parameters.size",
                f"{size!r} is not supported by model {model_name}; allowed: {', '.join(all_sizes)}",
            )
        if model["protocol"] == "resolution":
            if resolution is not None and resolution not in model["tiers"]:
                raise bad(
                    "parameters.resolution",
                    f"{resolution!r} is not one of {', '.join(model['tiers'])}",
                )
            if ratio is not None and ratio not in _RATIOS:
                raise bad("parameters.ratio", f"{ratio!r} is not one of {', '.join(_RATIOS)}")
            if size is None:
                tier = resolution or _tier_of(model, model["default_size"])
                size = model["tiers"][tier][_RATIOS.index(ratio or "16:9")]
        else:
            for name, value in (("resolution", resolution), ("ratio", ratio)):
                if value is not None:
                    raise bad(
                        f"parameters.{name}",
                        f"not supported by model {model_name}; use parameters.size",
                    )
            if size is None:
                size = model["default_size"]

        duration = params.get("duration", 5)
        if isinstance(duration, float) and duration.is_integer():
            duration = int(duration)
        if not _is_int(duration) or duration not in model["durations"]:
            allowed = model["durations"]
            text = (
                f"{allowed[0]}-{allowed[-1]}"
                if len(allowed) > 2
                else " or ".join(str(d) for d in allowed)
            )
            raise bad(
                "parameters.duration", f"{duration!r} is not allowed for {model_name}: {text}"
            )

        seed = params.get("seed")
        if seed is not None and (not _is_int(seed) or not 0 <= seed <= _SEED_MAX):
            raise bad("parameters.seed", f"must be an integer in [0, {_SEED_MAX}], got {seed!r}")
        for flag in ("prompt_extend", "watermark", "audio"):
            if flag in params and not isinstance(params[flag], bool):
                raise bad(f"parameters.{flag}", f"must be a boolean, got {params[flag]!r}")
        shot_type = params.get("shot_type")
        if shot_type is not None:
            if not model["shot_type"]:
                raise bad("parameters.shot_type", f"not supported by model {model_name}")
            if shot_type not in ("single", "multi"):
                raise bad("parameters.shot_type", f"{shot_type!r} is not one of single, multi")

        failure = None
        if marker:
            code = marker.group(1) or "InternalError"
            failure = (code, _FAILURE_MESSAGES.get(code, f"The task failed with {code}."))
        extend = params.get("prompt_extend", True)
        actual = None
        if not model["new_usage"]:
            actual = f"{kept} Cinematic lighting, smooth camera motion." if extend else kept
        tier = _tier_of(model, size) or "720P"
        return {
            "model": model_name,
            "prompt": kept,
            "prompt_truncated": truncated,
            "actual_prompt": actual,
            "size": size,
            "sr": int(tier.rstrip("P")),
            "duration": duration,
            "new_usage": model["new_usage"],
            "failure": failure,
        }

    # ----------------------------------------------------------------- query, cancel, list

    def _query(self, task_id: str) -> _Reply:
        rid = _new_id()
        with self._lock:
            now = self.now()
            self._advance(now)
            task = self._tasks.get(task_id)
            if task is None:
                return _json_reply(
                    200,
                    {"request_id": rid, "output": {"task_id": task_id, "task_status": "UNKNOWN"}},
                    rid,
                )
            payload = self._query_payload(task, now, rid)
        reply = _json_reply(200, payload, rid)
        reply.task_id = task_id
        return reply

    def _query_payload(self, task: _Task, now: float, rid: str) -> dict[str, Any]:
        status = task.status(now)
        out: dict[str, Any] = {
            "task_id": task.task_id,
            "task_status": status,
            "submit_time": _fmt_time(task.created),
        }
        if status in ("RUNNING", "SUCCEEDED", "FAILED"):
            out["scheduled_time"] = _fmt_time(task.start + task.pending)  # type: ignore[operator]
        if status in ("SUCCEEDED", "FAILED"):
            out["end_time"] = _fmt_time(task.start + task.total)  # type: ignore[operator]
        if status == "CANCELED":
            out["end_time"] = _fmt_time(task.canceled_at)  # type: ignore[arg-type]
        payload: dict[str, Any] = {"request_id": rid, "output": out}
        if status == "SUCCEEDED":
            out["video_url"] = self._video_url(task)
            out["orig_prompt"] = task.prompt
            if task.actual_prompt is not None:
                out["actual_prompt"] = task.actual_prompt
            if task.new_usage:
                payload["usage"] = {
                    "duration": float(task.duration),
                    "input_video_duration": 0,
                    "output_video_duration": task.duration,
                    "SR": task.sr,
                    "size": task.size,
                    "video_count": 1,
                }
            else:
                payload["usage"] = {
                    "video_count": 1,
                    "video_ratio": task.size,
                    "video_duration": task.duration,
                }
        elif status == "FAILED":
            assert task.failure is not None
            out["code"], out["message"] = task.failure
        return payload

    def _cancel(self, task_id: str) -> _Reply:
        rid = _new_id()
        with self._lock:
            now = self.now()
            self._advance(now)
            task = self._tasks.get(task_id)
            if task is None or task.status(now) != "PENDING":
                raise _ApiError(
                    400,
                    "UnsupportedOperation",
                    "Failed to cancel the task, please confirm if the task is in PENDING status.",
                )
            task.canceled_at = now
            self._advance(now)
        reply = _json_reply(200, {"request_id": rid}, rid)
        reply.task_id = task_id
        return reply

    def _list(self, query: dict[str, str]) -> _Reply:
        def bad(field_name: str, reason: str) -> _ApiError:
            return _ApiError(400, "InvalidParameter", f"{field_name}: {reason}")

        def positive(name: str, default: int) -> int:
            raw = query.get(name)
            if raw in (None, ""):
                return default
            try:
                value = int(raw)
            except ValueError:
                raise bad(name, f"must be a positive integer, got {raw!r}") from None
            if value < 1:
                raise bad(name, f"must be a positive integer, got {raw!r}")
            return value

        page_no = positive("page_no", 1)
        page_size = positive("page_size", 10)
        self._check_list_page_size(page_size)
        status = query.get("status") or None
        if status is not None and status not in _STATUSES:
            raise bad("status", f"{status!r} is not one of {', '.join(_STATUSES)}")
        with self._lock:
            now = self.now()
            self._advance(now)
            try:
                end = _parse_list_time(query["end_time"]) if query.get("end_time") else None
                start = _parse_list_time(query["start_time"]) if query.get("start_time") else None
            except ValueError:
                raise bad("start_time/end_time", "expected YYYYMMDDhhmmss") from None
            if end is None:
                end = now if start is None else min(start + 86400, now)
            if start is None:
                start = end - 86400
            if end < start:
                raise bad("start_time/end_time", "start_time is after end_time")
            if end - start > 86400:
                raise bad("start_time/end_time", "the time window must not exceed 24 hours")
            rows = []
            for task in sorted(self._tasks.values(), key=lambda t: t.created, reverse=True):
                if not start <= task.created <= end + 1:
                    continue
                if query.get("task_id") and task.task_id != query["task_id"]:
                    continue
                if query.get("model_name") and task.model != query["model_name"]:
                    continue
                task_status = task.status(now)
                if status is not None and task_status != status:
                    continue
                row: dict[str, Any] = {
                    "task_id": task.task_id,
                    "status": task_status,
                    "model_name": task.model,
                    "request_id": task.request_id,
                    "gmt_create": int(task.created * 1000),
                    "region": "cn-beijing",
                    "api_key_id": task.api_key_id,
                }
                if task.start is not None and task_status != "PENDING":
                    row["start_time"] = int((task.start + task.pending) * 1000)
                if task_status in ("SUCCEEDED", "FAILED"):
                    row["end_time"] = int((task.start + task.total) * 1000)  # type: ignore[operator]
                elif task_status == "CANCELED":
                    row["end_time"] = int(task.canceled_at * 1000)  # type: ignore[operator]
                rows.append(row)
        total = len(rows)
        page = rows[(page_no - 1) * page_size : page_no * page_size]
        rid = _new_id()
        payload = {
            "request_id": rid,
            "total": total,
            "total_page": math.ceil(total / page_size) if total else 0,
            "page_no": page_no,
            "page_size": page_size,
            self.list_key: page,
        }
        return _json_reply(200, payload, rid)

    # ----------------------------------------------------------------- the task list's limits

    def _check_list_page_size(self, page_size: int) -> None:
        """The real maximum page size is not published: answer 400 above the configured one."""
        limit = self.list_max_page_size
        if limit is not None and page_size > limit:
            raise _ApiError(
                400, "InvalidParameter", f"page_size: must be at most {limit}, got {page_size}"
            )

    def add_other_app_tasks(
        self,
        count: int,
        *,
        model: str = "wan2.6-t2v",
        task_seconds: float | None = None,
        api_key_id: str = "other-app",
    ) -> list[str]:
        """Tasks another application of the same account submitted with another key.

        They take the account's running slots and show in its task list, but no client
        here waits for them. Returns their ids.
        """
        ids = []
        with self._lock:
            now = self.now()
            total = self.task_seconds if task_seconds is None else float(task_seconds)
            for _ in range(count):
                task = _Task(
                    task_id=_new_id(),
                    model=model,
                    style="dashscope",
                    request_id=_new_id(),
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
                self._tasks[task.task_id] = task
                ids.append(task.task_id)
            self._advance(now)
        return ids

    # ----------------------------------------------------------------- video

    def _signature(self, task_id: str, expires: int) -> str:
        msg = f"{task_id}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def _video_url(self, task: _Task) -> str:
        assert task.start is not None
        expires = int(task.start + task.total + self.url_ttl)
        return (
            f"http://{self.video_host}:{self.port}/videos/{task.task_id}.mp4"
            f"?Expires={expires}&OSSAccessKeyId=emulator"
            f"&Signature={self._signature(task.task_id, expires)}"
        )

    @staticmethod
    def _video_prefix(total: int) -> bytes:
        """The first bytes of a video of ``total`` bytes: the sample, then a ``free`` box
        header covering the filler, so a padded file is still a well-formed MP4."""
        sample = _sample()
        if total <= len(sample):
            return sample[:total]
        extra = total - len(sample)
        if extra > 0xFFFFFFFF:
            return sample + struct.pack(">I4sQ", 1, b"free", extra)
        if extra >= 8:
            return sample + struct.pack(">I4s", extra, b"free")
        return sample

    def _video(self, method: str, task_id: str, query: dict[str, str], headers: Any) -> _Reply:
        with self._lock:
            now = self.now()
            self._advance(now)
            task = self._tasks.get(task_id)
            ok = task is not None and task.status(now) == "SUCCEEDED"
            end_time = task.start + task.total if ok else 0.0  # type: ignore[union-attr,operator]
            size_opt = task.video_bytes if task is not None else None
        if not ok:
            return _oss_error(404, "NoSuchKey", "The specified key does not exist.")
        expires_raw = query.get("Expires", "")
        signature = query.get("Signature", "")
        if not expires_raw or not signature or "OSSAccessKeyId" not in query:
            return _oss_error(
                403,
                "AccessDenied",
                "You have no right to access this object because of bucket acl.",
            )
        if not expires_raw.isdigit():
            return _oss_error(403, "AccessDenied", "Invalid argument: Expires.")
        expires = int(expires_raw)
        if now > expires:
            return _oss_error(
                403,
                "AccessDenied",
                "Request has expired.",
                {
                    "Expires": datetime.fromtimestamp(expires, timezone.utc).strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z"
                    ),
                    "ServerTime": datetime.fromtimestamp(now, timezone.utc).strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z"
                    ),
                },
            )
        if not hmac.compare_digest(signature, self._signature(task_id, expires)):
            return _oss_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.",
            )

        total = len(_sample()) if size_opt is None else size_opt
        prefix = self._video_prefix(total)
        rid = uuid.uuid4().hex[:24].upper()
        base_headers = {
            "Accept-Ranges": "bytes",
            "ETag": f'"{hashlib.md5(f"{task_id}:{total}".encode()).hexdigest().upper()}"',
            "Last-Modified": formatdate(end_time, usegmt=True),
            "x-oss-request-id": rid,
        }
        start, end = 0, total
        status = 200
        range_header = headers.get("Range")
        if range_header:
            match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", range_header)
            if match and (match.group(1) or match.group(2)):
                first, last = match.group(1), match.group(2)
                if first:
                    r_start = int(first)
                    r_end = min(int(last), total - 1) if last else total - 1
                    if r_start >= total:
                        reply = _oss_error(
                            416, "InvalidRange", "The requested range cannot be satisfied."
                        )
                        reply.headers["Content-Range"] = f"bytes */{total}"
                        return reply
                    if r_end >= r_start:
                        start, end, status = r_start, r_end + 1, 206
                else:
                    suffix = int(last)
                    if suffix == 0:
                        reply = _oss_error(
                            416, "InvalidRange", "The requested range cannot be satisfied."
                        )
                        reply.headers["Content-Range"] = f"bytes */{total}"
                        return reply
                    start, end, status = max(0, total - suffix), total, 206
        if status == 206:
            base_headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
        return _Reply(
            status=status,
            content_type="video/mp4",
            headers=base_headers,
            stream=(start, end, total, prefix),
            task_id=task_id,
            request_id=None,
        )

    def _iter_body(self, reply: _Reply) -> Iterator[bytes]:
        if reply.stream is None:
            if reply.body:
                yield reply.body
            return
        start, end, _total, prefix = reply.stream
        pos = start
        while pos < end:
            n = min(_CHUNK, end - pos)
            if pos < len(prefix):
                chunk = prefix[pos : min(pos + n, len(prefix))]
            else:
                offset = pos % 256
                chunk = _PATTERN[offset : offset + n]
            yield chunk
            pos += len(chunk)

    # ----------------------------------------------------------------- control endpoints

    def _control(self, method: str, path: str, body: bytes, parsed: Any) -> _Reply:
        name = path.rstrip("/")[len("/_emulator") :].strip("/")
        if body and parsed is None and method == "POST":
            return _json_reply(400, {"error": "body is not valid JSON"})
        try:
            if name == "health" and method == "GET":
                return _json_reply(200, {"ok": True})
            if name == "requests" and method == "GET":
                return _json_reply(200, self.requests)
            if name == "tasks" and method == "GET":
                return _json_reply(200, self.tasks)
            if name == "faults":
                if method == "GET":
                    return _json_reply(200, self.faults)
                if method == "DELETE":
                    self.clear_faults()
                    return _json_reply(200, self.faults)
                if method == "POST":
                    items = parsed if isinstance(parsed, list) else [parsed]
                    checked = []
                    for item in items:
                        if not isinstance(item, dict):
                            raise ValueError("a fault is a JSON object: {route, kind, ...}")
                        opts = dict(item)
                        route = opts.pop("route", None)
                        kind = opts.pop("kind", None)
                        times = opts.pop("times", 1)
                        _check_fault(str(route), str(kind), times, opts)
                        checked.append((route, kind, times, opts))
                    for route, kind, times, opts in checked:
                        self.add_fault(route, kind, times, **opts)
                    return _json_reply(200, self.faults)
            if name == "reset" and method == "POST":
                self.reset()
                return _json_reply(200, {"ok": True})
            if name == "config":
                if method == "GET":
                    return _json_reply(200, self.config)
                if method == "POST":
                    if not isinstance(parsed, dict):
                        raise ValueError("config body is a JSON object of options")
                    return _json_reply(200, self.configure(**parsed))
            if name == "advance" and method == "POST":
                seconds = parsed.get("seconds") if isinstance(parsed, dict) else None
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                    raise ValueError('advance body is {"seconds": N}')
                self.advance(seconds)
                return _json_reply(200, {"ok": True, "now": self.now()})
        except (TypeError, ValueError) as exc:
            return _json_reply(400, {"error": str(exc)})
        return _json_reply(404, {"error": f"no control endpoint {method} {path}"})
