"""BailianImage2VideoOperator: animate a first frame (optionally towards a last frame).

The model decides how the images are sent (``input.img_url``, wan2.7's ``input.media``,
or the kf2v endpoint's ``first_frame_url``/``last_frame_url``): that is the capability
table's and ``protocol.py``'s business. Submitting, reattaching, waiting, downloading and
spend checks are the shared ``BailianVideoGenerationOperator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian.operators.base import BailianVideoGenerationOperator

if TYPE_CHECKING:
    from airflow_provider_bailian.models import Image2VideoRequest


class BailianImage2VideoOperator(BailianVideoGenerationOperator):
    """Generate a video from an image with a Wan model on Alibaba Cloud Bailian.

    Returns the Bailian task id and pushes it under the XCom key ``task_id``; when
    waiting also ``video_url``, ``result``, ``usage``, ``cost`` (and ``video_path`` with
    ``download_to``). A file input is read at execute time, never when the DAG is parsed.

    :param image: the first frame (templated): an http(s) or ``oss://`` URL or a ``data:``
        URI, sent as is; or a local path, ``file://`` URL or object-storage URL
        (``s3://...``), read, checked (JPEG, PNG, BMP, WEBP; sides and size per model) and
        sent as a data URI (or uploaded, see ``upload_local_files``).
    :param last_frame: the last frame, same forms (templated); wan2.7-i2v, wan3.0-video and the
        kf2v models.
    :param first_clip: a video to continue instead of a first frame (templated; wan2.7-i2v):
        an http(s)/``oss://`` URL, or a local or object-storage file, always uploaded
        (DashScope style).
    :param prompt: what happens in the video (templated; optional).
    :param model: ``wan2.6-i2v`` (default), ``wan2.7-i2v``, ``wan3.0-video`` (first and last
        frame), ``happyhorse-1.0-i2v``/``happyhorse-1.1-i2v`` (first frame only),
        ``wan2.6-i2v-flash``, ``wan2.2-kf2v-flash``, ... (templated).
    :param negative_prompt: what to avoid (templated).
    :param audio_url: http(s)/oss URL of a wav or mp3 soundtrack (templated); wan2.7-i2v
        sends it as its driving audio (there any input form, a file is uploaded).
    :param ratio: wan3.0's aspect ratio (``adaptive`` follows the frame; templated).
    :param audio: wan2.6-i2v-flash's sound switch (default on; ``False`` is silent and cheaper).
    :param resolution: ``480P``, ``720P`` or ``1080P`` per model (templated); the video keeps
        the image's aspect ratio.
    :param duration: seconds of video (templated).
    :param prompt_extend: let the service rewrite the prompt (service default True).
    :param shot_type: ``single`` or ``multi`` (wan2.6-i2v, wan2.6-i2v-flash).
    :param template: an effect template name (the prompt is then ignored).
    :param seed: 0..2147483647 (templated).
    :param watermark: add the "AI generated" watermark (service default False).

    Waiting, delivery and spend (``bailian_conn_id``, ``wait_for_completion``, ``deferrable``,
    ``poll_interval``, ``timeout``, ``reattach``, ``download_to``, ``prices``, ``max_cost``,
    ``dry_run``), ``media`` and ``upload_local_files`` are the arguments of
    :class:`~airflow_provider_bailian.operators.base.BailianVideoGenerationOperator`.
    """

    template_fields: Sequence[str] = (
        "image",
        "last_frame",
        "prompt",
        "negative_prompt",
        "audio_url",
        "model",
        "resolution",
        "duration",
        "seed",
        "first_clip",
        "ratio",
        "media",
        "download_to",
    )
    template_fields_renderers = {"prompt": "py", "media": "json"}

    def __init__(
        self,
        *,
        image: str | None = None,
        last_frame: str | None = None,
        prompt: str | None = None,
        model: str = "wan2.6-i2v",
        negative_prompt: str | None = None,
        audio_url: str | None = None,
        audio: bool | None = None,
        resolution: str | None = None,
        duration: int | str | None = None,
        prompt_extend: bool | None = None,
        shot_type: str | None = None,
        template: str | None = None,
        seed: int | str | None = None,
        watermark: bool | None = None,
        first_clip: str | None = None,
        ratio: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.last_frame = last_frame
        self.prompt = prompt
        self.model = model
        self.negative_prompt = negative_prompt
        self.audio_url = audio_url
        self.audio = audio
        self.resolution = resolution
        self.duration = duration
        self.prompt_extend = prompt_extend
        self.shot_type = shot_type
        self.template = template
        self.seed = seed
        self.watermark = watermark
        self.first_clip = first_clip
        self.ratio = ratio

    def build_request(self) -> Image2VideoRequest:
        """The rendered request, validated against the model table (nothing read or sent yet)."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.models import Image2VideoRequest

        return self._request_from_fields(Image2VideoRequest)  # type: ignore[return-value]
