"""BailianPlanOperator: validate, price and (when large) approve a whole batch, sending nothing.

Planning runs the generation operators' own validation and price table over every item
(``planning.py``), reports every invalid item at once, sums the estimates, and only
then lets the batch spend: under ``max_total_cost``, and after a person's approval in
the Airflow UI above ``approve_above``. It reads the connection (region, price extras)
and never sends a request to Bailian.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow_provider_bailian._compat import BaseOperator
from airflow_provider_bailian.connection import DEFAULT_CONN_ID
from airflow_provider_bailian.exceptions import BailianBudgetError

XCOM_PLAN = "plan"
#: The planned kwargs, kept while a person decides (the return value is pushed on approval).
XCOM_PLANNED_REQUESTS = "planned_requests"
APPROVAL_METHOD = "execute_approved"


class BailianPlanOperator(BaseOperator):
    """Validate and price a batch of generations before any of them is submitted.

    Returns the list of merged, validated keyword arguments, one per item, for
    ``BailianText2VideoOperator.partial(task_id="generate", ...).expand_kwargs(plan.output)``,
    each carrying ``plan_fingerprint`` so a generation task refuses to submit a request
    that is not the one planned. Pushes the XCom ``plan``:
    ``{"items": [{"index", "model", "duration", "tier", "estimate", ...}], "total", "currency"}``
    and logs it as a table grouped by model and tier.

    :param requests: the items (templated): a list of dicts, each the request fields of one
        generation (``prompt``, ``model``, ``size``, ``duration``, ``seed``, ...; ``mode``
        picks the kind of generation, ``text`` by default; a bare string is a prompt), or its
        JSON text (e.g. a ``.json`` file). Items are untrusted input (a run conf, ``params``,
        an upstream XCom): any other key fails the plan, unless listed in ``item_keys``.
    :param defaults: merged under every item (templated); set by the DAG author, so it may
        carry any argument of the generation operator.
    :param item_keys: generation-operator arguments beyond the request fields that items may
        set, e.g. ``["download_to"]`` (not templated: only the DAG author decides). Spend,
        account and delivery arguments (``prices``, ``max_cost``, ``bailian_conn_id``,
        ``download_to``, ``dry_run``, ``reattach``, waiting) are refused in items otherwise.
        An item's ``prices``, even when allowed, can raise its estimate, never lower it.
    :param max_total_cost: a total estimate above this fails the plan (no retry); nothing runs.
    :param approve_above: a total estimate above this waits for a person to approve the batch
        in the Airflow UI (Airflow 3.1+); a rejection or ``approval_timeout`` skips the batch.
        On older Airflow a total above it fails the plan.
    :param approval_timeout: how long to wait for the decision (then: rejected).
    :param prices: price overrides for the estimates (as the generation operators take them).
    :param bailian_conn_id: the connection whose region and price extras price the batch,
        and which the generation tasks use unless an item names another.
    """

    template_fields: Sequence[str] = ("requests", "defaults")
    template_ext: Sequence[str] = (".json",)
    template_fields_renderers = {"requests": "json", "defaults": "json"}
    ui_color = "#ffd7b0"

    def __init__(
        self,
        *,
        requests: list[dict[str, Any]] | str | Any,
        defaults: dict[str, Any] | None = None,
        max_total_cost: float | None = None,
        approve_above: float | None = None,
        approval_timeout: timedelta | float | None = None,
        prices: dict[str, Any] | None = None,
        bailian_conn_id: str = DEFAULT_CONN_ID,
        item_keys: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(item_keys, str):
            raise TypeError(f"item_keys is a list of argument names, not {item_keys!r}")
        self.item_keys = tuple(item_keys)
        self.requests = requests
        self.defaults = defaults
        self.max_total_cost = max_total_cost
        self.approve_above = approve_above
        if isinstance(approval_timeout, (int, float)):
            approval_timeout = timedelta(seconds=approval_timeout)
        self.approval_timeout = approval_timeout
        self.prices = prices
        self.bailian_conn_id = bailian_conn_id

    def plan(self) -> Any:
        """The rendered batch, validated and priced (reads the connection, sends nothing)."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.hooks.bailian import BailianHook
        from airflow_provider_bailian.planning import build_plan, parse_requests

        hooks: dict[str, BailianHook] = {}

        def price_table(item_prices: dict[str, Any] | None, conn_id: str) -> Any:
            if conn_id not in hooks:  # one connection read per connection
                hooks[conn_id] = BailianHook(bailian_conn_id=conn_id)
            return hooks[conn_id].price_table({**(self.prices or {}), **(item_prices or {})})

        return build_plan(
            parse_requests(self.requests),
            defaults=self.defaults,
            conn_id=self.bailian_conn_id,
            price_table=price_table,
            item_keys=self.item_keys,
        )

    def execute(self, context: Any) -> list[dict[str, Any]]:
        plan = self.plan()
        self.log.info(
            "Plan of %d videos (%s):\n%s", len(plan.items), plan.source or "no price", plan.table()
        )
        ti = context["ti"]
        ti.xcom_push(key=XCOM_PLAN, value=plan.to_xcom())
        self._check_total(plan)
        if self.approve_above is not None and plan.total > self.approve_above:
            self._ask_for_approval(context, plan)
        return plan.generation_kwargs()

    def _check_total(self, plan: Any) -> None:
        limits = {
            "max_total_cost": self.max_total_cost,
            "approve_above": self.approve_above,
        }
        set_limits = [name for name, value in limits.items() if value is not None]
        if plan.unpriced and set_limits:
            raise BailianBudgetError(
                f"{' and '.join(set_limits)} is set but items {plan.unpriced[:10]} cannot be "
                "estimated (model not in the price table); add them to `prices`. Nothing was sent"
            )
        total = f"{plan.total:.2f} {plan.currency}"
        if self.max_total_cost is not None and plan.total > self.max_total_cost:
            raise BailianBudgetError(
                f"The batch's total estimate {total} for {len(plan.items)} videos is above "
                f"max_total_cost={self.max_total_cost:g} {plan.currency}. Nothing was sent"
            )

    def _ask_for_approval(self, context: Any, plan: Any) -> None:
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.approval import approval_unavailable, request_approval

        total = f"{plan.total:.2f} {plan.currency}"
        why_not = approval_unavailable()
        if why_not:
            raise BailianBudgetError(
                f"The batch's total estimate {total} is above approve_above={self.approve_above:g}"
                f", but {why_not}. Nothing was sent. Lower the batch, or raise approve_above"
            )
        context["ti"].xcom_push(key=XCOM_PLANNED_REQUESTS, value=plan.generation_kwargs())
        self.log.info(
            "The total estimate %s is above approve_above=%g: waiting for a person to approve "
            "the batch in the Airflow UI (Required actions)%s",
            total,
            self.approve_above,
            f", for at most {self.approval_timeout}" if self.approval_timeout else "",
        )
        request_approval(
            self,
            context,
            subject=f"Spend {total} on {len(plan.items)} Bailian videos?",
            body=(
                f"The plan **{self.task_id}** of run `{context['run_id']}` estimates "
                f"**{total}** ({plan.source}), above approve_above={self.approve_above:g}.\n\n"
                f"{plan.table(markdown=True)}\n\n"
                "Approve to submit the batch; Reject skips it and nothing is sent."
            ),
            timeout=self.approval_timeout,
            method_name=APPROVAL_METHOD,
        )

    def execute_approved(self, context: Any, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The person's answer: approval returns the planned batch; otherwise skip it."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian._compat import AirflowSkipException
        from airflow_provider_bailian.approval import decision

        approved, why = decision(event)
        if not approved:
            raise AirflowSkipException(f"The batch was not run: {why}. Nothing was sent")
        self.log.info("The batch was %s; it runs as planned", why)
        ti = context["ti"]
        return ti.xcom_pull(
            task_ids=self.task_id, key=XCOM_PLANNED_REQUESTS, map_indexes=ti.map_index
        )
