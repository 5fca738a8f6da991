"""Request validation, one function per generation mode, as the service checks bodies.

A submit body is first checked to be a JSON object (:func:`parse_body`), then by the
validator of its mode, which returns the spec a task is made from (model, prompt, size,
tier, duration, usage shape, failure asked for by the prompt). Errors are raised as
:class:`~.replies.ApiError` shaped like the service's (``400 InvalidParameter`` naming the
field, ``404 ModelNotFound``).

Modes, one validator each, registered in :data:`.modes.VALIDATORS`: ``text2video``,
``image2video`` (``input.img_url``, or ``input.media`` for wan2.7-i2v), ``kf2v`` (first and
last frame) and ``ref2video`` (``input.reference_urls``). An endpoint names its mode, except
DashScope's shared video-synthesis endpoint, where the model does (:func:`.modes.mode_of`;
the media protocol and speech to video are in :mod:`.media_validation`). The
checks the modes share (prompt, seed, duration, flags, image inputs) are ``_check_*``
helpers. Image inputs: a data URI is decoded and checked (format from the bytes, sides,
size); an http(s) URL is taken as is; ``oss://`` needs the resolve header and a stored
upload for the same model.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_bailian.emulator.catalog import (
    I2V_MODELS,
    KF2V_MODELS,
    MEDIA_MODELS,
    MODELS,
    R2V_MODELS,
    RATIOS,
    S2V_MODELS,
    tier_of,
)
from airflow_provider_bailian.emulator.faults import prompt_failure, prompt_refusal
from airflow_provider_bailian.emulator.images import IMAGE_FORMATS, image_info
from airflow_provider_bailian.emulator.media import Upload
from airflow_provider_bailian.emulator.replies import ApiError, is_int

#: Model table per mode.
TABLES: dict[str, Mapping[str, Any]] = {
    "text2video": MODELS,
    "image2video": I2V_MODELS,
    "kf2v": KF2V_MODELS,
    "ref2video": R2V_MODELS,
    "media": MEDIA_MODELS,
    "speech2video": S2V_MODELS,
}
#: The endpoint each mode is served at in the DashScope style.
DASHSCOPE_PATHS = {
    "text2video": "/api/v1/services/aigc/video-generation/video-synthesis",
    "image2video": "/api/v1/services/aigc/video-generation/video-synthesis",
    "ref2video": "/api/v1/services/aigc/video-generation/video-synthesis",
    "kf2v": "/api/v1/services/aigc/image2video/video-synthesis",
    "media": "/api/v1/services/aigc/video-generation/video-synthesis",
    "speech2video": "/api/v1/services/aigc/image2video/video-synthesis",
}
OSS_RESOLVE_HEADER = "X-DashScope-OssResourceResolve"
_VIDEO_TYPES = ("video/mp4", "video/quicktime")


@dataclass
class Context:
    """What a validator needs besides the body: where it came from, what it may read."""

    style: str = "dashscope"  # "gateway" or "dashscope"
    oss_resolve: bool = False  # the request sent X-DashScope-OssResourceResolve: enable
    uploads: Callable[[str], Upload | None] = lambda key: None  # key -> stored upload


_NEGATIVE_PROMPT_MAX = 500
_SEED_MAX = 2147483647


def bad(field_name: str, reason: str, status: int = 400) -> ApiError:
    """The service's 400 InvalidParameter, naming the field."""
    return ApiError(status, "InvalidParameter", f"{field_name}: {reason}")


def parse_body(body: bytes, parsed: Any) -> dict[str, Any]:
    """The submit body as a JSON object, or the service's 400."""
    if not body.strip():
        raise ApiError(400, "InvalidParameter", "body: required (a JSON object)")
    if parsed is None:
        try:
            json.loads(body)
        except ValueError as exc:
            raise ApiError(400, "InvalidParameter", f"body: not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "InvalidParameter", "body: must be a JSON object")
    return parsed


def _check_model(body: Mapping[str, Any], mode: str) -> tuple[str, Any]:
    """The model's name and table row; a model of another mode names where it is served."""
    model_name = body.get("model")
    if model_name is None or model_name == "":
        raise bad("model", "is required")
    if not isinstance(model_name, str):
        raise bad("model", "must be a string")
    model = TABLES[mode].get(model_name)
    if model is None:
        for other, table in TABLES.items():
            if model_name in table:
                raise bad(
                    "model",
                    f"{model_name} is a model for {other}, not served by this {mode} endpoint "
                    f"(DashScope serves it at {DASHSCOPE_PATHS[other]})",
                )
        raise ApiError(404, "ModelNotFound", "Model not exist.")
    return model_name, model


def _check_input(body: Mapping[str, Any]) -> dict[str, Any]:
    inp = body.get("input")
    if inp is None:
        raise bad("input", "is required")
    if not isinstance(inp, dict):
        raise bad("input", "must be an object")
    return inp


def _check_prompt(inp: Mapping[str, Any]) -> str:
    """The prompt as sent (the model's length limit cuts it later, it is no error)."""
    prompt = inp.get("prompt")
    if prompt is None:
        raise bad("input.prompt", "is required")
    if not isinstance(prompt, str):
        raise bad("input.prompt", "must be a string")
    if not prompt.strip():
        raise bad("input.prompt", "must not be empty")
    return prompt


def _check_negative_prompt(inp: Mapping[str, Any]) -> None:
    negative = inp.get("negative_prompt")
    if negative is not None:
        if not isinstance(negative, str):
            raise bad("input.negative_prompt", "must be a string")
        if len(negative) > _NEGATIVE_PROMPT_MAX:
            raise bad(
                "input.negative_prompt",
                f"at most {_NEGATIVE_PROMPT_MAX} characters, got {len(negative)}",
            )


def _check_audio_url(inp: Mapping[str, Any], model_name: str, model: Mapping[str, Any]) -> None:
    audio_url = inp.get("audio_url")
    if audio_url is not None:
        if not isinstance(audio_url, str) or not re.match(
            r"^(https?|oss)://\S+$", audio_url, re.IGNORECASE
        ):
            raise bad("input.audio_url", "must be an http(s):// or oss:// URL")
        if not model["audio"]:
            raise bad("input.audio_url", f"model {model_name} does not support audio")


def _check_parameters(body: Mapping[str, Any]) -> dict[str, Any]:
    params = body.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise bad("parameters", "must be an object")
    return params


def _check_size(params: Mapping[str, Any], model_name: str, model: Mapping[str, Any]) -> str:
    """The output ``W*H``: given, or derived from resolution/ratio, or the default."""
    size = params.get("size")
    resolution = params.get("resolution")
    ratio = params.get("ratio")
    all_sizes = [s for sizes in model["tiers"].values() for s in sizes]
    if size is not None and (not isinstance(size, str) or size not in all_sizes):
        raise bad(
            "parameters.size",
            f"{size!r} is not supported by model {model_name}; allowed: {', '.join(all_sizes)}",
        )
    if model["protocol"] == "resolution":
        if resolution is not None and resolution not in model["tiers"]:
            raise bad(
                "parameters.resolution",
                f"{resolution!r} is not one of {', '.join(model['tiers'])}",
            )
        if ratio is not None and ratio not in RATIOS:
            raise bad("parameters.ratio", f"{ratio!r} is not one of {', '.join(RATIOS)}")
        if size is None:
            tier = resolution or tier_of(model, model["default_size"])
            size = model["tiers"][tier][RATIOS.index(ratio or "16:9")]
    else:
        for name, value in (("resolution", resolution), ("ratio", ratio)):
            if value is not None:
                raise bad(
                    f"parameters.{name}",
                    f"not supported by model {model_name}; use parameters.size",
                )
        if size is None:
            size = model["default_size"]
    return size


def _check_duration(
    params: Mapping[str, Any], model_name: str, model: Mapping[str, Any], required: bool = False
) -> int:
    if required and params.get("duration") is None:
        raise bad("parameters.duration", "is required")
    duration = params.get("duration", 5)
    if isinstance(duration, float) and duration.is_integer():
        duration = int(duration)
    if not is_int(duration) or duration not in model["durations"]:
        allowed = model["durations"]
        text = (
            f"{allowed[0]}-{allowed[-1]}"
            if len(allowed) > 2
            else " or ".join(str(d) for d in allowed)
        )
        raise bad("parameters.duration", f"{duration!r} is not allowed for {model_name}: {text}")
    return duration


def _check_options(params: Mapping[str, Any], model_name: str, model: Mapping[str, Any]) -> None:
    """seed, the boolean flags and shot_type (only where the model has it)."""
    seed = params.get("seed")
    if seed is not None and (not is_int(seed) or not 0 <= seed <= _SEED_MAX):
        raise bad("parameters.seed", f"must be an integer in [0, {_SEED_MAX}], got {seed!r}")
    for flag in ("prompt_extend", "watermark", "audio"):
        if flag in params and not isinstance(params[flag], bool):
            raise bad(f"parameters.{flag}", f"must be a boolean, got {params[flag]!r}")
    shot_type = params.get("shot_type")
    if shot_type is not None:
        if not model["shot_type"]:
            raise bad("parameters.shot_type", f"not supported by model {model_name}")
        if shot_type not in ("single", "multi"):
            raise bad("parameters.shot_type", f"{shot_type!r} is not one of single, multi")


def _spec(
    model_name: str,
    model: Mapping[str, Any],
    prompt: str,
    params: Mapping[str, Any],
    size: str,
    duration: int,
    mode: str = "text2video",
    tier: str | None = None,
    usage_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a task is made from, once its request passed validation (and the content
    check, which a ``[reject]`` marker in the prompt fails)."""
    refusal = prompt_refusal(prompt)
    if refusal is not None:
        raise ApiError(*refusal)
    kept = prompt[: model["prompt_max"]]
    actual = None
    if not model["new_usage"]:
        extend = params.get("prompt_extend", True)
        actual = f"{kept} Cinematic lighting, smooth camera motion." if extend else kept
        actual = actual.strip()
    tier = tier or tier_of(model, size) or "720P"
    return {
        "mode": mode,
        "usage_extra": dict(usage_extra or {}),
        "model": model_name,
        "prompt": kept,
        "prompt_truncated": len(prompt) > model["prompt_max"],
        "actual_prompt": actual,
        "size": size,
        "sr": int(tier.rstrip("P")),
        "duration": duration,
        "new_usage": model["new_usage"],
        "failure": prompt_failure(prompt),
    }


def validate_text2video(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Text-to-video: the checks of the service's text-to-video endpoint, in its order."""
    model_name, model = _check_model(body, "text2video")
    inp = _check_input(body)
    prompt = _check_prompt(inp)
    _check_negative_prompt(inp)
    _check_audio_url(inp, model_name, model)
    params = _check_parameters(body)
    size = _check_size(params, model_name, model)
    duration = _check_duration(params, model_name, model)
    _check_options(params, model_name, model)
    return _spec(model_name, model, prompt, params, size, duration)


# ------------------------------------------------------------------ image inputs

_MEDIA_TYPES = ("first_frame", "last_frame", "driving_audio", "first_clip")
_MEDIA_SETS = (
    ("first_frame",),
    ("first_frame", "driving_audio"),
    ("first_frame", "last_frame"),
    ("first_frame", "last_frame", "driving_audio"),
    ("first_clip",),
    ("first_clip", "last_frame"),
)
_URL_KINDS = "an http(s):// URL, an oss:// URL or a data URI (data:{mime};base64,{data})"


def _fetch(field: str, value: Any, model_name: str, ctx: Context) -> tuple[bytes, str] | None:
    """The bytes and MIME type behind a data URI or an ``oss://`` upload; None for an
    http(s) URL (the service downloads it; the emulator takes it as is)."""
    if not isinstance(value, str) or not value.strip():
        raise bad(field, f"must be {_URL_KINDS}")
    if value[:8].lower().startswith(("http://", "https://")):
        return None
    if value[:5].lower() == "data:":
        head, sep, payload = value.partition(",")
        if not sep or not head.lower().endswith(";base64"):
            raise bad(field, "a data URI must look like data:{mime};base64,{data}")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise bad(field, "the data URI's base64 payload does not decode") from None
        return data, head[5 : -len(";base64")].split(";")[0].lower()
    if value[:6].lower() == "oss://":
        if ctx.style == "gateway":
            raise bad(field, "oss:// URLs are not supported by this API; send an http(s) URL")
        if not ctx.oss_resolve:
            raise bad(
                field,
                f"{value} is a temporary oss:// URL; send the header "
                f"{OSS_RESOLVE_HEADER}: enable to use it",
            )
        upload = ctx.uploads(value[len("oss://") :])
        if upload is None:
            raise bad(field, f"{value} does not exist or has expired (temporary files last 48 h)")
        if upload.model != model_name:
            raise bad(field, f"{value} was uploaded for model {upload.model}, not {model_name}")
        return upload.data, upload.content_type.lower()
    raise bad(field, f"must be {_URL_KINDS}")


def _check_image_bytes(field: str, data: bytes, limits: Mapping[str, Any]) -> tuple[int, int]:
    """Format from the bytes, file size and each side against the model's image rules."""
    if len(data) > limits["max_bytes"]:
        raise bad(
            field,
            f"the image is {len(data)} bytes; at most {limits['max_bytes']} "
            f"({limits['max_bytes'] // (1024 * 1024)} MB)",
        )
    info = image_info(data)
    if info is None:
        raise bad(field, f"not an image of an accepted format: {', '.join(IMAGE_FORMATS)}")
    _fmt, width, height = info
    low, high = limits["min_side"], limits["max_side"]
    if not (low <= width <= high and low <= height <= high):
        raise bad(
            field, f"the image is {width}x{height} px; each side must be within {low}-{high} px"
        )
    ratio = limits["max_ratio"]
    if ratio and max(width / height, height / width) > ratio:
        raise bad(
            field, f"the image's aspect ratio {width}:{height} is outside 1:{ratio:g}-{ratio:g}:1"
        )
    return width, height


def _check_image(
    field: str, value: Any, model_name: str, model: Mapping[str, Any], ctx: Context
) -> tuple[int, int] | None:
    """An image input; its pixel size when the emulator can see the bytes."""
    fetched = _fetch(field, value, model_name, ctx)
    if fetched is None:
        return None
    return _check_image_bytes(field, fetched[0], model["image"])


def _output_size(model: Mapping[str, Any], tier: str, image: tuple[int, int] | None) -> str:
    """The video's ``W*H``: the first image's aspect ratio at the tier's pixel count (the
    tier's own size when one has that ratio within 3%); 16:9 when the image was not seen."""
    sizes = model["tiers"][tier]
    if image is None:
        return sizes[0]

    def ratio(size: str) -> float:
        w, h = size.split("*")
        return int(w) / int(h)

    wanted = image[0] / image[1]
    best = min(sizes, key=lambda s: abs(math.log(ratio(s) / wanted)))
    if abs(math.log(ratio(best) / wanted)) < 0.03:  # 832*480 stands for 16:9
        return best
    w, h = (int(v) for v in sizes[0].split("*"))
    width = max(16, round(math.sqrt(w * h * wanted) / 16) * 16)
    height = max(16, round(math.sqrt(w * h / wanted) / 16) * 16)
    return f"{width}*{height}"


# ------------------------------------------------------------------ checks of the image modes


def _check_optional_prompt(inp: Mapping[str, Any], required: bool) -> str:
    if inp.get("prompt") is None and not required:
        return ""
    return _check_prompt(inp)


def _check_template(inp: Mapping[str, Any]) -> None:
    template = inp.get("template")
    if template is not None and (not isinstance(template, str) or not template.strip()):
        raise bad("input.template", f"must be a non-empty string, got {template!r}")


def _check_audio(
    inp: Mapping[str, Any],
    params: Mapping[str, Any],
    model_name: str,
    model: Mapping[str, Any],
    ctx: Context,
) -> None:
    """``input.audio_url`` and the ``parameters.audio`` switch, only where the model has them."""
    if inp.get("audio_url") is not None:
        if not model.get("audio"):
            raise bad("input.audio_url", f"model {model_name} does not support audio")
        _fetch("input.audio_url", inp["audio_url"], model_name, ctx)
    if "audio" in params:
        if not model.get("audio_switch"):
            raise bad("parameters.audio", f"not supported by model {model_name}")
        if not isinstance(params["audio"], bool):
            raise bad("parameters.audio", f"must be a boolean, got {params['audio']!r}")


def _check_resolution(
    params: Mapping[str, Any], model_name: str, model: Mapping[str, Any], required: bool
) -> str:
    """The tier: the output keeps the image's aspect ratio, so a ``W*H`` is refused."""
    for name in ("size", "ratio"):
        if params.get(name) is not None:
            raise bad(
                f"parameters.{name}",
                f"not supported by model {model_name}; use parameters.resolution "
                "(the video keeps the image's aspect ratio)",
            )
    tiers = ", ".join(model["tiers"])
    resolution = params.get("resolution")
    if resolution is None:
        if required:
            raise bad("parameters.resolution", f"is required; one of {tiers}")
        return model["default_resolution"]
    if resolution not in model["tiers"]:
        raise bad(
            "parameters.resolution",
            f"{resolution!r} is not supported by model {model_name}; allowed: {tiers}",
        )
    return resolution


def _check_media(
    inp: Mapping[str, Any], model_name: str, model: Mapping[str, Any], ctx: Context
) -> tuple[int, int] | None:
    """wan2.7's ``input.media``: typed items, each type once, in one of the valid sets."""
    media = inp.get("media")
    if media is None:
        raise bad("input.media", "is required: a list of {type, url} items")
    if not isinstance(media, list) or not media:
        raise bad("input.media", "must be a non-empty list of {type, url} items")
    seen: dict[str, tuple[int, int] | None] = {}
    for index, item in enumerate(media):
        field = f"input.media[{index}]"
        if not isinstance(item, dict):
            raise bad(field, "must be an object {type, url}")
        kind = item.get("type")
        if kind not in _MEDIA_TYPES:
            raise bad(f"{field}.type", f"{kind!r} is not one of {', '.join(_MEDIA_TYPES)}")
        if kind in seen:
            raise bad(f"{field}.type", f"{kind} is given twice; each type at most once")
        if item.get("url") is None:
            raise bad(f"{field}.url", "is required")
        if kind in ("first_frame", "last_frame"):
            seen[kind] = _check_image(f"{field}.url", item["url"], model_name, model, ctx)
        else:
            # The media protocol's file checks (format, size, seconds); imported here as
            # that module builds on this one.
            from airflow_provider_bailian.emulator.media_validation import check_file

            check_file(f"{field}.url", kind, item["url"], model_name, model, ctx)
            seen[kind] = None
    valid = {frozenset(combo): combo for combo in _MEDIA_SETS}
    if frozenset(seen) not in valid:
        allowed = "; ".join("+".join(combo) for combo in _MEDIA_SETS)
        raise bad(
            "input.media", f"{'+'.join(seen)} is not a valid set of types; allowed: {allowed}"
        )
    return seen.get("first_frame")


def validate_image2video(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Image-to-video from a first frame: ``input.img_url``, or wan2.7's ``input.media``.

    The gateway also requires ``prompt``, ``resolution`` and ``duration``.
    """
    model_name, model = _check_model(body, "image2video")
    gateway = ctx.style == "gateway"
    if gateway and model["shape"] != "img_url":
        raise bad(
            "model",
            f"{model_name} is not served by the gateway's image2video route "
            "(its input.media request is DashScope's)",
        )
    inp = _check_input(body)
    prompt = _check_optional_prompt(inp, required=gateway)
    _check_negative_prompt(inp)
    _check_template(inp)
    if model["shape"] == "media":
        if inp.get("img_url") is not None:
            raise bad("input.img_url", f"not supported by model {model_name}; use input.media")
        if inp.get("audio_url") is not None:
            raise bad(
                "input.audio_url",
                f"not supported by model {model_name}; use a driving_audio item in input.media",
            )
        image = _check_media(inp, model_name, model, ctx)
    else:
        if inp.get("media") is not None:
            raise bad("input.media", f"not supported by model {model_name}; use input.img_url")
        if inp.get("img_url") is None:
            raise bad("input.img_url", "is required")
        image = _check_image("input.img_url", inp["img_url"], model_name, model, ctx)
    params = _check_parameters(body)
    _check_audio(inp, params, model_name, model, ctx)
    tier = _check_resolution(params, model_name, model, required=gateway)
    duration = _check_duration(params, model_name, model, required=gateway)
    _check_options(params, model_name, model)
    size = _output_size(model, tier, image)
    extra = {"audio": params.get("audio", True)} if model["audio_switch"] else {}
    return _spec(model_name, model, prompt, params, size, duration, "image2video", tier, extra)


def validate_kf2v(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """First and last frame: ``first_frame_url`` (sets the aspect ratio), ``last_frame_url``."""
    model_name, model = _check_model(body, "kf2v")
    inp = _check_input(body)
    prompt = _check_optional_prompt(inp, required=False)
    _check_negative_prompt(inp)
    _check_template(inp)
    if inp.get("first_frame_url") is None:
        raise bad("input.first_frame_url", "is required")
    image = _check_image("input.first_frame_url", inp["first_frame_url"], model_name, model, ctx)
    if inp.get("last_frame_url") is not None:
        _check_image("input.last_frame_url", inp["last_frame_url"], model_name, model, ctx)
    params = _check_parameters(body)
    _check_audio(inp, params, model_name, model, ctx)
    tier = _check_resolution(params, model_name, model, required=False)
    duration = _check_duration(params, model_name, model)
    _check_options(params, model_name, model)
    size = _output_size(model, tier, image)
    return _spec(model_name, model, prompt, params, size, duration, "kf2v", tier)


def _check_reference(
    field: str, value: Any, model_name: str, model: Mapping[str, Any], ctx: Context
) -> bool:
    """One reference: an image (checked like a frame) or a video; True for a video."""
    fetched = _fetch(field, value, model_name, ctx)
    if fetched is None:
        return str(value).lower().split("?")[0].endswith((".mp4", ".mov"))
    data, mime = fetched
    if data[4:8] == b"ftyp" or mime in _VIDEO_TYPES:
        if len(data) > model["max_video_bytes"]:
            raise bad(field, f"the video is {len(data)} bytes; at most {model['max_video_bytes']}")
        return True
    _check_image_bytes(field, data, model["image"])
    return False


def validate_ref2video(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Reference-to-video: a prompt naming ``character1``... and 1-5 ``reference_urls``."""
    model_name, model = _check_model(body, "ref2video")
    inp = _check_input(body)
    prompt = _check_prompt(inp)
    _check_negative_prompt(inp)
    refs = inp.get("reference_urls")
    most = model["max_references"]
    if refs is None:
        raise bad("input.reference_urls", f"is required: 1-{most} image or video URLs")
    if not isinstance(refs, list) or not 1 <= len(refs) <= most:
        count = len(refs) if isinstance(refs, list) else type(refs).__name__
        raise bad("input.reference_urls", f"must be a list of 1-{most} items, got {count}")
    videos = sum(
        _check_reference(f"input.reference_urls[{i}]", ref, model_name, model, ctx)
        for i, ref in enumerate(refs)
    )
    if videos > model["max_videos"]:
        raise bad("input.reference_urls", f"at most {model['max_videos']} videos, got {videos}")
    params = _check_parameters(body)
    if ctx.style == "gateway" and params.get("size") is None:
        raise bad("parameters.size", "is required")
    _check_audio(inp, params, model_name, model, ctx)
    size = _check_size(params, model_name, model)
    duration = _check_duration(params, model_name, model)
    _check_options(params, model_name, model)
    # Input video seconds are billed too, at most 5 s in all; the emulator cannot read a
    # clip's length, so a request with videos reports the cap.
    extra = {"input_video_duration": model["billed_input_video_max"]} if videos else {}
    return _spec(model_name, model, prompt, params, size, duration, "ref2video", None, extra)
