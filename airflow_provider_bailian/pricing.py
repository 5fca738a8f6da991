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

from airflow_provider_bailian.models import (
    Usage,
    VideoRequest,
    get_model_spec,
    silent_price_name,
)

ANY_TIER = "*"
_RECENT_CN = {"720P": 0.6, "1080P": 1.0}
_RECENT_INTL = {"720P": 0.733924, "1080P": 1.100886}
_FLASH_22_CN = {"480P": 0.10, "720P": 0.20, "1080P": 0.48}

# Image and reference modes (sections 11-13): list prices from the price page as quoted by
# resellers [?], except the wan2.1 USD prices, which Alibaba publishes. Override them
# with `prices` when your bill says otherwise. The international table has no image-mode
# prices in CNY (Alibaba publishes wanx2.1-i2v-turbo $0.036/s and wanx2.1-i2v-plus $0.10/s):
# there, give `prices` (e.g. {"currency": "USD", "wanx2.1-i2v-plus": {"*": 0.10}}).
_IMAGE_MODES_CN: dict[str, Any] = {
    "wan2.7-i2v": _RECENT_CN,
    "wan2.6-i2v": _RECENT_CN,
    "wan2.6-i2v-flash": {"720P": 0.3, "1080P": 0.5},
    silent_price_name("wan2.6-i2v-flash"): {"720P": 0.15, "1080P": 0.25},
    "wan2.5-i2v-preview": {"480P": 0.3, "720P": 0.6, "1080P": 1.0},
    "wan2.2-i2v-flash": _FLASH_22_CN,
    "wan2.2-i2v-plus": {"480P": 0.14, "1080P": 0.70},
    "wanx2.1-i2v-turbo": {ANY_TIER: 0.24},
    "wanx2.1-i2v-plus": {ANY_TIER: 0.70},
    "wan2.2-kf2v-flash": _FLASH_22_CN,
    "wanx2.1-kf2v-plus": {ANY_TIER: 0.70},
    "wan2.6-r2v": _RECENT_CN,
    "wan2.6-r2v-flash": _RECENT_CN,
}

# The media protocol (section 17): no official list price was found for Wan 3.0 or
# HappyHorse, nor for wan2.7's references and editing. These rows are estimates (reseller
# quotes: Wan 3.0 in USD; HappyHorse about 1.5x Wan 2.7; wan2.7-r2v and editing at the
# wan2.7 rate) and say so in every estimate's `source`; override them with `prices`.
# Speech to video is Alibaba's published USD price (section 18). A row may carry its own
# `currency` and an `estimate` note.
_WAN30_USD = {
    "480P": 0.03,
    "720P": 0.06,
    "1080P": 0.12,
    "currency": "USD",
    "estimate": "reseller quotes, no list price published",
}
_S2V_USD = {"480P": 0.071677, "720P": 0.129018, "currency": "USD"}
_ESTIMATE_27 = "no list price published; the wan2.7 rate"
_ESTIMATE_HH = "no list price published; about 1.5x wan2.7 (reseller quotes)"


def _media_rows(rate_720: float, rate_1080: float) -> dict[str, Any]:
    wan27 = {"720P": rate_720, "1080P": rate_1080, "estimate": _ESTIMATE_27}
    horse = {
        "720P": round(rate_720 * 1.5, 6),
        "1080P": round(rate_1080 * 1.5, 6),
        "estimate": _ESTIMATE_HH,
    }
    return {
        "wan3.0-video": _WAN30_USD,
        "wan3.0-video-prime": _WAN30_USD,
        "wan2.7-r2v": wan27,
        "wan2.7-videoedit": wan27,
        **{
            f"happyhorse-{v}-{m}": horse
            for v in ("1.0", "1.1")
            for m in ("t2v", "i2v", "r2v", "video-edit")
            if (v, m) != ("1.1", "video-edit")
        },
        "wan2.2-s2v": _S2V_USD,
    }


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
        **_IMAGE_MODES_CN,
        **_media_rows(0.6, 1.0),
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
        **_media_rows(0.733924, 1.100886),
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
                if not isinstance(price, (int, float, type(None))):
                    price = None
                if price is not None:
                    currency = prices.get("currency") or table.get("currency")
                    note = prices.get("estimate")
                    if note:
                        source = f"{source}; estimate: {note}"
                    return float(price), str(currency or self.base["currency"]), source
        return None

    def estimate(self, request: VideoRequest) -> CostEstimate | None:
        """Before submitting: the model's duration and resolution tier (set or default).

        Reference videos add their billed input seconds (an upper bound: 5 s in total).
        """
        seconds = float(request.effective_duration) + request.billed_input_seconds
        return self._cost(request.model, request.billed_tier, seconds, request.price_name)

    def actual(self, model: str, usage: Usage | None) -> CostEstimate | None:
        """After the video: the seconds (output and billed input) and tier in ``usage``."""
        if usage is None or usage.video_seconds is None:
            return None
        count = usage.video_count or 1
        seconds = usage.video_seconds * count + (usage.input_video_seconds or 0.0)
        silent = usage.raw.get("audio") is False
        return self._cost(model, usage.tier, seconds, silent_price_name(model) if silent else model)

    def _cost(
        self, model: str, tier: str | None, seconds: float, price_name: str | None = None
    ) -> CostEstimate | None:
        found = self.per_second(price_name or model, tier)
        if found is None and price_name and price_name != model:
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
