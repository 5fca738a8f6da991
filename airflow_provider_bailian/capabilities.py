"""The model capability table: what each Wan model accepts, for every mode.

One row per model: its mode (text, image, first-and-last frame, reference), the
endpoint and input shape it is sent with, its sizes or resolutions, durations, input
image limits and switches. ``protocol.py`` routes a request by looking its model up
here and validation reads the same row, so correcting a model is one edit
(bailian-api.md sections 3 and 11-13; [?] facts are marked where they are set).
"""

from __future__ import annotations

from dataclasses import dataclass

# Modes: what the user gives.
TEXT, IMAGE, FRAMES, REFERENCE = "t2v", "i2v", "kf2v", "r2v"
# Input shapes: where the inputs go in the body.
SHAPE_PROMPT = "prompt"  # text only
SHAPE_IMG_URL = "img_url"  # input.img_url (wan2.6 and older i2v)
SHAPE_MEDIA = "media"  # input.media = [{type, url}] (wan2.7-i2v)
SHAPE_FRAME_URLS = "frame_urls"  # input.first_frame_url / last_frame_url (kf2v)
SHAPE_REFERENCES = "reference_urls"  # input.reference_urls (r2v)
# DashScope endpoints.
ENDPOINT_VIDEO = "video-generation"
ENDPOINT_IMAGE2VIDEO = "image2video"

IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP")
MAX_REFERENCES = 5

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

    @property
    def uses_resolution(self) -> bool:
        return bool(self.resolutions)

    def tier(self, size: str | None = None, resolution: str | None = None) -> str | None:
        """The resolution tier a request is billed at (explicit value or the model default)."""
        if self.uses_resolution:
            return (resolution or self.default_resolution or "").upper() or None
        return tier_of_size(size or self.default_size)


_WAN_RECENT = {"audio": True, "prompt_max": 1500}
_I2V = {"mode": IMAGE, "shape": SHAPE_IMG_URL}
_TIERS_HD = {"resolutions": ("720P", "1080P"), "default_resolution": "1080P"}
_KF2V = {
    "mode": FRAMES,
    "shape": SHAPE_FRAME_URLS,
    "endpoint": ENDPOINT_IMAGE2VIDEO,
    "durations": (5,),
    "prompt_max": 800,
    "last_frame": True,
    "template": True,
}
_R2V = {
    "mode": REFERENCE,
    "shape": SHAPE_REFERENCES,
    "durations": tuple(range(2, 11)),
    "prompt_max": 1500,
    "sizes": _sizes("720P", "1080P"),
    "default_size": "1920*1080",
    "shot_type": True,
    "image_px": (240, 5000),
}

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
        # ---- image to video from a first frame (section 11) ----
        ModelSpec(
            name="wan2.7-i2v",
            durations=tuple(range(2, 16)),
            prompt_max=5000,
            audio=True,
            last_frame=True,
            image_px=(240, 8000),
            image_max_mb=20,
            image_ratio_max=8.0,
            **{**_I2V, "shape": SHAPE_MEDIA},
            **_TIERS_HD,
        ),
        ModelSpec(
            name="wan2.6-i2v-flash",
            durations=tuple(range(2, 16)),
            shot_type=True,
            audio_switch=True,
            template=True,
            **_WAN_RECENT,
            **_I2V,
            **_TIERS_HD,
        ),
        ModelSpec(
            # Sources disagree on durations (5/10/15 or 2-15): the wider set is allowed [?].
            name="wan2.6-i2v",
            durations=tuple(range(2, 16)),
            shot_type=True,
            template=True,
            **_WAN_RECENT,
            **_I2V,
            **_TIERS_HD,
        ),
        ModelSpec(
            name="wan2.5-i2v-preview",
            durations=(5, 10),
            template=True,
            resolutions=("480P", "720P", "1080P"),
            default_resolution="1080P",
            **_WAN_RECENT,
            **_I2V,
        ),
        ModelSpec(
            name="wan2.2-i2v-flash",
            durations=(5,),
            prompt_max=800,
            template=True,
            resolutions=("480P", "720P", "1080P"),
            default_resolution="720P",
            **_I2V,
        ),
        ModelSpec(
            name="wan2.2-i2v-plus",
            durations=(5,),
            prompt_max=800,
            template=True,
            resolutions=("480P", "1080P"),
            default_resolution="1080P",
            **_I2V,
        ),
        ModelSpec(
            name="wanx2.1-i2v-turbo",
            durations=(3, 4, 5),
            prompt_max=800,
            template=True,
            resolutions=("480P", "720P"),
            default_resolution="720P",
            aliases=("wan2.1-i2v-turbo",),
            **_I2V,
        ),
        ModelSpec(
            name="wanx2.1-i2v-plus",
            durations=(5,),
            prompt_max=800,
            template=True,
            resolutions=("720P",),
            default_resolution="720P",
            aliases=("wan2.1-i2v-plus",),
            **_I2V,
        ),
        # ---- first and last frame: another endpoint, always 5 s and silent (section 12) ----
        ModelSpec(
            name="wan2.2-kf2v-flash",
            resolutions=("480P", "720P", "1080P"),
            default_resolution="720P",
            **_KF2V,
        ),
        ModelSpec(
            name="wanx2.1-kf2v-plus",
            resolutions=("720P",),
            default_resolution="720P",
            aliases=("wan2.1-kf2v-plus",),
            **_KF2V,
        ),
        # ---- reference to video (section 13) ----
        ModelSpec(name="wan2.6-r2v", **_R2V),
        # The sound switch is documented for wan2.6-i2v-flash; assumed for its r2v sibling [?].
        ModelSpec(name="wan2.6-r2v-flash", audio_switch=True, **_R2V),
    )
}
_ALIASES = {alias: spec for spec in MODELS.values() for alias in spec.aliases}


def get_model_spec(model: str) -> ModelSpec | None:
    """The capability entry of a model or of one of its aliases; ``None`` when unknown."""
    return MODELS.get(model) or _ALIASES.get(model)


def models_of(*modes: str) -> list[ModelSpec]:
    """The table's rows for some modes, in table order."""
    return [spec for spec in MODELS.values() if spec.mode in modes]


def guess_spec(model: str, mode: str) -> ModelSpec:
    """How to send a model missing from the table: by its name, like the official SDK.

    Only the route is guessed (shape and endpoint); no value is checked against it.
    """
    name = model.lower()
    if mode == REFERENCE or "r2v" in name:
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
    name = spec.name if spec else (model or "")
    return 2 if name.startswith(("wan2.2", "wanx2.1", "wan2.1")) else 5
