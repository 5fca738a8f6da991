"""What the emulator answers: one reply type, the service's error shapes, shared helpers.

Every route builds a :class:`Reply`; only :mod:`.handler` turns it into bytes on the wire.
API errors are JSON (``request_id``, ``code``, ``message``) like DashScope's; the video
store answers errors as OSS does, in XML.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml"


class ApiError(Exception):
    """An API error a route raises; answered as the service's JSON error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Reply:
    """One answer, before it is written (and before a fault may spoil it)."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
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


def new_id() -> str:
    """A request or task id shaped like the service's (a UUID)."""
    return str(uuid.uuid4())


def is_int(value: Any) -> bool:
    """True for an int that is not a bool (JSON ``true`` must not pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def json_reply(
    status: int, payload: Any, request_id: str | None = None, headers: dict | None = None
) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    hdrs = dict(headers or {})
    if request_id:
        hdrs["X-Request-Id"] = request_id
    return Reply(status=status, body=body, headers=hdrs, request_id=request_id)


def error_reply(status: int, code: str, message: str, headers: dict | None = None) -> Reply:
    rid = new_id()
    return json_reply(status, {"request_id": rid, "code": code, "message": message}, rid, headers)


def oss_error(
    status: int, code: str, message: str, extra: Mapping[str, str] | None = None
) -> Reply:
    """An error as OSS (the video store) answers it: XML with a request id header."""
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
    return Reply(
        status=status,
        body="\n".join(parts).encode("utf-8"),
        content_type=XML_TYPE,
        headers={"x-oss-request-id": rid, "X-Request-Id": rid},
        request_id=rid,
    )
