"""The only module that knows whether it runs on Airflow 3.x or 2.11.

Everything else imports Airflow's base classes from here, so supporting both
versions costs one ``try``/``except`` per name instead of one per module.
"""

from __future__ import annotations

from typing import Any

try:  # Airflow 3.x: the task SDK
    from airflow.sdk import (
        BaseHook,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        PokeReturnValue,
        conf,
    )

    AIRFLOW_V3 = True
except ImportError:  # Airflow 2.11
    from airflow.configuration import conf  # type: ignore[no-redef]
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]
    from airflow.models.baseoperator import BaseOperator  # type: ignore[no-redef]
    from airflow.models.baseoperatorlink import BaseOperatorLink  # type: ignore[no-redef]
    from airflow.sensors.base import (  # type: ignore[no-redef]
        BaseSensorOperator,
        PokeReturnValue,
    )

    AIRFLOW_V3 = False

try:
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSkipException,
    )
except ImportError:  # Airflow 2.11
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowException,
        AirflowFailException,
        AirflowSkipException,
    )

__all__ = [
    "AIRFLOW_V3",
    "AirflowException",
    "AirflowFailException",
    "AirflowSkipException",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "PokeReturnValue",
    "aget_connection",
    "amask_secret",
    "asset",
    "conf",
    "default_deferrable",
    "is_asset",
    "mask_secret",
    "object_storage_path",
]


def mask_secret(secret: str, name: str | None = None) -> None:
    """Register a secret with Airflow's log masker (task process and supervisor)."""
    if not secret:
        return
    try:
        from airflow.sdk.log import mask_secret as _mask
    except ImportError:
        from airflow.utils.log.secrets_masker import mask_secret as _mask  # type: ignore[no-redef]
    _mask(secret, name)


async def amask_secret(secret: str) -> None:
    """``mask_secret`` from a coroutine (Airflow 3's async twin talks to the supervisor)."""
    if not secret:
        return
    try:
        from airflow.sdk.log import amask_secret as _amask
    except ImportError:
        mask_secret(secret)
        return
    await _amask(secret)


async def aget_connection(conn_id: str) -> Any:
    """Read a connection without blocking the event loop, on either Airflow version."""
    getter = getattr(BaseHook, "aget_connection", None)
    if getter is not None:
        return await getter(conn_id)
    from asgiref.sync import sync_to_async

    return await sync_to_async(BaseHook.get_connection)(conn_id)


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable``, read when an operator is built."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def object_storage_path(value: Any) -> Any:
    """An ``ObjectStoragePath`` (local paths, ``file://``, any registered fsspec scheme)."""
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2.11
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]
    return value if isinstance(value, ObjectStoragePath) else ObjectStoragePath(str(value))


def asset(uri: str) -> Any:
    """An Airflow asset (a dataset on 2.11) for ``uri``."""
    try:
        from airflow.sdk import Asset
    except ImportError:  # Airflow 2.11
        from airflow.datasets import Dataset as Asset  # type: ignore[no-redef]
    return Asset(uri)


def is_asset(value: Any) -> bool:
    try:
        from airflow.sdk import Asset
    except ImportError:  # Airflow 2.11
        from airflow.datasets import Dataset as Asset  # type: ignore[no-redef]
    return isinstance(value, Asset)
