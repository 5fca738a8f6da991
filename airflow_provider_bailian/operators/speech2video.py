"""BailianSpeech2VideoOperator: a portrait that speaks a recording (wan2.2-s2v).

Speech to video has its own endpoint and runs one task at a time per account: both are
the capability table's business (so waiting and the status watcher queue behind that
limit). Submitting, reattaching, waiting, downloading and spend checks are the shared
``BailianVideoGenerationOperator``. DashScope style only: the gateway has no route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian.operators.base import BailianVideoGenerationOperator

if TYPE_CHECKING:
    from airflow_provider_bailian.models import Speech2VideoRequest


class BailianSpeech2VideoOperator(BailianVideoGenerationOperator):
    """Make a talking-portrait video from an image and a speech recording.

    Returns the Bailian task id and pushes it under the XCom key ``task_id``; when waiting
    also ``video_url``, ``result``, ``usage``, ``cost`` (and ``video_path`` with
    ``download_to``). File inputs are read at execute time, never when the DAG is parsed.

    :param image: the portrait (templated): any image input form (URL, data URI, local path,
        ``file://``, object-storage URL).
    :param audio: the speech, a wav or mp3 under 20 s and 15 MB (templated): an http(s) or
        ``oss://`` URL, or a file, read once and uploaded to Bailian's temporary storage.
    :param model: ``wan2.2-s2v`` (default; templated).
    :param resolution: ``480P`` or ``720P`` (templated).

    Waiting, delivery and spend (``bailian_conn_id``, ``wait_for_completion``, ``deferrable``,
    ``poll_interval``, ``timeout``, ``reattach``, ``download_to``, ``prices``, ``max_cost``,
    ``dry_run``), ``media`` and ``upload_local_files`` are the arguments of
    :class:`~airflow_provider_bailian.operators.base.BailianVideoGenerationOperator`.
    """

    template_fields: Sequence[str] = ("image", "audio", "model", "resolution", "download_to")

    def __init__(
        self,
        *,
        image: str,
        audio: str,
        model: str = "wan2.2-s2v",
        resolution: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.audio = audio
        self.model = model
        self.resolution = resolution

    def build_request(self) -> Speech2VideoRequest:
        """The rendered request, validated against the model table (nothing read or sent yet)."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.models import Speech2VideoRequest

        return self._request_from_fields(Speech2VideoRequest)  # type: ignore[return-value]
