"""Copy a finished video from its signed URL into the user's storage, whole or not at all.

* Streamed in chunks: memory stays constant whatever the size.
* Never visible half-written: a local file is written under a temporary name beside
  the destination and renamed only when complete and its size matches
  Content-Length; an object store (S3, GCS, ... through fsspec) gets one upload inside
  an fsspec transaction, which publishes the object only on commit and discards it on
  failure.
* Transient failures are retried, resuming with a Range request where the server
  allows it; a failed transfer leaves neither the destination nor a temporary behind.
* The signed URL lives on Alibaba's object storage, not on the API host: the API token
  is never sent there, and the URL's signature is masked in logs like a secret.
* Nothing from the worker's environment goes with it: the hook's download session does not
  trust the environment (no ``.netrc`` credentials, no proxy variables).
* Redirects are followed by hand, at most :data:`MAX_REDIRECTS`, http(s) only, and never
  towards a more private address class than the hosts so far (:class:`AddressClass`:
  public < private < local), the API host that named the video URL being the first: a
  public API or video host cannot send the worker to its own loopback, its cloud metadata
  address or the internal network. Classes come from the addresses a name resolves to when
  checked (a name that resolves elsewhere a moment later is not caught).
* At most ``max_bytes`` (default :data:`DEFAULT_MAX_DOWNLOAD_BYTES`) are written: a longer
  video fails clearly, with nothing kept.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from airflow_provider_bailian._compat import object_storage_path
from airflow_provider_bailian.exceptions import BailianError

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
_SECRET_PARAMS = {"signature", "x-oss-signature", "security-token", "x-oss-security-token"}
_LOCAL_PROTOCOLS = ("", "file", "local")
#: Redirects one download attempt follows at most.
MAX_REDIRECTS = 5
#: The bytes one video may have by default (connection extra ``max_download_bytes``).
DEFAULT_MAX_DOWNLOAD_BYTES = 4 * 1024**3
_SCHEMES = ("http", "https")


class BailianVideoExpiredError(BailianError):
    """The signed video URL has expired (it lives 24 hours) or no longer exists."""


class BailianDownloadError(BailianError):
    """The video could not be copied whole; nothing was left behind."""


class AddressClass(IntEnum):
    """How private an address is; a redirect may not go up this scale."""

    PUBLIC = 0
    PRIVATE = 1  # RFC 1918, unique-local, carrier-grade NAT and other non-global ranges
    LOCAL = 2  # loopback, link-local (cloud metadata at 169.254.169.254), unspecified


def address_class(address: str) -> AddressClass:
    """The class of one IP address (the standard library's ranges)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
        return AddressClass.LOCAL
    if not ip.is_global:
        return AddressClass.PRIVATE
    return AddressClass.PUBLIC


def host_classes(url: str) -> set[AddressClass]:
    """The classes of every address the URL's host resolves to (an IP is itself)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        return {address_class(host)}
    except ValueError:
        pass
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return {address_class(str(info[4][0])) for info in infos}


@dataclass(frozen=True)
class DownloadResult:
    path: str
    size: int
    attempts: int


def url_expiry(url: str) -> datetime | None:
    """When a signed URL stops working (its ``Expires`` parameter), if it says."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key.lower() in ("expires", "x-oss-expires") and value.isdigit():
            return datetime.fromtimestamp(int(value), tz=timezone.utc)
    return None


def url_secrets(url: str) -> list[str]:
    """The values in a signed URL that grant access (to register with the log masker)."""
    return [v for k, v in parse_qsl(urlsplit(url).query) if k.lower() in _SECRET_PARAMS and v]


def redact_url(url: str) -> str:
    """The URL with its signature replaced by ``***``, for messages."""
    parts = urlsplit(url)
    query = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def _scrub(text: str, url: str) -> str:
    """Library messages quote the URL: take its signature out."""
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return text


def _expired_message(url: str, what: str) -> str:
    expiry = url_expiry(url)
    when = f" at {expiry:%Y-%m-%d %H:%M:%S} UTC" if expiry else ""
    return (
        f"The video link {what}{when}: Bailian's signed video URLs are valid for 24 hours. "
        "The task's result cannot be downloaded any more; generate the video again"
    )


class _LocalSink:
    """A temporary file beside the destination, renamed into place when complete."""

    def __init__(self, path: Path) -> None:
        self.final = path
        self.temp = path.with_name(f".{path.name}.part-{uuid.uuid4().hex[:12]}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: BinaryIO = open(self.temp, "wb")  # noqa: SIM115 (closed in commit/abort)

    def restart(self) -> None:
        self.file.seek(0)
        self.file.truncate()

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temp, self.final)

    def abort(self) -> None:
        self.file.close()
        self.temp.unlink(missing_ok=True)


class _StoreSink:
    """One upload to an object store, published only when the transaction commits."""

    def __init__(self, fs: Any, path: str) -> None:
        self.fs = fs
        self.path = path
        self._open()

    def _open(self) -> None:
        self.transaction = self.fs.transaction
        self.transaction.__enter__()
        self.file = self.fs.open(self.path, "wb")

    def restart(self) -> None:
        self.abort()
        self._open()

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)

    def commit(self) -> None:
        self.file.close()
        self.transaction.__exit__(None, None, None)

    def abort(self) -> None:
        error = BailianDownloadError("download aborted")
        try:
            self.file.close()
        finally:
            self.transaction.__exit__(type(error), error, None)


def open_sink(destination: Any) -> tuple[Any, str]:
    """A sink for an ``ObjectStoragePath`` (or a path string) and its display name."""
    path = object_storage_path(destination)
    if path.protocol in _LOCAL_PROTOCOLS:
        local = Path(path.path).expanduser()
        return _LocalSink(local), str(local)
    shown = destination if isinstance(destination, str) else str(path)
    return _StoreSink(path.fs, path.path), shown


def download(
    session: requests.Session,
    url: str,
    destination: Any,
    *,
    chunk_size: int = CHUNK_SIZE,
    max_retries: int = 5,
    timeout: tuple[float, float] = (10.0, 60.0),
    retry_wait: float = 1.0,
    max_bytes: int | None = DEFAULT_MAX_DOWNLOAD_BYTES,
    origin: str | None = None,
) -> DownloadResult:
    """Stream ``url`` into ``destination``; raise with nothing left behind on failure.

    ``session`` should not trust the environment (the hook's does not); redirects are
    checked here, whatever the session. ``max_bytes=None`` writes any size. ``origin``: the
    URL of the API that named ``url``, which is then checked as a redirect from it.
    """
    # HTTP client and retry library: loaded on first use, never at DAG parsing.
    import requests

    shown = redact_url(url)
    if urlsplit(url).scheme not in _SCHEMES:
        raise BailianDownloadError(f"Not downloading {shown}: only http(s) URLs are fetched")
    expiry = url_expiry(url)
    if expiry is not None and expiry.timestamp() < time.time():
        raise BailianVideoExpiredError(_expired_message(url, "expired"))
    sink, display = open_sink(destination)
    written = 0
    total: int | None = None
    attempts = 0
    try:
        while True:
            attempts += 1
            headers = {"Range": f"bytes={written}-"} if written else {}
            try:
                with _get(session, url, headers, timeout, origin) as resp:
                    if resp.status_code in (403, 404, 410):
                        raise BailianVideoExpiredError(
                            _expired_message(url, f"is refused (HTTP {resp.status_code})")
                        )
                    if resp.status_code >= 500 or resp.status_code == 429:
                        raise _Transient(f"HTTP {resp.status_code}")
                    if resp.status_code not in (200, 206):
                        raise BailianDownloadError(
                            f"Downloading {shown} failed with HTTP {resp.status_code}"
                        )
                    if written and resp.status_code == 200:
                        log.info("The video host ignored the Range request; restarting the copy")
                        sink.restart()
                        written = 0
                    length = resp.headers.get("Content-Length")
                    if length is not None and length.isdigit():
                        total = written + int(length)
                        _check_size(total, max_bytes, shown, "by its Content-Length")
                    for chunk in resp.iter_content(chunk_size=chunk_size):
                        _check_size(written + len(chunk), max_bytes, shown, "while streaming")
                        sink.write(chunk)
                        written += len(chunk)
                if total is not None and written != total:
                    raise _Transient(f"got {written} of {total} bytes")
                break
            except (_Transient, requests.exceptions.RequestException) as exc:
                reason = _scrub(f"{type(exc).__name__}: {exc}", url)
                if attempts > max_retries:
                    raise BailianDownloadError(
                        f"Downloading {shown} failed after {attempts} attempts "
                        f"({written} bytes copied; nothing was kept): {reason}"
                    ) from None
                log.warning(
                    "Video download interrupted at %d bytes (%s); resuming (attempt %d)",
                    written,
                    reason,
                    attempts + 1,
                )
                time.sleep(min(retry_wait * 2 ** (attempts - 1), 30.0))
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    log.info("Downloaded %d bytes to %s in %d attempt(s)", written, display, attempts)
    return DownloadResult(path=display, size=written, attempts=attempts)


def _check_size(size: int, max_bytes: int | None, shown: str, how: str) -> None:
    if max_bytes is not None and size > max_bytes:
        raise BailianDownloadError(
            f"Downloading {shown} stopped: the video is larger than max_download_bytes="
            f"{max_bytes} ({size} bytes or more, seen {how}); nothing was kept. Raise the "
            "connection extra or the operator's max_download_bytes if such videos are expected"
        )


def _get(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    timeout: Any,
    origin: str | None,
) -> requests.Response:
    """GET ``url``, following at most MAX_REDIRECTS redirects, each checked before it is sent.

    A redirect may go to http(s) only, and to an address class no more private than the
    least private host so far (``origin``, the API host, first): public -> private/local
    and private -> local are refused.
    """
    current = url
    floor: AddressClass | None = None
    if origin is not None:
        where = f"The video URL {redact_url(url)} (named by {redact_url(origin)})"
        floor = _check_hop(origin, url, None, where)
    for hop in range(MAX_REDIRECTS + 1):
        resp = session.get(
            current, headers=headers, stream=True, timeout=timeout, allow_redirects=False
        )
        if not resp.is_redirect:
            return resp
        status = resp.status_code
        resp.close()
        target = urljoin(current, resp.headers["Location"])
        where = f"{redact_url(url)} was redirected to {redact_url(target)} (HTTP {status})"
        if hop == MAX_REDIRECTS:
            raise BailianDownloadError(
                f"{where}: more than {MAX_REDIRECTS} redirects; nothing was downloaded"
            )
        if urlsplit(target).scheme not in _SCHEMES:
            raise BailianDownloadError(f"{where}: only http(s) is followed; nothing was downloaded")
        floor = _check_hop(current, target, floor, where)
        current = target
    raise AssertionError("unreachable")  # pragma: no cover


def _check_hop(source: str, target: str, floor: AddressClass | None, where: str) -> AddressClass:
    """Refuse ``source`` -> ``target`` towards a more private class; the new floor."""
    try:
        origin = min(host_classes(source))
        reached = max(host_classes(target))
    except OSError as exc:  # name resolution failed: maybe transient
        raise _Transient(
            f"cannot resolve {urlsplit(target).hostname} or {urlsplit(source).hostname} ({exc})"
        ) from None
    floor = origin if floor is None else min(floor, origin)
    if reached > floor:
        raise BailianDownloadError(
            f"{where}: going from a {floor.name.lower()} host to a "
            f"{reached.name.lower()} address is refused; nothing was downloaded"
        )
    return floor


class _Transient(Exception):
    """A failure worth another attempt (5xx, 429, short body)."""
