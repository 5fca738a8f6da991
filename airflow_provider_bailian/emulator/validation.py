"""Request validation, one function per generation mode, as the service checks bodies.

A submit body is first checked to be a JSON object (:func:`.field_checks.parse_body`), then
by the validator of its mode, which returns the spec a task is made from (model, prompt,
size, tier, duration, usage shape, failure asked for by the prompt). Errors are raised as
:class:`~.replies.ApiError` shaped like the service's (``400 InvalidParameter`` naming the
field, ``404 ModelNotFound``).

Modes, one validator each, registered in :data:`.modes.VALIDATORS`: ``text2video``,
``image2video`` (``input.img_url``, or ``input.media`` for wan2.7-i2v), ``kf2v`` (first and
last frame) and ``ref2video`` (``input.reference_urls``). An endpoint names its mode, except
DashScope's shared video-synthesis endpoint, where the model does (:func:`.modes.mode_of`;
the media protocol and speech to video are in :mod:`.media_validation`). The checks all
modes share (model, prompt, seed, flags, image inputs) are in :mod:`.field_checks`; the
ones only these modes make (size, duration, audio, resolution, references) stay here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_bailian.emulator.catalog import RATIOS, tier_of
from airflow_provider_bailian.emulator.field_checks import (
    Context,
    bad,
    check_image,
    check_image_bytes,
    check_input,
    check_model,
    check_negative_prompt,
    check_optional_prompt,
    check_options,
    check_parameters,
    check_prompt,
    fetch,
    output_size,
    task_spec,
)
from airflow_provider_bailian.emulator.media_validation import check_file
from airflow_provider_bailian.emulator.replies import is_int

_VIDEO_TYPES = ("video/mp4", "video/quicktime")


def _check_audio_url(inp: Mapping[str, Any], model_name: str, model: Mapping[str, Any]) -> None:
    audio_url = inp.get("audio_url")
    if audio_url is not None:
        if not isinstance(audio_url, str) or not re.match(
            r"^(https?|oss)://\S+$", audio_url, re.IGNORECASE
        ):
            raise bad("input.audio_url", "must be an http(s):// or oss:// URL")
        if not model["audio"]:
            raise bad("input.audio_url", f"model {model_name} does not support audio")


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


def validate_text2video(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Text-to-video: the checks of the service's text-to-video endpoint, in its order."""
    model_name, model = check_model(body, "text2video")
    inp = check_input(body)
    prompt = check_prompt(inp)
    check_negative_prompt(inp)
    _check_audio_url(inp, model_name, model)
    params = check_parameters(body)
    size = _check_size(params, model_name, model)
    duration = _check_duration(params, model_name, model)
    check_options(params, model_name, model)
    return task_spec(model_name, model, prompt, params, size, duration)


# ------------------------------------------------------------------ checks of the image modes

_MEDIA_TYPES = ("first_frame", "last_frame", "driving_audio", "first_clip")
_MEDIA_SETS = (
    ("first_frame",),
    ("first_frame", "driving_audio"),
    ("first_frame", "last_frame"),
    ("first_frame", "last_frame", "driving_audio"),
    ("first_clip",),
    ("first_clip", "last_frame"),
)


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
        fetch("input.audio_url", inp["audio_url"], model_name, ctx)
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
            seen[kind] = check_image(f"{field}.url", item["url"], model_name, model, ctx)
        else:
            # The media protocol's file checks (format, size, seconds).
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
    model_name, model = check_model(body, "image2video")
    gateway = ctx.style == "gateway"
    if gateway and model["shape"] != "img_url":
        raise bad(
            "model",
            f"{model_name} is not served by the gateway's image2video route "
            "(its input.media request is DashScope's)",
        )
    inp = check_input(body)
    prompt = check_optional_prompt(inp, required=gateway)
    check_negative_prompt(inp)
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
        image = check_image("input.img_url", inp["img_url"], model_name, model, ctx)
    params = check_parameters(body)
    _check_audio(inp, params, model_name, model, ctx)
    tier = _check_resolution(params, model_name, model, required=gateway)
    duration = _check_duration(params, model_name, model, required=gateway)
    check_options(params, model_name, model)
    size = output_size(model, tier, image)
    extra = {"audio": params.get("audio", True)} if model["audio_switch"] else {}
    return task_spec(model_name, model, prompt, params, size, duration, "image2video", tier, extra)


def validate_kf2v(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """First and last frame: ``first_frame_url`` (sets the aspect ratio), ``last_frame_url``."""
    model_name, model = check_model(body, "kf2v")
    inp = check_input(body)
    prompt = check_optional_prompt(inp, required=False)
    check_negative_prompt(inp)
    _check_template(inp)
    if inp.get("first_frame_url") is None:
        raise bad("input.first_frame_url", "is required")
    image = check_image("input.first_frame_url", inp["first_frame_url"], model_name, model, ctx)
    if inp.get("last_frame_url") is not None:
        check_image("input.last_frame_url", inp["last_frame_url"], model_name, model, ctx)
    params = check_parameters(body)
    _check_audio(inp, params, model_name, model, ctx)
    tier = _check_resolution(params, model_name, model, required=False)
    duration = _check_duration(params, model_name, model)
    check_options(params, model_name, model)
    size = output_size(model, tier, image)
    return task_spec(model_name, model, prompt, params, size, duration, "kf2v", tier)


def _check_reference(
    field: str, value: Any, model_name: str, model: Mapping[str, Any], ctx: Context
) -> bool:
    """One reference: an image (checked like a frame) or a video; True for a video."""
    fetched = fetch(field, value, model_name, ctx)
    if fetched is None:
        return str(value).lower().split("?")[0].endswith((".mp4", ".mov"))
    data, mime = fetched
    if data[4:8] == b"ftyp" or mime in _VIDEO_TYPES:
        if len(data) > model["max_video_bytes"]:
            raise bad(field, f"the video is {len(data)} bytes; at most {model['max_video_bytes']}")
        return True
    check_image_bytes(field, data, model["image"])
    return False


def validate_ref2video(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Reference-to-video: a prompt naming ``character1``... and 1-5 ``reference_urls``."""
    model_name, model = check_model(body, "ref2video")
    inp = check_input(body)
    prompt = check_prompt(inp)
    check_negative_prompt(inp)
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
    params = check_parameters(body)
    if ctx.style == "gateway" and params.get("size") is None:
        raise bad("parameters.size", "is required")
    _check_audio(inp, params, model_name, model, ctx)
    size = _check_size(params, model_name, model)
    duration = _check_duration(params, model_name, model)
    check_options(params, model_name, model)
    # Input video seconds are billed too, at most 5 s in all; the emulator cannot read a
    # clip's length, so a request with videos reports the cap.
    extra = {"input_video_duration": model["billed_input_video_max"]} if videos else {}
    return task_spec(model_name, model, prompt, params, size, duration, "ref2video", None, extra)
