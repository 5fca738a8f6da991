"""Control endpoints under ``/_emulator/``: drive an emulator running in another process.

They mirror the Python API (``requests``, ``tasks``, ``uploads``, ``add_fault``, ``reset``,
``configure``, ``advance``) as JSON over HTTP and need no token; the emulator binds
127.0.0.1 by default. Every control request must name a loopback ``Host`` (a web page on a
DNS-rebound name cannot), and one that changes state must say ``Content-Type:
application/json`` (a page can send a cross-origin ``text/plain`` or form POST without
asking, never a JSON one).
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any, Protocol

from airflow_provider_bailian.emulator.faults import check_fault
from airflow_provider_bailian.emulator.replies import Reply, json_reply


class Controlled(Protocol):
    """The Python API the endpoints mirror (``BailianEmulator`` has it)."""

    @property
    def requests(self) -> list[dict[str, Any]]: ...
    @property
    def tasks(self) -> dict[str, dict[str, Any]]: ...
    @property
    def uploads(self) -> dict[str, dict[str, Any]]: ...
    @property
    def faults(self) -> list[dict[str, Any]]: ...
    @property
    def config(self) -> dict[str, Any]: ...
    def clear_faults(self) -> None: ...
    def add_fault(self, route: str, kind: str, times: int = 1, **opts: Any) -> None: ...
    def reset(self) -> None: ...
    def configure(self, **opts: Any) -> dict[str, Any]: ...
    def advance(self, seconds: float) -> None: ...
    def now(self) -> float: ...


_READS = ("GET", "HEAD")


def control(
    emulator: Controlled,
    method: str,
    path: str,
    body: bytes,
    parsed: Any,
    headers: Any,
) -> Reply:
    """Answer one ``/_emulator/...`` request: health, requests, tasks, faults, reset, ..."""
    name = path.rstrip("/")[len("/_emulator") :].strip("/")
    refused = _refuse_browser(method, headers)
    if refused is not None:
        return refused
    if body and parsed is None and method == "POST":
        return json_reply(400, {"error": "body is not valid JSON"})
    try:
        if name == "health" and method == "GET":
            return json_reply(200, {"ok": True})
        if name == "requests" and method == "GET":
            return json_reply(200, emulator.requests)
        if name == "tasks" and method == "GET":
            return json_reply(200, emulator.tasks)
        if name == "uploads" and method == "GET":  # the bytes as a digest, not inline
            return json_reply(200, {key: _digest(info) for key, info in emulator.uploads.items()})
        if name == "faults":
            if method == "GET":
                return json_reply(200, emulator.faults)
            if method == "DELETE":
                emulator.clear_faults()
                return json_reply(200, emulator.faults)
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
                    check_fault(str(route), str(kind), times, opts)
                    checked.append((route, kind, times, opts))
                for route, kind, times, opts in checked:
                    emulator.add_fault(route, kind, times, **opts)
                return json_reply(200, emulator.faults)
        if name == "reset" and method == "POST":
            emulator.reset()
            return json_reply(200, {"ok": True})
        if name == "config":
            if method == "GET":
                return json_reply(200, emulator.config)
            if method == "POST":
                if not isinstance(parsed, dict):
                    raise ValueError("config body is a JSON object of options")
                return json_reply(200, emulator.configure(**parsed))
        if name == "advance" and method == "POST":
            seconds = parsed.get("seconds") if isinstance(parsed, dict) else None
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise ValueError('advance body is {"seconds": N}')
            emulator.advance(seconds)
            return json_reply(200, {"ok": True, "now": emulator.now()})
    except (TypeError, ValueError) as exc:
        return json_reply(400, {"error": str(exc)})
    return json_reply(404, {"error": f"no control endpoint {method} {path}"})


def _refuse_browser(method: str, headers: Any) -> Reply | None:
    """The answer to a request a web page could have made, or None for a real client."""
    if not is_loopback_host(str(headers.get("Host") or "")):
        return json_reply(
            403, {"error": "control requests need a loopback Host (localhost, 127.0.0.1, [::1])"}
        )
    content_type = str(headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if method not in _READS and content_type != "application/json":
        return json_reply(
            415,
            {"error": "a control request that changes state needs Content-Type: application/json"},
        )
    return None


def is_loopback_host(host: str) -> bool:
    """Does a ``Host`` header (name or address, with or without port) name this machine?"""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _digest(info: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in info.items() if k != "data"}
    out["sha256"] = hashlib.sha256(info["data"]).hexdigest()
    return out
