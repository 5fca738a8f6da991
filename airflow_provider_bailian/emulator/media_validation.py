"""Request validation of the media protocol and of speech to video, as the service checks.

Media-protocol models (wan3.0, wan2.7 references and editing, HappyHorse; rows in
:data:`~.catalog.MEDIA_MODELS`) take one body: ``input.prompt`` and ``input.media``, a list
of typed items. :func:`validate_media` checks each item (its type against the model's
row, its URL, and the file behind a data URI or an ``oss://`` upload: format from the
bytes, size, seconds), then counts, exclusions and totals, then the parameters.
:func:`validate_speech2video` checks wan2.2-s2v's ``image_url`` + ``audio_url`` body.

Images may come as data URIs; videos, audio and PDFs only as http(s) or ``oss://`` URLs.
An http(s) file is not downloaded, so its length is unknown: it counts as
:data:`~.catalog.UNSEEN_VIDEO_SECONDS` where seconds are billed, and passes length limits.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from airflow_provider_bailian.emulator.catalog import (
    FILE_LIMITS,
    MEDIA_KINDS,
    UNSEEN_VIDEO_SECONDS,
)
from airflow_provider_bailian.emulator.field_checks import (
    Context,
    bad,
    check_image,
    check_input,
    check_model,
    check_negative_prompt,
    check_optional_prompt,
    check_options,
    check_parameters,
    fetch,
    output_size,
    task_spec,
)
from airflow_provider_bailian.emulator.mediafiles import FILE_FORMATS, file_info

#: Parameters the emulator knows; one a model's row does not list is refused.
KNOWN_PARAMETERS = (
    "size",
    "resolution",
    "ratio",
    "duration",
    "audio",
    "audio_setting",
    "prompt_extend",
    "watermark",
    "seed",
    "shot_type",
    "enable_thinking",
)
AUDIO_SETTINGS = ("auto", "origin")
#: Documented lengths of single items, in seconds (inclusive).
ITEM_SECONDS = {"first_clip": (2, 10), "driving_audio": (2, 30)}
# Input fields of the older request shapes, refused with a pointer to input.media.
_LEGACY_INPUTS = ("img_url", "audio_url", "reference_urls", "first_frame_url", "last_frame_url")
_VOICED = ("reference_image", "reference_video")


@dataclass
class Seen:
    """What the emulator could read of one input: pixel size and seconds."""

    dims: tuple[int, int] | None = None
    seconds: float | None = None


def media_mode(body: Mapping[str, Any]) -> str:
    """The kind of task a media-protocol body asks for, from its item types: an edit (a
    ``video``), frames (image to video), references, or none (text to video)."""
    inp = body.get("input")
    media = inp.get("media") if isinstance(inp, dict) else None
    types = (
        {i.get("type") for i in media if isinstance(i, dict)} if isinstance(media, list) else set()
    )
    if "video" in types:
        return "videoedit"
    if types & {"first_frame", "last_frame", "first_clip"}:
        return "image2video"
    if types:
        return "ref2video"
    return "text2video"


def _check_file(
    field: str, kind: str, value: Any, model_name: str, model: Mapping[str, Any], ctx: Context
) -> Seen:
    """One input of ``kind`` (image, video, audio, file, link) at ``field``."""
    if kind == "image":
        return Seen(dims=check_image(field, value, model_name, model, ctx))
    if not isinstance(value, str) or not value.strip():
        raise bad(field, "is required: an http(s):// or oss:// URL")
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if kind == "link":
        if scheme not in ("http", "https"):
            raise bad(field, f"a link must be an http(s):// URL of a web page, got {value[:40]!r}")
        return Seen()
    if scheme == "data":
        raise bad(
            field,
            f"data URIs are taken for images only; send the {kind} as an http(s):// URL "
            "or upload it (oss://)",
        )
    if scheme not in ("http", "https", "oss"):
        raise bad(field, f"must be an http(s):// or oss:// URL, got {value[:40]!r}")
    fetched = fetch(field, value, model_name, ctx)
    if fetched is None:
        return Seen()
    data = fetched[0]
    info = file_info(data)
    formats = ", ".join(FILE_FORMATS[kind])
    if info is None or info.kind != kind:
        raise bad(field, f"not a {kind} file of an accepted format: {formats}")
    most = FILE_LIMITS[kind]["max_bytes"]
    if len(data) > most:
        raise bad(field, f"the {kind} is {len(data)} bytes; at most {most} ({most >> 20} MB)")
    dims = (info.width, info.height) if info.width and info.height else None
    return Seen(dims=dims, seconds=info.seconds)


def check_file(
    field: str, media_type: str, value: Any, model_name: str, model: Mapping[str, Any], ctx: Context
) -> Seen:
    """One item of ``media_type`` (``first_clip``, ``driving_audio``...): its file checks and
    the type's documented length."""
    seen = _check_file(field, MEDIA_KINDS[media_type], value, model_name, model, ctx)
    _check_seconds(field, media_type, seen)
    return seen


def _check_seconds(field: str, kind: str, seen: Seen) -> None:
    bounds = ITEM_SECONDS.get(kind)
    if bounds and seen.seconds is not None and not bounds[0] <= seen.seconds <= bounds[1]:
        raise bad(
            field,
            f"the {kind} lasts {seen.seconds:.1f} s; it must last {bounds[0]}-{bounds[1]} s",
        )


def check_items(
    inp: Mapping[str, Any], model_name: str, model: Mapping[str, Any], ctx: Context
) -> list[tuple[str, Seen]]:
    """``input.media`` of a media-protocol model: (type, what was seen) per item, in order."""
    media = inp.get("media")
    types: Mapping[str, int] = model["types"]
    if media is None:
        media = []
    if not isinstance(media, list):
        raise bad("input.media", "must be a list of {type, url} items")
    if media and not types:
        raise bad("input.media", f"not supported by model {model_name} (text to video only)")
    items: list[tuple[str, Seen]] = []
    for index, item in enumerate(media):
        field = f"input.media[{index}]"
        if not isinstance(item, dict):
            raise bad(field, "must be an object {type, url}")
        kind = item.get("type")
        if kind not in types:
            raise bad(
                f"{field}.type",
                f"{kind!r} is not taken by model {model_name}; allowed: {', '.join(types)}",
            )
        if item.get("url") is None:
            raise bad(f"{field}.url", "is required")
        kind = cast(str, kind)  # one of the model's types (checked above)
        seen = check_file(f"{field}.url", kind, item["url"], model_name, model, ctx)
        if item.get("reference_voice") is not None:
            if not model["voices"] or kind not in _VOICED:
                where = "" if model["voices"] else f" by model {model_name}"
                raise bad(
                    f"{field}.reference_voice",
                    f"not supported{where} on a {kind} item"
                    + ("" if model["voices"] else "; give audio as reference_audio items"),
                )
            _check_file(
                f"{field}.reference_voice", "audio", item["reference_voice"], model_name, model, ctx
            )
        items.append((kind, seen))
    _check_counts(items, model_name, model)
    return items


def _check_counts(items: list[tuple[str, Seen]], model_name: str, model: Mapping[str, Any]) -> None:
    """How many of each type, in all, which types together, and total reference seconds."""
    counts: dict[str, int] = {}
    for kind, _seen in items:
        counts[kind] = counts.get(kind, 0) + 1
    for kind, count in counts.items():
        most = model["types"][kind]
        if count > most:
            raise bad(
                "input.media", f"{count} {kind} items; model {model_name} takes at most {most}"
            )
    most = model["max_items"]
    if most is not None and len(items) > most:
        raise bad(
            "input.media", f"{len(items)} items; model {model_name} takes at most {most} in all"
        )
    for need, fewest in model["required"].items():
        options = need.split("|")
        if sum(counts.get(kind, 0) for kind in options) < fewest:
            raise bad(
                "input.media",
                f"model {model_name} needs at least {fewest} {' or '.join(options)} item",
            )
    for group_a, group_b in model["exclusive"]:
        one = [k for k in counts if k in group_a]
        other = [k for k in counts if k in group_b]
        if one and other:
            raise bad(
                "input.media",
                f"{', '.join(one)} cannot be combined with {', '.join(other)} "
                f"on model {model_name}",
            )
    for kind, most_seconds in model["totals"].items():
        total = sum(seen.seconds or 0 for k, seen in items if k == kind)
        if total > most_seconds:
            raise bad(
                "input.media",
                f"the {kind} items last {total:.1f} s in all; "
                f"model {model_name} takes at most {most_seconds} s",
            )


def _allowed_durations(durations: tuple[int, ...]) -> str:
    plain = [d for d in durations if d > 0]
    special = [str(d) for d in durations if d <= 0]
    text = f"{plain[0]}-{plain[-1]}" if len(plain) > 2 else " or ".join(map(str, plain))
    return " or ".join([text, *special])


def _check_media_params(
    params: Mapping[str, Any], model_name: str, model: Mapping[str, Any]
) -> None:
    allowed = model["params"]
    for name in KNOWN_PARAMETERS:
        if name in params and name not in allowed:
            raise bad(
                f"parameters.{name}",
                f"not supported by model {model_name}; it takes {', '.join(sorted(allowed))}",
            )
    resolution = params.get("resolution")
    if resolution is not None and resolution not in model["tiers"]:
        raise bad(
            "parameters.resolution",
            f"{resolution!r} is not supported by model {model_name}; "
            f"allowed: {', '.join(model['tiers'])}",
        )
    ratio = params.get("ratio")
    if ratio is not None and ratio not in model["ratios"]:
        raise bad(
            "parameters.ratio",
            f"{ratio!r} is not supported by model {model_name}; "
            f"allowed: {', '.join(model['ratios'])}",
        )
    setting = params.get("audio_setting")
    if setting is not None and setting not in AUDIO_SETTINGS:
        raise bad(
            "parameters.audio_setting", f"{setting!r} is not one of {', '.join(AUDIO_SETTINGS)}"
        )
    if "enable_thinking" in params and not isinstance(params["enable_thinking"], bool):
        raise bad(
            "parameters.enable_thinking", f"must be a boolean, got {params['enable_thinking']!r}"
        )
    if "duration" in params:
        duration = params["duration"]
        if isinstance(duration, float) and duration.is_integer():
            duration = int(duration)
        if isinstance(duration, bool) or duration not in model["durations"]:
            raise bad(
                "parameters.duration",
                f"{params['duration']!r} is not allowed for {model_name}: "
                f"{_allowed_durations(model['durations'])}",
            )
    check_options(params, model_name, {"shot_type": False})


def _input_seconds(items: list[tuple[str, Seen]], kinds: tuple[str, ...]) -> float:
    return sum(
        UNSEEN_VIDEO_SECONDS if seen.seconds is None else seen.seconds
        for kind, seen in items
        if kind in kinds
    )


def _output_duration(
    params: Mapping[str, Any], prompt: str, items: list[tuple[str, Seen]], model: Mapping[str, Any]
) -> int:
    """The video's seconds: as asked; for -1 the model's pick (here: from the prompt, 2-15 s);
    for 0, or none asked when a video is edited: the input video's (within the model's)."""
    durations = model["durations"]
    duration = params.get("duration")
    if duration is None:
        duration = 0 if any(kind == "video" for kind, _seen in items) else 5
    duration = int(duration)
    if duration == -1:
        return 2 + int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 14
    if duration == 0:
        seconds = _input_seconds(items, ("video",)) or UNSEEN_VIDEO_SECONDS
        allowed = [d for d in durations if d > 0] or [2, 15]
        return max(allowed[0], min(allowed[-1], math.ceil(seconds)))
    return duration


def _output_dims(
    params: Mapping[str, Any], items: list[tuple[str, Seen]], model: Mapping[str, Any]
) -> tuple[int, int] | None:
    """The aspect ratio to render: the ratio asked, else (``adaptive`` or a model without
    ratios) that of the first image or video the emulator could read; None means 16:9."""
    ratio = params.get("ratio")
    if ratio is None and model["ratios"] and "adaptive" not in model["ratios"]:
        ratio = "16:9"
    if ratio is not None and ratio != "adaptive":
        w, h = ratio.split(":")
        return int(w), int(h)
    for _kind, seen in items:
        if seen.dims:
            return seen.dims
    return None


def validate_media(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """A media-protocol model's body: prompt, ``input.media`` and the model's parameters."""
    model_name, model = check_model(body, "media")
    if ctx.style == "gateway":  # reached only if a gateway route ever served these models
        raise bad("model", f"{model_name} is not served by the gateway")
    inp = check_input(body)
    for legacy in _LEGACY_INPUTS:
        if inp.get(legacy) is not None:
            raise bad(f"input.{legacy}", f"not supported by model {model_name}; use input.media")
    items = check_items(inp, model_name, model, ctx)
    kinds = {kind for kind, _seen in items}
    prompt = check_optional_prompt(inp, required=not kinds & {"first_frame", "first_clip"})
    if inp.get("negative_prompt") is not None and not model["negative_prompt"]:
        raise bad("input.negative_prompt", f"not supported by model {model_name}")
    check_negative_prompt(inp)
    params = check_parameters(body)
    _check_media_params(params, model_name, model)
    tier = params.get("resolution") or model["default_resolution"]
    size = output_size(model, tier, _output_dims(params, items, model))
    duration = _output_duration(params, prompt, items, model)
    extra: dict[str, Any] = {}
    billed = {"video": ("video",), "reference": ("reference_video",)}.get(model["billed_input"])
    if billed and kinds & set(billed):
        extra["input_video_duration"] = math.ceil(_input_seconds(items, billed))
    if "audio" in model["params"]:
        extra["audio"] = params.get("audio", True)
    return task_spec(
        model_name, model, prompt, params, size, duration, media_mode(body), tier, extra
    )


def validate_speech2video(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """wan2.2-s2v: a portrait (``input.image_url``) speaks ``input.audio_url``; the audio's
    length is the video's."""
    model_name, model = check_model(body, "speech2video")
    inp = check_input(body)
    for legacy in ("img_url", "media", "first_frame_url"):
        if inp.get(legacy) is not None:
            raise bad(
                f"input.{legacy}",
                f"not supported by model {model_name}; use input.image_url and input.audio_url",
            )
    if inp.get("image_url") is None:
        raise bad("input.image_url", "is required: the portrait to animate")
    dims = _check_file("input.image_url", "image", inp["image_url"], model_name, model, ctx).dims
    if inp.get("audio_url") is None:
        raise bad("input.audio_url", "is required: the speech (wav or mp3)")
    audio = _check_file("input.audio_url", "audio", inp["audio_url"], model_name, model, ctx)
    most = model["max_audio_seconds"]
    if audio.seconds is not None and audio.seconds >= most:
        raise bad("input.audio_url", f"the audio lasts {audio.seconds:.1f} s; under {most} s")
    params = check_parameters(body)
    for name in ("size", "ratio", "duration"):
        if name in params:
            raise bad(
                f"parameters.{name}",
                f"not supported by model {model_name}; parameters.resolution sets the size "
                "and the audio the length",
            )
    resolution = params.get("resolution", model["default_resolution"])
    if resolution not in model["tiers"]:
        raise bad(
            "parameters.resolution",
            f"{resolution!r} is not supported by model {model_name}; "
            f"allowed: {', '.join(model['tiers'])}",
        )
    check_options(params, model_name, {"shot_type": False})
    seconds = UNSEEN_VIDEO_SECONDS if audio.seconds is None else max(1, math.ceil(audio.seconds))
    size = output_size(model, resolution, dims)
    return task_spec(model_name, model, "", params, size, seconds, "speech2video", resolution)
