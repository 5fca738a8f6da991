"""An auth manager with per-DAG read permissions, like FAB's, for the gallery tests.

Airflow's SimpleAuthManager grants DAGs by role only (a viewer reads every DAG). This one is
the SimpleAuthManager (same login, tokens and roles) with a deny list per user, so a test can
have "a user without access to a DAG" through Airflow's real auth manager machinery.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

#: username -> DAG ids that user may not read.
DENIED: dict[str, set[str]] = {
    "outsider": {"bailian_g_private"},
    "writer": {"bailian_g_private"},
}


class DagAclAuthManager(SimpleAuthManager):
    def is_authorized_dag(
        self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None
    ) -> bool:
        if details is not None and details.id in DENIED.get(user.username, set()):
            return False
        return super().is_authorized_dag(
            method=method, user=user, access_entity=access_entity, details=details
        )
