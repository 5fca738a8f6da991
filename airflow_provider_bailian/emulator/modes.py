"""Which validator answers a submit: the mode of its endpoint, or of its model.

An endpoint names its mode (the gateway's routes), except DashScope's two shared ones: on
``.../video-generation/video-synthesis`` the model says (text, image, reference, or a
media-protocol model, whose item types then say), and on ``.../image2video/video-synthesis``
first-and-last-frame models share the path with speech to video.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_bailian.emulator.catalog import MEDIA_MODELS, S2V_MODELS
from airflow_provider_bailian.emulator.field_checks import TABLES, Context
from airflow_provider_bailian.emulator.media_validation import (
    media_mode,
    validate_media,
    validate_speech2video,
)
from airflow_provider_bailian.emulator.validation import (
    validate_image2video,
    validate_kf2v,
    validate_ref2video,
    validate_text2video,
)

#: Mode -> validator.
VALIDATORS: dict[str, Callable[[Mapping[str, Any], Context], dict[str, Any]]] = {
    "text2video": validate_text2video,
    "image2video": validate_image2video,
    "kf2v": validate_kf2v,
    "ref2video": validate_ref2video,
    "speech2video": validate_speech2video,
}
#: The kinds of task a media-protocol model's body may ask for (see ``media_mode``).
MEDIA_MODES = ("text2video", "image2video", "ref2video", "videoedit")


def mode_of(endpoint: str, body: Mapping[str, Any]) -> str:
    """The mode a submit asks for: its endpoint's; on DashScope's shared video-synthesis
    endpoint (``endpoint="video-synthesis"``) its model's (for a media-protocol model, the
    kind its item types ask for); on the image2video path kf2v or speech2video."""
    name = body.get("model")
    name = name if isinstance(name, str) else None
    if endpoint == "kf2v":
        return "speech2video" if name in S2V_MODELS else "kf2v"
    if endpoint != "video-synthesis":
        return endpoint
    if name in MEDIA_MODELS:
        return media_mode(body)
    for mode in ("image2video", "ref2video"):
        if name in TABLES[mode]:
            return mode
    return "text2video"  # whose model check answers for a missing or unknown model


def validate(endpoint: str, body: Mapping[str, Any], ctx: Context | None = None) -> dict[str, Any]:
    """Validate a submit body sent to ``endpoint`` (a mode, ``video-synthesis`` or
    ``kf2v``); returns the task spec or raises ApiError."""
    ctx = ctx or Context()
    if endpoint == "video-synthesis" and body.get("model") in MEDIA_MODELS:
        return validate_media(body, ctx)
    return VALIDATORS[mode_of(endpoint, body)](body, ctx)
