"""Ask a person to approve a spend, through Airflow's own human-in-the-loop support (3.1+).

The request is Airflow's: a HITL detail row (``upsert_hitl_detail``), answered on the task's
"Required actions" page or through the REST API, with the standard provider's
``ApprovalOperator`` options (Approve / Reject). The task then waits the way
``HITLOperator`` waits on this Airflow: parked in ``awaiting_input`` on 3.3+ (no worker
slot, no triggerer; the scheduler applies the timeout), deferred to ``HITLTrigger`` on
3.1 and 3.2. The default answer is Reject, so a timeout never spends.

Why not subclass ``ApprovalOperator``: its constructor keeps only task-level params
(``{{ params.x }}`` set on the DAG would vanish from the planning task), and it would
make every plan a HITL task even when no approval is needed; calling another
operator's ``execute`` from ours is flagged by Airflow as a misuse.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow_provider_bailian.exceptions import BailianError

APPROVE = "Approve"
REJECT = "Reject"


def approval_unavailable() -> str | None:
    """Why this Airflow cannot ask for approval, or ``None`` when it can."""
    try:
        from airflow.providers.standard.operators import hitl  # noqa: F401
    except Exception:  # ImportError, or the provider's "needs Airflow 3.1+" refusal
        # Human-in-the-loop support (Airflow 3.1+): only when a batch needs approval.
        import airflow

        return (
            "approval needs Airflow 3.1+ with its human-in-the-loop support (the standard "
            f"provider's ApprovalOperator); this is Airflow {airflow.__version__}"
        )
    return None


def request_approval(
    operator: Any,
    context: Any,
    *,
    subject: str,
    body: str,
    timeout: timedelta | None,
    method_name: str,
) -> None:
    """Write the approval request and make the task wait for the answer (never returns)."""
    # Human-in-the-loop support (Airflow 3.1+): only when a batch needs approval.
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.providers.standard.version_compat import AIRFLOW_V_3_3_PLUS
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail

    options = [ApprovalOperator.APPROVE, ApprovalOperator.REJECT]
    ti_id = context["task_instance"].id
    upsert_hitl_detail(
        ti_id=ti_id,
        options=options,
        subject=subject,
        body=body,
        defaults=[REJECT],
        multiple=False,
        params={},
        assigned_users=None,
    )
    if AIRFLOW_V_3_3_PLUS:
        # Human-in-the-loop support (Airflow 3.1+): only when a batch needs approval.
        from airflow.sdk.exceptions import TaskAwaitingInput

        raise TaskAwaitingInput(method_name=method_name, timeout=timeout)
    # Human-in-the-loop support (Airflow 3.1+): only when a batch needs approval.
    from airflow.providers.standard.triggers.hitl import HITLTrigger
    from airflow.sdk.timezone import utcnow

    operator.defer(
        trigger=HITLTrigger(
            ti_id=ti_id,
            options=options,
            defaults=[REJECT],
            params={},
            multiple=False,
            timeout_datetime=utcnow() + timeout if timeout else None,
        ),
        method_name=method_name,
    )


def decision(event: dict[str, Any]) -> tuple[bool, str]:
    """(approved, who or why) from the answer event of either waiting path."""
    if "error" in event:
        if event.get("error_type") == "timeout":
            return False, "the approval timed out"

        raise BailianError(f"The approval request failed: {event.get('error')}")
    chosen = list(event.get("chosen_options") or [])
    user = event.get("responded_by_user") or {}
    who = user.get("name") or user.get("id") if isinstance(user, dict) else str(user)
    if event.get("timedout") or not who:
        return False, "the approval timed out (the default answer is Reject)"
    if chosen == [APPROVE]:
        return True, f"approved by {who}"
    return False, f"rejected by {who}"
