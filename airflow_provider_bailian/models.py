"""Request and result types, task statuses and the model capability table.

Everything here is plain Python (no Airflow, no I/O) so the hook, the trigger,
the operator and the emulator-facing tests share one definition of "a valid
request" and "a task result". The capability table is the single place to
correct when Alibaba changes a model: see ``MODELS``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_bailian.exceptions import BailianValidationError

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


# Size strings by resolution tier and aspect ratio (W*H only).
SIZE_TIERS: dict[str, dict[str, str]] = {
    "480P": {"16:9": "832*480", "9:16": "480*832", "1:1": "624*624"},
    "720P": {
        "16:9": "1280*720",
        "9:16": "720*1280",
        "1:1": "960*960",
        "4:3": "1088*832",
        "3:4": "832*1088",
    },
    "1080P": {
        "16:9": "1920*1080",
        "9:16": "1080*1920",
        "1:1": "1440*1440",
        "4:3": "1632*1248",
        "3:4": "1248*1632",
    },
}
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")


def tier_of_size(size: str | None) -> str | None:
    """The resolution tier ("720P") of a ``W*H`` size string, if it is a known one."""
    for tier, by_ratio in SIZE_TIERS.items():
        if size in by_ratio.values():
            return tier
    return None


def _sizes(*tiers: str) -> tuple[str, ...]:
    return tuple(size for tier in tiers for size in SIZE_TIERS[tier].values())


@dataclass(frozen=True)
class ModelSpec:
    """What one Wan text-to-video model accepts."""

    name: str
    durations: tuple[int, ...]
    prompt_max: int
    sizes: tuple[str, ...] = ()
    default_size: str | None = None
    audio: bool = False
    shot_type: bool = False
    # wan2.7's newer protocol: resolution + ratio instead of size.
    resolutions: tuple[str, ...] = ()
    ratios: tuple[str, ...] = ()
    default_resolution: str | None = None
    default_duration: int = 5
    aliases: tuple[str, ...] = ()

    @property
    def uses_resolution(self) -> bool:
        return bool(self.resolutions)

    def tier(self, size: str | None = None, resolution: str | None = None) -> str | None:
        """The resolution tier a request is billed at (explicit value or the model default)."""
        if self.uses_resolution:
            return (resolution or self.default_resolution or "").upper() or None
        return tier_of_size(size or self.default_size)


_WAN_RECENT = {"audio": True, "prompt_max": 1500}

#: The capability table (bailian-api.md, section 3). Correct it here when Alibaba changes a model.
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="wan2.7-t2v",
            durations=tuple(range(2, 16)),
            prompt_max=5000,
            audio=True,
            resolutions=("720P", "1080P"),
            ratios=RATIOS,
            default_resolution="1080P",
            aliases=("wan2.7-t2v-2026-04-25",),
        ),
        ModelSpec(
            name="wan2.6-t2v",
            durations=tuple(range(2, 16)),
            sizes=_sizes("720P", "1080P"),
            default_size="1920*1080",
            shot_type=True,
            **_WAN_RECENT,
        ),
        ModelSpec(
            # Virginia; sources disagree on durations (5/10 or 2-15): the wider set is allowed.
            name="wan2.6-t2v-us",
            durations=tuple(range(2, 16)),
            sizes=_sizes("720P", "1080P"),
            default_size="1920*1080",
            shot_type=True,
            **_WAN_RECENT,
        ),
        ModelSpec(
            name="wan2.5-t2v-preview",
            durations=(5, 10),
            sizes=_sizes("480P", "720P", "1080P"),
            default_size="1920*1080",
            **_WAN_RECENT,
        ),
        ModelSpec(
            name="wan2.2-t2v-plus",
            durations=(5,),
            prompt_max=800,
            sizes=_sizes("480P", "1080P"),
            default_size="1920*1080",
        ),
        ModelSpec(
            name="wanx2.1-t2v-turbo",
            durations=(5,),
            prompt_max=800,
            sizes=_sizes("480P", "720P"),
            default_size="1280*720",
            aliases=("wan2.1-t2v-turbo",),
        ),
        ModelSpec(
            name="wanx2.1-t2v-plus",
            durations=(5,),
            prompt_max=800,
            sizes=_sizes("720P"),
            default_size="1280*720",
            aliases=("wan2.1-t2v-plus",),
        ),
    )
}
_ALIASES = {alias: spec for spec in MODELS.values() for alias in spec.aliases}


def get_model_spec(model: str) -> ModelSpec | None:
    """The capability entry of a model or of one of its aliases; ``None`` when unknown."""
    return MODELS.get(model) or _ALIASES.get(model)


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


@dataclass(frozen=True)
class VideoRequest:
    """What every generation request has: a model, a body, a billed duration.

    One subclass per mode (text, image, reference); the hook, the price table and the
    shared operator base work on this type and never ask which mode they hold.
    """

    model: str

    @property
    def spec(self) -> ModelSpec | None:
        return get_model_spec(self.model)

    def validated(self) -> tuple[VideoRequest, list[str]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_body(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def fingerprint_body(self) -> dict[str, Any]:
        """What identifies the request for reattach: the body unless a mode says more."""
        return self.to_body()

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

    def validated(self) -> tuple[Text2VideoRequest, list[str]]:
        """Check every field against the capability table.

        Returns the request with templated strings coerced ("5" -> 5) and a list of
        warnings; raises ``BailianValidationError`` naming each bad field, its value
        and what is allowed. Nothing is sent before this passes.
        """
        problems: list[tuple[str, Any, str]] = []
        warnings: list[str] = []
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        # Empty strings from templates mean "not set".
        for name, value in values.items():
            if isinstance(value, str) and not value.strip() and name not in ("model", "prompt"):
                values[name] = None

        model = values["model"]
        spec = None
        if not isinstance(model, str) or not model.strip():
            problems.append(("model", model, "a model name such as " + ", ".join(MODELS)))
        else:
            spec = get_model_spec(model)
            if spec is None:
                warnings.append(
                    f"Model {model!r} is not in this provider's capability table "
                    f"(known: {', '.join(MODELS)}); only the generic rules were checked."
                )

        prompt = values["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
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

        self._check_shape(values, spec, problems)

        for name in ("duration", "seed"):
            if values[name] is not None:
                coerced = _as_int(values[name])
                if coerced is None:
                    problems.append((name, values[name], "a whole number"))
                values[name] = coerced if coerced is not None else values[name]
        duration = values["duration"]
        if isinstance(duration, int):
            if spec and duration not in spec.durations:
                problems.append(
                    ("duration", duration, f"{_allowed_durations(spec)} for {spec.name}")
                )
            elif duration <= 0:
                problems.append(("duration", duration, "a positive number of seconds"))
        seed = values["seed"]
        if isinstance(seed, int) and not 0 <= seed <= SEED_MAX:
            problems.append(("seed", seed, f"an integer from 0 to {SEED_MAX}"))

        for name in ("prompt_extend", "watermark"):
            if values[name] is not None:
                coerced_bool = _as_bool(values[name])
                if coerced_bool is None:
                    problems.append((name, values[name], "true or false"))
                else:
                    values[name] = coerced_bool

        shot = values["shot_type"]
        if shot is not None:
            if shot not in SHOT_TYPES:
                problems.append(("shot_type", shot, "one of " + ", ".join(SHOT_TYPES)))
            elif spec and not spec.shot_type:
                with_shots = [s.name for s in MODELS.values() if s.shot_type]
                problems.append(
                    (
                        "shot_type",
                        shot,
                        f"not supported by {spec.name}; only {', '.join(with_shots)}",
                    )
                )
            elif values["prompt_extend"] is False:
                problems.append(
                    (
                        "shot_type",
                        shot,
                        "only effective with prompt_extend=True (got prompt_extend=False)",
                    )
                )

        audio = values["audio_url"]
        if audio is not None:
            parts = urlsplit(audio) if isinstance(audio, str) else None
            if parts is None or parts.scheme not in AUDIO_URL_SCHEMES or not parts.netloc:
                problems.append(
                    ("audio_url", audio, "an http://, https:// or oss:// URL of a wav or mp3")
                )
            elif spec and not spec.audio:
                with_audio = [s.name for s in MODELS.values() if s.audio]
                problems.append(
                    (
                        "audio_url",
                        audio,
                        f"{spec.name} makes silent videos; audio needs {', '.join(with_audio)}",
                    )
                )

        if problems:
            raise BailianValidationError(problems)
        return replace(self, **values), warnings

    @staticmethod
    def _check_shape(
        values: dict[str, Any], spec: ModelSpec | None, problems: list[tuple[str, Any, str]]
    ) -> None:
        """size for most models; resolution + ratio for wan2.7's newer protocol."""
        size, resolution, ratio = values["size"], values["resolution"], values["ratio"]
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
                problems.append(
                    ("size", size, f"not used by {spec.name}; set resolution and ratio instead")
                )
            if resolution is not None and resolution not in spec.resolutions:
                problems.append(("resolution", resolution, "one of " + ", ".join(spec.resolutions)))
            if ratio is not None and ratio not in spec.ratios:
                problems.append(("ratio", ratio, "one of " + ", ".join(spec.ratios)))
            return
        if size is not None and size not in spec.sizes:
            problems.append(("size", size, f"one of {', '.join(spec.sizes)} for {spec.name}"))
        for name in ("resolution", "ratio"):
            if values[name] is not None:
                problems.append(
                    (name, values[name], f"only for wan2.7-t2v; {spec.name} takes size instead")
                )

    def to_body(self) -> dict[str, Any]:
        """The JSON body both API styles take, with only the fields that are set."""
        inp = {"prompt": self.prompt}
        for name in ("negative_prompt", "audio_url"):
            if getattr(self, name) is not None:
                inp[name] = getattr(self, name)
        params = {
            name: getattr(self, name)
            for name in (
                "size",
                "resolution",
                "ratio",
                "duration",
                "prompt_extend",
                "shot_type",
                "seed",
                "watermark",
            )
            if getattr(self, name) is not None
        }
        body: dict[str, Any] = {"model": self.model, "input": inp}
        if params:
            body["parameters"] = params
        return body


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

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        seconds = raw.get("output_video_duration", raw.get("video_duration", raw.get("duration")))
        sr = raw.get("SR")
        return cls(
            video_count=_as_int(raw.get("video_count")),
            video_seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
            size=raw.get("size") or raw.get("video_ratio"),
            resolution=_as_int(sr) if sr is not None else None,
            raw=dict(raw),
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
