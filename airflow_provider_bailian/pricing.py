"""What a video costs: one price table per model and resolution tier, overridable.

Bailian bills per second of output video; failed tasks are free. The table holds
Alibaba's list prices (bailian-api.md section 8) by billing region, with their
currency. Users override it per model with a connection extra or an operator
argument ``prices``, e.g. ``{"currency": "USD", "wan2.6-t2v": {"720P": 0.10,
"1080P": 0.15}}``. The gateway's own prices are not published: its estimates use the
Beijing list price unless overridden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_bailian.models import Usage, VideoRequest, get_model_spec

ANY_TIER = "*"
_RECENT_CN = {"720P": 0.6, "1080P": 1.0}
_RECENT_INTL = {"720P": 0.733924, "1080P": 1.100886}

#: List prices per second of video, by billing region (CNY).
PRICE_TABLES: dict[str, dict[str, Any]] = {
    "cn-beijing": {
        "currency": "CNY",
        "label": "Alibaba Beijing list price",
        "wan2.7-t2v": _RECENT_CN,
        "wan2.6-t2v": _RECENT_CN,
        "wan2.5-t2v-preview": {"480P": 0.3, "720P": 0.6, "1080P": 1.0},
        "wan2.2-t2v-plus": {"480P": 0.14, "1080P": 0.70},
        "wanx2.1-t2v-turbo": {ANY_TIER: 0.24},
        "wanx2.1-t2v-plus": {ANY_TIER: 0.70},
    },
    "international": {
        "currency": "CNY",
        "label": "Alibaba international list price",
        "wan2.7-t2v": _RECENT_INTL,
        "wan2.6-t2v": _RECENT_INTL,
        "wan2.6-t2v-us": _RECENT_INTL,
        "wan2.5-t2v-preview": {"480P": 0.366961, "720P": 0.733923, "1080P": 1.100885},
        "wan2.2-t2v-plus": {"480P": 0.146785, "1080P": 0.733924},
        "wanx2.1-t2v-turbo": {ANY_TIER: 0.264213},
        "wanx2.1-t2v-plus": {ANY_TIER: 0.733924},
    },
}


def billing_region(region: str | None) -> str:
    """Beijing bills in its own table; Singapore, Virginia and Frankfurt in the international one."""
    return "cn-beijing" if region in (None, "", "cn-beijing") else "international"


@dataclass(frozen=True)
class CostEstimate:
    """An amount with everything needed to check it by hand."""

    amount: float
    currency: str
    seconds: float
    per_second: float
    model: str
    tier: str | None
    source: str

    def __str__(self) -> str:
        tier = f" {self.tier}" if self.tier else ""
        return (
            f"{self.amount:.2f} {self.currency} ({self.seconds:g} s x {self.per_second:g} "
            f"{self.currency}/s, {self.model}{tier}, {self.source})"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PriceTable:
    """Looks up per-second prices, the user's overrides first."""

    def __init__(self, region: str | None = None, overrides: Mapping[str, Any] | None = None):
        self.base = PRICE_TABLES[billing_region(region)]
        self.overrides = dict(overrides or {})

    def per_second(self, model: str, tier: str | None) -> tuple[float, str, str] | None:
        """(price, currency, source) for a model and tier, or ``None`` when unknown."""
        spec = get_model_spec(model)
        names = [model] + ([spec.name] if spec and spec.name != model else [])
        for table, source in (
            (self.overrides, "your price table"),
            (self.base, self.base["label"]),
        ):
            for name in names:
                prices = table.get(name)
                if not isinstance(prices, Mapping):
                    continue
                price = prices.get(tier) if tier else None
                if price is None:
                    price = prices.get(ANY_TIER)
                if price is not None:
                    currency = table.get("currency") or self.base["currency"]
                    return float(price), str(currency), source
        return None

    def estimate(self, request: VideoRequest) -> CostEstimate | None:
        """Before submitting: the model's duration and resolution tier (set or default)."""
        return self._cost(request.model, request.billed_tier, float(request.effective_duration))

    def actual(self, model: str, usage: Usage | None) -> CostEstimate | None:
        """After the video: the seconds and resolution Bailian reports in ``usage``."""
        if usage is None or usage.video_seconds is None:
            return None
        count = usage.video_count or 1
        return self._cost(model, usage.tier, usage.video_seconds * count)

    def _cost(self, model: str, tier: str | None, seconds: float) -> CostEstimate | None:
        found = self.per_second(model, tier)
        if found is None:
            return None
        price, currency, source = found
        return CostEstimate(
            amount=round(price * seconds, 6),
            currency=currency,
            seconds=seconds,
            per_second=price,
            model=model,
            tier=tier,
            source=source,
        )
