"""The model capability table: what each Wan model accepts, for every mode.

One row per model: its mode (text, image, first-and-last frame, reference), the
endpoint and input shape it is sent with, its sizes or resolutions, durations, input
image limits and switches. ``protocol.py`` routes a request by looking its model up
here and validation reads the same row, so correcting a model is one edit
(bailian-api.md sections 3 and 11-13; [?] facts are marked where they are set).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Modes: what the user gives.
TEXT, IMAGE, FRAMES, REFERENCE = "t2v", "i2v", "kf2v", "r2v"
EDIT, SPEECH = "edit", "s2v"
# Input shapes: where the inputs go in the body.
SHAPE_PROMPT = "prompt"  # text only
SHAPE_IMG_URL = "img_url"  # input.img_url (wan2.6 and older i2v)
SHAPE_MEDIA = "media"  # input.media = [{type, url}] (wan2.7-i2v)
SHAPE_FRAME_URLS = "frame_urls"  # input.first_frame_url / last_frame_url (kf2v)
SHAPE_REFERENCES = "reference_urls"  # input.reference_urls (r2v)
SHAPE_SPEECH = "image_audio_url"  # input.image_url + input.audio_url (s2v)
# DashScope endpoints.
ENDPOINT_VIDEO = "video-generation"
ENDPOINT_IMAGE2VIDEO = "image2video"

IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP")
MAX_REFERENCES = 5

# ---- media: one entry per type of input (bailian-api.md section 17) ------------------------
# Kinds decide how a file the provider reads goes out: images inline as data URIs (or
# uploaded), videos, audio and documents always through the temporary upload, links as is.
KIND_IMAGE, KIND_VIDEO, KIND_AUDIO, KIND_DOCUMENT, KIND_LINK = (
    "image",
    "video",
    "audio",
    "document",
    "link",
)


@dataclass(frozen=True)
class MediaKind:
    """What a kind of input file is: its formats (by their first bytes) and size limit."""

    name: str
    formats: tuple[str, ...]
    max_mb: int  # [?] where Alibaba gives none; the model row may be stricter
    inline: bool = False  # may go as a data: URI (documented for images only)
    readable: bool = True  # False: a URL only (links)


MEDIA_KINDS: dict[str, MediaKind] = {
    KIND_IMAGE: MediaKind(KIND_IMAGE, IMAGE_FORMATS, 20, inline=True),
    KIND_VIDEO: MediaKind(KIND_VIDEO, ("MP4", "MOV"), 100),
    KIND_AUDIO: MediaKind(KIND_AUDIO, ("WAV", "MP3"), 15),
    KIND_DOCUMENT: MediaKind(KIND_DOCUMENT, ("PDF",), 100),
    KIND_LINK: MediaKind(KIND_LINK, (), 0, readable=False),
}

#: Every ``input.media`` type and its kind. A new type is one entry here (and the rows that
#: take it). ``portrait`` and ``speech`` are the speech-to-video inputs (``image_url``,
#: ``audio_url`` on the wire).
MEDIA_TYPES: dict[str, str] = {
    "first_frame": KIND_IMAGE,
    "last_frame": KIND_IMAGE,
    "first_clip": KIND_VIDEO,
    "driving_audio": KIND_AUDIO,
    "reference_image": KIND_IMAGE,
    "reference_video": KIND_VIDEO,
    "reference_audio": KIND_AUDIO,
    "video": KIND_VIDEO,
    "file": KIND_DOCUMENT,
    "link": KIND_LINK,
    "portrait": KIND_IMAGE,
    "speech": KIND_AUDIO,
}
#: Extra keys of a media item whose values are inputs themselves (read and uploaded too).
MEDIA_EXTRA_INPUTS: dict[str, str] = {"reference_voice": KIND_AUDIO}

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
RATIO_ADAPTIVE = "adaptive"
HAPPYHORSE_RATIOS = (*RATIOS, "4:5", "5:4", "21:9", "9:21")
#: ``duration`` value asking the model to pick the length (wan3.0): estimated at its maximum.
DURATION_AUTO = -1


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
    """What one Wan model accepts, and how it is sent."""

    name: str
    durations: tuple[int, ...]
    prompt_max: int
    sizes: tuple[str, ...] = ()
    default_size: str | None = None
    audio: bool = False  # takes audio_url (or makes sound on its own)
    shot_type: bool = False
    # Resolution tiers instead of W*H sizes (wan2.7-t2v, every image mode).
    resolutions: tuple[str, ...] = ()
    ratios: tuple[str, ...] = ()
    default_resolution: str | None = None
    default_duration: int = 5
    aliases: tuple[str, ...] = ()
    mode: str = TEXT
    shape: str = SHAPE_PROMPT
    endpoint: str = ENDPOINT_VIDEO
    audio_switch: bool = False  # parameters.audio (sound on/off, billed differently)
    last_frame: bool = False
    template: bool = False
    # Input images: each side in pixels, the file size, the longest/shortest side ratio.
    image_px: tuple[int, int] = (360, 2000)
    image_max_mb: int = 10
    image_ratio_max: float | None = None
    # Other modes this model serves too (wan3.0-video: text, frames, references, editing).
    also: tuple[str, ...] = ()
    # The media protocol: (type, at most) pairs the model takes in input.media.
    media: tuple[tuple[str, int], ...] = ()
    # Groups of types that never go together (either group, not both).
    media_exclusive: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    media_total_max: int | None = None  # items of all reference types together
    media_seconds_max: tuple[tuple[str, float], ...] = ()  # total seconds per type
    media_extras: tuple[str, ...] = ()  # extra item keys taken (reference_voice)
    duration_auto: bool = False  # duration=-1: the model picks (estimated at the maximum)
    audio_setting: bool = False  # parameters.audio_setting (auto | origin), editing
    concurrency: int | None = None  # tasks running at once per account; None: section 7
    # Seconds of input video billed besides the output: None = none, inf = all of it.
    input_video_billed: float | None = None
    estimated: bool = False  # no official facts on some limits [?]

    def serves(self, *modes: str) -> bool:
        return self.mode in modes or any(m in modes for m in self.also)

    @property
    def media_limits(self) -> dict[str, int]:
        return dict(self.media)

    @property
    def max_duration(self) -> int:
        return max(self.durations) if self.durations else self.default_duration

    @property
    def uses_resolution(self) -> bool:
        return bool(self.resolutions)

    def tier(self, size: str | None = None, resolution: str | None = None) -> str | None:
        """The resolution tier a request is billed at (explicit value or the model default)."""
        if self.uses_resolution:
            return (resolution or self.default_resolution or "").upper() or None
        return tier_of_size(size or self.default_size)


#: Bases the rows share (``dataclasses.replace`` on them): never rows of the table themselves.
_BASE = ModelSpec(name="", durations=(), prompt_max=0)
_HD = ("720P", "1080P")
_WAN_RECENT = replace(_BASE, audio=True, prompt_max=1500)
_I2V = replace(_BASE, mode=IMAGE, shape=SHAPE_IMG_URL)
_I2V_RECENT = replace(_WAN_RECENT, mode=IMAGE, shape=SHAPE_IMG_URL)
_I2V_RECENT_HD = replace(_I2V_RECENT, resolutions=_HD, default_resolution="1080P")
_KF2V = replace(
    _BASE,
    mode=FRAMES,
    shape=SHAPE_FRAME_URLS,
    endpoint=ENDPOINT_IMAGE2VIDEO,
    durations=(5,),
    prompt_max=800,
    last_frame=True,
    template=True,
)
#: The wan2.7 generation's image limits.
_IMAGE_WAN27 = replace(_BASE, image_px=(240, 8000), image_max_mb=20, image_ratio_max=8.0)
_IMAGE_WAN27_HD = replace(_IMAGE_WAN27, resolutions=_HD, default_resolution="1080P")
_R2V = replace(
    _BASE,
    mode=REFERENCE,
    shape=SHAPE_REFERENCES,
    durations=tuple(range(2, 11)),
    prompt_max=1500,
    sizes=_sizes("720P", "1080P"),
    default_size="1920*1080",
    shot_type=True,
    image_px=(240, 5000),
    input_video_billed=5.0,  # reference videos: at most 5 s in total
)


def _wan30(name: str) -> ModelSpec:
    """Wan 3.0: text, frames, references, documents or links, 2-30 s, in one model (§17).

    ``negative_prompt`` and ``prompt_extend`` are said not to be accepted [?]: not refused
    here. Editing through the same model (a ``video`` input) is not confirmed [?].
    """
    refs = ("reference_image", "reference_video", "reference_audio", "file", "link", "video")
    return replace(
        _IMAGE_WAN27,
        name=name,
        also=(IMAGE, REFERENCE, EDIT),
        shape=SHAPE_MEDIA,
        durations=tuple(range(2, 31)),
        duration_auto=True,
        prompt_max=20000,
        resolutions=("480P", "720P", "1080P"),
        default_resolution="1080P",
        ratios=(RATIO_ADAPTIVE, *RATIOS),
        audio_switch=True,
        media=(
            ("first_frame", 1),
            ("last_frame", 1),
            ("reference_image", 10),
            ("reference_video", 5),
            ("reference_audio", 5),
            ("file", 1),
            ("link", 1),
            ("video", 1),
        ),
        media_exclusive=(
            (("first_frame", "last_frame"), refs),
            (("file",), ("link",)),
        ),
        media_seconds_max=(("reference_video", 15.0), ("reference_audio", 15.0)),
        input_video_billed=15.0,  # the reference videos' maximum [?]
        estimated=True,
    )


def _happyhorse(version: str) -> tuple[ModelSpec, ...]:
    """Alibaba's HappyHorse family: text, first frame and references, same endpoint (§17)."""
    common = replace(
        _IMAGE_WAN27_HD,
        shape=SHAPE_MEDIA,
        durations=tuple(range(3, 16)),
        prompt_max=5000,  # not documented [?]
        estimated=True,
    )
    return (
        replace(common, name=f"happyhorse-{version}-t2v", ratios=HAPPYHORSE_RATIOS),
        replace(common, name=f"happyhorse-{version}-i2v", mode=IMAGE, media=(("first_frame", 1),)),
        replace(
            common,
            name=f"happyhorse-{version}-r2v",
            mode=REFERENCE,
            ratios=HAPPYHORSE_RATIOS,
            media=(("reference_image", 9),),
        ),
    )


#: The capability table (bailian-api.md, sections 3 and 11-13). Correct it here when Alibaba changes a model.
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # ---- text to video (section 3) ----
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
        replace(
            _WAN_RECENT,
            name="wan2.6-t2v",
            durations=tuple(range(2, 16)),
            sizes=_sizes("720P", "1080P"),
            default_size="1920*1080",
            shot_type=True,
        ),
        replace(
            _WAN_RECENT,
            # Virginia; sources disagree on durations (5/10 or 2-15): the wider set is allowed.
            name="wan2.6-t2v-us",
            durations=tuple(range(2, 16)),
            sizes=_sizes("720P", "1080P"),
            default_size="1920*1080",
            shot_type=True,
        ),
        replace(
            _WAN_RECENT,
            name="wan2.5-t2v-preview",
            durations=(5, 10),
            sizes=_sizes("480P", "720P", "1080P"),
            default_size="1920*1080",
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
        # ---- image to video from a first frame (section 11) ----
        replace(
            _IMAGE_WAN27_HD,
            mode=IMAGE,
            shape=SHAPE_MEDIA,
            name="wan2.7-i2v",
            durations=tuple(range(2, 16)),
            prompt_max=5000,
            audio=True,
            last_frame=True,
            aliases=("wan2.7-i2v-2026-04-25",),
            media=(("first_frame", 1), ("last_frame", 1), ("driving_audio", 1), ("first_clip", 1)),
            # Valid sets: first_frame [+ last_frame] [+ driving_audio]; first_clip [+ last_frame].
            media_exclusive=((("first_frame", "driving_audio"), ("first_clip",)),),
        ),
        replace(
            _I2V_RECENT_HD,
            name="wan2.6-i2v-flash",
            durations=tuple(range(2, 16)),
            shot_type=True,
            audio_switch=True,
            template=True,
        ),
        replace(
            _I2V_RECENT_HD,
            # Sources disagree on durations (5/10/15 or 2-15): the wider set is allowed [?].
            name="wan2.6-i2v",
            durations=tuple(range(2, 16)),
            shot_type=True,
            template=True,
        ),
        replace(
            _I2V_RECENT,
            name="wan2.5-i2v-preview",
            durations=(5, 10),
            template=True,
            resolutions=("480P", "720P", "1080P"),
            default_resolution="1080P",
        ),
        replace(
            _I2V,
            name="wan2.2-i2v-flash",
            durations=(5,),
            prompt_max=800,
            template=True,
            resolutions=("480P", "720P", "1080P"),
            default_resolution="720P",
        ),
        replace(
            _I2V,
            name="wan2.2-i2v-plus",
            durations=(5,),
            prompt_max=800,
            template=True,
            resolutions=("480P", "1080P"),
            default_resolution="1080P",
        ),
        replace(
            _I2V,
            name="wanx2.1-i2v-turbo",
            durations=(3, 4, 5),
            prompt_max=800,
            template=True,
            resolutions=("480P", "720P"),
            default_resolution="720P",
            aliases=("wan2.1-i2v-turbo",),
        ),
        replace(
            _I2V,
            name="wanx2.1-i2v-plus",
            durations=(5,),
            prompt_max=800,
            template=True,
            resolutions=("720P",),
            default_resolution="720P",
            aliases=("wan2.1-i2v-plus",),
        ),
        # ---- first and last frame: another endpoint, always 5 s and silent (section 12) ----
        replace(
            _KF2V,
            name="wan2.2-kf2v-flash",
            resolutions=("480P", "720P", "1080P"),
            default_resolution="720P",
        ),
        replace(
            _KF2V,
            name="wanx2.1-kf2v-plus",
            resolutions=("720P",),
            default_resolution="720P",
            aliases=("wan2.1-kf2v-plus",),
        ),
        # ---- reference to video (section 13) ----
        replace(_R2V, name="wan2.6-r2v"),
        # The sound switch is documented for wan2.6-i2v-flash; assumed for its r2v sibling [?].
        replace(_R2V, name="wan2.6-r2v-flash", audio_switch=True),
        # ---- the media protocol (section 17) ----
        _wan30("wan3.0-video"),
        _wan30("wan3.0-video-prime"),  # the faster variant
        replace(
            _IMAGE_WAN27_HD,
            name="wan2.7-r2v",
            mode=REFERENCE,
            shape=SHAPE_MEDIA,
            durations=tuple(range(2, 11)),
            prompt_max=5000,
            ratios=RATIOS,
            aliases=("wan2.7-r2v-2026-06-12",),
            media=(("reference_image", 5), ("reference_video", 5)),
            media_total_max=5,
            media_extras=("reference_voice",),
            input_video_billed=5.0,  # as wan2.6-r2v [?]
        ),
        replace(
            _IMAGE_WAN27_HD,
            # Reference images 0-3 in one source, 4-5 in others: the wider count is allowed [?].
            name="wan2.7-videoedit",
            mode=EDIT,
            shape=SHAPE_MEDIA,
            # 0 = the input's length [?]; estimated at the maximum.
            durations=(0, *range(2, 11)),
            prompt_max=5000,
            media=(("video", 1), ("reference_image", 5)),
            audio_setting=True,
            input_video_billed=float("inf"),  # input and output seconds [?]
            estimated=True,
        ),
        *_happyhorse("1.0"),
        *_happyhorse("1.1"),
        replace(
            _IMAGE_WAN27_HD,
            name="happyhorse-1.0-video-edit",
            mode=EDIT,
            shape=SHAPE_MEDIA,
            durations=tuple(range(3, 16)),  # not documented: the family's range [?]
            prompt_max=5000,
            media=(("video", 1), ("reference_image", 5)),
            audio_setting=True,
            input_video_billed=float("inf"),  # as wan2.7-videoedit [?]
            estimated=True,
        ),
        # ---- speech to video: its own path, one task at a time (section 18) ----
        ModelSpec(
            name="wan2.2-s2v",
            mode=SPEECH,
            shape=SHAPE_SPEECH,
            endpoint=ENDPOINT_IMAGE2VIDEO,
            durations=(),  # the speech decides (< 20 s)
            default_duration=20,
            prompt_max=0,
            resolutions=("480P", "720P"),
            default_resolution="480P",
            concurrency=1,
            media=(("portrait", 1), ("speech", 1)),
        ),
    )
}
_ALIASES = {alias: spec for spec in MODELS.values() for alias in spec.aliases}


def get_model_spec(model: str) -> ModelSpec | None:
    """The capability entry of a model or of one of its aliases; ``None`` when unknown."""
    return MODELS.get(model) or _ALIASES.get(model)


def models_of(*modes: str) -> list[ModelSpec]:
    """The table's rows for some modes, in table order."""
    return [spec for spec in MODELS.values() if spec.serves(*modes)]


def guess_spec(model: str, mode: str) -> ModelSpec:
    """How to send a model missing from the table: by its name, like the official SDK.

    Only the route is guessed (shape and endpoint); no value is checked against it.
    """
    name = model.lower()
    media_family = name.startswith(("wan2.7", "wan3", "happyhorse"))
    if mode == SPEECH or "s2v" in name:
        shape, endpoint, mode = SHAPE_SPEECH, ENDPOINT_IMAGE2VIDEO, SPEECH
    elif mode == EDIT or media_family:
        shape, endpoint = SHAPE_MEDIA, ENDPOINT_VIDEO
    elif mode == REFERENCE or "r2v" in name:
        shape, endpoint, mode = SHAPE_REFERENCES, ENDPOINT_VIDEO, REFERENCE
    elif "kf2v" in name:
        shape, endpoint, mode = SHAPE_FRAME_URLS, ENDPOINT_IMAGE2VIDEO, FRAMES
    elif mode == IMAGE and name.startswith("wan2.7"):
        shape, endpoint = SHAPE_MEDIA, ENDPOINT_VIDEO
    elif mode == IMAGE:
        shape, endpoint = SHAPE_IMG_URL, ENDPOINT_VIDEO
    else:
        shape, endpoint = SHAPE_PROMPT, ENDPOINT_VIDEO
    return ModelSpec(
        name=model,
        durations=(),
        prompt_max=0,
        mode=mode,
        shape=shape,
        endpoint=endpoint,
        last_frame=shape in (SHAPE_MEDIA, SHAPE_FRAME_URLS),
    )


def running_limit(model: str | None) -> int:
    """Tasks of one model an account runs at once (Bailian queues the rest as PENDING).

    Section 7 of the facts: 5 for wan2.5 and later, 2 for wan2.2 and wan2.1 (kf2v included).
    """
    spec = get_model_spec(model) if model else None
    if spec is not None and spec.concurrency is not None:
        return spec.concurrency
    name = spec.name if spec else (model or "")
    return 2 if name.startswith(("wan2.2", "wanx2.1", "wan2.1")) else 5
