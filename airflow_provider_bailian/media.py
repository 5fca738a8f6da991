"""Image inputs: read a local or object-storage image, check it, send it.

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

import hashlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian.capabilities import IMAGE_FORMATS
from airflow_provider_bailian.exceptions import BailianValidationError
from airflow_provider_bailian.models import LocalImage

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

    def load(label: str, value: Any) -> Any:
        if is_file_reference(value):
            return read_image(label, value, spec, problems)
        if isinstance(value, str) and value.startswith("data:image/"):
            check_image(label, _clip(value), _decode_data_uri(value), spec, problems)
        return value

    loaded = request.map_media(load)
    if problems:
        raise BailianValidationError(problems)
    return loaded


def read_image(label: str, source: str, spec: ModelSpec | None, problems: Problems) -> Any:
    """Read a file input once (no more than its size limit + 1 byte) and check it."""
    limit = (spec.image_max_mb if spec else UNKNOWN_MODEL_MAX_MB) * _MB
    try:
        opened = allowed_input(source)
    except ValueError as exc:  # storage_roots.NotAllowed
        problems.append((label, source, str(exc)))
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


def allowed_input(source: str) -> str:
    """What to open for a file input: the input itself while ``[bailian] input_roots`` is
    empty (any file the worker can read), else its real path or URL inside one of the roots.

    Raises ``storage_roots.NotAllowed`` saying what is allowed.
    """
    from airflow_provider_bailian import storage_roots as sr

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
    request: VideoRequest, upload: Callable[[LocalImage, str], str]
) -> VideoRequest:
    """The request with every ``LocalImage`` replaced by its ``oss://`` upload.

    ``upload(image, model)`` is the hook's temporary-file upload; inputs given as URLs
    or data URIs stay as they are.
    """

    def swap(_label: str, value: Any) -> Any:
        return upload(value, request.model) if isinstance(value, LocalImage) else value

    return request.map_media(swap)


def has_local_images(request: VideoRequest) -> bool:
    return any(isinstance(v, LocalImage) for v in request.media_values())


def upload_key_name(image: LocalImage) -> str:
    """The object's name in the upload folder: content hash + file name (a retry overwrites
    nothing and finds the same key)."""
    return f"{image.sha256[:16]}-{image.file_name}"


def _read(source: str, size: int) -> bytes:
    """At most ``size`` bytes, in chunks (``read(size)`` would allocate ``size`` up front)."""
    if "://" not in source:
        with open(os.path.expanduser(source), "rb") as handle:
            return _read_upto(handle, size)
    from airflow_provider_bailian._compat import object_storage_path

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
    import base64
    import binascii

    try:
        return base64.b64decode(value.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error, ValueError):
        return b""


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def _clip(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit] + "..."
