"""Plan a batch of videos before anything is spent: validate every item, price it, sum.

Plain Python (no Airflow, no I/O): the plan operator, the generation operators and the
tests share it. Each item is the keyword arguments of one generation; its ``mode``
(``text`` by default) picks a row of :data:`MODES`, which says which request type
validates it and which operator takes it. Validation is the request type's own
``validated()`` (the operators call the same one), pricing is :class:`PriceTable`:
one code path, so a plan cannot accept what the operator would refuse.

The fingerprint of each planned request (the same one reattach uses: body + connection)
travels with the item's kwargs as ``plan_fingerprint``; the generation operator renders its
request and refuses to submit when the fingerprints differ.

Items are untrusted (they often come from a run conf or ``params``): an item may set only
the request fields of its mode's request type (:func:`item_fields`) and ``mode``. Any other
operator argument (``prices``, ``max_cost``, ``bailian_conn_id``, ``download_to``,
``dry_run``, ``reattach``, waiting...) fails the plan unless the DAG author lists it in
``item_keys``. The batch is priced with the plan's and the connection's price table; an
item's own ``prices`` (when allowed) can only raise its estimate, never lower it.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from airflow_provider_bailian.exceptions import (
    BailianPlanMismatchError,
    BailianPlanValidationError,
    BailianValidationError,
)
from airflow_provider_bailian.reattach import request_fingerprint

#: The operator parameter that carries a planned request's fingerprint.
PLAN_FINGERPRINT = "plan_fingerprint"
MODE_KEY = "mode"
DEFAULT_MODE = "text"


@dataclass(frozen=True)
class Mode:
    """One generation mode: the request type that validates an item, the operator that runs it.

    Both are ``"module:Name"`` strings, imported only when a plan uses the mode (planning
    runs in the worker, never at DAG parse time).
    """

    name: str
    request_type: str
    operator: str

    def load_request_type(self) -> type:
        return _load(self.request_type)

    def load_operator(self) -> type:
        return _load(self.operator)


#: Modes a plan item may name. A new mode is a new row: its request type must offer
#: ``validated()``, ``to_body()``, ``model`` and ``effective_duration`` like Text2VideoRequest.
MODES: dict[str, Mode] = {
    mode.name: mode
    for mode in (
        Mode(
            name="text",
            request_type="airflow_provider_bailian.models:Text2VideoRequest",
            operator="airflow_provider_bailian.operators.text2video:BailianText2VideoOperator",
        ),
        Mode(
            name="image",
            request_type="airflow_provider_bailian.models:Image2VideoRequest",
            operator="airflow_provider_bailian.operators.image2video:BailianImage2VideoOperator",
        ),
        Mode(
            name="reference",
            request_type="airflow_provider_bailian.models:Reference2VideoRequest",
            operator=(
                "airflow_provider_bailian.operators.reference2video:BailianReference2VideoOperator"
            ),
        ),
        Mode(
            name="edit",
            request_type="airflow_provider_bailian.models:VideoEditRequest",
            operator="airflow_provider_bailian.operators.video_edit:BailianVideoEditOperator",
        ),
        Mode(
            name="speech",
            request_type="airflow_provider_bailian.models:Speech2VideoRequest",
            operator="airflow_provider_bailian.operators.speech2video:BailianSpeech2VideoOperator",
        ),
    )
}


def _load(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def operator_parameters(operator: type) -> dict[str, inspect.Parameter]:
    """The keyword parameters an operator's constructor takes (what an item may set)."""
    params: dict[str, inspect.Parameter] = {}
    for cls in reversed(operator.__mro__):
        init = cls.__dict__.get("__init__")
        if init is None or cls.__module__.startswith(("airflow.", "builtins")):
            continue
        for name, param in inspect.signature(init).parameters.items():
            if name != "self" and param.kind is inspect.Parameter.KEYWORD_ONLY:
                params[name] = param
    return params


@cache
def item_fields(mode: Mode) -> frozenset[str]:
    """What a plan item of ``mode`` may set by default: the request type's own fields.

    Taken from the dataclass (``prompt``, its media, ``model``, ``size``/``resolution``/
    ``ratio``, ``duration``, ``seed``, switches such as ``prompt_extend``, ``watermark``,
    ``audio``...), so a field added to a request type is settable without another list.
    """
    return frozenset(f.name for f in fields(mode.load_request_type()))


def _item_key_problems(item_keys: Collection[str]) -> list[tuple[str, Any, str]]:
    """``item_keys`` must name arguments a generation operator takes (not the fingerprint)."""
    if isinstance(item_keys, str):
        return [("item_keys", item_keys, "a list of argument names, e.g. ['download_to']")]
    known: set[str] = set()
    for mode in MODES.values():
        known |= set(operator_parameters(mode.load_operator()))
    known.discard(PLAN_FINGERPRINT)
    return [
        ("item_keys", key, "an argument of a generation operator (the plan sets plan_fingerprint)")
        for key in item_keys
        if key not in known
    ]


@dataclass(frozen=True)
class PlannedItem:
    """One validated item: what the generation operator gets, and what it will cost."""

    index: int
    mode: str
    kwargs: dict[str, Any]
    request: Any
    estimate: Any  # CostEstimate | None
    fingerprint: str

    @property
    def tier(self) -> str | None:
        return self.request.billed_tier

    def summary(self) -> dict[str, Any]:
        """The item as the ``plan`` XCom shows it."""
        return {
            "index": self.index,
            "mode": self.mode,
            "model": self.request.model,
            "duration": self.request.effective_duration,
            "tier": self.tier,
            "estimate": self.estimate.amount if self.estimate else None,
        }


@dataclass
class Plan:
    """Every item of a batch, validated and priced."""

    items: list[PlannedItem]
    currency: str | None
    source: str | None
    unpriced: list[int] = field(default_factory=list)

    @property
    def total(self) -> float:
        return round(sum(i.estimate.amount for i in self.items if i.estimate), 6)

    @property
    def seconds(self) -> float:
        return sum(float(i.request.effective_duration) for i in self.items)

    def generation_kwargs(self, mode: str | None = None) -> list[dict[str, Any]]:
        """The list to ``expand_kwargs`` the generation operator over (one mode, or all)."""
        return [dict(i.kwargs) for i in self.items if mode is None or i.mode == mode]

    @property
    def modes(self) -> list[str]:
        return sorted({i.mode for i in self.items})

    def to_xcom(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "items": [i.summary() for i in self.items],
            "total": self.total,
            "currency": self.currency,
            "seconds": self.seconds,
            "videos": len(self.items),
            "price_source": self.source,
        }
        if self.unpriced:
            data["unpriced"] = list(self.unpriced)
        return data

    def groups(self) -> list[dict[str, Any]]:
        """Items grouped by mode, model and tier, most expensive group first."""
        acc: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
            lambda: {"videos": 0, "seconds": 0.0, "amount": 0.0, "per_second": None}
        )
        for item in self.items:
            group = acc[(item.mode, item.request.model, item.tier or "?")]
            group["videos"] += 1
            group["seconds"] += float(item.request.effective_duration)
            if item.estimate is None:
                group["amount"] = None
            elif group["amount"] is not None:
                group["amount"] += item.estimate.amount
                group["per_second"] = item.estimate.per_second
        rows = [
            {"mode": m, "model": model, "tier": tier, **values}
            for (m, model, tier), values in acc.items()
        ]
        return sorted(rows, key=lambda r: (-(r["amount"] or 0), r["model"], r["tier"]))

    def table(self, markdown: bool = False) -> str:
        """The plan as a table: one row per model and tier, then the total."""
        head = [
            "mode",
            "model",
            "tier",
            "videos",
            "seconds",
            f"{self.currency or '?'}/s",
            "estimate",
        ]
        rows = [
            [
                g["mode"],
                g["model"],
                g["tier"],
                str(g["videos"]),
                f"{g['seconds']:g}",
                f"{g['per_second']:g}" if g["per_second"] is not None else "?",
                f"{g['amount']:.2f}" if g["amount"] is not None else "unknown",
            ]
            for g in self.groups()
        ]
        total = f"{self.total:.2f} {self.currency or ''}".strip()
        if self.unpriced:
            total += f" + {len(self.unpriced)} unpriced"
        foot = ["total", "", "", str(len(self.items)), f"{self.seconds:g}", "", total]
        if markdown:
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines.append("| " + " | ".join(f"**{c}**" if c else "" for c in foot) + " |")
            return "\n".join(lines)
        widths = [max(len(r[i]) for r in [head, *rows, foot]) for i in range(len(head))]
        numeric = {3, 4, 5, 6}

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if i in numeric else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        rule = "-" * len(line(head))
        return "\n".join([line(head), rule, *map(line, rows), rule, line(foot)])


def parse_requests(value: Any) -> list[Any]:
    """The rendered ``requests``: a list, or its JSON text (a ``.json`` template file)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise BailianValidationError(
                [("requests", value[:60], f"a list of dicts, or its JSON text ({exc})")]
            ) from None
    if isinstance(value, Mapping) or not isinstance(value, Sequence) or isinstance(value, str):
        raise BailianValidationError(
            [("requests", value, "a list of dicts, each the kwargs of one generation")]
        )
    return list(value)


def build_plan(
    requests: Sequence[Any],
    *,
    defaults: Mapping[str, Any] | None,
    conn_id: str,
    price_table: Callable[[dict[str, Any] | None, str], Any],
    item_keys: Collection[str] = (),
) -> Plan:
    """Validate every item (reporting all invalid ones at once), then price each.

    ``price_table(prices, conn_id)`` gives the PriceTable of a connection (the hook's, which
    reads the connection's region and price extras and sends nothing) with the plan's
    prices, and with ``prices`` over them when given. ``item_keys``: operator arguments
    beyond the request fields that an item may set (the DAG author's choice).
    """
    problems: list[tuple[str, Any, str]] = _item_key_problems(item_keys)
    if problems:
        raise BailianPlanValidationError(problems, len(requests))
    extra_keys = frozenset(item_keys)
    planned: list[tuple[int, str, dict[str, Any], Any]] = []
    for index, raw in enumerate(requests):
        where = f"requests[{index}]"
        if isinstance(raw, str):
            raw = {"prompt": raw}  # a bare string is a prompt
        if not isinstance(raw, Mapping):
            problems.append(
                (where, raw, "a dict of the generation's keyword arguments, or a prompt")
            )
            continue
        merged = {**(defaults or {}), **raw}
        item_problems, built = _validate_item(merged, set(raw), extra_keys)
        problems += [(f"{where}.{f}", v, a) for f, v, a in item_problems]
        if built is not None:
            planned.append((index, *built))
    if not requests:
        problems.append(("requests", [], "at least one item"))
    if problems:
        raise BailianPlanValidationError(problems, len(requests))

    items: list[PlannedItem] = []
    currencies: dict[str, list[int]] = defaultdict(list)
    sources: set[str] = set()
    unpriced: list[int] = []
    for index, mode, kwargs, request in planned:
        item_conn = kwargs.get("bailian_conn_id") or conn_id
        estimate = _estimate(request, item_conn, kwargs.get("prices"), price_table)
        if estimate is None:
            unpriced.append(index)
        else:
            currencies[estimate.currency].append(index)
            sources.add(estimate.source)
        kwargs[PLAN_FINGERPRINT] = request_fingerprint(request.fingerprint_body(), item_conn)
        items.append(PlannedItem(index, mode, kwargs, request, estimate, kwargs[PLAN_FINGERPRINT]))
    if len(currencies) > 1:
        detail = "; ".join(f"{c}: items {ix[:5]}" for c, ix in currencies.items())
        raise BailianPlanValidationError(
            [("requests", "prices", f"one currency for the whole batch to sum it ({detail})")],
            len(requests),
        )
    currency = next(iter(currencies), None)
    return Plan(items, currency, ", ".join(sorted(sources)) or None, unpriced)


def _estimate(
    request: Any,
    conn_id: str,
    item_prices: Any,
    price_table: Callable[[dict[str, Any] | None, str], Any],
) -> Any:
    """The item's estimate by the plan's and the connection's table.

    ``prices`` on an item (only where ``item_keys`` allows it) may raise the estimate, never
    lower it, and never price a model the plan's table cannot: what approval and
    ``max_total_cost`` compare stays at least the plan's own figure.
    """
    estimate = price_table(None, conn_id).estimate(request)
    if item_prices and estimate is not None:
        own = price_table(item_prices, conn_id).estimate(request)
        if own is not None and own.currency == estimate.currency and own.amount > estimate.amount:
            estimate = own
    return estimate


def _validate_item(
    merged: dict[str, Any], item_set: set[str], item_keys: frozenset[str]
) -> tuple[list[tuple[str, Any, str]], tuple[str, dict[str, Any], Any] | None]:
    """(problems, (mode, kwargs for the operator, validated request)) of one merged item.

    ``item_set``: the keys the item itself set (``defaults`` are the DAG author's).
    """
    mode_name = merged.pop(MODE_KEY, None) or DEFAULT_MODE
    mode = MODES.get(mode_name)
    if mode is None:
        return [(MODE_KEY, mode_name, "one of " + ", ".join(MODES))], None
    request_type = mode.load_request_type()
    params = operator_parameters(mode.load_operator())
    operator_name = mode.operator.rpartition(":")[2]
    settable = item_fields(mode) | item_keys
    problems = []
    for name, value in merged.items():
        if name not in params or name == PLAN_FINGERPRINT:
            problems.append((name, _clip(value), f"a parameter of {operator_name}"))
        elif name in item_set and name not in settable:
            problems.append(
                (
                    name,
                    _clip(value),
                    f"only request fields of a {mode.name} generation in a plan item "
                    f"({', '.join(sorted(item_fields(mode)))}, and mode); the DAG author may "
                    f"let items set {name!r} with BailianPlanOperator(item_keys=[{name!r}])",
                )
            )
    prices = merged.get("prices")
    if prices is not None and not isinstance(prices, Mapping):
        problems.append(("prices", _clip(prices), 'a dict such as {"wan2.6-t2v": {"720P": 0.6}}'))
    problems += [
        (name, _clip(value), _TEMPLATE_ALLOWED)
        for name, value in merged.items()
        if _has_template(value)
    ]
    if problems:
        return problems, None
    request_fields = [f.name for f in fields(request_type)]
    # The operator's own defaults (e.g. its default model) fill what the item leaves out.
    values = {
        name: merged[name] if name in merged else _default(params.get(name))
        for name in request_fields
    }
    try:
        request, _warnings = request_type(**values).validated()
    except BailianValidationError as exc:
        return list(exc.problems), None
    kwargs = dict(merged)
    for name in request_fields:
        value = getattr(request, name)
        if name == "media":  # as the item gave it (plain JSON): the operator parses it again
            continue
        if value is not None and (name in merged or name == "model"):
            kwargs[name] = value
    return [], (mode.name, kwargs, request)


_TEMPLATE_MARKERS = ("{{", "{%", "{#")
_TEMPLATE_ALLOWED = (
    "text without Jinja markers ({{, {%, {#): a planned value is data, yet Airflow renders "
    "the mapped generation task's templated fields, so it would run as a template there"
)


def _has_template(value: Any) -> bool:
    """Does a planned value (or a string inside it) carry Jinja syntax?"""
    if isinstance(value, str):
        return any(marker in value for marker in _TEMPLATE_MARKERS)
    if isinstance(value, Mapping):
        return any(_has_template(k) or _has_template(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return any(_has_template(v) for v in value)
    return False


def _default(param: inspect.Parameter | None) -> Any:
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return param.default


def _clip(value: Any, limit: int = 60) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value


def check_planned(request: Any, planned: str, rendered: str) -> None:
    """Refuse (sending nothing) when a rendered request is not the one its plan priced."""
    if rendered != planned:
        raise BailianPlanMismatchError(
            f"This task's rendered request (model {request.model}, "
            f"{request.effective_duration} s) is not the request its plan priced and approved "
            f"(fingerprint {rendered} != planned {planned}): the DAG, its templates or the "
            "generation task's arguments (request fields or connection) changed between the "
            "plan and this run. Nothing was sent. Run the plan again to price the edited request"
        )
