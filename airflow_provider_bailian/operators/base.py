"""BailianVideoGenerationOperator: what every Wan generation operator does the same way.

A mode's operator (text, image, reference) only says how to build its typed request
(``build_request``). Everything else is one code path here: the estimate, ``max_cost``
and ``dry_run``; the submission through the hook's retry rules; the submission record
that lets a retry reattach instead of paying twice; waiting (deferred to the triggerer,
or in the worker); the result's XCom keys, the download and its asset events.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import fields
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian import metrics
from airflow_provider_bailian._compat import BaseOperator, default_deferrable
from airflow_provider_bailian.connection import DEFAULT_CONN_ID
from airflow_provider_bailian.exceptions import (
    BailianBudgetError,
)
from airflow_provider_bailian.links.video import BailianVideoLink

# The delivery contract lives in ``outputs``; DAGs and older code import it from here too.
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
    from airflow_provider_bailian.hooks.bailian import BailianHook
    from airflow_provider_bailian.models import Submission, TaskResult, VideoRequest
    from airflow_provider_bailian.pricing import CostEstimate
    from airflow_provider_bailian.reattach import Obtained
    from airflow_provider_bailian.wait_target import WaitTarget

__all__ = [
    "XCOM_COST",
    "XCOM_RESULT",
    "XCOM_TASK_ID",
    "XCOM_USAGE",
    "XCOM_VIDEO_PATH",
    "XCOM_VIDEO_URL",
    "BailianVideoGenerationOperator",
    "asset_uri",
    "declare_video_asset",
    "record_asset_events",
    "usage_summary",
]


class BailianVideoGenerationOperator(BaseOperator):
    """Submit one Wan generation task, optionally wait for it, deliver and account for it.

    Subclasses set their own parameters and implement ``build_request()``. Returns the
    Bailian task id and pushes it under the XCom key ``task_id``; when waiting, also
    ``video_url``, ``result``, ``usage``, ``cost`` and, with ``download_to``, ``video_path``.

    :param bailian_conn_id: the ``bailian`` connection.
    :param wait_for_completion: wait for the video before finishing (default False).
    :param deferrable: wait in the triggerer, freeing the worker slot
        (default ``[operators] default_deferrable``).
    :param poll_interval: upper bound, in seconds, between two status checks.
    :param timeout: seconds to wait for the video; the Bailian task is not cancelled then.
    :param reattach: a retry of this task instance waits for the task an earlier try
        submitted instead of submitting (and paying) again (default True).
    :param download_to: copy the video here when it is ready (templated path or URL of the
        file: local, ``file://`` or any object store Airflow knows); implies waiting, pushes
        ``video_path`` and, when the value is not templated, declares it as an asset outlet.
    :param max_download_bytes: fail the download of a longer video, keeping nothing
        (default: the connection extra ``max_download_bytes``, 4 GiB).
    :param prices: price overrides, ``{"currency": "USD", "wan2.6-t2v": {"720P": 0.1}}``.
    :param max_cost: refuse to submit when the estimate is above this amount (in the price
        table's currency); nothing is sent.
    :param dry_run: validate, render and estimate, log the exact request body, send nothing.
    :param cancel_on_kill: when a person stops the waiting task (mark failed or success,
        clear), cancel its Bailian task if it is still PENDING (free); a RUNNING one is never
        cancelled (default True). The state of the task instance is read from Airflow first,
        so a triggerer handing its triggers over or a worker shutting down cancels nothing.
        False never cancels.
    :param plan_fingerprint: set by ``BailianPlanOperator`` on each planned item: the task
        refuses to submit a rendered request that is not the one its plan priced.
    :param media: inputs of the media protocol (templated): a list of
        ``{"type": ..., "url": ...}`` dicts (``first_frame``, ``last_frame``, ``first_clip``,
        ``driving_audio``, ``reference_image``, ``reference_video``, ``reference_audio``,
        ``video``, ``file``, ``link``; extra keys such as ``reference_voice`` pass through),
        after the mode's own inputs, in the order the prompt counts them. Each ``url`` takes
        any input form (URL, data URI, local path, ``file://``, object-storage URL); the
        model's row of the capability table says which types, how many, and which together.
    :param upload_local_files: send image files through Bailian's temporary-file upload as
        ``oss://`` URLs instead of data URIs (DashScope style only; default False). Video,
        audio and PDF files always go that way.
    """

    ui_color = "#ff6a00"
    ui_fgcolor = "#ffffff"
    operator_extra_links = (BailianVideoLink(),)

    #: Set by every subclass (a templated field there).
    model: str
    #: The ``dry_run`` parameter; it shadows Airflow's ``BaseOperator.dry_run()`` method (a
    #: debugging aid that only logs the template fields), as it always has.
    dry_run: bool  # type: ignore[assignment]

    def __init__(
        self,
        *,
        bailian_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = False,
        deferrable: bool | None = None,
        poll_interval: float | None = None,
        timeout: float | timedelta | None = None,
        reattach: bool = True,
        download_to: str | None = None,
        prices: dict[str, Any] | None = None,
        max_cost: float | None = None,
        dry_run: bool = False,
        plan_fingerprint: str | None = None,
        max_download_bytes: int | None = None,
        media: list[dict[str, Any]] | str | None = None,
        upload_local_files: bool = False,
        cancel_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        declare_video_asset(download_to, kwargs)
        super().__init__(**kwargs)
        self.bailian_conn_id = bailian_conn_id
        self.wait_for_completion = wait_for_completion or bool(download_to)
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        self.reattach = reattach
        self.download_to = download_to
        self.prices = prices
        self.max_cost = max_cost
        self.dry_run = dry_run
        self.plan_fingerprint = plan_fingerprint
        self.max_download_bytes = max_download_bytes
        self.media = media
        self.upload_local_files = upload_local_files
        self.cancel_on_kill = cancel_on_kill
        self._waiting_on: str | None = None
        self._waiting_ti: Any = None
        self._lineage: dict[str, Any] = {}

    # ---- what a mode says -----------------------------------------------------------------
    @cached_property
    def hook(self) -> BailianHook:
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.hooks.bailian import BailianHook

        return BailianHook(bailian_conn_id=self.bailian_conn_id)

    def build_request(self) -> VideoRequest:
        """The rendered request, validated against the capability table (nothing sent yet)."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_request()")

    def _request_from_fields(self, request_type: type[VideoRequest]) -> VideoRequest:
        """The mode's request, each field taken from the operator attribute of the same name."""
        return self._validated(
            request_type(**{f.name: getattr(self, f.name) for f in fields(request_type)})
        )

    def _validated(self, request: VideoRequest) -> VideoRequest:
        """Validate a request built from the rendered fields; log the table's warnings."""
        request, warnings = request.validated()
        for warning in warnings:
            self.log.warning(warning)
        return request

    def request_fingerprint(self, request: VideoRequest) -> str:
        """Same request to the same connection -> same fingerprint (reattach matches on it)."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.reattach import request_fingerprint

        return request_fingerprint(request.fingerprint_body(), self.bailian_conn_id)

    def describe_request(self, request: VideoRequest) -> str:
        """What a dry run logs: the route this connection would use and the body.

        Raises, as a real run would, when the API style has no route for the model.
        """
        http = self.hook.protocol.submit(request)
        body = json.dumps(_clip_data_uris(http.json), indent=2, ensure_ascii=False)
        upload = ""
        if self.hook.will_upload(request, self.upload_local_files):
            upload = "\n(file inputs would be uploaded first and sent as oss:// URLs)"
        return f"{http.method} {http.url}\n{body}{upload}"

    # ---- execution ----------------------------------------------------------------------
    @metrics.count_refusals
    def execute(self, context: Any) -> str | None:
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.media import load_local_media
        from airflow_provider_bailian.reattach import SubmissionLedger

        ti = context["ti"]
        # Present from the start, so the "Bailian video" link never looks up a missing key.
        ti.xcom_push(key=XCOM_VIDEO_URL, value=None)
        request = self.build_request()
        if self.plan_fingerprint:
            # Execute time only: keeps DAG parsing light.
            from airflow_provider_bailian.planning import check_planned

            # As the plan saw it: file inputs by their names, before they are read.
            check_planned(request, self.plan_fingerprint, self.request_fingerprint(request))
        # Image files are read and checked here, at execute time (never at parse time).
        request = load_local_media(request)
        estimate = self.hook.price_table(self.prices).estimate(request)
        self.log.info(
            "Estimated cost of this video: %s", estimate or "unknown (model not in the price table)"
        )
        if self.dry_run:
            self.log.info(
                "Dry run: nothing is sent. The request body would be:\n%s",
                self.describe_request(request),
            )
            return None
        ledger = SubmissionLedger(context) if self.reattach else None
        obtained = self._submit_or_reattach(context, request, estimate, ledger)
        record = obtained.record
        target = record.target()
        task_id = target.task_id
        self.log.info(
            "Bailian task_id=%s request_id=%s model=%s",
            task_id,
            record.request_id,
            request.model,
        )
        ti.xcom_push(key=XCOM_TASK_ID, value=task_id)
        self._lineage.update(bailian_task_id=task_id, model=request.model)

        if not self.wait_for_completion:
            if ledger is not None:
                ledger.clear()
            return task_id
        if obtained.finished is not None:  # already SUCCEEDED: deferring would fire at once
            return self._finish(context, obtained.finished, None, ledger)
        if self.deferrable:
            self._defer(target)
        return self._wait_in_worker(context, target, ledger)

    def _submit_or_reattach(
        self, context: Any, request: VideoRequest, estimate: CostEstimate | None, ledger: Any
    ) -> Obtained:
        """The task this try waits for: an earlier try's, a recovered one, or a new submission.

        The one place a paid task is created (``reattach.SubmitOnce``): the intent is recorded
        before sending, the budget checked, the hook's retry rules never resend an ambiguous
        submission, and an ambiguous one is settled from Bailian's task list.
        """
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.reattach import RunClaims, SubmitOnce

        def send() -> Submission:
            self._check_budget(estimate)
            return self.submit(request)

        return SubmitOnce(
            hook=self.hook,
            ledger=ledger,
            claims=RunClaims(context) if ledger is not None else None,
            body=request.to_body(),
            fingerprint=self.request_fingerprint(request),
            duration=request.effective_duration,
            submit=send,
            log=self.log,
        ).obtain()

    def submit(self, request: VideoRequest) -> Submission:
        """Send the request: one hook call for every mode (the API style decides the route)."""
        return self.hook.submit_video(request, upload_local_files=self.upload_local_files)

    def _check_budget(self, estimate: CostEstimate | None) -> None:
        """Refuse (sending nothing) when the estimate is above ``max_cost``."""
        if self.max_cost is None:
            return

        if estimate is None:
            raise BailianBudgetError(
                f"max_cost={self.max_cost:g} is set but the cost of model {self.model!r} cannot "
                "be estimated; add it to `prices`. Nothing was sent"
            )
        if estimate.amount > self.max_cost:
            raise BailianBudgetError(
                f"Estimated cost {estimate} is above max_cost={self.max_cost:g} "
                f"{estimate.currency}. Nothing was sent"
            )

    def _defer(self, target: WaitTarget) -> None:
        # Only a task about to defer loads the trigger (and with it httpx).
        from airflow_provider_bailian.polling import trigger_deadline
        from airflow_provider_bailian.triggers.task import BailianTaskTrigger

        self._waiting_on = None
        self.defer(
            trigger=BailianTaskTrigger.for_target(
                target,
                bailian_conn_id=self.bailian_conn_id,
                poll_interval=self.poll_interval,
                deadline=trigger_deadline(self.timeout),
                cancel_on_kill=self.cancel_on_kill,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout else None,
        )

    def _wait_in_worker(self, context: Any, target: WaitTarget, ledger: Any) -> str:
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.polling import PollPolicy

        task_id = target.task_id
        policy = PollPolicy.create(target, poll_interval=self.poll_interval)
        self._waiting_on = task_id
        self._waiting_ti = context["ti"]
        started = time.monotonic()
        try:
            result = self.hook.wait_for_task(
                task_id, timeout=self.timeout, policy=policy, model=target.model
            )
        finally:
            self._waiting_on = None
        return self._finish(context, result, time.monotonic() - started, ledger)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> str:
        """Turn the trigger's event into success, or a failure naming Bailian's code and message."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.reattach import SubmissionLedger
        from airflow_provider_bailian.triggers.events import WaitEvent

        wait = WaitEvent.decode(event)
        result = wait.task_result() if wait.status == "success" else None
        if result is not None:
            ledger = SubmissionLedger(context) if self.reattach else None
            return self._finish(context, result, wait.elapsed, ledger)
        metrics.video_ended(self, wait.result)
        raise wait.error()

    def _finish(self, context: Any, result: TaskResult, elapsed: float | None, ledger: Any) -> str:
        ti = context["ti"]
        ti.xcom_push(key=XCOM_TASK_ID, value=result.task_id)
        ti.xcom_push(key=XCOM_VIDEO_URL, value=result.video_url)
        ti.xcom_push(key=XCOM_RESULT, value=result.to_dict())
        usage = result.usage
        self._lineage.update(
            bailian_task_id=result.task_id,
            model=self.model,
            video_url=result.video_url,
            video_seconds=usage.video_seconds if usage else None,
        )
        cost = self.hook.price_table(self.prices).actual(self.model, usage)
        metrics.video_ended(self, result, cost)
        ti.xcom_push(key=XCOM_USAGE, value=usage_summary(usage))
        ti.xcom_push(key=XCOM_COST, value=cost.to_dict() if cost else None)
        if cost is not None:
            self.log.info("Cost of this video by the price table: %s", cost)
        self.log.info(
            "Bailian task %s SUCCEEDED after %s; %s of video at %s; actual prompt: %s",
            result.task_id,
            f"{elapsed:.1f} s" if elapsed is not None else "an unknown time",
            f"{usage.video_seconds:g} s" if usage and usage.video_seconds else "? s",
            usage.size if usage and usage.size else "unknown size",
            result.actual_prompt or result.orig_prompt or "(not reported)",
        )
        if self.download_to:
            # The result already holds the signed URL: no second status query.
            path = self.hook.download_video(
                url=result.video_url,
                destination=self.download_to,
                max_bytes=self.max_download_bytes,
            )
            ti.xcom_push(key=XCOM_VIDEO_PATH, value=path)
            self._lineage["video_path"] = path
            record_asset_events(context, self.outlets, result, self.model)
        if ledger is not None:
            ledger.clear()
        return result.task_id

    # ---- OpenLineage (called only when apache-airflow-providers-openlineage is installed) --
    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Note the prompt's template file before rendering replaces the name by its text."""
        prompt = getattr(self, "prompt", None)
        if isinstance(prompt, str) and prompt.endswith(tuple(self.template_ext)):
            self._lineage["prompt_file"] = self._template_path(prompt)
        super().render_template_fields(context, jinja_env)

    def _template_path(self, name: str) -> str | None:
        """Where Jinja finds a template file: the DAG's folder, then ``template_searchpath``."""
        dag = getattr(self, "dag", None)
        searchpath = getattr(dag, "template_searchpath", None) or []
        folders = [
            getattr(dag, "folder", None),
            *([searchpath] if isinstance(searchpath, str) else searchpath),
        ]
        for folder in filter(None, folders):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return os.path.abspath(path)
        return None

    def get_openlineage_facets_on_start(self) -> Any:
        # OpenLineage is optional: only its listener calls this.
        from airflow_provider_bailian.lineage import operator_lineage

        return operator_lineage(self._lineage)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        # OpenLineage is optional: only its listener calls this.
        from airflow_provider_bailian.lineage import operator_lineage

        return operator_lineage(self._lineage)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self.get_openlineage_facets_on_complete(task_instance)

    def on_kill(self) -> None:
        """The wait in the worker was killed: cancel if a person stopped it and still PENDING.

        A killed task process is not always a person's stop (a worker shutting down, an
        execution timeout): the task instance's state is read from Airflow first.
        """
        task_id = self._waiting_on
        if not task_id:
            return
        if not self.cancel_on_kill:
            self.log.info("Bailian task %s is not cancelled: cancel_on_kill is off", task_id)
            return
        from airflow_provider_bailian.stop_check import TaskInstanceKey, decide_now

        ti = self._waiting_ti
        decision = decide_now(TaskInstanceKey.of(ti))
        if not decision.cancel:
            self.log.warning("Not cancelling Bailian task %s: %s", task_id, decision.reason)
            return
        self.log.info("Cancelling Bailian task %s if still PENDING: %s", task_id, decision.reason)
        if self.hook.cancel_if_pending(task_id):
            self._note_cancel(ti, task_id, decision)

    def _note_cancel(self, ti: Any, task_id: str, decision: Any) -> None:
        """Leave the next try a note that this on_kill cancelled the task (bounded in time)."""
        import threading

        from airflow_provider_bailian.reattach import CancelMarks
        from airflow_provider_bailian.stop_check import LOOKUP_TIMEOUT

        facts = {
            "by": f"on_kill of try {getattr(ti, 'try_number', None)} in the worker",
            "reason": decision.reason,
            "ti_state": decision.state,
        }
        failed: list[BaseException] = []

        def write() -> None:
            try:
                CancelMarks(ti).write(task_id, **facts)
            except Exception as exc:
                failed.append(exc)

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        thread.join(LOOKUP_TIMEOUT / 2)  # SIGKILL follows the SIGTERM within 5 s
        if failed or thread.is_alive():
            self.log.warning(
                "Could not note the cancel for the next try: %r", failed[0] if failed else "timeout"
            )


def _clip_data_uris(value: Any) -> Any:
    """The body with data URIs shortened, for a log line a person can read."""
    if isinstance(value, dict):
        return {k: _clip_data_uris(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clip_data_uris(v) for v in value]
    if isinstance(value, str) and value.startswith("data:") and len(value) > 80:
        return f"{value[:40]}... ({len(value)} characters)"
    return value
