"""BailianTaskSensor: wait for a Bailian task that another task submitted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian._compat import BaseSensorOperator, default_deferrable
from airflow_provider_bailian.connection import DEFAULT_CONN_ID
from airflow_provider_bailian.links.video import BailianVideoLink
from airflow_provider_bailian.outputs import XCOM_VIDEO_URL
from airflow_provider_bailian.polling import trigger_deadline

if TYPE_CHECKING:
    from airflow_provider_bailian.hooks.bailian import BailianHook
    from airflow_provider_bailian.models import TaskResult


class BailianTaskSensor(BaseSensorOperator):
    """Waits until a Bailian task is terminal; poke, reschedule or deferrable.

    On SUCCEEDED the return value (XCom) is the result dict and ``video_url`` is pushed.
    FAILED, CANCELED and UNKNOWN fail the sensor with Bailian's code and message
    (or skip it with ``soft_fail=True``). The sensor does not own the task: by default
    stopping it never cancels the Bailian task.

    :param bailian_task_id: the task id, typically ``"{{ ti.xcom_pull(task_ids='submit') }}"``.
    :param bailian_conn_id: the ``bailian`` connection.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    :param cancel_on_kill: deferrable only: when a person stops the deferred sensor (mark
        failed or success, clear), cancel the Bailian task if it is still PENDING, once
        Airflow confirms the sensor is no longer deferred (default False: the task belongs
        to whoever submitted it).
    """

    template_fields: Sequence[str] = ("bailian_task_id",)
    ui_color = "#ffb366"
    operator_extra_links = (BailianVideoLink(),)

    def __init__(
        self,
        *,
        bailian_task_id: str,
        bailian_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool | None = None,
        cancel_on_kill: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 15)
        super().__init__(**kwargs)
        self.bailian_task_id = bailian_task_id
        self.bailian_conn_id = bailian_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.cancel_on_kill = cancel_on_kill

    @cached_property
    def hook(self) -> BailianHook:
        from airflow_provider_bailian.hooks.bailian import BailianHook

        return BailianHook(bailian_conn_id=self.bailian_conn_id)

    def _task_id(self) -> str:
        task_id = str(self.bailian_task_id or "").strip()
        if not task_id or task_id == "None":
            from airflow_provider_bailian.exceptions import BailianValidationError

            raise BailianValidationError(
                [
                    (
                        "bailian_task_id",
                        self.bailian_task_id,
                        "a Bailian task id (did the XCom pull find one?)",
                    )
                ]
            )
        return task_id

    def poke(self, context: Any) -> Any:
        from airflow_provider_bailian._compat import PokeReturnValue

        result = self.hook.get_task(self._task_id())
        if result.status.is_active:
            self.log.info("Bailian task %s is %s", result.task_id, result.status.value)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._finish(context, result))

    def _finish(self, context: Any, result: TaskResult) -> dict[str, Any]:
        from airflow_provider_bailian.models import TaskStatus

        if result.status is not TaskStatus.SUCCEEDED:
            self._fail(result.describe_failure(), code=result.code, request_id=result.request_id)
        context["ti"].xcom_push(key=XCOM_VIDEO_URL, value=result.video_url)
        self.log.info("Bailian task %s SUCCEEDED: %s", result.task_id, result.video_url)
        return result.to_dict()

    def _fail(
        self, message: str, *, code: str | None = None, request_id: str | None = None
    ) -> None:
        from airflow_provider_bailian._compat import AirflowSkipException
        from airflow_provider_bailian.exceptions import BailianTaskFailedError

        if self.soft_fail:
            raise AirflowSkipException(f"{message} (soft_fail: skipping)")
        raise BailianTaskFailedError(
            message, code=code, request_id=request_id, task_id=str(self.bailian_task_id)
        )

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_bailian.triggers.task import BailianTaskTrigger

        task_id = self._task_id()
        result = self.hook.get_task(task_id)
        if result.status.is_terminal:
            return self._finish(context, result)
        timeout = float(self.timeout) if self.timeout else None
        self.defer(
            trigger=BailianTaskTrigger(
                bailian_task_id=task_id,
                bailian_conn_id=self.bailian_conn_id,
                poll_interval=float(self.poke_interval),
                deadline=trigger_deadline(timeout),
                cancel_on_kill=self.cancel_on_kill,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout) if timeout else None,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        from airflow_provider_bailian.triggers.events import WaitEvent

        wait = WaitEvent.decode(event)
        result = wait.task_result() if wait.status in ("success", "failed") else None
        if result is not None:
            return self._finish(context, result)
        if wait.status == "timeout":
            from airflow_provider_bailian._compat import AirflowSkipException

            if self.soft_fail:
                raise AirflowSkipException(event.get("message"))
            from airflow_provider_bailian.exceptions import BailianWaitTimeoutError

            raise BailianWaitTimeoutError(event.get("message", "timeout"), task_id=wait.task_id)
        self._fail(event.get("message") or "Bailian wait failed", code=event.get("code"))
        return None
