"""Inputs: read a local or object-storage file, check it, send it.

Images, videos, audio and documents (bailian-api.md sections 14 and 17); the kind of each
input comes from its media type (``capabilities.MEDIA_TYPES``). Videos, audio and PDFs
are never held in memory: they are read once in chunks (format from the first bytes,
size, content hash, length where the format tells it) and become a ``LocalFile`` that
always goes out through the temporary upload, streamed from the file again.

An image given as an http(s) or ``oss://`` URL or a ``data:`` URI is sent as is (a
data URI is still decoded and checked). Anything else is a file the provider reads
itself, at execute time and never at parse time: a local path, a ``file://`` URL or
any URL Airflow's ``ObjectStoragePath`` reads (``s3://``, ``gs://``, ``memory://``...).
It is read once, checked against the model's row of the capability table (format
from the bytes, each side in pixels, file size) and becomes a ``LocalImage``, which
goes out as a base64 data URI, or, with ``upload_local_files=True`` on the DashScope
style, as the ``oss://`` URL of Bailian's temporary-file upload (bailian-api.md §14).

Pillow reads the image headers (imported only here, when an image is checked).

A file input is read from wherever its (templated, so run-conf settable) value points, as
far as the worker may read: ``[bailian] input_roots`` narrows that to folders and prefixes
(``storage_roots``), checked before anything is read or sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import struct
import wave
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian import storage_roots as sr
from airflow_provider_bailian._compat import object_storage_path
from airflow_provider_bailian.capabilities import (
    IMAGE_FORMATS,
    KIND_IMAGE,
    KIND_LINK,
    MEDIA_EXTRA_INPUTS,
    MEDIA_KINDS,
    MEDIA_TYPES,
)
from airflow_provider_bailian.exceptions import BailianValidationError
from airflow_provider_bailian.models import LocalFile, LocalImage
from airflow_provider_bailian.validation import check_media_seconds

if TYPE_CHECKING:
    from airflow_provider_bailian.capabilities import ModelSpec
    from airflow_provider_bailian.models import VideoRequest

SENT_AS_IS = ("http://", "https://", "oss://")
_MB = 1024 * 1024
READ_CHUNK = _MB
#: Read at most this much of a file when the model is unknown (its limit is unknown too).
UNKNOWN_MODEL_MAX_MB = 100

Problems = list[tuple[str, Any, str]]


def is_file_reference(value: Any) -> bool:
    """Does the provider read this input itself (a path or an object-storage URL)?"""
    return (
        isinstance(value, str)
        and bool(value.strip())
        and not value.startswith(SENT_AS_IS)
        and not value.startswith("data:")
    )


def load_local_media(request: VideoRequest) -> VideoRequest:
    """The request with every file input read and checked (``LocalImage``); data URIs checked.

    Raises one ``BailianValidationError`` naming every bad input, before anything is sent.
    """
    spec = request.spec
    problems: Problems = []

    def load(label: str, mtype: str, value: Any) -> Any:
        kind = kind_of(mtype)
        if is_file_reference(value):
            if kind == KIND_IMAGE:
                return read_image(label, value, spec, problems)
            if kind == KIND_LINK:
                problems.append((label, value, "an http(s) URL (a link is not read)"))
                return value
            return read_file(label, value, kind, problems)
        if kind == KIND_IMAGE and isinstance(value, str) and value.startswith("data:image/"):
            check_image(label, _clip(value), _decode_data_uri(value), spec, problems)
        return value

    loaded = request.map_inputs(load)
    check_media_seconds(loaded, problems)
    if problems:
        raise BailianValidationError(problems)
    object.__setattr__(loaded, "_loaded", True)  # validated and read: nothing to redo
    return loaded


def is_loaded(request: VideoRequest) -> bool:
    """Was this request validated and its files read already (``load_local_media``)?"""
    return bool(getattr(request, "_loaded", False))


def kind_of(mtype: str) -> str:
    """The kind of file a media type (or an input-valued extra key) holds."""
    return MEDIA_TYPES.get(mtype) or MEDIA_EXTRA_INPUTS.get(mtype) or KIND_IMAGE


def read_file(label: str, source: str, kind: str, problems: Problems) -> Any:
    """A video, audio or document, read once in chunks: format, size, hash, length."""
    limit = MEDIA_KINDS[kind].max_mb * _MB
    digest = hashlib.sha256()
    size = 0
    head = b""
    opened = _allowed_or_reported(label, source, problems)
    if opened is None:
        return source
    try:
        with open_input(opened) as handle:
            while True:
                chunk = handle.read(READ_CHUNK)
                if not chunk:
                    break
                if not head:
                    head = chunk[:64]
                digest.update(chunk)
                size += len(chunk)
                if size > limit:
                    break
            fmt = sniff_format(head)
            seconds = media_seconds(handle, fmt) if fmt else None
    except (OSError, ValueError) as exc:
        problems.append((label, source, f"a readable {kind} file ({type(exc).__name__}: {exc})"))
        return source
    formats = MEDIA_KINDS[kind].formats
    if fmt not in formats:
        got = f"{fmt} data" if fmt else "bytes of no format known here"
        problems.append((label, source, f"a {', '.join(formats)} {kind} (got {got})"))
        return source
    if size > limit:
        problems.append(
            (label, source, f"a {kind} of at most {MEDIA_KINDS[kind].max_mb} MB (got more)")
        )
        return source
    return LocalFile(
        source=source,
        kind=kind,
        format=fmt,
        mime=_MIMES[fmt],
        size=size,
        sha256=digest.hexdigest(),
        seconds=seconds,
        location=opened,
    )


_MIMES = {
    "MP4": "video/mp4",
    "MOV": "video/quicktime",
    "WAV": "audio/wav",
    "MP3": "audio/mpeg",
    "PDF": "application/pdf",
}
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


def sniff_format(head: bytes) -> str | None:
    """The format of a video, audio or document from its first bytes (never its name)."""
    if head[4:8] == b"ftyp":
        return "MOV" if head[8:12] == b"qt  " else "MP4"
    if head[4:8] in _MP4_BOXES:
        return "MOV"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    if head[:5] == b"%PDF-":
        return "PDF"
    return None


def media_seconds(handle: Any, fmt: str) -> float | None:
    """The length of an MP4/MOV (its ``mvhd`` box) or a WAV (its header); ``None`` if unknown."""
    try:
        handle.seek(0)
        if fmt in ("MP4", "MOV"):
            return _mp4_seconds(handle)
        if fmt == "WAV":
            with wave.open(handle) as audio:
                rate = audio.getframerate()
                return audio.getnframes() / rate if rate else None
    except Exception:  # an unreadable header: the length stays unknown
        return None
    return None


def _mp4_seconds(handle: Any) -> float | None:
    """Walk the box headers (seeking past payloads) to ``moov/mvhd``: timescale, duration."""
    end: int | None = None
    while True:
        start = handle.tell()
        if end is not None and start >= end:
            return None
        header = handle.read(8)
        if len(header) < 8:
            return None
        size, box = struct.unpack(">I4s", header)
        body = 8
        if size == 1:
            size = struct.unpack(">Q", handle.read(8))[0]
            body = 16
        if box == b"moov":
            end = start + size if size else None
            continue  # descend into it
        if box == b"mvhd":
            version = handle.read(4)[0]
            if version == 1:
                _c, _m, scale, duration = struct.unpack(">QQIQ", handle.read(28))
            else:
                _c, _m, scale, duration = struct.unpack(">IIII", handle.read(16))
            return duration / scale if scale else None
        if size < body:
            return None
        handle.seek(start + size)


def read_image(label: str, source: str, spec: ModelSpec | None, problems: Problems) -> Any:
    """Read a file input once (no more than its size limit + 1 byte) and check it."""
    limit = (spec.image_max_mb if spec else UNKNOWN_MODEL_MAX_MB) * _MB
    opened = _allowed_or_reported(label, source, problems)
    if opened is None:
        return source
    try:
        data = _read(opened, limit + 1)
    except (OSError, ValueError) as exc:
        problems.append((label, source, f"a readable image file ({type(exc).__name__}: {exc})"))
        return source
    found = check_image(label, source, data, spec, problems)
    if found is None:
        return source
    mime, width, height = found
    return LocalImage(
        source=source,
        data=data,
        mime=mime,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _allowed_or_reported(label: str, source: str, problems: Problems) -> str | None:
    """:func:`allowed_input`, a refusal reported as a problem of ``label`` (then ``None``)."""
    try:
        return allowed_input(source)
    except ValueError as exc:  # storage_roots.NotAllowed
        problems.append((label, source, str(exc)))
        return None


def allowed_input(source: str) -> str:
    """What to open for a file input: the input itself while ``[bailian] input_roots`` is
    empty (any file the worker can read), else its real path or URL inside one of the roots.

    Raises ``storage_roots.NotAllowed`` saying what is allowed.
    """
    try:
        roots = sr.configured_roots(sr.INPUT_ROOTS)
    except sr.NotAllowed as exc:
        raise sr.NotAllowed(f"a well-formed [bailian] input_roots ({exc})") from None
    if not roots:
        return source
    try:
        return sr.resolve(source, roots).location
    except sr.NotAllowed as exc:
        allowed = sr.describe_roots(roots)
        raise sr.NotAllowed(f"a file inside [bailian] input_roots ({allowed}); {exc}") from None


def check_image(
    label: str, shown: str, data: bytes, spec: ModelSpec | None, problems: Problems
) -> tuple[str, int, int] | None:
    """(mime, width, height) of an acceptable image; otherwise the problems are recorded.

    The format comes from the bytes, never the file name.
    """
    # Pillow: only when an image file is read.
    from PIL import Image, UnidentifiedImageError

    model = spec.name if spec else "this model"
    try:
        with Image.open(_bytes_io(data)) as img:
            fmt, (width, height) = img.format, img.size
    except Image.DecompressionBombError as exc:  # a header claiming billions of pixels
        sides = f"each side {spec.image_px[0]}-{spec.image_px[1]} px for {model}" if spec else ""
        problems.append(
            (label, shown, f"{sides or 'an image of sane size'} (Pillow refused it: {exc})")
        )
        return None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        fmt, width, height = None, 0, 0
    if fmt not in IMAGE_FORMATS:
        got = f"{fmt} data" if fmt else "bytes that are no image Pillow knows"
        videos = "; reference videos go by http(s) or oss:// URL" if "[" in label else ""
        problems.append((label, shown, f"a {', '.join(IMAGE_FORMATS)} image (got {got}){videos}"))
        return None
    ok = True
    if spec is not None:
        if len(data) > spec.image_max_mb * _MB:
            size_mb = len(data) / _MB
            problems.append(
                (
                    label,
                    shown,
                    f"an image of at most {spec.image_max_mb} MB for {model} (got more than "
                    f"{size_mb:.1f} MB)",
                )
            )
            ok = False
        low, high = spec.image_px
        if not (low <= width <= high and low <= height <= high):
            problems.append(
                (label, shown, f"each side {low}-{high} px for {model} (got {width}x{height})")
            )
            ok = False
        ratio_max = spec.image_ratio_max
        if ratio_max and max(width, height) > ratio_max * min(width, height):
            problems.append(
                (label, shown, f"an aspect ratio within 1:{ratio_max:g} and {ratio_max:g}:1")
            )
            ok = False
    return (Image.MIME.get(fmt, f"image/{fmt.lower()}"), width, height) if ok else None


def upload_local_media(
    request: VideoRequest, upload: Callable[[Any, str], str], *, images: bool = True
) -> VideoRequest:
    """The request with every ``LocalFile`` (and, with ``images``, ``LocalImage``) uploaded.

    ``upload(file, model)`` is the hook's temporary-file upload, returning the ``oss://``
    URL; inputs given as URLs or data URIs stay as they are.
    """
    kinds = (LocalFile, LocalImage) if images else (LocalFile,)

    def swap(_label: str, value: Any) -> Any:
        return upload(value, request.model) if isinstance(value, kinds) else value

    loaded = is_loaded(request)
    uploaded = request.map_media(swap)
    if loaded:
        object.__setattr__(uploaded, "_loaded", True)
    return uploaded


def has_local_images(request: VideoRequest) -> bool:
    return any(isinstance(v, LocalImage) for v in request.media_values())


def has_local_files(request: VideoRequest) -> bool:
    """Inputs that can only go through the temporary upload (videos, audio, documents)."""
    return any(isinstance(v, LocalFile) for v in request.media_values())


def open_input(source: str) -> Any:
    """A binary handle on a local path, ``file://`` or object-storage URL (read at execute time)."""
    if "://" not in source:
        return open(os.path.expanduser(source), "rb")

    return object_storage_path(source).open("rb")


def upload_key_name(image: LocalImage | LocalFile) -> str:
    """The object's name in the upload folder: content hash + file name (a retry overwrites
    nothing and finds the same key)."""
    return f"{image.sha256[:16]}-{image.file_name}"


def _read(source: str, size: int) -> bytes:
    """At most ``size`` bytes, in chunks (``read(size)`` would allocate ``size`` up front)."""
    if "://" not in source:
        with open(os.path.expanduser(source), "rb") as handle:
            return _read_upto(handle, size)

    with object_storage_path(source).open("rb") as handle:
        return _read_upto(handle, size)


def _read_upto(handle: Any, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = handle.read(min(left, READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _decode_data_uri(value: str) -> bytes:
    try:
        return base64.b64decode(value.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error, ValueError):
        return b""


def _bytes_io(data: bytes) -> Any:
    return io.BytesIO(data)


def _clip(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit] + "..."
