"""BailianText2VideoOperator: submit a Wan text-to-video task, optionally wait for it.

The operator is thin: it renders and validates the request, asks the hook to
submit it, records the submission so a retry reattaches instead of paying twice,
and either returns the task id or waits (in a deferrable trigger, or in the worker).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian._compat import BaseOperator, default_deferrable
from airflow_provider_bailian.connection import DEFAULT_CONN_ID
from airflow_provider_bailian.links.video import BailianVideoLink

if TYPE_CHECKING:
    from airflow_provider_bailian.hooks.bailian import BailianHook
    from airflow_provider_bailian.models import TaskResult, Text2VideoRequest

XCOM_TASK_ID = "task_id"
XCOM_VIDEO_URL = "video_url"
XCOM_RESULT = "result"


class BailianText2VideoOperator(BaseOperator):
    """Generate a video from a text prompt with a Wan model on Alibaba Cloud Bailian.

    Returns the Bailian task id (``submit.output`` downstream) and pushes it under the
    XCom key ``task_id``. With ``wait_for_completion=True`` it also waits for the video
    and pushes ``video_url`` and ``result`` (the full result dict).

    :param prompt: what the video shows (templated; may be a ``.txt`` template file).
    :param model: ``wan2.6-t2v``, ``wan2.7-t2v``, ``wan2.5-t2v-preview``, ... (templated).
    :param negative_prompt: what to avoid (templated).
    :param audio_url: http(s)/oss URL of a wav or mp3 soundtrack (templated).
    :param size: ``W*H``, e.g. ``1280*720`` (templated); ``resolution``/``ratio`` for wan2.7.
    :param duration: seconds of video (templated).
    :param prompt_extend: let the service rewrite the prompt (service default True).
    :param shot_type: ``single`` or ``multi`` (wan2.6, with prompt_extend).
    :param seed: 0..2147483647 (templated).
    :param watermark: add the "AI generated" watermark (service default False).
    :param resolution: ``720P`` or ``1080P`` (wan2.7, templated).
    :param ratio: ``16:9``, ``9:16``, ``1:1``, ``4:3`` or ``3:4`` (wan2.7, templated).
    :param bailian_conn_id: the ``bailian`` connection.
    :param wait_for_completion: wait for the video before finishing (default False).
    :param deferrable: wait in the triggerer, freeing the worker slot
        (default ``[operators] default_deferrable``).
    :param poll_interval: upper bound, in seconds, between two status checks.
    :param timeout: seconds to wait for the video; the Bailian task is not cancelled then.
    :param reattach: a retry of this task instance waits for the task an earlier try
        submitted instead of submitting (and paying) again (default True).
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
    )
    template_ext: Sequence[str] = (".txt",)
    template_fields_renderers = {"prompt": "py"}
    ui_color = "#ff6a00"
    ui_fgcolor = "#ffffff"
    operator_extra_links = (BailianVideoLink(),)

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
        bailian_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = False,
        deferrable: bool | None = None,
        poll_interval: float | None = None,
        timeout: float | timedelta | None = None,
        reattach: bool = True,
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
        self.bailian_conn_id = bailian_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        self.reattach = reattach
        self._waiting_on: str | None = None

    # ---- building blocks ----------------------------------------------------------------
    @cached_property
    def hook(self) -> BailianHook:
        from airflow_provider_bailian.hooks.bailian import BailianHook

        return BailianHook(bailian_conn_id=self.bailian_conn_id)

    def build_request(self) -> Text2VideoRequest:
        """The rendered request, validated against the model table (nothing sent yet)."""
        from airflow_provider_bailian.models import Text2VideoRequest

        request, warnings = Text2VideoRequest(
            model=self.model,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            audio_url=self.audio_url,
            size=self.size,
            duration=self.duration,
            prompt_extend=self.prompt_extend,
            shot_type=self.shot_type,
            seed=self.seed,
            watermark=self.watermark,
            resolution=self.resolution,
            ratio=self.ratio,
        ).validated()
        for warning in warnings:
            self.log.warning(warning)
        return request

    # ---- execution ----------------------------------------------------------------------
    def execute(self, context: Any) -> str:
        from airflow_provider_bailian.reattach import SubmissionLedger, request_fingerprint

        ti = context["ti"]
        # Present from the start, so the "Bailian video" link never looks up a missing key.
        ti.xcom_push(key=XCOM_VIDEO_URL, value=None)
        request = self.build_request()
        ledger = SubmissionLedger(context) if self.reattach else None
        fingerprint = request_fingerprint(request.to_body(), self.bailian_conn_id)
        record = self._reattachable(ledger, fingerprint) if ledger else None
        if record is None:
            submission = self.hook.submit_text2video(request)
            record = {
                "task_id": submission.task_id,
                "request_id": submission.request_id,
                "fingerprint": fingerprint,
                "submitted_at": time.time(),
                "model": request.model,
                "duration": request.effective_duration,
            }
            if ledger is not None:
                ledger.save(record)
        task_id = record["task_id"]
        self.log.info(
            "Bailian task_id=%s request_id=%s model=%s",
            task_id,
            record.get("request_id"),
            request.model,
        )
        ti.xcom_push(key=XCOM_TASK_ID, value=task_id)

        if not self.wait_for_completion:
            if ledger is not None:
                ledger.clear()
            return task_id
        if self.deferrable:
            self._defer(task_id, record)
        return self._wait_in_worker(context, task_id, record, ledger)

    def _reattachable(self, ledger: Any, fingerprint: str) -> dict[str, Any] | None:
        """The earlier try's submission, if it can still give this try its video."""
        record = ledger.load()
        if record is None:
            return None
        prior = record["task_id"]
        if record.get("fingerprint") != fingerprint:
            self.log.info(
                "An earlier try submitted Bailian task %s for a different request; submitting anew",
                prior,
            )
            return None
        result = self.hook.get_task(prior)
        if result.status.is_active or result.status.value == "SUCCEEDED":
            self.log.info(
                "Reattaching to Bailian task %s (%s) submitted by an earlier try (found in the %s); "
                "not submitting again",
                prior,
                result.status.value,
                ledger.backend,
            )
            return record
        self.log.warning(
            "The earlier try's Bailian task %s is %s; submitting a new one",
            prior,
            result.status.value,
        )
        return None

    def _defer(self, task_id: str, record: dict[str, Any]) -> None:
        from airflow_provider_bailian.polling import trigger_deadline
        from airflow_provider_bailian.triggers.task import BailianTaskTrigger

        self._waiting_on = None
        self.defer(
            trigger=BailianTaskTrigger(
                bailian_task_id=task_id,
                bailian_conn_id=self.bailian_conn_id,
                poll_interval=self.poll_interval,
                deadline=trigger_deadline(self.timeout),
                model=record.get("model"),
                duration=record.get("duration"),
                submitted_at=record.get("submitted_at"),
                cancel_on_kill=True,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout else None,
        )

    def _wait_in_worker(
        self, context: Any, task_id: str, record: dict[str, Any], ledger: Any
    ) -> str:
        from airflow_provider_bailian.polling import PollPolicy

        policy = PollPolicy.create(
            model=record.get("model"),
            duration=record.get("duration"),
            poll_interval=self.poll_interval,
            submitted_at=record.get("submitted_at"),
        )
        self._waiting_on = task_id
        started = time.monotonic()
        try:
            result = self.hook.wait_for_task(task_id, timeout=self.timeout, policy=policy)
        finally:
            self._waiting_on = None
        return self._finish(context, result, time.monotonic() - started, ledger)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> str:
        """Turn the trigger's event into success, or a failure naming Bailian's code and message."""
        from airflow_provider_bailian.exceptions import (
            BailianError,
            BailianTaskFailedError,
            BailianWaitTimeoutError,
        )
        from airflow_provider_bailian.models import TaskResult
        from airflow_provider_bailian.reattach import SubmissionLedger

        status = event.get("status")
        task_id = event.get("task_id")
        if status == "success":
            ledger = SubmissionLedger(context) if self.reattach else None
            result = TaskResult.from_dict(event["result"])
            return self._finish(context, result, event.get("elapsed"), ledger)
        error_cls = {
            "failed": BailianTaskFailedError,
            "timeout": BailianWaitTimeoutError,
        }.get(status, BailianError)
        raise error_cls(
            event.get("message") or f"Bailian wait ended with {status}",
            code=event.get("code"),
            task_id=task_id,
            request_id=event.get("request_id"),
        )

    def _finish(self, context: Any, result: TaskResult, elapsed: float | None, ledger: Any) -> str:
        ti = context["ti"]
        ti.xcom_push(key=XCOM_TASK_ID, value=result.task_id)
        ti.xcom_push(key=XCOM_VIDEO_URL, value=result.video_url)
        ti.xcom_push(key=XCOM_RESULT, value=result.to_dict())
        usage = result.usage
        self.log.info(
            "Bailian task %s SUCCEEDED after %s; %s of video at %s; actual prompt: %s",
            result.task_id,
            f"{elapsed:.1f} s" if elapsed is not None else "an unknown time",
            f"{usage.video_seconds:g} s" if usage and usage.video_seconds else "? s",
            usage.size if usage and usage.size else "unknown size",
            result.actual_prompt or result.orig_prompt or "(not reported)",
        )
        if ledger is not None:
            ledger.clear()
        return result.task_id

    def on_kill(self) -> None:
        """A user stopped the task while it waited in the worker: cancel if still PENDING."""
        task_id = self._waiting_on
        if task_id:
            self.hook.cancel_if_pending(task_id)
