"""Request types, one per mode, and the JSON body they are sent as.

Everything here is plain Python (no Airflow, no I/O). A request holds what the user set;
its inputs (frames, clips, references, voices, the video to edit...) are typed media
items (``MediaItem``, in ``inputs.py``, re-exported here), whether they came from a mode's
friendly parameters (``image``, ``references``...) or from the ``media`` list every mode
takes. Validation is ``validation.py`` (each mode's rules in one place, against the
capability table); the body, the same for both API styles, is :func:`request_body` (the
styles' paths and headers are ``protocol.py``); statuses and results are ``results.py``
(re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from airflow_provider_bailian.capabilities import (
    EDIT,
    FRAMES,
    IMAGE,
    IMAGE_FORMATS,
    MODELS,
    RATIOS,
    REFERENCE,
    SHAPE_FRAME_URLS,
    SHAPE_IMG_URL,
    SHAPE_MEDIA,
    SHAPE_PROMPT,
    SHAPE_REFERENCES,
    SHAPE_SPEECH,
    SIZE_TIERS,
    SPEECH,
    TEXT,
    ModelSpec,
    get_model_spec,
    guess_spec,
    models_of,
    running_limit,
    tier_of_size,
)
from airflow_provider_bailian.inputs import (
    LocalFile,
    LocalImage,
    MediaItem,
    identity,
    looks_like_video,
    parse_list,
    parse_media,
    wire,
)
from airflow_provider_bailian.results import Submission, TaskResult, TaskStatus, Usage
from airflow_provider_bailian.validation import validate_request

__all__ = [
    "IMAGE_FORMATS",
    "MODELS",
    "RATIOS",
    "SIZE_TIERS",
    "TEXT",
    "Image2VideoRequest",
    "LocalFile",
    "LocalImage",
    "MediaItem",
    "ModelSpec",
    "Reference2VideoRequest",
    "Speech2VideoRequest",
    "Submission",
    "TaskResult",
    "TaskStatus",
    "Text2VideoRequest",
    "Usage",
    "VideoEditRequest",
    "VideoRequest",
    "get_model_spec",
    "models_of",
    "running_limit",
    "tier_of_size",
]


def _as_tuple(value: Any, single: tuple[type, ...] = (str, LocalImage, LocalFile)) -> tuple:
    if isinstance(value, str) and value.strip().startswith("["):
        value = parse_list(value)  # a template that rendered a list as its text
    if value is None or value == "":
        return ()
    if isinstance(value, single):
        return (value,)
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class _Media:
    """The ``media`` list every mode takes (keyword-only, after each mode's own fields)."""

    media: tuple[Any, ...] = ()


@dataclass(frozen=True)
class VideoRequest(_Media):
    """What every generation request has: a model, its inputs, a body, a billed duration.

    One subclass per mode. The hook, the price table and the shared operator base work on
    this type and never ask which mode they hold; the model's row in the capability table
    says how it is sent.
    """

    model: str

    MODES: ClassVar[tuple[str, ...]] = (TEXT,)
    #: The mode's rules in ``validation.py``.
    RULES: ClassVar[str] = "text"
    PROMPT_REQUIRED: ClassVar[bool] = True
    #: Friendly fields whose values are inputs: field -> media type (None: by the value).
    INPUTS: ClassVar[tuple[tuple[str, str | None], ...]] = ()
    #: ``input`` fields that are text or plain URLs.
    TEXT_INPUTS: ClassVar[tuple[str, ...]] = ("prompt", "negative_prompt", "audio_url", "template")
    #: Fields sent under ``parameters`` when set.
    PARAMETERS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", parse_media(self.media))
        for item in fields(self):
            if item.default == () and item.name != "media":  # list inputs (references...)
                object.__setattr__(self, item.name, _as_tuple(getattr(self, item.name)))

    @property
    def spec(self) -> ModelSpec | None:
        return get_model_spec(self.model)

    @property
    def route(self) -> ModelSpec:
        """The model's row, or a guess by its name for a model missing from the table."""
        spec = self.spec
        return spec if spec is not None else guess_spec(str(self.model), self.MODES[0])

    def validated(self) -> tuple[Any, list[str]]:
        """Check every field and input against the capability table (``validation.py``).

        Returns the request with templated strings coerced ("5" -> 5) and a list of
        warnings; raises ``BailianValidationError`` naming each bad field, its value and
        what is allowed. Nothing is sent before this passes.
        """
        return validate_request(self)

    # ---- inputs ---------------------------------------------------------------------------
    def input_fields_map(self) -> tuple[tuple[str, str | None], ...]:
        return self.INPUTS

    def input_type(self, name: str, value: Any) -> str:
        """The media type of a friendly field's value (fixed, or decided by the value)."""
        return dict(self.input_fields_map()).get(name) or "reference_image"

    def friendly_items(self) -> list[MediaItem]:
        """The inputs the mode's own parameters give, in the order the prompt counts them."""
        items: list[MediaItem] = []
        for name, _type in self.input_fields_map():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, tuple):
                items += [
                    MediaItem(self.input_type(name, v), v, label=f"{name}[{i}]")
                    for i, v in enumerate(value)
                ]
            else:
                items.append(MediaItem(self.input_type(name, value), value, label=name))
        return items

    def media_items(self) -> list[MediaItem]:
        """Every input of the request: the friendly parameters first, then ``media``."""
        return self.friendly_items() + [m for m in self.media if isinstance(m, MediaItem)]

    def map_inputs(self, change: Callable[[str, str, Any], Any]) -> Any:
        """The request with every input value passed through ``change(label, type, value)``."""
        updates: dict[str, Any] = {}
        for name, _type in self.input_fields_map():
            value = getattr(self, name)
            if isinstance(value, tuple):
                updates[name] = tuple(
                    change(f"{name}[{i}]", self.input_type(name, v), v) for i, v in enumerate(value)
                )
            elif value is not None:
                updates[name] = change(name, self.input_type(name, value), value)
        if self.media:
            updates["media"] = tuple(
                m.with_values(change) if isinstance(m, MediaItem) else m for m in self.media
            )
        return replace(self, **updates) if updates else self

    def map_media(self, change: Callable[[str, Any], Any]) -> Any:
        """``map_inputs`` for changes that do not need the type."""
        return self.map_inputs(lambda label, _type, value: change(label, value))

    def media_values(self) -> list[Any]:
        """Every input value (after loading: URLs, data URIs, LocalImage, LocalFile, oss://)."""
        found: list[Any] = []

        def keep(_label: str, _type: str, value: Any) -> Any:
            found.append(value)
            return value

        self.map_inputs(keep)
        return found

    def text_inputs(self) -> dict[str, Any]:
        """``input`` of the body besides the media: only what is set."""
        return {n: getattr(self, n) for n in self.TEXT_INPUTS if getattr(self, n, None) is not None}

    def parameters(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.PARAMETERS if getattr(self, n) is not None}

    # ---- the wire (laid out by request_body) --------------------------------------------------
    def to_body(self) -> dict[str, Any]:
        """The JSON body both API styles take, with only the fields that are set."""
        return request_body(self)

    def fingerprint_body(self) -> dict[str, Any]:
        """What identifies the request for reattach: files read count by their content."""
        return self.map_inputs(lambda _label, _type, v: identity(v)).to_body()

    # ---- spend ------------------------------------------------------------------------------
    @property
    def billed_tier(self) -> str | None:
        """The resolution tier the video is billed at (set value or model default)."""
        spec = self.spec
        if spec is None:
            return None
        return spec.tier(getattr(self, "size", None), getattr(self, "resolution", None))

    @property
    def effective_duration(self) -> int:
        """Seconds of video that will be made (and billed): the set value or the model default.

        ``-1`` (the model picks) and ``0`` (the input's length) count at the model's maximum,
        so ``max_cost`` and plans stay on the safe side.
        """
        duration = getattr(self, "duration", None)
        spec = self.spec
        if duration is not None and int(duration) > 0:
            return int(duration)
        if duration is not None and spec is not None:
            return spec.max_duration
        return spec.default_duration if spec else 5

    @property
    def price_name(self) -> str:
        """The price table entry: the model, or its silent variant when the sound is off."""
        return (
            silent_price_name(self.model) if getattr(self, "audio", None) is False else self.model
        )

    @property
    def billed_input_seconds(self) -> float:
        """Seconds of input video billed besides the output, where the model bills them.

        Local files count by their length; a video given by URL counts at the model's cap
        (an upper bound), or at the output's length where all input seconds are billed.
        """
        spec = self.spec
        cap = spec.input_video_billed if spec else None
        if not cap:
            return 0.0
        total = 0.0
        for item in self.media_items():
            if item.type not in BILLED_VIDEO_TYPES:
                continue
            video = item.url
            if isinstance(video, LocalFile) and video.seconds is not None:
                total += video.seconds
            else:  # length unknown before the answer: the cap, or the output's length
                total += cap if cap != float("inf") else float(self.effective_duration)
        return float(min(total, cap))


#: Inputs billed by the second where a model bills input video.
BILLED_VIDEO_TYPES = ("reference_video", "video")


def silent_price_name(model: str) -> str:
    """The price table key of a model's sound-off variant (wan2.6-i2v-flash with audio=False)."""
    return f"{model}:silent"


# ---- the body: where each input goes, by the model's input shape -------------------------
#: Older shapes: media type -> input field (a ``[]`` suffix collects a list, in order).
INPUT_LAYOUTS: dict[str, dict[str, str]] = {
    SHAPE_PROMPT: {},
    SHAPE_IMG_URL: {"first_frame": "img_url"},
    SHAPE_FRAME_URLS: {"first_frame": "first_frame_url", "last_frame": "last_frame_url"},
    SHAPE_REFERENCES: {
        "reference_image": "reference_urls[]",
        "reference_video": "reference_urls[]",
    },
    SHAPE_SPEECH: {"portrait": "image_url", "speech": "audio_url"},
}


def request_body(request: VideoRequest) -> dict[str, Any]:
    """The JSON body of any request (both styles): ``model``, ``input``, ``parameters``.

    The media protocol lays every input out as ``input.media = [{"type", "url", ...}]`` in
    the request's order (the order the prompt counts them); older shapes put each input in
    its own field (``img_url``, ``first_frame_url``, ``reference_urls``, ``image_url``).
    """
    shape = request.route.shape
    inp = request.text_inputs()
    items = request.media_items()
    if shape == SHAPE_MEDIA:
        if items:
            inp["media"] = [
                {
                    "type": item.type,
                    "url": wire(item.url),
                    **{k: wire(v) for k, v in item.extra.items() if v is not None},
                }
                for item in items
            ]
    else:
        layout = INPUT_LAYOUTS.get(shape, {})
        for item in items:
            where = layout.get(item.type)
            if where is None:
                # Airflow's exception classes, loaded only on this refusal (as in validation).
                from airflow_provider_bailian.exceptions import BailianValidationError

                raise BailianValidationError(
                    [(item.label, item.url, f"not an input of {request.model} ({shape})")]
                )
            if where.endswith("[]"):
                inp.setdefault(where[:-2], []).append(wire(item.url))
            else:
                inp[where] = wire(item.url)
    body: dict[str, Any] = {"model": request.model, "input": inp}
    params = request.parameters()
    if params:
        body["parameters"] = params
    return body


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
    audio: bool | None = None

    PARAMETERS = (
        "size",
        "resolution",
        "ratio",
        "duration",
        "prompt_extend",
        "shot_type",
        "audio",
        "seed",
        "watermark",
    )


@dataclass(frozen=True)
class Image2VideoRequest(VideoRequest):
    """Image to video: a first frame (or a clip to continue), optionally a last frame."""

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
    first_clip: Any = None
    ratio: str | None = None

    MODES = (IMAGE, FRAMES)
    RULES = "image"
    PROMPT_REQUIRED = False
    INPUTS = (("image", "first_frame"), ("first_clip", "first_clip"), ("last_frame", "last_frame"))
    PARAMETERS = (
        "resolution",
        "ratio",
        "duration",
        "prompt_extend",
        "shot_type",
        "audio",
        "seed",
        "watermark",
    )

    def input_fields_map(self) -> tuple[tuple[str, str | None], ...]:
        # The media protocol takes the soundtrack as a driving audio input (any input form).
        if self.route.shape == SHAPE_MEDIA:
            return (*self.INPUTS, ("audio_url", "driving_audio"))
        return self.INPUTS

    def text_inputs(self) -> dict[str, Any]:
        inp = super().text_inputs()
        if self.route.shape == SHAPE_MEDIA:
            inp.pop("audio_url", None)
        return inp


@dataclass(frozen=True)
class Reference2VideoRequest(VideoRequest):
    """Reference to video: subjects (images or videos), voices and audio, named in the prompt."""

    prompt: str
    references: tuple[Any, ...] = ()
    negative_prompt: str | None = None
    size: str | None = None
    duration: int | None = None
    shot_type: str | None = None
    audio: bool | None = None
    seed: int | None = None
    watermark: bool | None = None
    resolution: str | None = None
    ratio: str | None = None
    reference_voices: tuple[Any, ...] = ()
    reference_audio: tuple[Any, ...] = ()

    MODES = (REFERENCE,)
    RULES = "reference"
    INPUTS = (
        ("references", None),
        ("reference_voices", "reference_voice"),
        ("reference_audio", "reference_audio"),
    )
    PARAMETERS = (
        "size",
        "resolution",
        "ratio",
        "duration",
        "shot_type",
        "audio",
        "seed",
        "watermark",
    )

    def input_type(self, name: str, value: Any) -> str:
        if name == "references":
            return "reference_video" if looks_like_video(value) else "reference_image"
        return super().input_type(name, value)

    def friendly_items(self) -> list[MediaItem]:
        """References in order, each with its voice (``reference_voice``), then the audio."""
        items = [
            MediaItem(self.input_type("references", ref), ref, label=f"references[{i}]")
            for i, ref in enumerate(self.references)
        ]
        for i, voice in enumerate(self.reference_voices):
            if i < len(items) and voice:
                items[i] = replace(items[i], extra={"reference_voice": voice})
        items += [
            MediaItem("reference_audio", a, label=f"reference_audio[{i}]")
            for i, a in enumerate(self.reference_audio)
        ]
        return items


@dataclass(frozen=True)
class VideoEditRequest(VideoRequest):
    """Video editing: one input video, restyled or changed by the prompt and reference images."""

    video: Any = None
    references: tuple[Any, ...] = ()
    prompt: str | None = None
    negative_prompt: str | None = None
    resolution: str | None = None
    duration: int | None = None
    audio_setting: str | None = None
    prompt_extend: bool | None = None
    seed: int | None = None
    watermark: bool | None = None

    MODES = (EDIT,)
    RULES = "edit"
    PROMPT_REQUIRED = False
    INPUTS = (("video", "video"), ("references", "reference_image"))
    PARAMETERS = (
        "resolution",
        "duration",
        "audio_setting",
        "prompt_extend",
        "seed",
        "watermark",
    )

    @property
    def effective_duration(self) -> int:
        """The set length, else the input video's (when read), else the model's maximum."""
        duration = self.duration
        if duration is not None and int(duration) > 0:
            return int(duration)
        spec = self.spec
        longest = spec.max_duration if spec else 10
        video = self.video
        if isinstance(video, LocalFile) and video.seconds:
            return max(1, min(longest, round(video.seconds)))
        return longest


@dataclass(frozen=True)
class Speech2VideoRequest(VideoRequest):
    """Speech to video: a portrait that speaks the given audio (wan2.2-s2v)."""

    image: Any = None
    audio: Any = None
    resolution: str | None = None

    MODES = (SPEECH,)
    RULES = "speech"
    PROMPT_REQUIRED = False
    INPUTS = (("image", "portrait"), ("audio", "speech"))
    TEXT_INPUTS = ()
    PARAMETERS = ("resolution",)

    @property
    def effective_duration(self) -> int:
        """The speech's length when read (WAV), else the model's longest (20 s)."""
        spec = self.spec
        longest = spec.default_duration if spec else 20
        if isinstance(self.audio, LocalFile) and self.audio.seconds:
            return max(1, min(longest, round(self.audio.seconds + 0.499)))
        return longest

    @property
    def price_name(self) -> str:
        return self.model
