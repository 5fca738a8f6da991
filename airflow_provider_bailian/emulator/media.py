"""Files the emulator serves: finished videos behind OSS-like signed URLs.

A video is the bundled ``sample.mp4``, padded on the fly (a ``free`` box, then a
deterministic byte pattern) when a test asks for a large one, so gigabyte downloads cost
no memory. URLs carry ``Expires`` and an HMAC ``Signature`` and fail as OSS fails.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path
from typing import Any

from airflow_provider_bailian.emulator.replies import Reply, oss_error

_CHUNK = 64 * 1024
# Deterministic filler for large videos: byte at absolute offset p is p % 256. Doubled so
# any 64 KiB window can be sliced without wrapping.
_PATTERN = bytes(range(256)) * 512

_SAMPLE_PATH = Path(__file__).with_name("sample.mp4")
_sample_cache: bytes | None = None


def sample() -> bytes:
    """The bundled sample video (read once)."""
    global _sample_cache
    if _sample_cache is None:
        _sample_cache = _SAMPLE_PATH.read_bytes()
    return _sample_cache


def _signature(secret: bytes, task_id: str, expires: int) -> str:
    msg = f"{task_id}\n{expires}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def video_url(secret: bytes, host: str, port: int, task_id: str, expires: int) -> str:
    """A signed download URL for a task's video, valid until ``expires``."""
    return (
        f"http://{host}:{port}/videos/{task_id}.mp4"
        f"?Expires={expires}&OSSAccessKeyId=emulator"
        f"&Signature={_signature(secret, task_id, expires)}"
    )


def _video_prefix(total: int) -> bytes:
    """The first bytes of a video of ``total`` bytes: the sample, then a ``free`` box
    header covering the filler, so a padded file is still a well-formed MP4."""
    data = sample()
    if total <= len(data):
        return data[:total]
    extra = total - len(data)
    if extra > 0xFFFFFFFF:
        return data + struct.pack(">I4sQ", 1, b"free", extra)
    if extra >= 8:
        return data + struct.pack(">I4s", extra, b"free")
    return data


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def video_reply(
    secret: bytes,
    task_id: str,
    size: int | None,
    end_time: float,
    now: float,
    query: Mapping[str, str],
    headers: Any,
) -> Reply:
    """Serve a finished task's video: check the signed URL, then the (range of) bytes."""
    expires_raw = query.get("Expires", "")
    signature = query.get("Signature", "")
    if not expires_raw or not signature or "OSSAccessKeyId" not in query:
        return oss_error(
            403,
            "AccessDenied",
            "You have no right to access this object because of bucket acl.",
        )
    if not expires_raw.isdigit():
        return oss_error(403, "AccessDenied", "Invalid argument: Expires.")
    expires = int(expires_raw)
    if now > expires:
        return oss_error(
            403,
            "AccessDenied",
            "Request has expired.",
            {"Expires": _iso(expires), "ServerTime": _iso(now)},
        )
    if not hmac.compare_digest(signature, _signature(secret, task_id, expires)):
        return oss_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you "
            "provided. Check your key and signing method.",
        )

    total = len(sample()) if size is None else size
    prefix = _video_prefix(total)
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
                    return _unsatisfiable(total)
                if r_end >= r_start:
                    start, end, status = r_start, r_end + 1, 206
            else:
                suffix = int(last)
                if suffix == 0:
                    return _unsatisfiable(total)
                start, end, status = max(0, total - suffix), total, 206
    if status == 206:
        base_headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
    return Reply(
        status=status,
        content_type="video/mp4",
        headers=base_headers,
        stream=(start, end, total, prefix),
        task_id=task_id,
        request_id=None,
    )


def _unsatisfiable(total: int) -> Reply:
    reply = oss_error(416, "InvalidRange", "The requested range cannot be satisfied.")
    reply.headers["Content-Range"] = f"bytes */{total}"
    return reply


def iter_body(reply: Reply) -> Iterator[bytes]:
    """A reply's body in chunks; a streamed video is generated as it is written."""
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
