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


# --------------------------------------------------------------------------------------
# Image-driven modes. "tiers" here are resolutions (480P...): the output keeps the first
# image's aspect ratio, so there is no size to pick. "image" holds the input image rules:
# each side within [min_side, max_side] px, at most max_bytes, and for wan2.7 an aspect
# ratio within 1:8-8:1.
# --------------------------------------------------------------------------------------

_MB = 1024 * 1024
_IMAGE_CLASSIC = {"min_side": 360, "max_side": 2000, "max_bytes": 10 * _MB, "max_ratio": None}
_IMAGE_WAN27 = {"min_side": 240, "max_side": 8000, "max_bytes": 20 * _MB, "max_ratio": 8.0}
_IMAGE_R2V = {"min_side": 240, "max_side": 5000, "max_bytes": 10 * _MB, "max_ratio": None}
_T480 = {"480P": _SIZES_480P}
_T720 = {"720P": _SIZES_720P}
_T1080 = {"1080P": _SIZES_1080P}


def _i2v(
    tiers: Mapping[str, tuple[str, ...]],
    default: str,
    durations: tuple[int, ...],
    prompt_max: int,
    audio: bool = False,
    audio_switch: bool = False,
    shot_type: bool = False,
    new_usage: bool = False,
    shape: str = "img_url",
    image: dict[str, Any] = _IMAGE_CLASSIC,
) -> dict[str, Any]:
    return {
        "tiers": tiers,
        "default_resolution": default,
        "durations": durations,
        "prompt_max": prompt_max,
        "audio": audio,  # input.audio_url accepted
        "audio_switch": audio_switch,  # parameters.audio accepted
        "shot_type": shot_type,
        "new_usage": new_usage,
        "shape": shape,  # "img_url", "media" (wan2.7) or "frames" (kf2v)
        "image": image,
    }


_WAN27_I2V = _i2v(
    {"720P": _W27_720P, "1080P": _W27_1080P},
    "1080P",
    tuple(range(2, 16)),
    5000,
    new_usage=True,
    shape="media",
    image=_IMAGE_WAN27,
)
_WAN21_I2V_TURBO = _i2v({**_T480, **_T720}, "720P", (3, 4, 5), 800)
_WAN21_I2V_PLUS = _i2v(_T720, "720P", (5,), 800)

#: Image-to-video from a first frame, on the usual endpoint (``img_url``, or ``media``).
I2V_MODELS: dict[str, dict[str, Any]] = {
    "wan2.7-i2v": _WAN27_I2V,
    "wan2.7-i2v-2026-04-25": _WAN27_I2V,
    "wan2.6-i2v-flash": _i2v(
        {**_T720, **_T1080},
        "1080P",
        tuple(range(2, 16)),
        1500,
        audio=True,
        audio_switch=True,
        shot_type=True,
        new_usage=True,
    ),
    # 5, 10 or 15 in one source, 2-15 in others: the emulator accepts the wider set.
    "wan2.6-i2v": _i2v(
        {**_T720, **_T1080},
        "1080P",
        tuple(range(2, 16)),
        1500,
        audio=True,
        shot_type=True,
        new_usage=True,
    ),
    "wan2.5-i2v-preview": _i2v({**_T480, **_T720, **_T1080}, "1080P", (5, 10), 1500, audio=True),
    "wan2.2-i2v-flash": _i2v({**_T480, **_T720, **_T1080}, "720P", (5,), 800),
    "wan2.2-i2v-plus": _i2v({**_T480, **_T1080}, "1080P", (5,), 800),
    "wanx2.1-i2v-turbo": _WAN21_I2V_TURBO,
    "wan2.1-i2v-turbo": _WAN21_I2V_TURBO,
    "wanx2.1-i2v-plus": _WAN21_I2V_PLUS,
    "wan2.1-i2v-plus": _WAN21_I2V_PLUS,
}

#: First and last frame, on ``/api/v1/services/aigc/image2video/video-synthesis``.
KF2V_MODELS: dict[str, dict[str, Any]] = {
    "wan2.2-kf2v-flash": _i2v({**_T480, **_T720, **_T1080}, "720P", (5,), 800, shape="frames"),
    "wanx2.1-kf2v-plus": _i2v(_T720, "720P", (5,), 800, shape="frames"),
}

_R2V = {
    "tiers": {**_T720, **_T1080},
    "protocol": "size",
    "default_size": "1920*1080",
    "durations": tuple(range(2, 11)),
    "prompt_max": 1500,
    "shot_type": True,
    "new_usage": True,
    "image": _IMAGE_R2V,
    "max_references": 5,
    "max_videos": 3,
    "max_video_bytes": 100 * _MB,
    "billed_input_video_max": 5,
}
#: Reference-to-video (``input.reference_urls``), on the usual endpoint. Whether the flash
#: model takes the ``audio`` switch like wan2.6-i2v-flash is not documented: accepted.
R2V_MODELS: dict[str, dict[str, Any]] = {
    "wan2.6-r2v": {**_R2V, "audio_switch": False},
    "wan2.6-r2v-flash": {**_R2V, "audio_switch": True},
}

#: Models the gateway's ``/task/bailian/image2video`` serves (wan2.7's media shape is
#: not documented there; the emulator takes every ``img_url`` model).
GATEWAY_I2V_MODELS = tuple(name for name, m in I2V_MODELS.items() if m["shape"] == "img_url")


# --------------------------------------------------------------------------------------
# The media protocol (wan3.0, wan2.7 references and editing, HappyHorse): one body shape,
# ``input.media`` typed items. A row says which types the model takes and how many
# ("types": type -> most, "required": type -> fewest), which may not come together
# ("exclusive": pairs of type groups; none of one group beside any of the other), the
# totals of reference seconds, and the parameters it accepts. Where sources disagree the
# emulator takes the wider value (wan2.7-videoedit's reference images: 3 or 5).
# --------------------------------------------------------------------------------------

#: The media types and what each carries: an image, a video, an audio file, a PDF, a page.
MEDIA_KINDS = {
    "first_frame": "image",
    "last_frame": "image",
    "reference_image": "image",
    "first_clip": "video",
    "reference_video": "video",
    "video": "video",
    "driving_audio": "audio",
    "reference_audio": "audio",
    "file": "file",
    "link": "link",
}
#: Limits of the non-image inputs (not all published: these are the emulator's own).
FILE_LIMITS = {
    "video": {"max_bytes": 100 * _MB},
    "audio": {"max_bytes": 15 * _MB},
    "file": {"max_bytes": 50 * _MB},
}
#: A video input whose length the emulator cannot read (an http(s) URL) counts as this.
UNSEEN_VIDEO_SECONDS = 5
# The sizes of the media models' tiers (wan2.7's, with 480P's); other ratios are computed.
_MEDIA_SIZES = {"480P": _SIZES_480P, "720P": _W27_720P, "1080P": _W27_1080P}
_RATIOS_HH = (*RATIOS, "4:5", "5:4", "21:9", "9:21")
_FRAMES = ("first_frame", "last_frame", "first_clip")
_REFERENCES = ("reference_image", "reference_video", "reference_audio", "file", "link", "video")


def _media(
    types: dict[str, int],
    params: tuple[str, ...],
    *,
    tiers: tuple[str, ...] = ("720P", "1080P"),
    ratios: tuple[str, ...] = (),
    durations: tuple[int, ...] = tuple(range(2, 16)),
    required: dict[str, int] | None = None,
    exclusive: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (),
    max_items: int | None = None,
    voices: bool = False,
    totals: dict[str, int] | None = None,
    prompt_max: int = 5000,
    negative_prompt: bool = True,
    billed_input: str | None = None,
) -> dict[str, Any]:
    return {
        "types": types,
        "required": required or {},
        "exclusive": exclusive,
        "max_items": max_items,
        "voices": voices,  # items may carry reference_voice (an audio URL)
        "totals": totals or {},  # type -> most seconds in all
        "params": ("seed", "watermark", *params),
        "tiers": {tier: _MEDIA_SIZES[tier] for tier in tiers},
        "default_resolution": "1080P",
        "ratios": ratios,
        "durations": durations,
        "prompt_max": prompt_max,
        "negative_prompt": negative_prompt,
        "image": _IMAGE_WAN27,
        # Input seconds billed besides the output: "video" (an edit's input) or "reference".
        "billed_input": billed_input,
        "new_usage": True,
    }


_WAN30 = _media(
    {
        "first_frame": 1,
        "last_frame": 1,
        "reference_image": 10,
        "reference_video": 5,
        "reference_audio": 5,
        "file": 1,
        "link": 1,
        # Editing and continuation through the same model are reported, not documented.
        "video": 1,
        "first_clip": 1,
    },
    ("resolution", "ratio", "duration", "audio", "enable_thinking"),
    tiers=("480P", "720P", "1080P"),
    ratios=("adaptive", *RATIOS),
    durations=(-1, *range(2, 31)),
    exclusive=((_FRAMES, _REFERENCES), (("file",), ("link",)), (("video",), ("first_clip",))),
    totals={"reference_video": 15, "reference_audio": 15},
    prompt_max=20000,
    negative_prompt=False,
    billed_input="video",
)
_WAN27_R2V = _media(
    {"reference_image": 5, "reference_video": 5},
    ("resolution", "ratio", "duration", "prompt_extend"),
    ratios=RATIOS,
    durations=tuple(range(2, 11)),
    required={"reference_image|reference_video": 1},
    max_items=5,
    voices=True,
    billed_input="reference",
)
_HH_T2V = _media(
    {},
    ("resolution", "ratio", "duration", "audio", "prompt_extend"),
    ratios=_RATIOS_HH,
    durations=tuple(range(3, 16)),
)
_HH_I2V = _media(
    {"first_frame": 1},
    ("resolution", "duration", "audio", "prompt_extend"),
    durations=tuple(range(3, 16)),
    required={"first_frame": 1},
)
_HH_R2V = _media(
    {"reference_image": 9},
    ("resolution", "ratio", "duration", "audio", "prompt_extend"),
    ratios=_RATIOS_HH,
    durations=tuple(range(3, 16)),
    required={"reference_image": 1},
)

#: Models of the media protocol, on the usual video-synthesis endpoint.
MEDIA_MODELS: dict[str, dict[str, Any]] = {
    "wan3.0-video": _WAN30,
    "wan3.0-video-prime": _WAN30,
    "wan2.7-r2v": _WAN27_R2V,
    "wan2.7-r2v-2026-06-12": _WAN27_R2V,
    # duration 0 follows the input video (reported, not confirmed); so does no duration on
    # any request that edits a video.
    "wan2.7-videoedit": _media(
        {"video": 1, "reference_image": 5},
        ("resolution", "duration", "audio_setting", "prompt_extend"),
        durations=(0, *range(2, 11)),
        required={"video": 1},
        billed_input="video",
    ),
    "happyhorse-1.0-t2v": _HH_T2V,
    "happyhorse-1.1-t2v": _HH_T2V,
    "happyhorse-1.0-i2v": _HH_I2V,
    "happyhorse-1.1-i2v": _HH_I2V,
    "happyhorse-1.0-r2v": _HH_R2V,
    "happyhorse-1.1-r2v": _HH_R2V,
    # No duration is documented: the family's 3-15 is taken; none asked follows the input.
    "happyhorse-1.0-video-edit": _media(
        {"video": 1, "reference_image": 5},
        ("resolution", "duration", "audio_setting", "prompt_extend"),
        durations=tuple(range(3, 16)),
        required={"video": 1},
        billed_input="video",
    ),
}

#: Speech to video (a talking portrait), on ``/api/v1/services/aigc/image2video/video-synthesis``:
#: ``input.image_url`` + ``input.audio_url`` (wav/mp3, under 15 MB and 20 s).
S2V_MODELS: dict[str, dict[str, Any]] = {
    "wan2.2-s2v": {
        "tiers": {**_T480, **_T720},
        "default_resolution": "480P",
        "image": _IMAGE_WAN27,
        "max_audio_bytes": 15 * _MB,
        "max_audio_seconds": 20,
        "new_usage": True,
        "prompt_max": 0,
    },
}

#: Tasks running at once per model, where the service documents a limit lower than the
#: account's (the emulator's default ``model_concurrency``).
MODEL_CONCURRENCY: dict[str, int] = {"wan2.2-s2v": 1}


def upload_limit_mb(model_name: str) -> int:
    """``max_file_size_mb`` of a temporary-file policy: the model's largest input."""
    if model_name in R2V_MODELS:
        return R2V_MODELS[model_name]["max_video_bytes"] // _MB
    if model_name in S2V_MODELS:
        return S2V_MODELS[model_name]["max_audio_bytes"] // _MB
    model = I2V_MODELS.get(model_name) or KF2V_MODELS.get(model_name)
    if model is not None and model["shape"] != "media":
        return model["image"]["max_bytes"] // _MB
    return 100
