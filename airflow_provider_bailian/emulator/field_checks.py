"""The checks every mode's validator shares, as the service makes them.

Where a body's ``model`` (:func:`check_model`, naming the endpoint of a model of another
mode), ``input`` and ``parameters`` objects, prompts, seed and flags are checked, and where
image inputs are read: a data URI is decoded and checked (format from the bytes, sides,
size); an http(s) URL is taken as is; ``oss://`` needs the resolve header and a stored
upload for the same model (:func:`fetch`). :func:`task_spec` makes the spec a task is made
from once a body passed. Errors are :class:`~.replies.ApiError` shaped like the service's
(:func:`bad`: ``400 InvalidParameter`` naming the field). The validators of
:mod:`.validation` and :mod:`.media_validation` build on this module.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_bailian.emulator.catalog import (
    I2V_MODELS,
    KF2V_MODELS,
    MEDIA_MODELS,
    MODELS,
    R2V_MODELS,
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


def check_model(body: Mapping[str, Any], mode: str) -> tuple[str, Any]:
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


def check_input(body: Mapping[str, Any]) -> dict[str, Any]:
    inp = body.get("input")
    if inp is None:
        raise bad("input", "is required")
    if not isinstance(inp, dict):
        raise bad("input", "must be an object")
    return inp


def check_prompt(inp: Mapping[str, Any]) -> str:
    """The prompt as sent (the model's length limit cuts it later, it is no error)."""
    prompt = inp.get("prompt")
    if prompt is None:
        raise bad("input.prompt", "is required")
    if not isinstance(prompt, str):
        raise bad("input.prompt", "must be a string")
    if not prompt.strip():
        raise bad("input.prompt", "must not be empty")
    return prompt


def check_negative_prompt(inp: Mapping[str, Any]) -> None:
    negative = inp.get("negative_prompt")
    if negative is not None:
        if not isinstance(negative, str):
            raise bad("input.negative_prompt", "must be a string")
        if len(negative) > _NEGATIVE_PROMPT_MAX:
            raise bad(
                "input.negative_prompt",
                f"at most {_NEGATIVE_PROMPT_MAX} characters, got {len(negative)}",
            )


def check_parameters(body: Mapping[str, Any]) -> dict[str, Any]:
    params = body.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise bad("parameters", "must be an object")
    return params


def check_options(params: Mapping[str, Any], model_name: str, model: Mapping[str, Any]) -> None:
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


def task_spec(
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


# ------------------------------------------------------------------ image inputs

_URL_KINDS = "an http(s):// URL, an oss:// URL or a data URI (data:{mime};base64,{data})"


def fetch(field: str, value: Any, model_name: str, ctx: Context) -> tuple[bytes, str] | None:
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


def check_image_bytes(field: str, data: bytes, limits: Mapping[str, Any]) -> tuple[int, int]:
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


def check_image(
    field: str, value: Any, model_name: str, model: Mapping[str, Any], ctx: Context
) -> tuple[int, int] | None:
    """An image input; its pixel size when the emulator can see the bytes."""
    fetched = fetch(field, value, model_name, ctx)
    if fetched is None:
        return None
    return check_image_bytes(field, fetched[0], model["image"])


def output_size(model: Mapping[str, Any], tier: str, image: tuple[int, int] | None) -> str:
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


# ------------------------------------------------------------------ prompts of the image modes


def check_optional_prompt(inp: Mapping[str, Any], required: bool) -> str:
    if inp.get("prompt") is None and not required:
        return ""
    return check_prompt(inp)
