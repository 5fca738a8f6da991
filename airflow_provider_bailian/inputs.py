"""The inputs a request carries: typed media items and the files the provider read.

Plain Python (no Airflow, no I/O). A request's inputs (frames, clips, references, voices,
the video to edit...) are ``MediaItem`` values, whatever parameter they came from; a file
the provider read itself is a ``LocalImage`` or a ``LocalFile``. :func:`wire` says how an
input goes into the body, :func:`identity` how reattach fingerprints it. The request types
(``models.py``, which re-exports these names) and validation (``validation.py``) build on
this module.
"""

from __future__ import annotations

import ast
import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_bailian.capabilities import MEDIA_EXTRA_INPUTS


def _safe_name(source: str, default: str) -> str:
    name = source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or default
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


@dataclass(frozen=True)
class LocalImage:
    """An image the provider read itself (local path or object storage), checked.

    It goes out as a data URI, or as the ``oss://`` URL of its temporary upload; reattach
    fingerprints it by content, so a changed file is a new video.
    """

    source: str
    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int
    sha256: str

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def file_name(self) -> str:
        return _safe_name(self.source, "image")

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class LocalFile:
    """A video, audio or document the provider read itself: checked, never held in memory.

    It always goes out through the temporary upload (``oss://``); its bytes are read again,
    in chunks, only then. ``seconds`` is its length where the format tells it (MP4/MOV, WAV).
    """

    source: str
    kind: str
    format: str
    mime: str
    size: int
    sha256: str
    seconds: float | None = None
    #: What is opened again for the upload (the file inside ``[bailian] input_roots``).
    location: str | None = field(default=None, repr=False, compare=False)

    @property
    def file_name(self) -> str:
        return _safe_name(self.source, self.kind)


@dataclass(frozen=True)
class MediaItem:
    """One typed input of a request: ``{"type": ..., "url": ...}`` plus extra keys.

    ``url`` is what the user gave (a URL, a data URI, a path) until ``media.py`` reads it
    (``LocalImage``/``LocalFile``) or the hook uploads it (``oss://``). ``label`` is how the
    user named it (``image``, ``references[1]``, ``media[2]``), for error messages.
    """

    type: str
    url: Any
    extra: Mapping[str, Any] = field(default_factory=dict)
    label: str = field(default="media", compare=False)

    def with_values(self, change: Callable[[str, str, Any], Any]) -> MediaItem:
        """The item with its url (and input-valued extras) passed through ``change``."""
        extra = {
            k: change(f"{self.label}.{k}", k, v) if k in MEDIA_EXTRA_INPUTS and v else v
            for k, v in self.extra.items()
        }
        return replace(self, url=change(self.label, self.type, self.url), extra=extra)


def parse_media(value: Any) -> tuple[Any, ...]:
    """The ``media`` argument as items: a list of dicts (or its JSON text), or one dict.

    What is not a dict with a ``type`` stays as it is, for validation to name it.
    """
    if value is None or value == "":
        return ()
    if isinstance(value, str) and value.strip().startswith(("[", "{")):
        value = parse_list(value)
    if isinstance(value, (Mapping, MediaItem, str)):
        value = [value]
    items: list[Any] = []
    for i, raw in enumerate(value):
        if isinstance(raw, Mapping) and isinstance(raw.get("type"), str):
            extra = {k: v for k, v in raw.items() if k not in ("type", "url")}
            items.append(MediaItem(raw["type"], raw.get("url"), extra, label=f"media[{i}]"))
        else:
            items.append(raw)
    return tuple(items)


def parse_list(text: str) -> Any:
    """A list or dict given as its text (JSON or a Python literal, as a template renders
    one); any other text stays as it is."""
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, (list, dict)):
            return value
    return text


VIDEO_SUFFIXES = (".mp4", ".mov")


def looks_like_video(value: Any) -> bool:
    """A reference given as a video: by its kind once read, else by its name."""
    if isinstance(value, LocalFile):
        return value.kind == "video"
    if not isinstance(value, str):
        return False
    return urlsplit(value).path.lower().endswith(VIDEO_SUFFIXES) or value.startswith("data:video/")


def wire(value: Any) -> Any:
    """An input as it goes into the body (a file read inline as its data URI)."""
    if isinstance(value, LocalImage):
        return value.data_uri()
    if isinstance(value, LocalFile):  # only a dry run shows this: a real send uploads first
        return f"<uploaded before sending: {value.file_name}>"
    return value


def identity(value: Any) -> Any:
    """An input as reattach sees it: the content of a file read, else the value."""
    return f"sha256:{value.sha256}" if isinstance(value, (LocalImage, LocalFile)) else value
