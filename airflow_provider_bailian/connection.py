"""How a ``bailian`` Airflow connection becomes settings.

The sync hook and the async trigger client both read connections through this
module, so an extra means the same thing on a worker and on a triggerer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_bailian import __version__
from airflow_provider_bailian.exceptions import BailianError
from airflow_provider_bailian.protocol import (
    REGIONS,
    ApiStyle,
    BailianProtocol,
    parse_style,
    region_of_host,
    resolve_base_url,
    resolve_region,
    workspace_base_url,
)

CONN_TYPE = "bailian"
DEFAULT_CONN_ID = "bailian_default"

#: Extras a connection may carry, with their defaults (documented in docs/connections/bailian.md).
DEFAULTS: dict[str, Any] = {
    "api_style": None,  # gateway | dashscope; inferred from the host when unset
    "region": None,  # DashScope region when host is empty
    "workspace": None,  # X-DashScope-WorkSpace
    "workspace_domain": False,  # host https://{workspace}.{region}.maas.aliyuncs.com
    "timeout": 60.0,  # read timeout, seconds
    "connect_timeout": 10.0,
    "max_retries": 5,  # retries of a query (never of an ambiguous submission)
    "retry_min_wait": 1.0,  # first backoff step, seconds
    "retry_max_wait": 30.0,  # cap of one backoff step, seconds
    "throttle_max_wait": 120.0,  # how long a throttled (429) submission keeps retrying
    "query_rate_limit": 10.0,  # queries per second shared by every wait on this key
    "list_interval": 5.0,  # D: how late a finish is seen through the task list (DashScope)
    "max_download_bytes": 4 * 1024**3,  # a longer video fails its download, nothing kept
}


def user_agent() -> str:
    try:
        # On first use: this module is read at DAG parsing.
        from airflow import __version__ as airflow_version
    except ImportError:  # pragma: no cover
        airflow_version = "unknown"
    return f"airflow-provider-bailian/{__version__} apache-airflow/{airflow_version}"


@dataclass(frozen=True)
class BailianSettings:
    """Everything needed to talk to Bailian, read once from a connection."""

    conn_id: str
    style: ApiStyle
    base_url: str
    api_key: str = field(repr=False)
    workspace: str | None = None
    timeout: float = DEFAULTS["timeout"]
    connect_timeout: float = DEFAULTS["connect_timeout"]
    max_retries: int = DEFAULTS["max_retries"]
    retry_min_wait: float = DEFAULTS["retry_min_wait"]
    retry_max_wait: float = DEFAULTS["retry_max_wait"]
    throttle_max_wait: float = DEFAULTS["throttle_max_wait"]
    query_rate_limit: float = DEFAULTS["query_rate_limit"]
    list_interval: float = DEFAULTS["list_interval"]
    max_download_bytes: int = DEFAULTS["max_download_bytes"]
    extras: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_connection(cls, conn: Any) -> BailianSettings:
        """Read an Airflow ``Connection`` (either Airflow version)."""
        extras = _extras(conn)

        def get(name: str) -> Any:
            # The UI may store form fields with the legacy prefix.
            value = extras.get(name, extras.get(f"extra__{CONN_TYPE}__{name}"))
            return DEFAULTS.get(name) if value in (None, "") else value

        api_key = conn.password or ""
        if not api_key:
            raise BailianError(
                f"Connection {conn.conn_id!r} has no API key: put the Bailian/DashScope key "
                "in the connection's password field"
            )
        host = conn.host or ""
        if host and conn.schema and "://" not in host:
            host = f"{conn.schema}://{host}"
        if host and conn.port and "://" in host and host.count(":") == 1:
            host = f"{host}:{conn.port}"
        if not host and _flag(get("workspace_domain")):
            host = workspace_base_url(get("workspace"), get("region"))
        style = parse_style(get("api_style"), host)
        return cls(
            conn_id=conn.conn_id,
            style=style,
            base_url=resolve_base_url(host, style, get("region")),
            api_key=api_key,
            workspace=get("workspace"),
            timeout=_number(get, "timeout", float),
            connect_timeout=_number(get, "connect_timeout", float),
            max_retries=_number(get, "max_retries", int),
            retry_min_wait=_number(get, "retry_min_wait", float),
            retry_max_wait=_number(get, "retry_max_wait", float),
            throttle_max_wait=_number(get, "throttle_max_wait", float),
            query_rate_limit=_number(get, "query_rate_limit", float),
            list_interval=_number(get, "list_interval", float),
            max_download_bytes=_number(get, "max_download_bytes", int),
            extras=extras,
        )

    @property
    def region(self) -> str | None:
        """The DashScope region the key bills in (from the extra or the host)."""
        if self.extras.get("region"):
            return resolve_region(self.extras["region"])
        for region, url in REGIONS.items():
            if url and self.base_url.startswith(url):
                return region
        return region_of_host(self.base_url)

    @property
    def prices(self) -> dict[str, Any]:
        """The ``prices`` extra (a dict, or JSON text from the UI form)."""
        raw = self.extras.get("prices") or {}
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise BailianError("Connection extra 'prices' is not valid JSON") from None
        return dict(raw)

    def protocol(self) -> BailianProtocol:
        return BailianProtocol(
            style=self.style,
            base_url=self.base_url,
            api_key=self.api_key,
            workspace=self.workspace,
            user_agent=user_agent(),
        )

    @property
    def account_key(self) -> str:
        """One Bailian account (base URL + a hash of the key): what a limit or a watch is shared by."""
        return hashlib.sha256(f"{self.base_url}|{self.api_key}".encode()).hexdigest()


def _extras(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    if isinstance(extra, dict):
        return extra
    raw = getattr(conn, "extra", None)
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        raise BailianError(f"Connection {conn.conn_id!r} has extras that are not JSON") from None


def _number(get: Any, name: str, kind: type) -> Any:
    value = get(name)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise BailianError(
            f"Connection extra {name}={value!r} is not a number (default {DEFAULTS[name]})"
        ) from None
    if number < 0:
        raise BailianError(f"Connection extra {name}={value!r} must not be negative")
    return number


def _flag(value: Any) -> bool:
    """A switch extra: true/false, 1/0, yes/no (the UI form stores text)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)
