"""Files the emulator serves and stores: videos behind signed URLs, temporary uploads.

A video is the bundled ``sample.mp4``, padded on the fly (a ``free`` box, then a
deterministic byte pattern) when a test asks for a large one, so gigabyte downloads cost
no memory. URLs carry ``Expires`` and an HMAC ``Signature`` and fail as OSS fails.

:class:`UploadStore` plays DashScope's temporary-file storage: ``getPolicy`` hands out a
signed POST policy whose ``upload_host`` points back at the emulator, the multipart form
POST stores the file under its ``key``, and ``oss://<key>`` resolves to it for 48 hours,
for the model it was uploaded for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import struct
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path
from typing import Any

from airflow_provider_bailian.emulator.replies import Reply, json_reply, new_id, oss_error

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


# ------------------------------------------------------------------ temporary uploads

UPLOAD_PATH = "/oss/dashscope-file-mgr"
UPLOAD_TTL = 48 * 3600
_POLICY_SECONDS = 300
_UPLOAD_BUCKET = "dashscope-instant"


@dataclass(frozen=True)
class Upload:
    """A stored temporary file: its bytes and the model it may be used with."""

    key: str
    data: bytes
    model: str
    content_type: str
    uploaded_at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "url": f"oss://{self.key}",
            "model": self.model,
            "content_type": self.content_type,
            "size": len(self.data),
            "uploaded_at": self.uploaded_at,
            "data": self.data,
        }


def parse_form(content_type: str, body: bytes) -> dict[str, tuple[bytes, str | None]] | None:
    """A ``multipart/form-data`` body as name -> (bytes, file name); None if not one.

    Split on the boundary directly (a part's bytes are sliced once): a 50 MB video goes
    through in a fraction of a second, where a generic MIME parser takes seconds."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    params = _header_params(content_type)
    boundary = params.get("boundary")
    if not boundary:
        return None
    delimiter = b"--" + boundary.encode("latin-1")
    fields: dict[str, tuple[bytes, str | None]] = {}
    pos = body.find(delimiter)
    if pos < 0:
        return None
    while True:
        pos += len(delimiter)
        if body[pos : pos + 2] == b"--":  # the closing delimiter
            break
        head_end = body.find(b"\r\n\r\n", pos)
        end = body.find(b"\r\n" + delimiter, head_end)
        if head_end < 0 or end < 0:
            break
        headers = body[pos:head_end].decode("utf-8", "replace").split("\r\n")
        disposition = next(
            (h.split(":", 1)[1] for h in headers if h.lower().startswith("content-disposition:")),
            "",
        )
        part = _header_params(disposition)
        if "name" in part:
            fields[part["name"]] = (body[head_end + 4 : end], part.get("filename"))
        pos = end + 2
    return fields


def _header_params(value: str) -> dict[str, str]:
    """``key=value`` parameters of a header (``boundary``, ``name``, ``filename``)."""
    out: dict[str, str] = {}
    for item in value.split(";")[1:]:
        key, sep, raw = item.strip().partition("=")
        if sep:
            raw = raw.strip()
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                raw = raw[1:-1].replace('\\"', '"')
            out[key.strip().lower()] = raw
    return out


class UploadStore:
    """Temporary files by key, and the upload policies handed out (thread-safe)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._files: dict[str, Upload] = {}
        self._dirs: dict[str, str] = {}  # upload_dir -> model

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._dirs.clear()

    def files(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {key: f.as_dict() for key, f in self._files.items()}

    def get(self, key: str, now: float) -> Upload | None:
        """The file stored under ``key``, unless it is missing or older than 48 hours."""
        with self._lock:
            found = self._files.get(key)
        if found is None or now - found.uploaded_at > UPLOAD_TTL:
            return None
        return found

    def put(self, data: bytes, model: str, name: str, content_type: str, now: float) -> str:
        """Store a file directly (as a finished upload would); returns its ``oss://`` URL."""
        key = f"{self._new_dir(model, now)}/{name}"
        with self._lock:
            self._files[key] = Upload(key, data, model, content_type, now)
        return f"oss://{key}"

    def _new_dir(self, model: str, now: float) -> str:
        day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
        account = hashlib.sha256(self._secret).hexdigest()[:16]
        upload_dir = f"{_UPLOAD_BUCKET}/{account}/{day}/{uuid.uuid4()}"
        with self._lock:
            self._dirs[upload_dir] = model
        return upload_dir

    def _sign(self, policy: str) -> str:
        digest = hmac.new(self._secret, policy.encode("ascii"), hashlib.sha1).digest()
        return base64.b64encode(digest).decode("ascii")

    def policy_reply(self, model: str, host: str, max_mb: int, now: float) -> Reply:
        """The ``getPolicy`` answer: a POST policy for one new upload directory."""
        upload_dir = self._new_dir(model, now)
        document = {
            "expiration": _iso(now + _POLICY_SECONDS),
            "conditions": [
                ["content-length-range", 0, max_mb * 1024 * 1024],
                ["starts-with", "$key", upload_dir],
                {"x-oss-object-acl": "private"},
                {"x-oss-forbid-overwrite": "true"},
            ],
        }
        policy = base64.b64encode(json.dumps(document).encode()).decode("ascii")
        rid = new_id()
        data = {
            "policy": policy,
            "signature": self._sign(policy),
            "upload_dir": upload_dir,
            "upload_host": f"http://{host}{UPLOAD_PATH}",
            "expire_in_seconds": _POLICY_SECONDS,
            "max_file_size_mb": max_mb,
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": "emulator",
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }
        return json_reply(200, {"request_id": rid, "data": data}, rid)

    def accept(self, content_type: str, body: bytes, now: float) -> Reply:
        """The form POST to ``upload_host``: check the policy and store the file, as OSS."""
        fields = parse_form(content_type, body)
        if fields is None:
            return oss_error(
                400,
                "RequestIsNotMultiPartContent",
                "Bucket POST must be of the enclosure-type multipart/form-data",
            )
        for name in ("OSSAccessKeyId", "policy", "Signature", "key", "file"):
            if name not in fields:
                return oss_error(400, "InvalidArgument", f"The form field {name} is required.")

        def text(name: str) -> str:
            return fields[name][0].decode("utf-8", "replace").strip() if name in fields else ""

        policy, key = text("policy"), text("key")
        if not hmac.compare_digest(text("Signature"), self._sign(policy)):
            return oss_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.",
            )
        document = json.loads(base64.b64decode(policy))
        if _iso(now) > document["expiration"]:
            return oss_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        limits = {c[0]: c[1:] for c in document["conditions"] if isinstance(c, list)}
        prefix = limits["starts-with"][1]
        if not key.startswith(prefix + "/") or len(key) == len(prefix) + 1:
            condition = json.dumps(["starts-with", "$key", prefix])
            return oss_error(
                403,
                "AccessDenied",
                f"Invalid according to Policy: Policy Condition failed: {condition}",
            )
        data = fields["file"][0]
        if len(data) > limits["content-length-range"][1]:
            return oss_error(
                400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
            )
        with self._lock:
            model = self._dirs.get(prefix, "")
            if key in self._files and text("x-oss-forbid-overwrite").lower() == "true":
                return oss_error(
                    409,
                    "FileAlreadyExists",
                    "The object you specified already exists and can not be overwritten.",
                )
            kind = text("x-oss-content-type") or "application/octet-stream"
            self._files[key] = Upload(key, data, model, kind, now)
        status = 200 if text("success_action_status") == "200" else 204
        etag = hashlib.md5(data).hexdigest().upper()
        headers = {"ETag": f'"{etag}"', "x-oss-request-id": uuid.uuid4().hex[:24].upper()}
        return Reply(status=status, content_type=None, headers=headers)
