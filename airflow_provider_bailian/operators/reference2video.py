"""BailianReference2VideoOperator: a video with reference subjects kept recognisable.

The prompt names the subjects ``character1``, ``character2``, ... in the order of
``references``. Submitting, reattaching, waiting, downloading and spend checks are the
shared ``BailianVideoGenerationOperator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian.operators.base import BailianVideoGenerationOperator

if TYPE_CHECKING:
    from airflow_provider_bailian.models import Reference2VideoRequest


class BailianReference2VideoOperator(BailianVideoGenerationOperator):
    """Generate a video of reference subjects with a Wan model on Alibaba Cloud Bailian.

    Returns the Bailian task id and pushes it under the XCom key ``task_id``; when
    waiting also ``video_url``, ``result``, ``usage``, ``cost`` (and ``video_path`` with
    ``download_to``). File inputs are read at execute time, never when the DAG is parsed.

    :param prompt: what happens, naming the subjects ``character1``, ``character2``, ...
        (templated; required).
    :param references: the subjects (templated): images as http(s)/``oss://`` URLs, data URIs,
        local paths or object-storage URLs (read, checked and sent as data URIs or
        uploaded), or videos (``.mp4``/``.mov``) as URLs or files (files are uploaded). A
        single string is one reference. How many: per model (5 for wan2.6/2.7, 10 images
        for wan3.0, 9 images for HappyHorse).
    :param reference_voices: wan2.7-r2v: one audio input per reference, in the same order (any
        input form; files are uploaded), sent as that reference's ``reference_voice``.
    :param reference_audio: wan3.0-video: audio inputs (at most 5, 15 s in total).
    :param model: ``wan2.6-r2v`` (default), ``wan2.6-r2v-flash``, ``wan2.7-r2v``,
        ``wan3.0-video``, ``happyhorse-1.0-r2v``, ``happyhorse-1.1-r2v`` (templated).
    :param resolution, ratio: for the models of the media protocol (templated).
    :param negative_prompt: what to avoid (templated).
    :param size: ``W*H`` of a 720P or 1080P tier, e.g. ``1280*720`` (templated).
    :param duration: seconds of video, 2-10 (templated).
    :param shot_type: ``single`` or ``multi``.
    :param audio: the sound switch, where the model has one.
    :param seed, watermark: as for the other operators (``seed`` templated).

    Waiting, delivery and spend (``bailian_conn_id``, ``wait_for_completion``, ``deferrable``,
    ``poll_interval``, ``timeout``, ``reattach``, ``download_to``, ``prices``, ``max_cost``,
    ``dry_run``), ``media`` and ``upload_local_files`` are the arguments of
    :class:`~airflow_provider_bailian.operators.base.BailianVideoGenerationOperator`.
    """

    template_fields: Sequence[str] = (
        "prompt",
        "references",
        "negative_prompt",
        "model",
        "size",
        "duration",
        "seed",
        "resolution",
        "ratio",
        "reference_voices",
        "reference_audio",
        "media",
        "download_to",
    )
    template_fields_renderers = {"prompt": "py", "references": "json", "media": "json"}

    def __init__(
        self,
        *,
        prompt: str,
        references: Sequence[str] | str = (),
        model: str = "wan2.6-r2v",
        negative_prompt: str | None = None,
        size: str | None = None,
        duration: int | str | None = None,
        shot_type: str | None = None,
        audio: bool | None = None,
        seed: int | str | None = None,
        watermark: bool | None = None,
        resolution: str | None = None,
        ratio: str | None = None,
        reference_voices: Sequence[str] | str | None = None,
        reference_audio: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.references = references
        self.model = model
        self.negative_prompt = negative_prompt
        self.size = size
        self.duration = duration
        self.shot_type = shot_type
        self.audio = audio
        self.seed = seed
        self.watermark = watermark
        self.resolution = resolution
        self.ratio = ratio
        self.reference_voices = reference_voices
        self.reference_audio = reference_audio

    def build_request(self) -> Reference2VideoRequest:
        """The rendered request, validated against the model table (nothing read or sent yet)."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.models import Reference2VideoRequest

        return self._request_from_fields(Reference2VideoRequest)  # type: ignore[return-value]
