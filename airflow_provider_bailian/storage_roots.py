"""Where the provider may read files named by untrusted values: folders and prefixes an
administrator allowed.

XComs, run confs and ``params`` are written by people who may not read the machine's files,
yet they name files the api-server streams (``[bailian] gallery_roots``) or the worker reads
and sends to Bailian (``[bailian] input_roots``). Both options are lists of local folders and
object-storage prefixes, separated by commas or new lines, and both go through this module:

* a local path (plain, ``file://`` or ``local://``) is resolved with ``realpath``, so no
  ``..`` or symlink leads out, and must lie inside a folder of the list;
* an object-storage URL must start with a prefix of the list, at a ``/`` boundary, and may not
  name a connection of its own (``s3://conn@bucket/...``): the prefix says which connection
  reads it (``s3://aws_videos@bucket/videos/``), and a URL may repeat exactly that one.

What comes back is the location to open: the real local path, or the URL carrying the
root's connection. Plain Python, no Airflow import except for reading the option.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

SECTION = "bailian"
GALLERY_ROOTS = "gallery_roots"
INPUT_ROOTS = "input_roots"
LOCAL_SCHEMES = ("", "file", "local")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)
#: Distinct messages ``log_once`` remembers before it starts over (a bounded memory).
_LOG_ONCE_MAX = 10_000
_logged: set[str] = set()


class NotAllowed(ValueError):
    """A location outside every root (or a root list that cannot be read); says why."""


@dataclass(frozen=True)
class Root:
    """One entry of a roots option, as configured (``text``) and as compared."""

    text: str
    scheme: str  # "" for a local folder
    conn_id: str | None = None
    bucket: str = ""
    prefix: str = ""  # local: the real folder path ending in "/"; store: key prefix ("" or ".../")

    @property
    def is_local(self) -> bool:
        return not self.scheme


def parse_roots(value: str | Iterable[str] | None) -> tuple[Root, ...]:
    """The roots of an option value (comma or newline separated); raises ``NotAllowed``
    naming a malformed entry."""
    if value is None:
        return ()
    parts = re.split(r"[,\n]", value) if isinstance(value, str) else list(value)
    return tuple(_parse_root(p.strip()) for p in parts if p and p.strip())


def _parse_root(text: str) -> Root:
    scheme, rest = _split_scheme(text)
    if scheme in LOCAL_SCHEMES:
        path = _local_path(scheme, rest)
        if path is None or not os.path.isabs(os.path.expanduser(path)):
            raise NotAllowed(f"root {text!r} is not an absolute folder")
        real = os.path.realpath(os.path.expanduser(path))
        return Root(text=text, scheme="", prefix=real.rstrip(os.sep) + os.sep)
    conn_id, bucket, key = _split_store(rest)
    if not bucket or _has_dot_segment(key):
        raise NotAllowed(
            f"root {text!r} is not scheme://[conn_id@]bucket/prefix/ (a bucket, no '..')"
        )
    key = key.strip("/")
    return Root(
        text=text,
        scheme=scheme,
        conn_id=conn_id,
        bucket=bucket,
        prefix=key + "/" if key else "",
    )


def configured_roots(option: str, config: Any = None) -> tuple[Root, ...]:
    """``[bailian] <option>`` parsed (empty when unset). ``config`` defaults to the config of
    the running component (the Task SDK's on an Airflow 3 worker)."""
    if config is None:
        # Airflow's config, read on use (this module loads in tests without it).
        from airflow_provider_bailian._compat import conf as config
    return parse_roots(config.get(SECTION, option, fallback="") or "")


def describe_roots(roots: Iterable[Root]) -> str:
    return ", ".join(r.text for r in roots) or "(none)"


@dataclass(frozen=True)
class Allowed:
    """A location inside a root: what to open, and whether it is a local file."""

    location: str  # the real local path, or the URL with the root's connection
    local: bool


def resolve(location: Any, roots: Iterable[Root]) -> Allowed:
    """What to open for ``location``, if it lies inside one of ``roots``.

    Raises ``NotAllowed`` with the reason otherwise (the caller names the option and roots).
    """
    roots = tuple(roots)
    if not isinstance(location, str) or not location.strip():
        raise NotAllowed("not a file location")
    if "\x00" in location:
        raise NotAllowed("a location with a NUL character")
    scheme, rest = _split_scheme(location)
    if scheme in LOCAL_SCHEMES:
        return _resolve_local(scheme, rest, roots)
    return _resolve_store(scheme, rest, roots)


def _resolve_local(scheme: str, rest: str, roots: tuple[Root, ...]) -> Allowed:
    path = _local_path(scheme, rest)
    if path is None:
        raise NotAllowed(f"a {scheme}:// URL with a host or connection (only {scheme}:///path)")
    real = os.path.realpath(os.path.expanduser(path))
    for root in roots:
        if root.is_local and real.startswith(root.prefix):
            return Allowed(real, local=True)
    raise NotAllowed(f"its real path {real} is outside the allowed folders")


def _resolve_store(scheme: str, rest: str, roots: tuple[Root, ...]) -> Allowed:
    conn_id, bucket, key = _split_store(rest)
    if _has_dot_segment(key):
        raise NotAllowed("an object-storage URL with a '.' or '..' segment")
    own_connection = False
    for root in roots:
        if root.scheme != scheme or root.bucket != bucket or not key.startswith(root.prefix):
            continue
        if conn_id is not None and conn_id != root.conn_id:
            own_connection = True
            continue
        user = f"{root.conn_id}@" if root.conn_id else ""
        return Allowed(f"{scheme}://{user}{bucket}/{key}", local=False)
    if own_connection:
        raise NotAllowed(
            f"the URL names its own connection {conn_id!r}; the allowed prefix says which "
            "connection reads it"
        )
    raise NotAllowed("it is outside the allowed prefixes")


def _split_scheme(text: str) -> tuple[str, str]:
    match = _SCHEME.match(text)
    return (match.group(1).lower(), match.group(2)) if match else ("", text)


def _local_path(scheme: str, rest: str) -> str | None:
    """The path of a local location; ``None`` for a ``file://`` URL naming a host."""
    if not scheme:
        return rest
    if rest.startswith("localhost/"):
        rest = rest[len("localhost") :]
    return rest if rest.startswith("/") else None


def _split_store(rest: str) -> tuple[str | None, str, str]:
    """(connection id or None, bucket, key) of ``[conn@]bucket/key``."""
    netloc, _, key = rest.partition("/")
    conn_id, at, bucket = netloc.rpartition("@")
    return (conn_id if at else None), bucket, key


def _has_dot_segment(key: str) -> bool:
    return any(unquote(part) in (".", "..") for part in key.split("/"))


def log_once(logger: logging.Logger, message: str, *args: Any) -> None:
    """Log a warning the first time this exact message is seen (not on every request)."""
    text = message % args if args else message
    if text in _logged:
        return
    if len(_logged) >= _LOG_ONCE_MAX:
        _logged.clear()
    _logged.add(text)
    logger.warning("%s", text)
