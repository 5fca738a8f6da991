"""The only module that knows whether it runs on Airflow 3.x or 2.11.

Everything else imports Airflow's base classes from here, so supporting both
versions costs one ``try``/``except`` per name instead of one per module.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed
from typing import TYPE_CHECKING, Any

from packaging.version import Version

if TYPE_CHECKING:
    from airflow.sdk import (
        BaseHook,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        PokeReturnValue,
        conf,
    )

AIRFLOW_V3 = importlib.util.find_spec("airflow.sdk") is not None


def _airflow_at_least(version: str) -> bool:
    try:
        return Version(Version(installed("apache-airflow")).base_version) >= Version(version)
    except PackageNotFoundError:
        return False


#: Plugin FastAPI apps, external views and React apps (the gallery) need Airflow 3.1+.
AIRFLOW_V3_1 = AIRFLOW_V3 and _airflow_at_least("3.1.0")

#: Base classes by name: (Airflow 3.x module, Airflow 2.11 module). Resolved on first use
#: (``__getattr__`` below), so a module that needs only the exceptions, such as the
#: trigger's, does not load the operator machinery into the triggerer.
_LAZY: dict[str, tuple[str, str]] = {
    "BaseHook": ("airflow.sdk", "airflow.hooks.base"),
    "BaseOperator": ("airflow.sdk", "airflow.models.baseoperator"),
    "BaseOperatorLink": ("airflow.sdk", "airflow.models.baseoperatorlink"),
    "BaseSensorOperator": ("airflow.sdk", "airflow.sensors.base"),
    "PokeReturnValue": ("airflow.sdk", "airflow.sensors.base"),
    "conf": ("airflow.sdk", "airflow.configuration"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    module = importlib.import_module(_LAZY[name][0 if AIRFLOW_V3 else 1])
    value = getattr(module, name)
    globals()[name] = value
    return value


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
    "AIRFLOW_V3_1",
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
    "read_task_instance_state",
    "stats",
]


def mask_secret(secret: str, name: str | None = None) -> None:
    """Register a secret with Airflow's log masker (task process and supervisor)."""
    if not secret:
        return
    try:
        # The version's own module, on first use.
        from airflow.sdk.log import mask_secret as _mask
    except ImportError:
        from airflow.utils.log.secrets_masker import mask_secret as _mask  # type: ignore[no-redef]
    _mask(secret, name)


def _base_hook() -> Any:
    return __getattr__("BaseHook")


async def amask_secret(secret: str) -> None:
    """``mask_secret`` from a coroutine (Airflow 3's async twin talks to the supervisor)."""
    if not secret:
        return
    try:
        # The version's own module, on first use.
        from airflow.sdk.log import amask_secret as _amask
    except ImportError:
        mask_secret(secret)
        return
    await _amask(secret)


_connection_lookup_warm = False


def _warm_connection_lookup() -> None:
    """Airflow 3 imports and builds its secrets backends on the first connection read, in
    plain synchronous code (about 0.2 s). Run that first time in a thread, not in the
    triggerer's event loop, where it would stall every other trigger."""
    try:
        import asgiref.sync  # noqa: F401
        from airflow.sdk.execution_time.cache import SecretCache  # noqa: F401
        from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

        ensure_secrets_backend_loaded()
    except Exception:  # only a warm-up: the real read below reports any problem
        pass


async def aget_connection(conn_id: str) -> Any:
    """Read a connection without blocking the event loop, on either Airflow version."""
    global _connection_lookup_warm
    base_hook = _base_hook()
    getter = getattr(base_hook, "aget_connection", None)
    if getter is not None:
        if not _connection_lookup_warm:
            await asyncio.to_thread(_warm_connection_lookup)
            _connection_lookup_warm = True
        return await getter(conn_id)
    # The version's own module, on first use.
    from asgiref.sync import sync_to_async

    return await sync_to_async(base_hook.get_connection)(conn_id)


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable``, read when an operator is built."""
    return __getattr__("conf").getboolean("operators", "default_deferrable", fallback=False)


def object_storage_path(value: Any) -> Any:
    """An ``ObjectStoragePath`` (local paths, ``file://``, any registered fsspec scheme)."""
    try:
        # The version's own module, on first use.
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2.11
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]
    return value if isinstance(value, ObjectStoragePath) else ObjectStoragePath(str(value))


def asset(uri: str) -> Any:
    """An Airflow asset (a dataset on 2.11) for ``uri``."""
    try:
        # The version's own module, on first use.
        from airflow.sdk import Asset
    except ImportError:  # Airflow 2.11
        from airflow.datasets import Dataset as Asset  # type: ignore[no-redef]
    return Asset(uri)


def is_asset(value: Any) -> bool:
    try:
        # The version's own module, on first use.
        from airflow.sdk import Asset
    except ImportError:  # Airflow 2.11
        from airflow.datasets import Dataset as Asset  # type: ignore[no-redef]
    return isinstance(value, Asset)


def read_task_instance_state(dag_id: str, run_id: str, task_id: str, map_index: int) -> Any:
    """The task instance's state as Airflow has it now (``None``: no state, e.g. cleared).

    Raises ``LookupError`` when there is no such task instance. Blocking: call it from a
    thread. Airflow 3 asks through the task SDK (the supervisor's ``GetTaskStates``, the
    same call the standard provider's external-task trigger makes from the triggerer);
    Airflow 2.11 reads the metadata database, which workers and triggerers reach directly.
    """
    if AIRFLOW_V3:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        states = RuntimeTaskInstance.get_task_states(
            dag_id=dag_id, map_index=map_index, task_ids=[task_id], run_ids=[run_id]
        )
        run = (states or {}).get(run_id) or {}
        key = task_id if map_index is None or map_index < 0 else f"{task_id}_{map_index}"
        if key not in run:
            raise LookupError(f"no task instance {dag_id}/{run_id}/{key}")
        return run[key]
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(TaskInstance.state)
            .filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
            .one_or_none()
        )
    if row is None:
        raise LookupError(f"no task instance {dag_id}/{run_id}/{task_id}[{map_index}]")
    state = row[0]
    return getattr(state, "value", state)


def stats() -> Any:
    """Airflow's metrics client (``incr``, ``timing``, ``timer``), as ``[metrics]`` configures it.

    Airflow 3.2+: the Task SDK's ``stats`` module, which a task process sets up at start;
    anywhere it is not set up yet (``dag.test()``, a triggerer), it is set up here from
    ``[metrics]``, as Airflow's own components do. Older: ``airflow.stats.Stats``.
    """
    try:
        from airflow.sdk.observability import stats as sdk_stats
    except ImportError:  # Airflow 2.11 to 3.1
        from airflow.stats import Stats

        return Stats
    if not _stats_set_up():
        from airflow.sdk.observability.metrics import stats_utils

        sdk_stats.initialize(
            factory=stats_utils.get_stats_factory(),
            export_legacy_names=__getattr__("conf").getboolean(
                "metrics", "legacy_names_on", fallback=True
            ),
        )
    return sdk_stats


def _stats_set_up() -> bool:
    """Whether something in this process gave the Task SDK's metrics a backend factory."""
    try:
        from airflow.sdk._shared.observability.metrics import stats as shared
    except ImportError:  # another layout: trust that Airflow set it up
        return True
    return getattr(shared, "_factory", True) is not None
