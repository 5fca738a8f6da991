"""The "Bailian video" button on a task: opens the video of the run shown."""

from __future__ import annotations

from typing import Any

from airflow_provider_bailian._compat import AIRFLOW_V3, BaseOperatorLink
from airflow_provider_bailian.outputs import XCOM_VIDEO_URL

__all__ = ["XCOM_VIDEO_URL", "BailianVideoLink"]


class BailianVideoLink(BaseOperatorLink):
    """Links to the signed video URL the task pushed under the XCom key ``video_url``.

    The URL is signed by Alibaba and valid for 24 hours; download it to keep it.
    """

    name = "Bailian video"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        if AIRFLOW_V3:
            # Airflow's XCom model, on first use (the link is built at DAG parsing).
            from airflow.sdk.execution_time.xcom import XCom
        else:
            from airflow.models.xcom import XCom  # type: ignore[no-redef]
        value = XCom.get_value(ti_key=ti_key, key=XCOM_VIDEO_URL)
        return value if isinstance(value, str) else ""
