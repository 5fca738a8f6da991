"""What makes a request valid: the shared rules, the media rules and each mode's own rules.

Beside the capability table, and read against it: every check names the field, the value
and what is allowed, and all problems of a request are reported at once, before anything
is read or sent. A model's row says what it takes (sizes or resolutions and ratios,
durations, switches, media types with their counts and exclusions); a mode's rule
(:data:`MODE_RULES`) says what the mode needs (a first frame, references, one video...).
Adding a model is a row of the table; adding a media type is an entry of
``capabilities.MEDIA_TYPES``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from airflow_provider_bailian.capabilities import (
    DURATION_AUTO,
    KIND_IMAGE,
    KIND_LINK,
    MAX_REFERENCES,
    MEDIA_EXTRA_INPUTS,
    MEDIA_KINDS,
    MEDIA_TYPES,
    SHAPE_FRAME_URLS,
    SHAPE_MEDIA,
    ModelSpec,
    get_model_spec,
    models_of,
)
from airflow_provider_bailian.inputs import LocalFile, LocalImage, MediaItem
from airflow_provider_bailian.results import as_int

SEED_MAX = 2_147_483_647
NEGATIVE_PROMPT_MAX = 500
SHOT_TYPES = ("single", "multi")
AUDIO_SETTINGS = ("auto", "origin")
AUDIO_URL_SCHEMES = ("http", "https", "oss")
INPUT_FORMS = "an http(s) or oss:// URL, a data: URI, a local path or an object-storage URL"
_BOOLS = ("prompt_extend", "watermark", "audio")
_BOOL_STRINGS = {"true": True, "false": False}

Problems = list[tuple[str, Any, str]]


class RequestLike(Protocol):
    """What validation reads of a request: ``models.VideoRequest``, a frozen dataclass,
    seen through its face so that the request types can call this module."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    MODES: ClassVar[tuple[str, ...]]
    RULES: ClassVar[str]
    PROMPT_REQUIRED: ClassVar[bool]
    PARAMETERS: ClassVar[tuple[str, ...]]

    @property
    def model(self) -> str: ...
    @property
    def media(self) -> tuple[Any, ...]: ...
    @property
    def spec(self) -> ModelSpec | None: ...
    @property
    def route(self) -> ModelSpec: ...
    def friendly_items(self) -> list[MediaItem]: ...
    def media_items(self) -> list[MediaItem]: ...


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _BOOL_STRINGS.get(value.strip().lower())
    return None


def clip(value: Any, limit: int = 60) -> Any:
    """Shorten long texts inside error messages."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value


def _names(specs: list[ModelSpec]) -> str:
    return ", ".join(s.name for s in specs)


def _allowed_durations(spec: ModelSpec) -> str:
    d = tuple(x for x in spec.durations if x > 0)
    if len(d) > 2 and d == tuple(range(d[0], d[-1] + 1)):
        text = f"an integer from {d[0]} to {d[-1]}"
    else:
        text = "one of " + ", ".join(str(x) for x in d)
    if spec.duration_auto:
        text += f", or {DURATION_AUTO} (the model picks)"
    if 0 in spec.durations:
        text += ", or 0 (the input's length)"
    return text


def validate_request(request: RequestLike) -> tuple[Any, list[str]]:
    """The request with templated values coerced, and warnings; or every problem at once."""
    problems: Problems = []
    warnings: list[str] = []
    values = {f.name: getattr(request, f.name) for f in fields(request)}
    keep_blank = ("model", "prompt") if request.PROMPT_REQUIRED else ("model",)
    for name, value in values.items():  # empty strings from templates mean "not set"
        if isinstance(value, str) and not value.strip() and name not in keep_blank:
            values[name] = None

    spec = _check_model(request, values["model"], problems, warnings)
    _check_prompt(request, values, spec, problems)
    _check_shape(values, spec, problems)
    _check_numbers(values, spec, problems)
    _check_switches(request, values, spec, problems)
    checked = replace(request, **values)
    items = _check_media(checked, spec, problems)
    MODE_RULES[request.RULES](checked, items, spec, problems)
    if problems:
        # The exception classes derive from Airflow's: loaded only when a request is refused,
        # so that the request types stay cheap to import.
        from airflow_provider_bailian.exceptions import BailianValidationError

        raise BailianValidationError(problems)
    return checked, warnings


def _check_model(
    request: RequestLike, model: Any, problems: Problems, warnings: list[str]
) -> ModelSpec | None:
    known = models_of(*request.MODES)
    if not isinstance(model, str) or not model.strip():
        problems.append(("model", model, "a model name such as " + _names(known)))
        return None
    spec = get_model_spec(model)
    if spec is None:
        warnings.append(
            f"Model {model!r} is not in this provider's capability table "
            f"(known: {_names(known)}); only the generic rules were checked."
        )
    elif not spec.serves(*request.MODES):
        problems.append(("model", model, f"one of {_names(known)} (it is a {spec.mode} model)"))
        return None
    return spec


def _check_prompt(
    request: RequestLike, values: dict[str, Any], spec: ModelSpec | None, problems: Problems
) -> None:
    if "prompt" not in values:
        return
    prompt = values["prompt"]
    if prompt is None and not request.PROMPT_REQUIRED:
        pass
    elif not isinstance(prompt, str) or not prompt.strip():
        problems.append(("prompt", prompt, "a non-empty text"))
    elif spec and len(prompt) > spec.prompt_max:
        problems.append(
            (
                "prompt",
                clip(prompt),
                f"at most {spec.prompt_max} characters for {spec.name} (got {len(prompt)});"
                " the service would silently truncate it",
            )
        )
    neg = values.get("negative_prompt")
    if neg is not None and (not isinstance(neg, str) or len(neg) > NEGATIVE_PROMPT_MAX):
        got = f" (got {len(neg)})" if isinstance(neg, str) else ""
        problems.append(
            (
                "negative_prompt",
                clip(neg),
                f"a text of at most {NEGATIVE_PROMPT_MAX} characters{got}",
            )
        )


def _check_shape(values: dict[str, Any], spec: ModelSpec | None, problems: Problems) -> None:
    """size, resolution (and ratio): which of them a model takes, and their values."""
    size, resolution, ratio = (values.get(k) for k in ("size", "resolution", "ratio"))
    if size is not None:
        size = values["size"] = str(size).strip().replace("x", "*").replace("X", "*")
    if resolution is not None:
        resolution = values["resolution"] = str(resolution).strip().upper()
    if ratio is not None:
        ratio = values["ratio"] = str(ratio).strip().lower()
    if spec is None:
        if size is not None and not re.fullmatch(r"\d+\*\d+", size):
            problems.append(("size", size, "a W*H string such as 1280*720"))
        if resolution is not None and not re.fullmatch(r"\d+P", resolution):
            problems.append(("resolution", resolution, "a tier such as 720P or 1080P"))
        if ratio is not None and not re.fullmatch(r"\d+:\d+|adaptive", ratio):
            problems.append(("ratio", ratio, "an aspect ratio such as 16:9"))
        return
    if spec.uses_resolution:
        if size is not None:
            instead = "resolution and ratio" if spec.ratios else "resolution"
            problems.append(("size", size, f"not used by {spec.name}; set {instead} instead"))
        if resolution is not None and resolution not in spec.resolutions:
            problems.append(
                ("resolution", resolution, f"one of {', '.join(spec.resolutions)} for {spec.name}")
            )
        if ratio is not None and ratio not in spec.ratios:
            allowed = f"one of {', '.join(spec.ratios)} for {spec.name}" if spec.ratios else None
            problems.append(
                ("ratio", ratio, allowed or f"not used by {spec.name} (the input image decides)")
            )
        return
    if size is not None and size not in spec.sizes:
        problems.append(("size", size, f"one of {', '.join(spec.sizes)} for {spec.name}"))
    with_tiers = _names([s for s in models_of(spec.mode) if s.ratios])
    for name in ("resolution", "ratio"):
        if values.get(name) is not None:
            problems.append(
                (name, values[name], f"only for {with_tiers}; {spec.name} takes size instead")
            )


def _check_numbers(values: dict[str, Any], spec: ModelSpec | None, problems: Problems) -> None:
    for name in ("duration", "seed"):
        if values.get(name) is not None:
            coerced = as_int(values[name])
            if coerced is None:
                problems.append((name, values[name], "a whole number"))
            values[name] = coerced if coerced is not None else values[name]
    duration = values.get("duration")
    if isinstance(duration, int):
        auto = spec is not None and spec.duration_auto and duration == DURATION_AUTO
        if spec and spec.durations == () and "duration" in values:
            problems.append(("duration", duration, f"not set for {spec.name} (the input decides)"))
        elif spec and duration not in spec.durations and not auto:
            problems.append(("duration", duration, f"{_allowed_durations(spec)} for {spec.name}"))
        elif spec is None and duration <= 0 and duration != DURATION_AUTO:
            problems.append(("duration", duration, "a positive number of seconds"))
    seed = values.get("seed")
    if isinstance(seed, int) and not 0 <= seed <= SEED_MAX:
        problems.append(("seed", seed, f"an integer from 0 to {SEED_MAX}"))


def _check_switches(
    request: RequestLike, values: dict[str, Any], spec: ModelSpec | None, problems: Problems
) -> None:
    """prompt_extend, watermark, audio, shot_type, audio_url, template, audio_setting."""
    for name in _BOOLS:
        if name in request.PARAMETERS and values.get(name) is not None:
            coerced = as_bool(values[name])
            if coerced is None:
                problems.append((name, values[name], "true or false"))
            else:
                values[name] = coerced
    same_mode = models_of(*request.MODES)
    shot = values.get("shot_type")
    if shot is not None:
        if shot not in SHOT_TYPES:
            problems.append(("shot_type", shot, "one of " + ", ".join(SHOT_TYPES)))
        elif spec and not spec.shot_type:
            with_shots = [s for s in same_mode if s.shot_type]
            problems.append(
                ("shot_type", shot, f"not supported by {spec.name}; only {_names(with_shots)}")
            )
        elif values.get("prompt_extend") is False:
            problems.append(
                (
                    "shot_type",
                    shot,
                    "only effective with prompt_extend=True (got prompt_extend=False)",
                )
            )
    if (
        "audio" in request.PARAMETERS
        and values.get("audio") is not None
        and spec
        and not spec.audio_switch
    ):
        with_switch = [s for s in same_mode if s.audio_switch]
        only = f"only {_names(with_switch)}" if with_switch else "no model of this mode"
        problems.append(("audio", values["audio"], f"not a switch of {spec.name}; {only}"))
    if values.get("template") is not None and spec and not spec.template:
        with_template = [s for s in same_mode if s.template]
        problems.append(
            (
                "template",
                values["template"],
                f"not taken by {spec.name}; only {_names(with_template)}",
            )
        )
    setting = values.get("audio_setting")
    if setting is not None:
        setting = values["audio_setting"] = str(setting).strip().lower()
        if setting not in AUDIO_SETTINGS:
            problems.append(("audio_setting", setting, "one of " + ", ".join(AUDIO_SETTINGS)))
        elif spec and not spec.audio_setting:
            with_setting = [s for s in same_mode if s.audio_setting]
            problems.append(
                ("audio_setting", setting, f"not taken by {spec.name}; only {_names(with_setting)}")
            )
    audio = values.get("audio_url")
    if audio is not None and request.route.shape != SHAPE_MEDIA:
        parts = urlsplit(audio) if isinstance(audio, str) else None
        if parts is None or parts.scheme not in AUDIO_URL_SCHEMES or not parts.netloc:
            problems.append(
                ("audio_url", audio, "an http://, https:// or oss:// URL of a wav or mp3")
            )
        elif spec and not spec.audio:
            with_audio = [s for s in same_mode if s.audio]
            problems.append(
                (
                    "audio_url",
                    audio,
                    f"{spec.name} makes silent videos; audio needs {_names(with_audio)}",
                )
            )


# ---- media ---------------------------------------------------------------------------------
def _check_value(label: str, kind: str, value: Any, problems: Problems) -> None:
    """One input's form: a URL, a data URI (images only), a path or a file already read."""
    if isinstance(value, (LocalImage, LocalFile)):
        return
    if not isinstance(value, str) or not value.strip():
        problems.append((label, clip(value), INPUT_FORMS))
    elif kind == KIND_LINK:
        if not value.startswith(("http://", "https://")):
            problems.append((label, clip(value), "an http(s) URL (a link is sent as it is)"))
    elif value.startswith("data:"):
        if not MEDIA_KINDS[kind].inline:
            problems.append(
                (
                    label,
                    clip(value),
                    f"a URL or a file for a {kind} (data: URIs are for images only)",
                )
            )
        elif not re.match(r"data:image/[\w.+-]+;base64,", value):
            problems.append((label, clip(value), "a data URI such as data:image/png;base64,..."))


def _check_media(
    request: RequestLike, spec: ModelSpec | None, problems: Problems
) -> list[MediaItem]:
    """The inputs against the model's row: types, counts, exclusions, extra keys, forms."""
    route = request.route
    for i, raw in enumerate(request.media):
        if not isinstance(raw, MediaItem):
            problems.append(
                (f"media[{i}]", clip(raw), 'a dict {"type": ..., "url": ...} (extra keys pass)')
            )
    explicit = [m for m in request.media if isinstance(m, MediaItem)]
    if explicit and route.shape != SHAPE_MEDIA:
        with_media = _names([s for s in models_of(*request.MODES) if s.shape == SHAPE_MEDIA])
        problems.append(
            (
                "media",
                clip([m.type for m in explicit]),
                f"only for models of the media protocol ({with_media}); {request.model} "
                "takes no media list",
            )
        )
        return request.friendly_items()
    items = request.media_items()
    if route.shape != SHAPE_MEDIA:
        for item in items:
            _check_value(item.label, MEDIA_TYPES.get(item.type, KIND_IMAGE), item.url, problems)
        return items
    limits = spec.media_limits if spec is not None else {t: 99 for t in MEDIA_TYPES}
    taken = ", ".join(limits) or "no media (text only)"
    for item in items:
        if item.type not in MEDIA_TYPES or item.type not in limits:
            if item.label.startswith("media["):
                problems.append(
                    (f"{item.label}.type", item.type, f"one of {taken} for {request.model}")
                )
            else:  # a friendly parameter the model has no input for
                problems.append(
                    (item.label, clip(item.url), f"not taken by {request.model} (it takes {taken})")
                )
            continue
        _check_value(item.label, MEDIA_TYPES[item.type], item.url, problems)
        for key, value in item.extra.items():
            if key in MEDIA_EXTRA_INPUTS:
                if spec is not None and key not in spec.media_extras:
                    with_key = _names(
                        [s for s in models_of(*request.MODES) if key in s.media_extras]
                    )
                    problems.append(
                        (f"{item.label}.{key}", clip(value), f"only for {with_key or 'no model'}")
                    )
                elif value:
                    _check_value(f"{item.label}.{key}", MEDIA_EXTRA_INPUTS[key], value, problems)
    counts = Counter(item.type for item in items)
    for mtype, count in counts.items():
        most = limits.get(mtype)
        if most is not None and count > most:
            problems.append(
                (f"media ({mtype})", count, f"at most {most} {mtype} for {request.model}")
            )
    if spec is not None and spec.media_total_max is not None:
        total = sum(n for t, n in counts.items() if t.startswith("reference_"))
        if total > spec.media_total_max:
            problems.append(
                (
                    "media (references)",
                    total,
                    f"at most {spec.media_total_max} in total for {spec.name}",
                )
            )
    for left, right in spec.media_exclusive if spec is not None else ():
        here_left = sorted(t for t in counts if t in left)
        here_right = sorted(t for t in counts if t in right)
        if here_left and here_right:
            problems.append(
                (
                    "media",
                    f"{'+'.join(here_left)} with {'+'.join(here_right)}",
                    f"either {' / '.join(left)} or {' / '.join(right)} for {request.model}, "
                    "never together",
                )
            )
    return items


def check_media_seconds(request: RequestLike, problems: Problems) -> None:
    """Total seconds per type, where the files read tell their length (after loading)."""
    spec = request.spec
    if spec is None:
        return
    for mtype, most in spec.media_seconds_max:
        lengths = [
            m.url.seconds
            for m in request.media_items()
            if m.type == mtype and isinstance(m.url, LocalFile) and m.url.seconds
        ]
        if sum(lengths) > most:
            problems.append(
                (
                    f"media ({mtype})",
                    f"{sum(lengths):.1f} s",
                    f"at most {most:g} s of {mtype} in total for {spec.name}",
                )
            )


# ---- each mode's own rules -------------------------------------------------------------------
def _types(items: list[MediaItem]) -> Counter:
    return Counter(item.type for item in items)


def _rule_text(request: Any, items: list[MediaItem], spec: Any, problems: Problems) -> None:
    """Text to video: any media the model takes (wan3.0); nothing else is needed."""


def _rule_image(request: Any, items: list[MediaItem], spec: Any, problems: Problems) -> None:
    """Image to video: a first frame, or (wan2.7-i2v) a clip to continue."""
    types = _types(items)
    route = request.route
    if route.shape == SHAPE_MEDIA:
        starts = [
            t for t in ("first_frame", "first_clip") if spec is None or t in spec.media_limits
        ]
        if not any(types[t] for t in starts):
            field_names = " or ".join("image" if t == "first_frame" else t for t in starts)
            problems.append(
                (field_names, None, f"{INPUT_FORMS} ({spec.name if spec else request.model})")
            )
        return
    if request.image is None:
        problems.append(("image", None, INPUT_FORMS))
    if request.first_clip is not None:
        with_clip = _names([s for s in models_of(*request.MODES) if "first_clip" in s.media_limits])
        problems.append(("first_clip", clip(request.first_clip), f"only for {with_clip}"))
    if request.last_frame is not None and not route.last_frame:
        with_last = _names(
            [s for s in models_of(*request.MODES) if s.last_frame or "last_frame" in s.media_limits]
        )
        problems.append(
            (
                "last_frame",
                clip(request.last_frame),
                f"not taken by {request.model}; only {with_last}",
            )
        )
    if request.audio_url is not None and route.shape == SHAPE_FRAME_URLS:
        problems.append(("audio_url", request.audio_url, f"{request.model} makes silent videos"))


def _rule_reference(request: Any, items: list[MediaItem], spec: Any, problems: Problems) -> None:
    """Reference to video: at least one subject; voices one per reference."""
    refs = [i for i in items if i.type in ("reference_image", "reference_video")]
    others = [i for i in items if i.type not in ("reference_image", "reference_video")]
    if request.route.shape != SHAPE_MEDIA:
        if not 1 <= len(refs) <= MAX_REFERENCES:
            problems.append(
                (
                    "references",
                    clip([i.url for i in refs]),
                    f"1 to {MAX_REFERENCES} images or videos",
                )
            )
        for name in ("reference_voices", "reference_audio"):
            if getattr(request, name):
                with_it = _names(
                    [
                        s
                        for s in models_of(*request.MODES)
                        if (
                            "reference_voice" in s.media_extras
                            if name == "reference_voices"
                            else "reference_audio" in s.media_limits
                        )
                    ]
                )
                problems.append((name, clip(list(getattr(request, name))), f"only for {with_it}"))
        return
    if not refs and not any(i.type in ("reference_audio", "file", "link") for i in others):
        problems.append(
            ("references", [], f"at least one reference image or video ({request.model})")
        )
    if len(request.reference_voices) > len(request.references):
        problems.append(
            (
                "reference_voices",
                len(request.reference_voices),
                f"at most one voice per reference ({len(request.references)} references)",
            )
        )


def _rule_edit(request: Any, items: list[MediaItem], spec: Any, problems: Problems) -> None:
    """Video editing: exactly one input video."""
    videos = [i for i in items if i.type == "video"]
    if len(videos) != 1:
        problems.append(
            ("video", clip([i.url for i in videos]) or None, f"exactly one video: {INPUT_FORMS}")
        )


def _rule_speech(request: Any, items: list[MediaItem], spec: Any, problems: Problems) -> None:
    """Speech to video: a portrait and the speech."""
    types = _types(items)
    if not types["portrait"]:
        problems.append(("image", None, f"a portrait image: {INPUT_FORMS}"))
    if not types["speech"]:
        problems.append(("audio", None, f"the speech (wav or mp3): {INPUT_FORMS}"))


#: Each mode's rules, by the request type's ``RULES`` name.
MODE_RULES: dict[str, Callable[[Any, list[MediaItem], Any, Problems], None]] = {
    "text": _rule_text,
    "image": _rule_image,
    "reference": _rule_reference,
    "edit": _rule_edit,
    "speech": _rule_speech,
}
