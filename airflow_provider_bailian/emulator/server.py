"""A local stand-in for the Bailian (DashScope) video generation API: the wiring.

One HTTP server answers both API styles (the gateway's ``/task/...`` paths and DashScope's
``/api/v1/...`` paths), serves the finished videos as signed OSS-like URLs, and lets tests
inject the failures a real network and a real service produce. Standard library only, so
that importing it costs nothing and it runs wherever Python runs.

This module holds :class:`BailianEmulator`: its options, state, and the routes. Each
concern lives in a module of its own: :mod:`.handler` (HTTP plumbing), :mod:`.replies`
(reply and error shapes), :mod:`.clock` (tasks, timing, queue, rate windows),
:mod:`.catalog` (the service's model tables), :mod:`.modes`, :mod:`.validation` and
:mod:`.media_validation` (request checks per mode, on the shared ones of
:mod:`.field_checks`), :mod:`.faults` (fault injection) and
:mod:`.media` (video serving, signed URLs, uploads).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import random
import secrets
import socket
import threading
import time
import traceback
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_bailian.emulator.catalog import MODEL_CONCURRENCY, MODELS, upload_limit_mb
from airflow_provider_bailian.emulator.clock import RateWindows, Task, schedule
from airflow_provider_bailian.emulator.control import control
from airflow_provider_bailian.emulator.faults import (
    FAILURE_MESSAGES,
    FAULT_KINDS,
    FAULT_ROUTES,
    FaultQueue,
    inject,
    parse_fault_spec,
    task_failure,
    throttled_reply,
)
from airflow_provider_bailian.emulator.field_checks import OSS_RESOLVE_HEADER, Context, parse_body
from airflow_provider_bailian.emulator.handler import Backend, EmulatorServer, EmulatorServer6
from airflow_provider_bailian.emulator.images import IMAGE_FORMATS, image_info
from airflow_provider_bailian.emulator.listing import (
    LIST_OPTIONS,
    check_list_option,
    check_model_concurrency,
    list_payload,
    other_app_task,
)
from airflow_provider_bailian.emulator.media import (
    UPLOAD_PATH,
    UploadStore,
    sample,
    video_reply,
    video_url,
)
from airflow_provider_bailian.emulator.mediafiles import file_info
from airflow_provider_bailian.emulator.modes import mode_of, validate
from airflow_provider_bailian.emulator.replies import (
    ApiError,
    Reply,
    error_reply,
    is_int,
    json_reply,
    new_id,
    oss_error,
)

__all__ = [
    "FAULT_KINDS",
    "FAULT_ROUTES",
    "MODELS",
    "BailianEmulator",
    "parse_fault_spec",
]

#: Submit paths -> (API style, endpoint). An endpoint names its mode, except DashScope's
#: shared video-synthesis endpoint (text, image and reference), where the model does.
_SUBMIT_PATHS = {
    "/task/bailian/text2video": ("gateway", "text2video"),
    "/task/bailian/image2video": ("gateway", "image2video"),
    "/task/bailian/ref2video": ("gateway", "ref2video"),
    "/api/v1/services/aigc/video-generation/video-synthesis": ("dashscope", "video-synthesis"),
    "/api/v1/services/aigc/image2video/video-synthesis": ("dashscope", "kf2v"),
}


class BailianEmulator:
    """A local Bailian/DashScope video generation service on one port.

    Serves the gateway style (``POST /task/bailian/text2video``, ``.../image2video``,
    ``.../ref2video``, ``GET /task/{id}``), the DashScope style
    (``/api/v1/services/aigc/video-generation/video-synthesis`` for text, image, reference
    and the media protocol's models, ``/api/v1/services/aigc/image2video/video-synthesis``
    for first and last frame and speech to video, ``/api/v1/tasks/...``), the temporary-file upload (``GET /api/v1/uploads``
    and the form POST to the ``upload_host`` it names), signed video downloads
    (``/videos/{id}.mp4``) and control endpoints under ``/_emulator/`` for tests that run
    it in another process.

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
        model_concurrency: dict[str, int] | None = MODEL_CONCURRENCY,
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
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._secret = secrets.token_bytes(32)
        self._uploads = UploadStore(self._secret)
        self._clock_offset = 0.0
        self._tasks: dict[str, Task] = {}
        self._records: list[dict[str, Any]] = []
        self._faults = FaultQueue()
        self._windows = RateWindows(("submit", "query"))
        # Defaults first, then the caller's values through the same checks as configure().
        self.api_key: str | None = None
        self.task_seconds = 3.0
        self.pending_seconds: float | None = None
        self.failure_rate = 0.0
        self.fault_rate = 0.0
        self.submit_rps: float | None = None
        self.query_rps: float | None = None
        self.max_concurrent: int | None = None
        self.model_concurrency: dict[str, int] = dict(MODEL_CONCURRENCY)
        self.url_ttl: float = 86400
        self.video_bytes: int | None = None
        self.seed: int | None = None
        self.quiet = True
        #: Task answers carry the start of generation (``scheduled_time``); False plays a
        #: service whose answers carry none, so a client must infer when a task started.
        self.start_times = True
        self.video_host = "localhost"
        self.list_max_page_size: int | None = LIST_OPTIONS["list_max_page_size"]
        self.list_key: str = LIST_OPTIONS["list_key"]
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
            model_concurrency=model_concurrency,
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
        sample()  # fail early if the asset is missing
        server_cls = EmulatorServer6 if ":" in self.host else EmulatorServer
        backend = Backend(handle=self._handle_http, track=self._track, quiet=lambda: self.quiet)
        server = server_cls((self.host, self._requested_port), backend)
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
        submit_rps, query_rps, max_concurrent, model_concurrency (model -> tasks running
        at once; default: the documented 1 of wan2.2-s2v; None: no per-model limit),
        url_ttl, video_bytes, seed, quiet, start_times, video_host, list_max_page_size, list_key. Task
        timings are fixed per task when it is submitted.
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
            "model_concurrency": dict(self.model_concurrency),
            "url_ttl": self.url_ttl,
            "video_bytes": self.video_bytes,
            "seed": self.seed,
            "quiet": self.quiet,
            "start_times": self.start_times,
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
            if not is_int(value) or value < (1 if name == "max_concurrent" else 0):
                raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")
            return value
        if name == "model_concurrency":
            return check_model_concurrency(value)
        if name in ("quiet", "start_times"):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
            return value
        if name in LIST_OPTIONS:
            return check_list_option(name, value)
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
        self._faults.add(route, kind, times, opts)

    def clear_faults(self) -> None:
        """Drop every fault not yet consumed."""
        self._faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        """Faults not yet consumed, in order."""
        return self._faults.pending()

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
            self._windows.clear()
            self._uploads.clear()
            self._clock_offset = 0.0

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request received, oldest first (copies; the token is never recorded)."""
        with self._lock:
            return [dict(r) for r in self._records]

    @property
    def submissions(self) -> list[dict[str, Any]]:
        """The recorded submit requests of every mode and style, whatever their answer
        (``mode`` says which: text2video, image2video, kf2v, ref2video, videoedit,
        speech2video)."""
        return [r for r in self.requests if r["route"] == "submit"]

    @property
    def uploads(self) -> dict[str, dict[str, Any]]:
        """Temporary files by key: ``url`` (``oss://...``), ``model``, ``content_type``,
        ``size``, ``uploaded_at`` and the stored ``data``."""
        return self._uploads.files()

    def add_upload(
        self,
        data: bytes,
        model: str,
        name: str = "upload.bin",
        content_type: str | None = None,
    ) -> str:
        """Store a temporary file as if it had been uploaded for ``model``; returns its
        ``oss://`` URL (resolved only with the ``X-DashScope-OssResourceResolve`` header)."""
        if content_type is None:
            info = image_info(data)
            other = file_info(data)
            content_type = (
                IMAGE_FORMATS[info[0]]
                if info
                else other.mime
                if other
                else "application/octet-stream"
            )
        return self._uploads.put(data, model, name, content_type, self.now())

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
            return {tid: t.info(now, self._video_url) for tid, t in self._tasks.items()}

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _advance(self, now: float) -> None:
        """Give queued tasks their start times (call with the lock held)."""
        schedule(self._tasks.values(), now, self.max_concurrent, self.model_concurrency)

    # ----------------------------------------------------------------- request handling

    def _handle_http(self, method: str, raw_path: str, headers: Any, body: bytes) -> Reply:
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
            "mode": None,
        }
        if route == "submit" and isinstance(parsed, dict):
            record["mode"] = mode_of(_SUBMIT_PATHS[path.rstrip("/")][1], parsed)
        if route != "control":
            with self._lock:
                self._records.append(record)
        try:
            reply = self._process(method, path, query, route, style, task_id, headers, body, record)
        except Exception:  # a bug here must still answer, like a real 500
            if not self.quiet:
                traceback.print_exc()
            reply = error_reply(
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
        if p in _SUBMIT_PATHS:
            return ("submit" if method == "POST" else "unknown"), _SUBMIT_PATHS[p][0], None
        if len(seg) == 2 and seg[0] == "task" and method == "GET":
            return "query", "gateway", seg[1]
        if p == "/api/v1/uploads":
            return ("policy" if method == "GET" else "unknown"), "dashscope", None
        if p == UPLOAD_PATH:
            return ("upload" if method == "POST" else "unknown"), None, None
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
        record: dict[str, Any],
    ) -> Reply:
        if route == "control":
            return control(self, method, path, body, record["body"], headers)
        if route == "unknown":
            return error_reply(404, "NotFound", f"Not found: {method} {path}")

        fault = self._faults.take(route, self.fault_rate, self._fault_rng)
        forced: tuple[tuple[str, str], float | None] | None = None
        if fault is not None:
            record["fault"] = fault.kind
            if fault.kind == "fail_task":  # the task fails, the submission does not
                seconds = fault.opts.get("seconds")
                forced = task_failure(fault), None if seconds is None else float(seconds)
                fault = None

        def answer() -> Reply:
            if route == "video":
                return self._video(task_id or "", query, headers)
            if route == "upload":  # OSS checks the signed policy, not a token
                return self._uploads.accept(headers.get("Content-Type", ""), body, self.now())
            return self._api(route, style, task_id, path, query, headers, body, record, forced)

        reply = inject(fault, route, answer, self._stop_event.wait)
        if forced is not None:
            reply.fault = "fail_task"
        return reply

    def _api(
        self,
        route: str,
        style: str | None,
        task_id: str | None,
        path: str,
        query: dict[str, str],
        headers: Any,
        body: bytes,
        record: dict[str, Any],
        forced: tuple[tuple[str, str], float | None] | None = None,
    ) -> Reply:
        if not record["authorized"]:
            return error_reply(401, "InvalidApiKey", "Invalid API-key provided.")
        if route == "submit":
            if style == "dashscope" and headers.get("X-DashScope-Async", "").lower() != "enable":
                return error_reply(
                    403, "AccessDenied", "current user api does not support synchronous calls"
                )
            if not self._windows.allow("submit", self.submit_rps):
                return throttled_reply()
            try:
                return self._submit(path, headers, body, record["body"], forced)
            except ApiError as exc:
                return error_reply(exc.status, exc.code, exc.message)
        if route == "policy":
            model = query.get("model", "")
            if query.get("action") != "getPolicy" or not model:
                return error_reply(
                    400, "InvalidParameter", "action=getPolicy and model are required"
                )
            host = headers.get("Host") or f"{self.video_host}:{self.port}"
            return self._uploads.policy_reply(model, host, upload_limit_mb(model), self.now())
        if not self._windows.allow("query", self.query_rps):
            return throttled_reply()
        try:
            if route == "query":
                return self._query(task_id or "")
            if route == "cancel":
                return self._cancel(task_id or "")
            return self._list(query)
        except ApiError as exc:
            return error_reply(exc.status, exc.code, exc.message)

    # ----------------------------------------------------------------- submit

    def _submit(
        self,
        path: str,
        headers: Any,
        body: bytes,
        parsed: Any,
        forced: tuple[tuple[str, str], float | None] | None = None,
    ) -> Reply:
        """Validate, then make the task (``forced``: the failure and seconds a
        ``fail_task`` fault gives it)."""
        style, endpoint = _SUBMIT_PATHS[path.rstrip("/")]
        request = parse_body(body, parsed)
        ctx = Context(
            style=style,
            oss_resolve=headers.get(OSS_RESOLVE_HEADER, "").lower() == "enable",
            uploads=lambda key: self._uploads.get(key, self.now()),
        )
        spec = validate(endpoint, request, ctx)
        rid = new_id()
        with self._lock:
            now = self.now()
            failure = spec["failure"]
            if failure is None and self.failure_rate > 0 and self._rng.random() < self.failure_rate:
                failure = ("InternalError", FAILURE_MESSAGES["InternalError"])
            total = self.task_seconds
            if forced is not None:
                failure = forced[0]
                total = total if forced[1] is None else forced[1]
            pending = self.pending_seconds if self.pending_seconds is not None else 0.2 * total
            task = Task(
                task_id=new_id(),
                model=spec["model"],
                style=style,
                request_id=rid,
                prompt=spec["prompt"],
                prompt_truncated=spec["prompt_truncated"],
                actual_prompt=spec["actual_prompt"],
                input=request.get("input", {}),
                parameters=request.get("parameters") or {},
                size=spec["size"],
                sr=spec["sr"],
                duration=spec["duration"],
                new_usage=spec["new_usage"],
                created=now,
                pending=min(pending, total),
                total=total,
                failure=failure,
                video_bytes=self.video_bytes,
                mode=spec["mode"],
                usage_extra=spec["usage_extra"],
            )
            self._tasks[task.task_id] = task
            self._advance(now)
        reply = json_reply(
            200,
            {"request_id": rid, "output": {"task_id": task.task_id, "task_status": "PENDING"}},
            rid,
        )
        reply.task_id = task.task_id
        return reply

    # ----------------------------------------------------------------- query, cancel, list

    def _query(self, task_id: str) -> Reply:
        rid = new_id()
        with self._lock:
            now = self.now()
            self._advance(now)
            task = self._tasks.get(task_id)
            if task is None:
                return json_reply(
                    200,
                    {"request_id": rid, "output": {"task_id": task_id, "task_status": "UNKNOWN"}},
                    rid,
                )
            payload = task.query_payload(now, rid, self._video_url, start_time=self.start_times)
        reply = json_reply(200, payload, rid)
        reply.task_id = task_id
        return reply

    def _cancel(self, task_id: str) -> Reply:
        rid = new_id()
        with self._lock:
            now = self.now()
            self._advance(now)
            task = self._tasks.get(task_id)
            if task is None or task.status(now) != "PENDING":
                raise ApiError(
                    400,
                    "UnsupportedOperation",
                    "Failed to cancel the task, please confirm if the task is in PENDING status.",
                )
            task.canceled_at = now
            self._advance(now)
        reply = json_reply(200, {"request_id": rid}, rid)
        reply.task_id = task_id
        return reply

    def _list(self, query: dict[str, str]) -> Reply:
        with self._lock:
            now = self.now()
            self._advance(now)
            payload = list_payload(
                self._tasks.values(), now, query, self.list_max_page_size, self.list_key
            )
        return json_reply(200, payload, payload["request_id"])

    def add_other_app_tasks(
        self,
        count: int,
        *,
        model: str = "wan2.6-t2v",
        task_seconds: float | None = None,
        api_key_id: str = "other-app",
    ) -> list[str]:
        """Tasks another application of the same account submitted with another key: they
        take the account's running slots and show in its task list. Returns their ids."""
        total = self.task_seconds if task_seconds is None else float(task_seconds)
        with self._lock:
            now = self.now()
            tasks = [
                other_app_task(now, model=model, total=total, api_key_id=api_key_id)
                for _ in range(count)
            ]
            self._tasks.update((t.task_id, t) for t in tasks)
            self._advance(now)
        return [t.task_id for t in tasks]

    # ----------------------------------------------------------------- video

    def _video_url(self, task: Task) -> str:
        assert task.start is not None
        expires = int(task.start + task.total + self.url_ttl)
        return video_url(self._secret, self.video_host, self.port, task.task_id, expires)

    def _video(self, task_id: str, query: dict[str, str], headers: Any) -> Reply:
        with self._lock:
            now = self.now()
            self._advance(now)
            task = self._tasks.get(task_id)
            if task is None or task.status(now) != "SUCCEEDED":
                return oss_error(404, "NoSuchKey", "The specified key does not exist.")
            end_time = task.start + task.total  # type: ignore[operator]
            size = task.video_bytes
        return video_reply(self._secret, task_id, size, end_time, now, query, headers)
