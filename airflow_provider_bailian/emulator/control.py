"""Control endpoints under ``/_emulator/``: drive an emulator running in another process.

They mirror the Python API (``requests``, ``tasks``, ``add_fault``, ``reset``,
``configure``, ``advance``) as JSON over HTTP and need no token; the emulator binds
127.0.0.1 by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_bailian.emulator.faults import check_fault
from airflow_provider_bailian.emulator.replies import Reply, json_reply

if TYPE_CHECKING:
    from airflow_provider_bailian.emulator.server import BailianEmulator


def control(emulator: BailianEmulator, method: str, path: str, body: bytes, parsed: Any) -> Reply:
    """Answer one ``/_emulator/...`` request: health, requests, tasks, faults, reset, ..."""
    name = path.rstrip("/")[len("/_emulator") :].strip("/")
    if body and parsed is None and method == "POST":
        return json_reply(400, {"error": "body is not valid JSON"})
    try:
        if name == "health" and method == "GET":
            return json_reply(200, {"ok": True})
        if name == "requests" and method == "GET":
            return json_reply(200, emulator.requests)
        if name == "tasks" and method == "GET":
            return json_reply(200, emulator.tasks)
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
