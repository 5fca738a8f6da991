"""BailianReference2VideoOperator: a video with 1-5 reference subjects kept recognisable.

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
    :param references: 1-5 subjects (templated): images as http(s)/``oss://`` URLs, data URIs,
        local paths or object-storage URLs (read, checked and sent as data URIs or
        uploaded), or videos (mp4/mov) as http(s)/``oss://`` URLs. A single string is one
        reference.
    :param model: ``wan2.6-r2v`` (default) or ``wan2.6-r2v-flash`` (templated).
    :param negative_prompt: what to avoid (templated).
    :param size: ``W*H`` of a 720P or 1080P tier, e.g. ``1280*720`` (templated).
    :param duration: seconds of video, 2-10 (templated).
    :param shot_type: ``single`` or ``multi``.
    :param audio: the sound switch, where the model has one.
    :param seed, watermark: as for the other operators (``seed`` templated).
    :param upload_local_files: upload file inputs instead of sending data URIs, as in
        ``BailianImage2VideoOperator``.

    Waiting, delivery and spend (``bailian_conn_id``, ``wait_for_completion``, ``deferrable``,
    ``poll_interval``, ``timeout``, ``reattach``, ``download_to``, ``prices``, ``max_cost``,
    ``dry_run``) are the arguments of
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
        "download_to",
    )
    template_fields_renderers = {"prompt": "py", "references": "json"}

    def __init__(
        self,
        *,
        prompt: str,
        references: Sequence[str] | str,
        model: str = "wan2.6-r2v",
        negative_prompt: str | None = None,
        size: str | None = None,
        duration: int | str | None = None,
        shot_type: str | None = None,
        audio: bool | None = None,
        seed: int | str | None = None,
        watermark: bool | None = None,
        upload_local_files: bool = False,
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
        self.upload_local_files = upload_local_files

    def build_request(self) -> Reference2VideoRequest:
        """The rendered request, validated against the model table (nothing read or sent yet)."""
        from airflow_provider_bailian.models import Reference2VideoRequest

        return self._request_from_fields(Reference2VideoRequest)  # type: ignore[return-value]
