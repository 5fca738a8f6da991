"""The status watcher's old import path: the module lives in ``triggers/watcher.py``.

It serves only the triggers, so it sits beside them; this name stays so that imports
of ``airflow_provider_bailian.hooks.watcher`` keep working. It is the same module object,
not a copy, so its state (the watchers per event loop) is one.
"""

from __future__ import annotations

import sys

from airflow_provider_bailian.triggers import watcher as _watcher
from airflow_provider_bailian.triggers.watcher import (  # noqa: F401 (named for type checkers)
    Registration,
    StatusWatcher,
    WaitFailed,
    watcher_for,
)

sys.modules[__name__] = _watcher
