"""Request and result types (one request type per mode) and task statuses.

Everything here is plain Python (no Airflow, no I/O) so the hook, the trigger,
the operators and the emulator-facing tests share one definition of "a valid
request" and "a task result". Validation reads the capability table
(``capabilities.py``, re-exported here), the single place to correct when Alibaba
changes a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow_provider_bailian.capabilities import (
    FRAMES,
    IMAGE,
    IMAGE_FORMATS,
    MAX_REFERENCES,
    MODELS,
    RATIOS,
    REFERENCE,
    SHAPE_FRAME_URLS,
    SHAPE_MEDIA,
    SIZE_TIERS,
    TEXT,
    ModelSpec,
    get_model_spec,
    guess_spec,
    models_of,
    running_limit,
    tier_of_size,
)
from airflow_provider_bailian.exceptions import BailianValidationError

__all__ = [
    "IMAGE_FORMATS",
    "MODELS",
    "RATIOS",
    "SIZE_TIERS",
    "Image2VideoRequest",
    "LocalImage",
    "ModelSpec",
    "Reference2VideoRequest",
    "Submission",
    "TaskResult",
    "TaskStatus",
    "Text2VideoRequest",
    "Usage",
    "VideoRequest",
    "get_model_spec",
    "running_limit",
    "tier_of_size",
]

SEED_MAX = 2_147_483_647
NEGATIVE_PROMPT_MAX = 500
SHOT_TYPES = ("single", "multi")
AUDIO_URL_SCHEMES = ("http", "https", "oss")


class TaskStatus(str, Enum):
    """Lifecycle of a Bailian task: PENDING -> RUNNING -> SUCCEEDED | FAILED."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"  # no such task, or older than 24 h

    @classmethod
    def parse(cls, value: Any) -> TaskStatus:
        try:
            return cls(str(value).upper())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_active(self) -> bool:
        return self in (TaskStatus.PENDING, TaskStatus.RUNNING)

    @property
    def is_terminal(self) -> bool:
        return not self.is_active

    def __str__(self) -> str:
        return self.value


def _allowed_durations(spec: ModelSpec) -> str:
    d = spec.durations
    if len(d) > 2 and d == tuple(range(d[0], d[-1] + 1)):
        return f"an integer from {d[0]} to {d[-1]}"
    return "one of " + ", ".join(str(x) for x in d)


def _as_int(value: Any) -> int | None:
    """Coerce a templated value ("5", 5.0) to int; ``None`` when it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


_BOOL_STRINGS = {"true": True, "false": False}


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _BOOL_STRINGS.get(value.strip().lower())
    return None


def _names(specs: list[ModelSpec]) -> str:
    return ", ".join(s.name for s in specs)


Problems = list[tuple[str, Any, str]]


@dataclass(frozen=True)
class LocalImage:
    """An image the provider read itself (local path or object storage), checked.

    It goes out as a data URI, or as the ``oss://`` URL of its temporary upload; reattach
    fingerprints it by content, so a changed file is a new video.
    """

    source: str
    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int
    sha256: str

    def data_uri(self) -> str:
        import base64

        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def file_name(self) -> str:
        name = self.source.rstrip("/").rsplit("/", 1)[-1] or "image"
        return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _wire(value: Any) -> Any:
    """An image input as it goes into the body."""
    return value.data_uri() if isinstance(value, LocalImage) else value


def _identity(value: Any) -> Any:
    """An image input as reattach sees it: the content of a file read, else the value."""
    return f"sha256:{value.sha256}" if isinstance(value, LocalImage) else value


_IMAGE_VALUE = "an http(s) or oss:// URL, a data: URI, a local path or an object-storage URL"


@dataclass(frozen=True)
class VideoRequest:
    """What every generation request has: a model, validation, a body, a billed duration.

    One subclass per mode (text, image, reference). The hook, the price table and the
    shared operator base work on this type and never ask which mode they hold; the
    model's row in the capability table says how it is sent.
    """

    model: str

    MODES: ClassVar[tuple[str, ...]] = (TEXT,)
    PROMPT_REQUIRED: ClassVar[bool] = True
    #: Fields whose values are image inputs (a str, a list of str, or LocalImage).
    MEDIA_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: Fields sent under ``parameters`` when set.
    PARAMETERS: ClassVar[tuple[str, ...]] = ()

    @property
    def spec(self) -> ModelSpec | None:
        return get_model_spec(self.model)

    @property
    def route(self) -> ModelSpec:
        """The model's row, or a guess by its name for a model missing from the table."""
        spec = self.spec
        return spec if spec is not None else guess_spec(str(self.model), self.MODES[0])

    # ---- validation -----------------------------------------------------------------------
    def validated(self) -> tuple[Any, list[str]]:
        """Check every field against the capability table.

        Returns the request with templated strings coerced ("5" -> 5) and a list of
        warnings; raises ``BailianValidationError`` naming each bad field, its value
        and what is allowed. Nothing is sent before this passes.
        """
        problems: Problems = []
        warnings: list[str] = []
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        keep_blank = ("model", "prompt") if self.PROMPT_REQUIRED else ("model",)
        # Empty strings from templates mean "not set".
        for name, value in values.items():
            if isinstance(value, str) and not value.strip() and name not in keep_blank:
                values[name] = None

        spec = self._check_model(values["model"], problems, warnings)
        self._check_prompt(values, spec, problems)
        self._check_shape(values, spec, problems)
        self._check_numbers(values, spec, problems)
        self._check_switches(values, spec, problems)
        self._check_inputs(values, spec, problems)
        if problems:
            raise BailianValidationError(problems)
        return replace(self, **values), warnings

    def _check_model(self, model: Any, problems: Problems, warnings: list[str]) -> Any:
        known = models_of(*self.MODES)
        if not isinstance(model, str) or not model.strip():
            problems.append(("model", model, "a model name such as " + _names(known)))
            return None
        spec = get_model_spec(model)
        if spec is None:
            warnings.append(
                f"Model {model!r} is not in this provider's capability table "
                f"(known: {_names(known)}); only the generic rules were checked."
            )
        elif spec.mode not in self.MODES:
            problems.append(("model", model, f"one of {_names(known)} (it is a {spec.mode} model)"))
            return None
        return spec

    def _check_prompt(self, values: dict[str, Any], spec: Any, problems: Problems) -> None:
        prompt = values["prompt"]
        if prompt is None and not self.PROMPT_REQUIRED:
            pass
        elif not isinstance(prompt, str) or not prompt.strip():
            problems.append(("prompt", prompt, "a non-empty text"))
        elif spec and len(prompt) > spec.prompt_max:
            problems.append(
                (
                    "prompt",
                    _clip(prompt),
                    f"at most {spec.prompt_max} characters for {spec.name} (got {len(prompt)});"
                    " the service would silently truncate it",
                )
            )
        neg = values["negative_prompt"]
        if neg is not None and (not isinstance(neg, str) or len(neg) > NEGATIVE_PROMPT_MAX):
            got = f" (got {len(neg)})" if isinstance(neg, str) else ""
            problems.append(
                (
                    "negative_prompt",
                    _clip(neg),
                    f"a text of at most {NEGATIVE_PROMPT_MAX} characters{got}",
                )
            )

    def _check_shape(self, values: dict[str, Any], spec: Any, problems: Problems) -> None:
        """size, resolution (and ratio): which of them a model takes, and their values."""
        size, resolution, ratio = (values.get(k) for k in ("size", "resolution", "ratio"))
        if size is not None:
            size = values["size"] = str(size).strip().replace("x", "*").replace("X", "*")
        if resolution is not None:
            resolution = values["resolution"] = str(resolution).strip().upper()
        if spec is None:
            if size is not None and not re.fullmatch(r"\d+\*\d+", size):
                problems.append(("size", size, "a W*H string such as 1280*720"))
            if resolution is not None and not re.fullmatch(r"\d+P", resolution):
                problems.append(("resolution", resolution, "a tier such as 720P or 1080P"))
            if ratio is not None and not re.fullmatch(r"\d+:\d+", str(ratio)):
                problems.append(("ratio", ratio, "an aspect ratio such as 16:9"))
            return
        if spec.uses_resolution:
            if size is not None:
                instead = "resolution and ratio" if spec.ratios else "resolution"
                problems.append(("size", size, f"not used by {spec.name}; set {instead} instead"))
            if resolution is not None and resolution not in spec.resolutions:
                problems.append(("resolution", resolution, "one of " + ", ".join(spec.resolutions)))
            if ratio is not None and ratio not in spec.ratios:
                allowed = ", ".join(spec.ratios) if spec.ratios else None
                problems.append(
                    ("ratio", ratio, f"one of {allowed}" if allowed else f"not used by {spec.name}")
                )
            return
        if size is not None and size not in spec.sizes:
            problems.append(("size", size, f"one of {', '.join(spec.sizes)} for {spec.name}"))
        for name in ("resolution", "ratio"):
            if values.get(name) is not None:
                problems.append(
                    (name, values[name], f"only for wan2.7-t2v; {spec.name} takes size instead")
                )

    def _check_numbers(self, values: dict[str, Any], spec: Any, problems: Problems) -> None:
        for name in ("duration", "seed"):
            if values.get(name) is not None:
                coerced = _as_int(values[name])
                if coerced is None:
                    problems.append((name, values[name], "a whole number"))
                values[name] = coerced if coerced is not None else values[name]
        duration = values.get("duration")
        if isinstance(duration, int):
            if spec and duration not in spec.durations:
                problems.append(
                    ("duration", duration, f"{_allowed_durations(spec)} for {spec.name}")
                )
            elif duration <= 0:
                problems.append(("duration", duration, "a positive number of seconds"))
        seed = values.get("seed")
        if isinstance(seed, int) and not 0 <= seed <= SEED_MAX:
            problems.append(("seed", seed, f"an integer from 0 to {SEED_MAX}"))

    def _check_switches(self, values: dict[str, Any], spec: Any, problems: Problems) -> None:
        """prompt_extend, watermark, audio, shot_type, audio_url, template: where allowed."""
        for name in ("prompt_extend", "watermark", "audio"):
            if values.get(name) is not None:
                coerced_bool = _as_bool(values[name])
                if coerced_bool is None:
                    problems.append((name, values[name], "true or false"))
                else:
                    values[name] = coerced_bool
        same_mode = models_of(*self.MODES)
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
        if values.get("audio") is not None and spec and not spec.audio_switch:
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
        audio = values.get("audio_url")
        if audio is not None:
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

    def _check_inputs(self, values: dict[str, Any], spec: Any, problems: Problems) -> None:
        """The mode's image inputs (none for text)."""

    @staticmethod
    def _check_image_value(name: str, value: Any, problems: Problems) -> None:
        if isinstance(value, LocalImage):
            return
        if not isinstance(value, str) or not value.strip():
            problems.append((name, _clip(value), _IMAGE_VALUE))
        elif value.startswith("data:") and not re.match(r"data:image/[\w.+-]+;base64,", value):
            problems.append((name, _clip(value), "a data URI such as data:image/png;base64,..."))

    # ---- the wire -------------------------------------------------------------------------
    def input_fields(self) -> dict[str, Any]:
        """``input`` of the body besides the image inputs: only what is set."""
        names = ("prompt", "negative_prompt", "audio_url", "template")
        return {n: getattr(self, n) for n in names if getattr(self, n, None) is not None}

    def to_body(self) -> dict[str, Any]:
        """The JSON body both API styles take, with only the fields that are set."""
        body: dict[str, Any] = {"model": self.model, "input": self.input_fields()}
        params = {n: getattr(self, n) for n in self.PARAMETERS if getattr(self, n) is not None}
        if params:
            body["parameters"] = params
        return body

    def fingerprint_body(self) -> dict[str, Any]:
        """What identifies the request for reattach: files read count by their content."""
        return self.map_media(lambda _label, v: _identity(v)).to_body()

    def map_media(self, change: Callable[[str, Any], Any]) -> Any:
        """The request with every image input passed through ``change(label, value)``.

        Labels name the field as the user knows it: ``image``, ``last_frame``,
        ``references[1]``.
        """
        updates: dict[str, Any] = {}
        for name in self.MEDIA_FIELDS:
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                updates[name] = tuple(change(f"{name}[{i}]", v) for i, v in enumerate(value))
            elif value is not None:
                updates[name] = change(name, value)
        return replace(self, **updates) if updates else self

    def media_values(self) -> list[Any]:
        """Every image input (after loading: URLs, data URIs, LocalImage, oss:// keys)."""
        found: list[Any] = []
        self.map_media(lambda _label, v: found.append(v) or v)
        return found

    @property
    def billed_tier(self) -> str | None:
        """The resolution tier the video is billed at (set value or model default)."""
        spec = self.spec
        if spec is None:
            return None
        return spec.tier(getattr(self, "size", None), getattr(self, "resolution", None))

    @property
    def effective_duration(self) -> int:
        """Seconds of video that will be made (and billed): the set value or the model default."""
        duration = getattr(self, "duration", None)
        if duration is not None:
            return int(duration)
        spec = self.spec
        return spec.default_duration if spec else 5

    @property
    def price_name(self) -> str:
        """The price table entry: the model, or its silent variant when the sound is off."""
        return (
            silent_price_name(self.model) if getattr(self, "audio", None) is False else self.model
        )

    @property
    def billed_input_seconds(self) -> float:
        """Seconds of input video billed besides the output (reference videos); 0 if none."""
        return 0.0


def silent_price_name(model: str) -> str:
    """The price table key of a model's sound-off variant (wan2.6-i2v-flash with audio=False)."""
    return f"{model}:silent"


@dataclass(frozen=True)
class Text2VideoRequest(VideoRequest):
    """One text-to-video request, as the user set it (``None`` = not set, not sent)."""

    prompt: str
    negative_prompt: str | None = None
    audio_url: str | None = None
    size: str | None = None
    duration: int | None = None
    prompt_extend: bool | None = None
    shot_type: str | None = None
    seed: int | None = None
    watermark: bool | None = None
    resolution: str | None = None
    ratio: str | None = None

    PARAMETERS = (
        "size",
        "resolution",
        "ratio",
        "duration",
        "prompt_extend",
        "shot_type",
        "seed",
        "watermark",
    )


@dataclass(frozen=True)
class Image2VideoRequest(VideoRequest):
    """Image to video: a first frame (and, for some models, a last frame)."""

    image: Any = None
    last_frame: Any = None
    prompt: str | None = None
    negative_prompt: str | None = None
    audio_url: str | None = None
    audio: bool | None = None
    resolution: str | None = None
    duration: int | None = None
    prompt_extend: bool | None = None
    shot_type: str | None = None
    template: str | None = None
    seed: int | None = None
    watermark: bool | None = None

    MODES = (IMAGE, FRAMES)
    PROMPT_REQUIRED = False
    MEDIA_FIELDS = ("image", "last_frame")
    PARAMETERS = (
        "resolution",
        "duration",
        "prompt_extend",
        "shot_type",
        "audio",
        "seed",
        "watermark",
    )

    def _check_inputs(self, values: dict[str, Any], spec: Any, problems: Problems) -> None:
        if values["image"] is None:
            problems.append(("image", None, _IMAGE_VALUE))
        else:
            self._check_image_value("image", values["image"], problems)
        if values["last_frame"] is not None:
            if not self.route.last_frame:
                with_last = [s for s in models_of(*self.MODES) if s.last_frame]
                problems.append(
                    (
                        "last_frame",
                        _clip(values["last_frame"]),
                        f"not taken by {self.model}; only {_names(with_last)}",
                    )
                )
            else:
                self._check_image_value("last_frame", values["last_frame"], problems)
        if values["audio_url"] is not None and self.route.shape == SHAPE_FRAME_URLS:
            problems.append(("audio_url", values["audio_url"], f"{self.model} makes silent videos"))

    def input_fields(self) -> dict[str, Any]:
        inp = super().input_fields()
        shape = self.route.shape
        if shape == SHAPE_MEDIA:
            media = [{"type": "first_frame", "url": _wire(self.image)}]
            if self.last_frame is not None:
                media.append({"type": "last_frame", "url": _wire(self.last_frame)})
            if inp.get("audio_url"):
                media.append({"type": "driving_audio", "url": inp.pop("audio_url")})
            inp["media"] = media
        elif shape == SHAPE_FRAME_URLS:
            inp["first_frame_url"] = _wire(self.image)
            if self.last_frame is not None:
                inp["last_frame_url"] = _wire(self.last_frame)
        else:
            inp["img_url"] = _wire(self.image)
        return inp


@dataclass(frozen=True)
class Reference2VideoRequest(VideoRequest):
    """Reference to video: 1-5 subjects (images, or videos by URL), named in the prompt."""

    prompt: str
    references: tuple[Any, ...] = ()
    negative_prompt: str | None = None
    size: str | None = None
    duration: int | None = None
    shot_type: str | None = None
    audio: bool | None = None
    seed: int | None = None
    watermark: bool | None = None

    MODES = (REFERENCE,)
    MEDIA_FIELDS = ("references",)
    PARAMETERS = ("size", "duration", "shot_type", "audio", "seed", "watermark")

    def __post_init__(self) -> None:
        refs = self.references
        if isinstance(refs, str) and refs.strip().startswith("["):
            refs = _parse_list(refs)  # a template that rendered a list as its text
        if isinstance(refs, (str, LocalImage)):
            refs = (refs,)
        object.__setattr__(self, "references", tuple(refs) if refs is not None else ())

    def _check_inputs(self, values: dict[str, Any], spec: Any, problems: Problems) -> None:
        refs = values["references"]
        if not 1 <= len(refs) <= MAX_REFERENCES:
            problems.append(
                ("references", _clip(list(refs)), f"1 to {MAX_REFERENCES} images or videos")
            )
        for i, ref in enumerate(refs):
            self._check_image_value(f"references[{i}]", ref, problems)

    def input_fields(self) -> dict[str, Any]:
        inp = super().input_fields()
        inp["reference_urls"] = [_wire(r) for r in self.references]
        return inp

    @property
    def billed_input_seconds(self) -> float:
        """An estimate's upper bound: reference videos are billed up to 5 s in total."""
        videos = [r for r in self.references if isinstance(r, str) and _looks_like_video(r)]
        return REFERENCE_VIDEO_SECONDS_MAX if videos else 0.0


REFERENCE_VIDEO_SECONDS_MAX = 5.0
_VIDEO_SUFFIXES = (".mp4", ".mov")


def _parse_list(text: str) -> Any:
    import ast
    import json

    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, list):
            return value
    return text


def _looks_like_video(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(_VIDEO_SUFFIXES) or url.startswith("data:video/")


def _clip(value: Any, limit: int = 60) -> Any:
    """Shorten long texts inside error messages."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value


@dataclass(frozen=True)
class Submission:
    """What a successful submission returns."""

    task_id: str
    request_id: str | None
    status: TaskStatus = TaskStatus.PENDING


@dataclass(frozen=True)
class Usage:
    """Billed output, normalised from both answer shapes (pre-wan2.6 and wan2.6+)."""

    video_count: int | None = None
    video_seconds: float | None = None
    size: str | None = None
    resolution: int | None = None  # "SR": 480, 720, 1080
    raw: dict[str, Any] = field(default_factory=dict)
    input_video_seconds: float | None = None  # reference videos, billed too (r2v)

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        seconds = raw.get("output_video_duration", raw.get("video_duration", raw.get("duration")))
        sr = raw.get("SR")
        inp = raw.get("input_video_duration")
        return cls(
            video_count=_as_int(raw.get("video_count")),
            video_seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
            size=raw.get("size") or raw.get("video_ratio"),
            resolution=_as_int(sr) if sr is not None else None,
            raw=dict(raw),
            input_video_seconds=float(inp) if isinstance(inp, (int, float)) else None,
        )

    @property
    def tier(self) -> str | None:
        if self.resolution:
            return f"{self.resolution}P"
        return tier_of_size(self.size)


@dataclass(frozen=True)
class TaskResult:
    """One task as the query endpoint describes it, whatever the API style."""

    task_id: str
    status: TaskStatus
    request_id: str | None = None
    video_url: str | None = None
    orig_prompt: str | None = None
    actual_prompt: str | None = None
    submit_time: str | None = None
    scheduled_time: str | None = None
    end_time: str | None = None
    code: str | None = None
    message: str | None = None
    usage: Usage | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict for XCom and trigger events."""
        data = asdict(self)
        data["status"] = self.status.value
        data["usage"] = self.usage.raw if self.usage else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskResult:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["status"] = TaskStatus.parse(data.get("status"))
        kwargs["usage"] = Usage.parse(data.get("usage"))
        return cls(**kwargs)

    def describe_failure(self) -> str:
        """A one-line account of why the task did not succeed."""
        if self.status is TaskStatus.UNKNOWN:
            return f"Bailian task {self.task_id} is UNKNOWN: no such task, or it is older than 24 hours"
        reason = f"{self.code}: {self.message}" if self.code or self.message else "no reason given"
        return f"Bailian task {self.task_id} ended {self.status.value} ({reason})"
