"""BailianHook: the connection, the token, one HTTP session and the retry rules.

Operators and sensors stay thin over this hook. The HTTP details of the two API
styles live in ``protocol.py``; this module only sends what it builds, with
timeouts, retries that never pay twice, and the token kept out of every message.
"""

from __future__ import annotations

import logging
import socket
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_bailian import metrics
from airflow_provider_bailian._compat import BaseHook, mask_secret
from airflow_provider_bailian.connection import CONN_TYPE, DEFAULT_CONN_ID, BailianSettings
from airflow_provider_bailian.exceptions import (
    BailianAmbiguousSubmissionError,
    BailianAPIError,
    BailianError,
    BailianTaskFailedError,
    BailianTransportError,
    BailianValidationError,
    BailianWaitTimeoutError,
)
from airflow_provider_bailian.get_provider_info import CONN_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_provider_bailian.hooks.rate_limit import rate_limiter_for
from airflow_provider_bailian.models import (
    LocalFile,
    LocalImage,
    Submission,
    TaskResult,
    TaskStatus,
    Text2VideoRequest,
    VideoRequest,
)
from airflow_provider_bailian.protocol import (
    CANCELLED_MESSAGE,
    HttpAnswer,
    HttpRequest,
    is_throttled,
    is_transient,
    refuse_cancel_reason,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests
    from tenacity import RetryCallState

    from airflow_provider_bailian.polling import PollPolicy
    from airflow_provider_bailian.pricing import CostEstimate, PriceTable
    from airflow_provider_bailian.protocol import BailianProtocol
    from airflow_provider_bailian.recovery import RecoveryResult

log = logging.getLogger(__name__)


class BailianHook(BaseHook):
    """Talks to Bailian text-to-video through a ``bailian`` connection.

    :param bailian_conn_id: the connection; password = API key, host = base URL, extras
        ``api_style``, ``region``, ``workspace``, ``timeout``, ``connect_timeout``,
        ``max_retries``, ``retry_max_wait``, ``throttle_max_wait``, ``query_rate_limit``,
        and the ``recovery_*`` bounds of :meth:`find_orphaned_task`.
    """

    conn_name_attr = "bailian_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Alibaba Cloud Bailian"

    def __init__(self, bailian_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bailian_conn_id = bailian_conn_id

    # ---- connection ---------------------------------------------------------------------
    @cached_property
    def settings(self) -> BailianSettings:
        """The connection, read once; the token is masked as soon as it is read."""
        conn = self.get_connection(self.bailian_conn_id)
        if conn.password:
            mask_secret(conn.password)
        return BailianSettings.from_connection(conn)

    @cached_property
    def protocol(self) -> BailianProtocol:
        return self.settings.protocol()

    def get_conn(self) -> requests.Session:
        """The hook's one ``requests.Session`` (connection pooling across calls)."""
        return self._session

    @cached_property
    def _session(self) -> requests.Session:
        # HTTP client and retry library: loaded on first use, never at DAG parsing.
        import requests

        return requests.Session()

    def close(self) -> None:
        for name in ("_session", "_download_session"):
            if name in self.__dict__:
                self.__dict__.pop(name).close()

    # ---- transport ----------------------------------------------------------------------
    def _send(self, request: HttpRequest) -> HttpAnswer:
        """Send one request; transport failures become ``BailianTransportError``."""
        # HTTP client and retry library: loaded on first use, never at DAG parsing.
        import requests

        s = self.settings
        try:
            resp = self._session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                json=request.json,
                params=request.params,
                timeout=(s.connect_timeout, s.timeout),
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            raise _transport_error(exc, request, self.protocol) from None
        return HttpAnswer(
            status=resp.status_code,
            body=resp.content,
            headers=dict(resp.headers),
            content_type=resp.headers.get("Content-Type", ""),
        )

    def _retrying(self, *, what: str, submission: bool) -> Any:
        """tenacity policy: exponential backoff with jitter that honours ``Retry-After``.

        A query retries any transient failure up to ``max_retries`` times. A submission
        retries only what certainly created nothing: a connection that was never made,
        and 429 throttling (for up to ``throttle_max_wait`` seconds).
        """
        # HTTP client and retry library: loaded on first use, never at DAG parsing.
        from tenacity import Retrying, retry_if_exception, wait_exponential_jitter

        s = self.settings
        backoff = wait_exponential_jitter(
            initial=s.retry_min_wait, max=s.retry_max_wait, jitter=min(1.0, s.retry_min_wait)
        )
        started = time.monotonic()

        def should_retry(exc: BaseException) -> bool:
            if submission:
                not_sent = isinstance(exc, BailianTransportError) and not exc.request_sent
                return not_sent or is_throttled(exc)
            return is_transient(exc)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            delay = backoff(state)
            # Only the provider's errors are retried (should_retry), so only they get here.
            retry_after = exc.retry_after if isinstance(exc, BailianError) else None
            if retry_after is not None and retry_after > delay:
                delay = min(float(retry_after), max(s.throttle_max_wait, s.retry_max_wait))
            return delay

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if exc is not None and is_throttled(exc) and submission:
                return time.monotonic() - started >= s.throttle_max_wait
            return state.attempt_number > s.max_retries

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait_s = state.next_action.sleep if state.next_action else 0
            metrics.throttled(self, exc, "submission" if submission else "query")
            self.log.warning(
                "Bailian %s failed (%s); attempt %d, retrying in %.1f s",
                what,
                exc,
                state.attempt_number,
                wait_s,
            )

        return Retrying(
            retry=retry_if_exception(should_retry),
            wait=wait,
            stop=stop,
            before_sleep=before_sleep,
            reraise=True,
        )

    # ---- API ----------------------------------------------------------------------------
    def submit_text2video(
        self, request: Text2VideoRequest | None = None, **fields: Any
    ) -> Submission:
        """Validate and submit one text-to-video task; never sent twice.

        Pass a ``Text2VideoRequest`` or its fields (``model``, ``prompt``, ``size``, ...).
        Raises ``BailianValidationError`` before sending anything when a field is bad,
        ``BailianAmbiguousSubmissionError`` when the outcome is unknown (not resent).
        """
        if request is None:
            request = Text2VideoRequest(**fields)
        elif fields:
            raise TypeError("pass either a Text2VideoRequest or its fields, not both")
        return self.submit_video(request)

    def submit_video(
        self, request: VideoRequest, *, upload_local_files: bool = False
    ) -> Submission:
        """Validate and submit one generation task of any mode; never sent twice.

        The one submission path: the request's model decides the endpoint and body
        (``protocol.py``). Image inputs that are files are read and checked here
        (``media.py``) and sent as data URIs, or uploaded first with
        ``upload_local_files=True`` (DashScope style). Raises ``BailianValidationError``
        before sending anything when a field is bad, ``BailianAmbiguousSubmissionError``
        when the outcome is unknown (not resent).
        """
        request = self.prepare_request(request, upload_local_files=upload_local_files)
        http = self.protocol.submit(request)
        started = time.monotonic()
        try:
            for attempt in self._retrying(what="submission", submission=True):
                with attempt:
                    submission = self.protocol.parse_submission(self._send(http))
        except BailianTransportError as exc:
            if exc.request_sent:
                raise BailianAmbiguousSubmissionError(
                    f"{exc.message}. The submission may have reached Bailian and was NOT resent "
                    "(a duplicate would be billed); check the Bailian console before retrying",
                ) from None
            raise
        except BailianAPIError as exc:
            if is_throttled(exc):
                waited = time.monotonic() - started
                raise BailianAPIError(
                    f"Bailian kept throttling the submission for {waited:.0f} s "
                    f"(throttle_max_wait={self.settings.throttle_max_wait:g}); nothing was created. "
                    f"Last answer: {exc.message}. Lower the concurrency (an Airflow pool) or retry later",
                    status=exc.status,
                    code=exc.code,
                    request_id=exc.request_id,
                ) from None
            raise
        metrics.submitted(self, request.model)
        self.log.info(
            "Submitted Bailian task %s (model %s, request_id %s)",
            submission.task_id,
            request.model,
            submission.request_id,
        )
        return submission

    def prepare_request(
        self, request: VideoRequest, *, upload_local_files: bool = False
    ) -> VideoRequest:
        """Validate, read and check file inputs, and upload them when asked: all before sending."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.media import is_loaded, load_local_media, upload_local_media

        if not is_loaded(request):  # the operators validate and read once, before this
            request, warnings = request.validated()
            for warning in warnings:
                self.log.warning(warning)
            request = load_local_media(request)
        if self.will_upload(request, upload_local_files):
            request = upload_local_media(request, self.upload_file, images=upload_local_files)
        return request

    def will_upload(self, request: VideoRequest, upload_local_files: bool) -> bool:
        """Whether file inputs go through the temporary upload; refused where no style can.

        Videos, audio and documents read from files always do; images only when asked.
        """
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.media import has_local_files, has_local_images

        if has_local_files(request):
            if not self.protocol.can_upload:
                files = [
                    getattr(v, "source", v) for v in request.media_values() if hasattr(v, "kind")
                ]
                raise BailianValidationError(
                    [
                        (
                            "media",
                            files[:3],
                            f"URLs for {request.model} with the {self.settings.style.value} API "
                            "style: its video, audio and PDF files go through the temporary "
                            "upload, which only the dashscope API style has",
                        )
                    ]
                )
            return True
        if not (upload_local_files and has_local_images(request)):
            return False
        if not self.protocol.can_upload:
            raise BailianValidationError(
                [
                    (
                        "upload_local_files",
                        True,
                        f"False with the {self.settings.style.value} API style (it cannot "
                        "resolve oss:// uploads); files are then sent as data URIs",
                    )
                ]
            )
        return True

    def upload_file(self, image: LocalImage | LocalFile, model: str) -> str:
        """Upload a file to Bailian's temporary storage (48 h, this model and account only).

        Returns its ``oss://`` URL. The form goes to the storage host without the API key;
        the object name holds the content hash, so a retried upload finds the same key. A
        video, audio or document is streamed from its source (constant memory), opened
        again for every attempt.
        """
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.media import open_input, upload_key_name

        policy_request = self.protocol.upload_policy(model)
        for attempt in self._retrying(what="upload policy request", submission=False):
            with attempt:
                answer = self._send(policy_request)
                if not 200 <= answer.status < 300:
                    raise self.protocol.error_from(answer, operation="upload policy")
        name = upload_key_name(image)
        host, form, oss_url = self.protocol.upload_form(answer, name, image.mime)
        for attempt in self._retrying(what=f"upload of {image.source}", submission=False):
            with attempt:
                content = (
                    image.data
                    if isinstance(image, LocalImage)
                    else open_input(image.location or image.source)
                )
                try:
                    resp = self._post_form(host, form, (name, content, image.mime))
                except _requests_error() as exc:
                    raise self.protocol.transport_error(
                        HttpRequest("POST", host, operation="upload"), exc, sent=True
                    ) from None
                finally:
                    if hasattr(content, "close"):
                        content.close()
                # 409: the same content is already there under this key (no overwrite).
                if not (200 <= resp.status_code < 300 or resp.status_code == 409):
                    raise self.protocol.error_from(
                        HttpAnswer(
                            resp.status_code,
                            resp.content,
                            dict(resp.headers),
                            resp.headers.get("Content-Type", ""),
                        ),
                        operation=f"upload of {image.source}",
                    )
        self.log.info("Uploaded %s to Bailian's temporary storage as %s", image.source, oss_url)
        return oss_url

    def _post_form(self, host: str, form: dict[str, str], file: tuple[str, Any, str]) -> Any:
        """The multipart POST, streamed (``requests_toolbelt``): the file part goes last."""
        # HTTP client and retry library: loaded on first use, never at DAG parsing.
        from requests_toolbelt import MultipartEncoder

        encoder = MultipartEncoder(fields=[*form.items(), ("file", file)])
        s = self.settings
        return self._download_session.post(
            host,
            data=encoder,
            headers={"Content-Type": encoder.content_type},
            timeout=(s.connect_timeout, s.timeout),
            allow_redirects=False,
        )

    def get_task(self, task_id: str) -> TaskResult:
        """The task's status and result, retried on transient failures (reads are safe)."""
        http = self.protocol.query(task_id)
        for attempt in self._retrying(what=f"query of task {task_id}", submission=False):
            with attempt:
                metrics.status_request(self, "task")
                return self.protocol.parse_task(task_id, self._send(http))
        raise AssertionError("unreachable")  # pragma: no cover

    def cancel_task(self, task_id: str) -> None:
        """Cancel a PENDING task (DashScope only; a RUNNING task cannot be cancelled)."""
        http = self.protocol.cancel(task_id)
        for attempt in self._retrying(what=f"cancel of task {task_id}", submission=False):
            with attempt:
                self.protocol.parse_ok(self._send(http), operation="cancel", task_id=task_id)
        self.log.info("Cancelled Bailian task %s", task_id)

    def list_tasks(self, **filters: Any) -> dict[str, Any]:
        """DashScope's task list (``status``, ``model_name``, ``start_time``, ``page_size``...)."""
        http = self.protocol.list_tasks(**filters)
        for attempt in self._retrying(what="task list", submission=False):
            with attempt:
                return self.protocol.parse_ok(self._send(http), operation="list")
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- recovery of ambiguous submissions ------------------------------------------------
    @property
    def submission_bound(self) -> float:
        """The longest a submission can take here: connect + read timeouts + throttling."""
        s = self.settings
        return s.connect_timeout + s.timeout + s.throttle_max_wait

    def find_orphaned_task(
        self,
        body: dict[str, Any],
        *,
        since: float,
        until: float,
        claimed: Callable[[str], bool],
    ) -> RecoveryResult:
        """Look in the task list for the task a submission of ``body`` may have created.

        DashScope only. Reads go through the query retry rules and the account's query
        limiter; the search is bounded (connection extras ``recovery_settle``,
        ``recovery_timeout``, ``recovery_skew``, ``recovery_max_candidates``) and never
        submits. See ``airflow_provider_bailian.recovery``.
        """
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.recovery import RecoveryLimits, find_orphan

        self.protocol.require_dashscope("list tasks")
        limits = RecoveryLimits.from_extras(self.settings.extras)
        return find_orphan(
            _RecoveryReader(self), body, since=since, until=until, claimed=claimed, limits=limits
        )

    def _paced(self, http: HttpRequest, what: str) -> HttpAnswer:
        """Send a read-only request through the query limiter and the query retry rules."""
        limiter = rate_limiter_for(self.settings)
        for attempt in self._retrying(what=what, submission=False):
            with attempt:
                time.sleep(limiter.reserve())
                answer = self._send(http)
                if not 200 <= answer.status < 300:
                    raise self.protocol.error_from(answer, operation=http.operation)
                return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def cancel_if_pending(self, task_id: str) -> bool:
        """Cancel the task when cancelling is free (PENDING); leave a running one alone.

        Used when a user stops an Airflow task. Returns whether it cancelled; every
        outcome is logged, and nothing here raises (it runs on the way out).
        """
        try:
            reason = refuse_cancel_reason(self.get_task(task_id), self.protocol)
            if reason:
                self.log.info(reason)
                return False
            self.cancel_task(task_id)
            self.log.info(CANCELLED_MESSAGE, task_id)
            return True
        except BailianError as exc:
            self.log.warning("Could not cancel Bailian task %s: %s", task_id, exc)
            return False

    def wait_for_task(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        policy: PollPolicy | None = None,
        model: str | None = None,
    ) -> TaskResult:
        """Block until the task is terminal (non-deferrable waits); raise unless SUCCEEDED.

        A timeout leaves the Bailian task running: it is not cancelled.
        """
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.polling import PollPolicy

        policy = policy or PollPolicy.create(poll_interval=poll_interval)
        started = time.monotonic()
        while True:
            result = self.get_task(task_id)
            if result.status is TaskStatus.SUCCEEDED:
                return result
            if result.status.is_terminal:
                metrics.video_ended(self, result)
                raise BailianTaskFailedError(
                    result.describe_failure(model),
                    code=result.code,
                    request_id=result.request_id,
                    task_id=task_id,
                )
            delay = policy.next_delay(result)
            if timeout is not None:
                remaining = timeout - (time.monotonic() - started)
                if remaining <= 0:
                    raise BailianWaitTimeoutError(
                        f"Waited {time.monotonic() - started:.0f} s (timeout {timeout:g} s) for "
                        f"Bailian task {task_id}; it is still {result.status.value} and was not "
                        "cancelled",
                        task_id=task_id,
                    )
                delay = min(delay, remaining)
            self.log.info(
                "Bailian task %s is %s; next check in %.1f s", task_id, result.status, delay
            )
            time.sleep(delay)

    # ---- delivery and spend ----------------------------------------------------------------
    def download_video(
        self,
        task_id: str | None = None,
        *,
        destination: Any,
        url: str | None = None,
        chunk_size: int | None = None,
        max_bytes: int | None = None,
    ) -> str:
        """Copy a finished task's video (or a signed ``url``) to ``destination``.

        ``destination`` is a local path, ``file://`` URL or any object-storage URL Airflow
        knows (``s3://``, ``gs://``...). Returns the final path. The API token is never
        sent to the video host. ``max_bytes`` (default: the connection extra
        ``max_download_bytes``, 4 GiB) caps the video. See ``airflow_provider_bailian.download``.
        """
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.download import CHUNK_SIZE, download, url_secrets

        if url is None:
            if not task_id:
                raise BailianError("download_video needs a task_id or a url")
            url = self.get_finished_task(task_id).video_url
            assert url is not None  # get_finished_task raises for a task without a video
        for secret in url_secrets(url):
            mask_secret(secret)
        s = self.settings
        done = download(
            self._download_session,
            url,
            destination,
            chunk_size=chunk_size or CHUNK_SIZE,
            max_retries=s.max_retries,
            timeout=(s.connect_timeout, s.timeout),
            retry_wait=s.retry_min_wait,
            max_bytes=max_bytes if max_bytes is not None else s.max_download_bytes,
            origin=s.base_url,
        )
        return done.path

    def get_finished_task(self, task_id: str) -> TaskResult:
        """The task's result, which must be SUCCEEDED with a video; raises otherwise."""
        result = self.get_task(task_id)
        if result.status is not TaskStatus.SUCCEEDED or not result.video_url:
            reason = result.describe_failure() if result.status.is_terminal else result.status.value
            raise BailianTaskFailedError(
                f"Bailian task {task_id} has no video to download: {reason}",
                code=result.code,
                task_id=task_id,
            )
        return result

    @cached_property
    def _download_session(self) -> requests.Session:
        """A session with no credentials at all: the video and upload hosts see no token.

        It does not trust the environment either: no ``.netrc`` entry, proxy variable or CA
        bundle variable of the worker applies to these hosts. Redirects: see ``download``.
        """
        # HTTP client and retry library: loaded on first use, never at DAG parsing.
        import requests

        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.download import MAX_REDIRECTS

        session = requests.Session()
        session.trust_env = False
        session.max_redirects = MAX_REDIRECTS
        return session

    def price_table(self, overrides: dict[str, Any] | None = None) -> PriceTable:
        """The price table for this connection's region, with connection and call overrides."""
        # Execute time only: keeps DAG parsing light.
        from airflow_provider_bailian.pricing import PriceTable

        return PriceTable(self.settings.region, {**self.settings.prices, **(overrides or {})})

    def estimate_cost(
        self,
        request: VideoRequest | None = None,
        *,
        prices: dict[str, Any] | None = None,
        **fields: Any,
    ) -> CostEstimate | None:
        """What a request will cost by the price table; ``None`` for an unpriced model."""
        if request is None:
            request = Text2VideoRequest(**fields)
        request, _ = request.validated()
        return self.price_table(prices).estimate(request)

    def test_connection(self) -> tuple[bool, str]:
        """For the UI's Test button: proves the key without creating a (paid) task."""
        try:
            answer = self._send(self.protocol.probe())
        except BailianError as exc:
            return False, str(exc)
        if answer.status in (401, 403):
            err = self.protocol.error_from(answer, operation="connection test")
            return False, f"The API key was refused: {err}"
        if answer.status >= 400 and answer.status != 404:
            return False, str(self.protocol.error_from(answer, operation="connection test"))
        s = self.settings
        return True, f"Bailian ({s.style.value} API at {s.base_url}) accepted the API key"

    # ---- connection form (Airflow 2.11 reads these; Airflow 3 reads the provider info) ----
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        # Airflow 2.11's connection form only (its web server has these).
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import StringField

        return {
            name: StringField(
                lazy_gettext(spec["label"]),
                widget=BS3TextFieldWidget(),
                description=spec["description"],
            )
            for name, spec in CONN_FIELDS.items()
        }

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        behaviour = dict(UI_FIELD_BEHAVIOUR)
        behaviour["hidden_fields"] = behaviour.pop("hidden-fields")
        return behaviour


class _RecoveryReader:
    """The task list and task reads a recovery search needs, through the hook's rules."""

    def __init__(self, hook: BailianHook) -> None:
        self.hook = hook

    def list_page(self, *, model: str, page_no: int, page_size: int) -> dict[str, Any]:
        protocol = self.hook.protocol
        http = protocol.list_tasks(model_name=model, page_no=page_no, page_size=page_size)
        try:
            answer = self.hook._paced(http, "task list")
        except BailianAPIError as exc:
            if exc.status != 400 or page_size <= 10:
                raise
            # The page size limit is not published: fall back to the documented default.
            http = protocol.list_tasks(model_name=model, page_no=page_no, page_size=10)
            answer = self.hook._paced(http, "task list")
        return protocol.parse_ok(answer, operation="list")

    def read(self, task_id: str) -> tuple[TaskResult, dict[str, Any]]:
        protocol = self.hook.protocol
        answer = self.hook._paced(protocol.query(task_id), f"query of task {task_id}")
        return protocol.parse_task(task_id, answer), protocol.task_fields(answer)


def _transport_error(
    exc: Exception, request: HttpRequest, protocol: BailianProtocol
) -> BailianTransportError:
    """Say whether the request may have reached the server: that decides a resubmission."""
    # HTTP client and retry library: loaded on first use, never at DAG parsing.
    import requests

    sent = True
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        sent = False
    elif isinstance(exc, requests.exceptions.ConnectionError):
        sent = not _never_connected(exc)
    return protocol.transport_error(request, exc, sent=sent)


def _never_connected(exc: BaseException) -> bool:
    """True for DNS failures and refused connections: the server saw nothing."""
    # HTTP client and retry library: loaded on first use, never at DAG parsing.
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(
            cur, (NewConnectionError, NameResolutionError, ConnectionRefusedError, socket.gaierror)
        ):
            return True
        stack.extend([getattr(cur, "reason", None), cur.__cause__, cur.__context__])
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
    return False


def _requests_error() -> type[Exception]:
    # HTTP client and retry library: loaded on first use, never at DAG parsing.
    import requests

    return requests.exceptions.RequestException
