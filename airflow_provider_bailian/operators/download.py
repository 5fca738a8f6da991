"""BailianDownloadVideoOperator: copy a finished video into your storage, later in a pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian._compat import BaseOperator
from airflow_provider_bailian.connection import DEFAULT_CONN_ID
from airflow_provider_bailian.outputs import (
    XCOM_VIDEO_PATH,
    declare_video_asset,
    record_asset_events,
)

if TYPE_CHECKING:
    from airflow_provider_bailian.hooks.bailian import BailianHook


class BailianDownloadVideoOperator(BaseOperator):
    """Downloads the video of a SUCCEEDED Bailian task to ``destination``.

    The signed video URL expires 24 hours after the task finished: run this soon after.
    Returns the destination path and pushes it under ``video_path``. A destination that is
    not templated is declared as an asset outlet, so downstream DAGs can be scheduled on
    new videos; each asset event carries the task id, model and prompt.

    :param bailian_task_id: the Bailian task id (templated).
    :param destination: local path, ``file://`` URL or object-storage URL (templated).
    :param bailian_conn_id: the ``bailian`` connection.
    :param max_download_bytes: fail the download of a longer video, keeping nothing
        (default: the connection extra ``max_download_bytes``, 4 GiB).
    """

    template_fields: Sequence[str] = ("bailian_task_id", "destination")
    ui_color = "#ffd1a3"

    def __init__(
        self,
        *,
        bailian_task_id: str,
        destination: str,
        bailian_conn_id: str = DEFAULT_CONN_ID,
        max_download_bytes: int | None = None,
        **kwargs: Any,
    ) -> None:
        declare_video_asset(destination, kwargs)
        super().__init__(**kwargs)
        self.bailian_task_id = bailian_task_id
        self.destination = destination
        self.bailian_conn_id = bailian_conn_id
        self.max_download_bytes = max_download_bytes

    @cached_property
    def hook(self) -> BailianHook:
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.hooks.bailian import BailianHook

        return BailianHook(bailian_conn_id=self.bailian_conn_id)

    def execute(self, context: Any) -> str:
        result = self.hook.get_finished_task(self.bailian_task_id)
        path = self.hook.download_video(
            url=result.video_url,
            destination=self.destination,
            max_bytes=self.max_download_bytes,
        )
        context["ti"].xcom_push(key=XCOM_VIDEO_PATH, value=path)
        record_asset_events(context, self.outlets, result, model=None)
        return path
