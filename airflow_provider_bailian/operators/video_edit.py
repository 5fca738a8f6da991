"""BailianVideoEditOperator: restyle or change an existing video (wan2.7-videoedit, ...).

The operator only maps its parameters onto the request (the video, reference images);
the capability table says what each editing model takes, ``protocol.py`` lays it out as
``input.media``, and submitting, reattaching, waiting, downloading and spend checks are the
shared ``BailianVideoGenerationOperator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian.operators.base import BailianVideoGenerationOperator

if TYPE_CHECKING:
    from airflow_provider_bailian.models import VideoEditRequest


class BailianVideoEditOperator(BailianVideoGenerationOperator):
    """Edit a video with a Wan (or HappyHorse) model on Alibaba Cloud Bailian.

    Returns the Bailian task id and pushes it under the XCom key ``task_id``; when waiting
    also ``video_url``, ``result``, ``usage``, ``cost`` (and ``video_path`` with
    ``download_to``). The input video is read at execute time, never when the DAG is parsed.

    :param video: the video to edit (templated; required): an http(s) or ``oss://`` URL, or a
        local path, ``file://`` or object-storage URL of an MP4/MOV, which is read once,
        checked and uploaded to Bailian's temporary storage (DashScope style).
    :param references: reference images for the edit (templated), in any image input form.
    :param prompt: what to change (templated).
    :param model: ``wan2.7-videoedit`` (default), ``happyhorse-1.0-video-edit`` or
        ``wan3.0-video`` (templated).
    :param negative_prompt: what to avoid (templated).
    :param resolution: ``720P`` or ``1080P`` (templated).
    :param duration: seconds of output (templated); unset (or ``0`` on wan2.7-videoedit)
        follows the input, estimated at the model's maximum unless the file tells its length.
    :param audio_setting: ``auto`` (the model decides the sound) or ``origin`` (keep the input's).
    :param prompt_extend, seed, watermark: as for the other operators (``seed`` templated).

    Waiting, delivery and spend (``bailian_conn_id``, ``wait_for_completion``, ``deferrable``,
    ``poll_interval``, ``timeout``, ``reattach``, ``download_to``, ``prices``, ``max_cost``,
    ``dry_run``), ``media`` and ``upload_local_files`` are the arguments of
    :class:`~airflow_provider_bailian.operators.base.BailianVideoGenerationOperator`.
    """

    template_fields: Sequence[str] = (
        "video",
        "references",
        "prompt",
        "negative_prompt",
        "model",
        "resolution",
        "duration",
        "audio_setting",
        "seed",
        "media",
        "download_to",
    )
    template_fields_renderers = {"prompt": "py", "references": "json", "media": "json"}

    def __init__(
        self,
        *,
        video: str,
        references: Sequence[str] | str | None = None,
        prompt: str | None = None,
        model: str = "wan2.7-videoedit",
        negative_prompt: str | None = None,
        resolution: str | None = None,
        duration: int | str | None = None,
        audio_setting: str | None = None,
        prompt_extend: bool | None = None,
        seed: int | str | None = None,
        watermark: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.video = video
        self.references = references
        self.prompt = prompt
        self.model = model
        self.negative_prompt = negative_prompt
        self.resolution = resolution
        self.duration = duration
        self.audio_setting = audio_setting
        self.prompt_extend = prompt_extend
        self.seed = seed
        self.watermark = watermark

    def build_request(self) -> VideoEditRequest:
        """The rendered request, validated against the model table (nothing read or sent yet)."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.models import VideoEditRequest

        return self._request_from_fields(VideoEditRequest)  # type: ignore[return-value]
