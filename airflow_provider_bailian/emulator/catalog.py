"""The emulated service's model tables: which models exist and what each accepts.

The emulator plays the service, so it keeps its own copy of the facts instead of sharing
the client's tables (a shared table would hide a mistake on both sides at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SIZES_480P = ("832*480", "480*832", "624*624")
_SIZES_720P = ("1280*720", "720*1280", "960*960", "1088*832", "832*1088")
_SIZES_1080P = ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632")
# wan2.7 renders 4:3 and 3:4 at slightly different sizes.
_W27_720P = ("1280*720", "720*1280", "960*960", "1104*832", "832*1104")
_W27_1080P = ("1920*1080", "1080*1920", "1440*1440", "1648*1248", "1248*1648")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")

_WAN27 = {
    "tiers": {"720P": _W27_720P, "1080P": _W27_1080P},
    "protocol": "resolution",
    "default_size": "1920*1080",
    "durations": tuple(range(2, 16)),
    "prompt_max": 5000,
    "audio": True,
    "shot_type": False,
    "new_usage": True,
}
_WAN26 = {
    "tiers": {"720P": _SIZES_720P, "1080P": _SIZES_1080P},
    "protocol": "size",
    "default_size": "1920*1080",
    "durations": tuple(range(2, 16)),
    "prompt_max": 1500,
    "audio": True,
    "shot_type": True,
    "new_usage": True,
}
_WAN21_TURBO = {
    "tiers": {"480P": _SIZES_480P, "720P": _SIZES_720P},
    "protocol": "size",
    "default_size": "1280*720",
    "durations": (5,),
    "prompt_max": 800,
    "audio": False,
    "shot_type": False,
    "new_usage": False,
}
_WAN21_PLUS = {
    "tiers": {"720P": _SIZES_720P},
    "protocol": "size",
    "default_size": "1280*720",
    "durations": (5,),
    "prompt_max": 800,
    "audio": False,
    "shot_type": False,
    "new_usage": False,
}

#: Models the emulated service knows, with what each accepts.
MODELS: dict[str, dict[str, Any]] = {
    "wan2.7-t2v": _WAN27,
    "wan2.7-t2v-2026-04-25": _WAN27,
    "wan2.6-t2v": _WAN26,
    "wan2.6-t2v-us": _WAN26,
    "wan2.5-t2v-preview": {
        "tiers": {"480P": _SIZES_480P, "720P": _SIZES_720P, "1080P": _SIZES_1080P},
        "protocol": "size",
        "default_size": "1920*1080",
        "durations": (5, 10),
        "prompt_max": 1500,
        "audio": True,
        "shot_type": False,
        "new_usage": False,
    },
    "wan2.2-t2v-plus": {
        "tiers": {"480P": _SIZES_480P, "1080P": _SIZES_1080P},
        "protocol": "size",
        "default_size": "1920*1080",
        "durations": (5,),
        "prompt_max": 800,
        "audio": False,
        "shot_type": False,
        "new_usage": False,
    },
    "wanx2.1-t2v-turbo": _WAN21_TURBO,
    "wan2.1-t2v-turbo": _WAN21_TURBO,
    "wanx2.1-t2v-plus": _WAN21_PLUS,
    "wan2.1-t2v-plus": _WAN21_PLUS,
}


def tier_of(model: Mapping[str, Any], size: str) -> str | None:
    """The resolution tier (``720P``...) a ``W*H`` size belongs to for a model."""
    for tier, sizes in model["tiers"].items():
        if size in sizes:
            return tier
    return None
