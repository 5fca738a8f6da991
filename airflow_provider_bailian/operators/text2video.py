"""BailianText2VideoOperator: submit a Wan text-to-video task, optionally wait for it.

The operator only says how to build its request from the rendered fields; submitting,
reattaching on retry, waiting, downloading and spend checks are the shared
``BailianVideoGenerationOperator`` (``operators/base.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian.operators.base import BailianVideoGenerationOperator

# The delivery contract (``outputs``), importable from here as DAGs have done.
from airflow_provider_bailian.outputs import (
    XCOM_COST,
    XCOM_RESULT,
    XCOM_TASK_ID,
    XCOM_USAGE,
    XCOM_VIDEO_PATH,
    XCOM_VIDEO_URL,
    asset_uri,
    declare_video_asset,
    record_asset_events,
    usage_summary,
)

if TYPE_CHECKING:
    from airflow_provider_bailian.models import Text2VideoRequest

__all__ = [
    "XCOM_COST",
    "XCOM_RESULT",
    "XCOM_TASK_ID",
    "XCOM_USAGE",
    "XCOM_VIDEO_PATH",
    "XCOM_VIDEO_URL",
    "BailianText2VideoOperator",
    "asset_uri",
    "declare_video_asset",
    "record_asset_events",
    "usage_summary",
]


class BailianText2VideoOperator(BailianVideoGenerationOperator):
    """Generate a video from a text prompt with a Wan model on Alibaba Cloud Bailian.

    Returns the Bailian task id (``submit.output`` downstream) and pushes it under the
    XCom key ``task_id``. With ``wait_for_completion=True`` it also waits for the video
    and pushes ``video_url`` and ``result`` (the full result dict).

    :param prompt: what the video shows (templated; may be a ``.txt`` template file).
    :param model: ``wan2.6-t2v``, ``wan2.7-t2v`` (and its dated snapshots), ``wan3.0-video``,
        ``wan3.0-video-prime``, ``happyhorse-1.0-t2v``, ``happyhorse-1.1-t2v``,
        ``wan2.5-t2v-preview``, ... (templated).
    :param negative_prompt: what to avoid (templated).
    :param audio_url: http(s)/oss URL of a wav or mp3 soundtrack (templated).
    :param size: ``W*H``, e.g. ``1280*720`` (templated); ``resolution``/``ratio`` for wan2.7.
    :param duration: seconds of video (templated); wan3.0 takes 2-30 or ``-1`` (the model
        picks; estimated at 30 s).
    :param prompt_extend: let the service rewrite the prompt (service default True).
    :param shot_type: ``single`` or ``multi`` (wan2.6, with prompt_extend).
    :param seed: 0..2147483647 (templated).
    :param watermark: add the "AI generated" watermark (service default False).
    :param resolution: ``720P`` or ``1080P`` (wan2.7, HappyHorse; wan3.0 also ``480P``; templated).
    :param ratio: ``16:9``, ``9:16``, ``1:1``, ``4:3`` or ``3:4`` (wan2.7; wan3.0 also
        ``adaptive``; HappyHorse also ``4:5``, ``5:4``, ``21:9``, ``9:21``; templated).
    :param audio: wan3.0's sound switch (service default on).

    Waiting, delivery and spend (``bailian_conn_id``, ``wait_for_completion``, ``deferrable``,
    ``poll_interval``, ``timeout``, ``reattach``, ``download_to``, ``prices``, ``max_cost``,
    ``dry_run``), ``media`` and ``upload_local_files`` are the arguments of
    :class:`~airflow_provider_bailian.operators.base.BailianVideoGenerationOperator`.
    """

    template_fields: Sequence[str] = (
        "model",
        "prompt",
        "negative_prompt",
        "audio_url",
        "size",
        "duration",
        "seed",
        "resolution",
        "ratio",
        "media",
        "download_to",
    )
    template_ext: Sequence[str] = (".txt",)
    template_fields_renderers = {"prompt": "py", "media": "json"}

    def __init__(
        self,
        *,
        prompt: str,
        model: str = "wan2.6-t2v",
        negative_prompt: str | None = None,
        audio_url: str | None = None,
        size: str | None = None,
        duration: int | str | None = None,
        prompt_extend: bool | None = None,
        shot_type: str | None = None,
        seed: int | str | None = None,
        watermark: bool | None = None,
        resolution: str | None = None,
        ratio: str | None = None,
        audio: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.model = model
        self.negative_prompt = negative_prompt
        self.audio_url = audio_url
        self.size = size
        self.duration = duration
        self.prompt_extend = prompt_extend
        self.shot_type = shot_type
        self.seed = seed
        self.watermark = watermark
        self.resolution = resolution
        self.ratio = ratio
        self.audio = audio

    def build_request(self) -> Text2VideoRequest:
        """The rendered request, validated against the model table (nothing sent yet)."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.models import Text2VideoRequest

        return self._request_from_fields(Text2VideoRequest)  # type: ignore[return-value]
