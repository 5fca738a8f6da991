"""The HTTP protocol of both Bailian API styles, as plain functions with no I/O.

A request goes in (method, URL, headers, body) and a typed result or a
``BailianError`` comes out. The sync hook (``requests``) and the async trigger
client (``httpx``) both call this module, so the gateway and DashScope styles
differ here and nowhere else: paths, headers, where the task id lives, how an
error body reads, which failures are safe to retry.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_provider_bailian.capabilities import (
    ENDPOINT_IMAGE2VIDEO,
    ENDPOINT_VIDEO,
    SHAPE_IMG_URL,
    SHAPE_PROMPT,
    SHAPE_REFERENCES,
    models_of,
)
from airflow_provider_bailian.exceptions import (
    BailianAmbiguousSubmissionError,
    BailianAPIError,
    BailianError,
    BailianPermanentError,
    BailianTransportError,
    BailianValidationError,
)

# The body (the same in both styles) is laid out with the request types; named here too.
from airflow_provider_bailian.models import INPUT_LAYOUTS as INPUT_LAYOUTS
from airflow_provider_bailian.models import Submission, TaskResult, TaskStatus, Usage, VideoRequest
from airflow_provider_bailian.models import request_body as request_body
from airflow_provider_bailian.results import content_check_note


class ApiStyle(str, Enum):
    """The two ways to reach Bailian."""

    GATEWAY = "gateway"  # POST /task/bailian/text2video, GET /task/{id}
    DASHSCOPE = "dashscope"  # Alibaba's /api/v1 endpoints with X-DashScope-Async

    def __str__(self) -> str:
        return self.value


GATEWAY_DEFAULT_URL = "https://api.gpt.ge"
#: DashScope base URL by region; the key, the model and the endpoint must share a region.
#: An empty URL: the region is reached only through a workspace domain (section 19).
REGIONS: dict[str, str] = {
    "cn-beijing": "https://dashscope.aliyuncs.com",
    "ap-southeast-1": "https://dashscope-intl.aliyuncs.com",
    "us-east-1": "https://dashscope-us.aliyuncs.com",
    "cn-hongkong": "",
}
#: Alibaba's recommended host: a workspace of a region (connection extra ``workspace_domain``).
WORKSPACE_DOMAIN = "https://{workspace}.{region}.maas.aliyuncs.com"
_WORKSPACE_HOST = re.compile(r"^[^.]+\.([a-z0-9-]+)\.maas\.aliyuncs\.com$")
REGION_ALIASES: dict[str, str] = {
    "beijing": "cn-beijing",
    "china": "cn-beijing",
    "cn": "cn-beijing",
    "singapore": "ap-southeast-1",
    "intl": "ap-southeast-1",
    "international": "ap-southeast-1",
    "virginia": "us-east-1",
    "us": "us-east-1",
    "hongkong": "cn-hongkong",
    "hong-kong": "cn-hongkong",
    "hk": "cn-hongkong",
}
DEFAULT_REGION = "cn-beijing"
_DASHSCOPE_HOST = re.compile(r"(^|\.)(dashscope(-intl|-us)?\.aliyuncs\.com|maas\.aliyuncs\.com)$")

#: Error codes (and their sub-codes, ``AccessDenied.Unpurchased``) that no retry can fix: the
#: same request fails the same way until a person changes the key, request or account.
PERMANENT_CODES = frozenset(
    {
        "InvalidApiKey",
        "InvalidParameter",
        "Arrearage",
        "DataInspectionFailed",
        "AccessDenied",
        "ModelNotFound",
    }
)
#: Throttling codes whose wording misleads: said in the error's message.
THROTTLE_HINTS = {
    "Throttling.AllocationQuota": (
        "despite the word 'quota' this is a short-term limit that usually clears within "
        "about a minute"
    ),
}

#: Statuses after which a query (which changes nothing) is worth repeating.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})

GATEWAY_SUBMIT_PATH = "/task/bailian/text2video"
DASHSCOPE_SUBMIT_PATH = "/api/v1/services/aigc/video-generation/video-synthesis"
DASHSCOPE_IMAGE2VIDEO_PATH = "/api/v1/services/aigc/image2video/video-synthesis"
DASHSCOPE_UPLOAD_PATH = "/api/v1/uploads"
OSS_RESOLVE_HEADER = "X-DashScope-OssResourceResolve"

#: DashScope submission path by the capability table's endpoint.
DASHSCOPE_PATHS = {
    ENDPOINT_VIDEO: DASHSCOPE_SUBMIT_PATH,
    ENDPOINT_IMAGE2VIDEO: DASHSCOPE_IMAGE2VIDEO_PATH,
}
#: Gateway route by the table's input shape; kf2v and wan2.7's media shape have none (§15).
GATEWAY_PATHS = {
    SHAPE_PROMPT: GATEWAY_SUBMIT_PATH,
    SHAPE_IMG_URL: "/task/bailian/image2video",
    SHAPE_REFERENCES: "/task/bailian/ref2video",
}
#: Parameters the gateway requires on a route, filled with the model's default when unset.
GATEWAY_REQUIRED: dict[str, tuple[str, ...]] = {
    SHAPE_IMG_URL: ("resolution", "duration"),
    SHAPE_REFERENCES: ("size", "duration"),
}


def resolve_region(region: str | None) -> str:
    """Canonical region id ("cn-beijing") from an id or a friendly name ("singapore")."""
    key = (region or DEFAULT_REGION).strip().lower()
    key = REGION_ALIASES.get(key, key)
    if key not in REGIONS:
        allowed = ", ".join([*REGIONS, *REGION_ALIASES])
        raise BailianError(f"Unknown Bailian region {region!r}; allowed: {allowed}")
    return key


def infer_style(host: str | None) -> ApiStyle:
    """DashScope domains speak the DashScope style; any other host is a gateway."""
    if not host:
        return ApiStyle.GATEWAY
    netloc = urlsplit(host if "://" in host else f"https://{host}").hostname or ""
    return ApiStyle.DASHSCOPE if _DASHSCOPE_HOST.search(netloc.lower()) else ApiStyle.GATEWAY


def parse_style(value: str | None, host: str | None) -> ApiStyle:
    if not value:
        return infer_style(host)
    try:
        return ApiStyle(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ApiStyle)
        raise BailianError(f"Unknown api_style {value!r}; allowed: {allowed}") from None


def workspace_base_url(workspace: str | None, region: str | None) -> str:
    """``https://{workspace}.{region}.maas.aliyuncs.com``: the workspace domain of a region."""
    if not workspace or not re.fullmatch(r"[A-Za-z0-9-]+", str(workspace)):
        raise BailianError(
            f"workspace_domain needs the connection extra 'workspace' (the Model Studio "
            f"workspace id, letters, digits and '-'); got {workspace!r}"
        )
    return WORKSPACE_DOMAIN.format(workspace=workspace, region=resolve_region(region))


def region_of_host(base_url: str) -> str | None:
    """The region a workspace domain names (``ws.cn-hongkong.maas.aliyuncs.com``)."""
    found = _WORKSPACE_HOST.match(urlsplit(base_url).hostname or "")
    return found.group(1) if found and found.group(1) in REGIONS else None


def resolve_base_url(host: str | None, style: ApiStyle, region: str | None) -> str:
    """The base URL: the connection host, else the style's default (region for DashScope)."""
    if host:
        url = host.strip() if "://" in host else f"https://{host.strip()}"
        url = url.rstrip("/")
        # Users paste DashScope URLs with the /api/v1 suffix the SDK uses; paths are added here.
        return url[: -len("/api/v1")] if url.endswith("/api/v1") else url
    if style is ApiStyle.DASHSCOPE:
        key = resolve_region(region)
        if not REGIONS[key]:
            raise BailianError(
                f"Region {key} is reached only through a workspace domain: set the connection "
                "extras workspace_domain=true and workspace=<id> (or the host "
                f"{WORKSPACE_DOMAIN.format(workspace='<id>', region=key)})"
            )
        return REGIONS[key]
    return GATEWAY_DEFAULT_URL


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request to send. ``headers`` hold the token: never log them."""

    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False, default_factory=dict)
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    operation: str = "query"  # submit | query | cancel | list


@dataclass(frozen=True)
class HttpAnswer:
    """What came back, independent of the HTTP library."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = ""


@dataclass(frozen=True)
class BailianProtocol:
    """Builds requests and reads answers for one base URL, style and token."""

    style: ApiStyle
    base_url: str
    api_key: str = field(repr=False)
    workspace: str | None = None
    user_agent: str = "airflow-provider-bailian"

    # ---- requests -----------------------------------------------------------------------
    def _headers(self, *, submit: bool = False) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }
        if submit:
            headers["Content-Type"] = "application/json"
        if self.style is ApiStyle.DASHSCOPE:
            if submit:
                headers["X-DashScope-Async"] = "enable"
            if self.workspace:
                headers["X-DashScope-WorkSpace"] = self.workspace
        return headers

    def _task_path(self, task_id: str) -> str:
        tid = quote(str(task_id), safe="")
        return f"/api/v1/tasks/{tid}" if self.style is ApiStyle.DASHSCOPE else f"/task/{tid}"

    def submit(self, request: VideoRequest) -> HttpRequest:
        """The submission of any mode: the model's row picks the endpoint and the body shape.

        Raises ``BailianValidationError`` (nothing sent) when this API style has no route
        for the model, or the route requires a field the request leaves out.
        """
        route = request.route
        body = request.to_body()
        headers = self._headers(submit=True)
        if self.style is ApiStyle.DASHSCOPE:
            path = DASHSCOPE_PATHS[route.endpoint]
            if any(isinstance(v, str) and v.startswith("oss://") for v in request.media_values()):
                headers[OSS_RESOLVE_HEADER] = "enable"
        else:
            path = self._gateway_path(request, body)
        return HttpRequest("POST", self.base_url + path, headers, json=body, operation="submit")

    def _gateway_path(self, request: VideoRequest, body: dict[str, Any]) -> str:
        route = request.route
        path = GATEWAY_PATHS.get(route.shape) if route.endpoint == ENDPOINT_VIDEO else None
        if path is None:
            routed = [s.name for s in _gateway_models(request.MODES)]
            raise BailianValidationError(
                [
                    (
                        "model",
                        request.model,
                        f"a model the gateway API style has a route for ({', '.join(routed)}); "
                        f"{request.model} ({route.mode}, {route.shape}) needs the dashscope "
                        "API style",
                    )
                ]
            )
        if route.shape == SHAPE_IMG_URL and not body["input"].get("prompt"):
            raise BailianValidationError(
                [("prompt", None, "a non-empty text: the gateway API style requires it here")]
            )
        spec = request.spec
        params = body.setdefault("parameters", {})
        for name in GATEWAY_REQUIRED.get(route.shape, ()):
            if params.get(name) is None and spec is not None:
                default = {
                    "resolution": spec.default_resolution,
                    "size": spec.default_size,
                    "duration": request.effective_duration,
                }[name]
                if default is not None:
                    params[name] = default
        return path

    def upload_policy(self, model: str) -> HttpRequest:
        """Step 1 of a temporary-file upload (§14): the signed form for this model."""
        self.require_dashscope("upload local files (upload_local_files=True)")
        return HttpRequest(
            "GET",
            self.base_url + DASHSCOPE_UPLOAD_PATH,
            self._headers(),
            params={"action": "getPolicy", "model": model},
            operation="upload policy",
        )

    def upload_form(
        self, answer: HttpAnswer, file_name: str, content_type: str
    ) -> tuple[str, dict[str, str], str]:
        """Step 2: (upload host, form fields, ``oss://`` URL) from the policy answer.

        The form goes to the storage host without the API key; the file part goes last.
        """
        data = self.parse_ok(answer, operation="upload policy")
        policy = data.get("data") if isinstance(data, dict) else None
        if not isinstance(policy, dict) or not policy.get("upload_host"):
            raise BailianAPIError(
                f"Unreadable upload policy answer: {self._snippet(answer)}", status=answer.status
            )
        key = f"{str(policy.get('upload_dir', '')).rstrip('/')}/{file_name}".lstrip("/")
        fields = {
            "OSSAccessKeyId": str(policy.get("oss_access_key_id", "")),
            "Signature": str(policy.get("signature", "")),
            "policy": str(policy.get("policy", "")),
            "key": key,
            "x-oss-object-acl": str(policy.get("x_oss_object_acl", "private")),
            "x-oss-forbid-overwrite": str(policy.get("x_oss_forbid_overwrite", "true")),
            "success_action_status": "200",
            "x-oss-content-type": content_type,
        }
        return str(policy["upload_host"]), fields, f"oss://{key}"

    def query(self, task_id: str) -> HttpRequest:
        return HttpRequest("GET", self.base_url + self._task_path(task_id), self._headers())

    def cancel(self, task_id: str) -> HttpRequest:
        self.require_dashscope("cancel")
        url = self.base_url + self._task_path(task_id) + "/cancel"
        return HttpRequest("POST", url, self._headers(), operation="cancel")

    def list_tasks(self, **filters: Any) -> HttpRequest:
        self.require_dashscope("list tasks")
        params = {k: v for k, v in filters.items() if v is not None}
        return HttpRequest(
            "GET",
            self.base_url + "/api/v1/tasks/",
            self._headers(),
            params=params,
            operation="list",
        )

    def probe(self) -> HttpRequest:
        """A free request that proves the key works: list (DashScope) or query a dummy id."""
        if self.style is ApiStyle.DASHSCOPE:
            return self.list_tasks(page_no=1, page_size=1)
        return self.query("airflow-connection-test")

    @property
    def can_cancel(self) -> bool:
        return self.style is ApiStyle.DASHSCOPE

    @property
    def can_upload(self) -> bool:
        """Only DashScope has the temporary-file upload (and resolves ``oss://`` inputs)."""
        return self.style is ApiStyle.DASHSCOPE

    @property
    def can_list(self) -> bool:
        """Only DashScope lists the account's tasks (the gateway has no list endpoint)."""
        return self.style is ApiStyle.DASHSCOPE

    def require_dashscope(self, what: str) -> None:
        """Refuse, before sending, an operation only the DashScope style has an endpoint for."""
        if self.style is not ApiStyle.DASHSCOPE:
            raise BailianError(
                f"The {self.style.value} API style has no endpoint to {what}; "
                "use a DashScope connection (api_style=dashscope) for that"
            )

    # ---- answers ------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """Remove the token from any text that may end up in a message."""
        return text.replace(self.api_key, "***") if self.api_key else text

    def transport_error(
        self, request: HttpRequest, exc: BaseException, *, sent: bool
    ) -> BailianTransportError:
        """One message for a request that got no answer, whichever HTTP library failed."""
        text = str(exc)
        if len(text) > 200:
            text = text[:200] + "..."
        where = request.url.split("?")[0]
        err = BailianTransportError(
            self.scrub(
                f"{request.operation} request to {where} failed: {type(exc).__name__}: {text}"
            )
        )
        err.request_sent = sent
        return err

    def parse_submission(self, answer: HttpAnswer) -> Submission:
        """A submission's answer: the task id, or an error saying whether a task may exist."""
        if not 200 <= answer.status < 300:
            err = self.error_from(answer, operation="submit")
            if answer.status >= 500 or answer.status in (408, 499):
                raise BailianAmbiguousSubmissionError(
                    f"{err.message}. The submission may have created a task and was NOT resent "
                    "(a duplicate would be billed); check the Bailian console before retrying",
                    status=err.status,
                    code=err.code,
                    request_id=err.request_id,
                )
            raise err
        data = self._json_or_none(answer)
        output = data.get("output") if isinstance(data, dict) else None
        if not isinstance(output, dict):
            output = {}
        task_id = output.get("task_id")
        if not task_id:
            raise BailianAmbiguousSubmissionError(
                f"The submission was accepted (HTTP {answer.status}) but the answer holds no task id: {self._snippet(answer)}. "
                "It may have created a task and was NOT resent",
                status=answer.status,
                request_id=self._request_id(data, answer),
            )
        return Submission(
            task_id=str(task_id),
            request_id=self._request_id(data, answer),
            status=TaskStatus.parse(output.get("task_status", "PENDING")),
        )

    def parse_task(self, task_id: str, answer: HttpAnswer) -> TaskResult:
        """A query's answer as one typed result, whichever style and usage shape."""
        if not 200 <= answer.status < 300:
            raise self.error_from(answer, operation="query", task_id=task_id)
        data = self._json_or_none(answer)
        output = data.get("output") if isinstance(data, dict) else None
        if not isinstance(output, dict) or "task_status" not in output:
            raise BailianAPIError(
                f"Unreadable task answer: {self._snippet(answer)}",
                status=answer.status,
                request_id=self._request_id(data, answer),
                task_id=task_id,
            )
        return TaskResult(
            task_id=str(output.get("task_id") or task_id),
            status=TaskStatus.parse(output.get("task_status")),
            request_id=self._request_id(data, answer),
            video_url=output.get("video_url"),
            orig_prompt=output.get("orig_prompt"),
            actual_prompt=output.get("actual_prompt"),
            submit_time=output.get("submit_time"),
            scheduled_time=output.get("scheduled_time"),
            end_time=output.get("end_time"),
            code=output.get("code"),
            message=self.scrub(str(output["message"])) if output.get("message") else None,
            usage=Usage.parse(data.get("usage")),
        )

    def task_fields(self, answer: HttpAnswer) -> dict[str, Any]:
        """A query answer's ``output`` object with its ``usage`` under ``"usage"`` (for matching)."""
        data = self._json_or_none(answer)
        output = data.get("output") if isinstance(data, dict) else None
        fields = dict(output) if isinstance(output, dict) else {}
        if isinstance(data, dict) and isinstance(data.get("usage"), dict):
            fields["usage"] = data["usage"]
        return fields

    def parse_ok(self, answer: HttpAnswer, *, operation: str, task_id: str | None = None) -> Any:
        """Any other JSON answer (cancel, list): the body, or the error it carries."""
        if not 200 <= answer.status < 300:
            raise self.error_from(answer, operation=operation, task_id=task_id)
        data = self._json_or_none(answer)
        if data is None:
            raise BailianAPIError(
                f"Unreadable {operation} answer: {self._snippet(answer)}",
                status=answer.status,
                task_id=task_id,
            )
        return data

    def error_from(
        self, answer: HttpAnswer, *, operation: str, task_id: str | None = None
    ) -> BailianAPIError:
        """One error from any error body: DashScope, OpenAI-style, HTML, text or empty."""
        data = self._json_or_none(answer)
        code = message = None
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, dict):  # OpenAI-style gateways
                code = err.get("code") or err.get("type")
                message = err.get("message")
            elif isinstance(err, str):
                message = err
            code = code or data.get("code")
            message = message or data.get("message") or data.get("msg")
        if message is None:
            message = (
                f"non-JSON answer: {self._snippet(answer)}" if data is None else str(data)[:300]
            )
        code = str(code) if code is not None else None
        text = f"Bailian {operation} failed: {self.scrub(str(message))}"
        if code in THROTTLE_HINTS:
            text = f"{text} ({THROTTLE_HINTS[code]})"
        note = content_check_note(code)
        if note:
            text = f"{text}. {note}"
        error_cls = BailianPermanentError if is_permanent(answer.status, code) else BailianAPIError
        error = error_cls(
            text,
            status=answer.status,
            code=code,
            request_id=self._request_id(data, answer),
            task_id=task_id,
        )
        error.retry_after = retry_after_seconds(answer.headers)
        return error

    @staticmethod
    def _json_or_none(answer: HttpAnswer) -> Any:
        if not answer.body:
            return None
        try:
            return json.loads(answer.body)
        except ValueError:
            return None

    def _snippet(self, answer: HttpAnswer, limit: int = 200) -> str:
        """The status, the content type and the first bytes of a body, on one line."""
        if not answer.body:
            return f"empty body (HTTP {answer.status})"
        text = answer.body[:limit].decode("utf-8", "replace")
        if "html" in answer.content_type.lower() or text.lstrip().startswith("<"):
            text = re.sub(r"<[^>]+>", " ", text)
        text = " ".join(text.split())
        more = "..." if len(answer.body) > limit else ""
        kind = answer.content_type or "no content type"
        return f"HTTP {answer.status}, {kind}: {self.scrub(text)!r}{more}"

    @staticmethod
    def _request_id(data: Any, answer: HttpAnswer) -> str | None:
        if isinstance(data, dict) and data.get("request_id"):
            return str(data["request_id"])
        lowered = {k.lower(): v for k, v in answer.headers.items()}
        return lowered.get("x-request-id") or lowered.get("x-dashscope-request-id")


# ---- decisions shared by the sync hook and the async trigger -------------------------------
CANCELLED_MESSAGE = "Bailian task %s was PENDING and has been cancelled (no charge)"


def refuse_cancel_reason(result: TaskResult, protocol: BailianProtocol) -> str | None:
    """Why stopping an Airflow task must leave this Bailian task alone; ``None`` = cancel it.

    Only a PENDING task can be cancelled (and cancelling it is free); a RUNNING one goes on
    and is billed if it succeeds. The gateway style has no cancel endpoint.
    """
    if result.status is not TaskStatus.PENDING:
        return (
            f"Bailian task {result.task_id} is {result.status.value}: not cancelled (only a "
            "PENDING task can be); it goes on and is billed if it succeeds"
        )
    if not protocol.can_cancel:
        return (
            f"Bailian task {result.task_id} is PENDING but the {protocol.style.value} API style "
            "cannot cancel it"
        )
    return None


# ---- retry classification (shared by the sync hook and the async trigger) ------------------
def is_transient(error: BaseException) -> bool:
    """May a read-only request (query, list) be repeated after this error?"""
    if isinstance(error, BailianTransportError):
        return True
    if isinstance(error, BailianAPIError):
        # No status: unreadable 2xx body (a gateway hiccup); otherwise the usual suspects.
        return (
            error.status is None
            or error.status in TRANSIENT_STATUSES
            or (200 <= error.status < 300)
        )
    return False


def is_permanent(status: int | None, code: str | None) -> bool:
    """Does this refusal fail the same way however often it is repeated (fail at once)?

    A 401 is always the key; otherwise the code decides (``PERMANENT_CODES`` and their
    sub-codes, and ``*.DataInspectionFailed``), never for a 5xx or a 429.
    """
    if status is not None and (status >= 500 or status == 429):
        return False
    if status == 401:
        return True
    if not code:
        return False
    head = code.split(".", 1)[0]
    return head in PERMANENT_CODES or code.endswith(".DataInspectionFailed")


def is_throttled(error: BaseException) -> bool:
    """A 429: the service refused before creating anything, so even a submission may retry."""
    return isinstance(error, BailianAPIError) and error.status == 429


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's ``Retry-After`` (seconds or an HTTP date), if any."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
        return max(0.0, when - (now if now is not None else time.time()))
    except (TypeError, ValueError):
        return None


def _gateway_models(modes: tuple[str, ...]) -> list[Any]:
    """The models of these modes that the gateway style can route."""
    return [
        s for s in models_of(*modes) if s.endpoint == ENDPOINT_VIDEO and s.shape in GATEWAY_PATHS
    ]
