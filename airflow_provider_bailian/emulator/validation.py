"""Request validation, one function per generation mode, as the service checks bodies.

A submit body is first checked to be a JSON object (:func:`parse_body`), then by the
validator of its mode, which returns the spec a task is made from (model, prompt, size,
tier, duration, usage shape, failure asked for by the prompt). Errors are raised as
:class:`~.replies.ApiError` shaped like the service's (``400 InvalidParameter`` naming the
field, ``404 ModelNotFound``).

Modes: ``text2video`` today. Image-to-video, first-and-last-frame and reference-to-video
each get a validator of their own beside :func:`validate_text2video`, registered in
:data:`VALIDATORS`; the checks every mode shares (prompt, seed, duration, flags) are the
``_check_*`` helpers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_bailian.emulator.catalog import MODELS, RATIOS, tier_of
from airflow_provider_bailian.emulator.faults import prompt_failure
from airflow_provider_bailian.emulator.replies import ApiError, is_int

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


def _check_model(body: Mapping[str, Any], table: Mapping[str, Any]) -> tuple[str, Any]:
    model_name = body.get("model")
    if model_name is None or model_name == "":
        raise bad("model", "is required")
    if not isinstance(model_name, str):
        raise bad("model", "must be a string")
    model = table.get(model_name)
    if model is None:
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


def _check_duration(params: Mapping[str, Any], model_name: str, model: Mapping[str, Any]) -> int:
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
) -> dict[str, Any]:
    """What a task is made from, once its request passed validation."""
    kept = prompt[: model["prompt_max"]]
    actual = None
    if not model["new_usage"]:
        extend = params.get("prompt_extend", True)
        actual = f"{kept} Cinematic lighting, smooth camera motion." if extend else kept
    tier = tier_of(model, size) or "720P"
    return {
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


def validate_text2video(body: Mapping[str, Any]) -> dict[str, Any]:
    """Text-to-video: the checks of the service's text-to-video endpoint, in its order."""
    model_name, model = _check_model(body, MODELS)
    inp = _check_input(body)
    prompt = _check_prompt(inp)
    _check_negative_prompt(inp)
    _check_audio_url(inp, model_name, model)
    params = _check_parameters(body)
    size = _check_size(params, model_name, model)
    duration = _check_duration(params, model_name, model)
    _check_options(params, model_name, model)
    return _spec(model_name, model, prompt, params, size, duration)


#: Mode -> validator. image2video, kf2v (first and last frame) and ref2video join here.
VALIDATORS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "text2video": validate_text2video,
}


def validate(mode: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a submit body for ``mode``; returns the task spec or raises ApiError."""
    return VALIDATORS[mode](body)
