"""The media protocol end to end: real HTTP to the emulator, DAGs run by Airflow.

Each new model's exact body (model, ``input.media`` types and order, parameters), local
image, video and audio inputs (a data URI for the image, the temporary upload for the
others), every refusal before sending, the editing, continuation, wan3.0 reference and
speech operators, recovery and reattach of an edit, and a plan of edits.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.emulator.mediafiles import make_mp4, make_wav
from airflow_provider_bailian.exceptions import BailianTaskFailedError, BailianValidationError
from airflow_provider_bailian.hooks.bailian import BailianHook
from airflow_provider_bailian.models import (
    Image2VideoRequest,
    Reference2VideoRequest,
    Speech2VideoRequest,
    Text2VideoRequest,
    VideoEditRequest,
)
from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states, xcom
from tests.images import write_image

FILE = "bailian_media_dags.py"
DS_VIDEO = "/api/v1/services/aigc/video-generation/video-synthesis"
DS_IMAGE2VIDEO = "/api/v1/services/aigc/image2video/video-synthesis"
IMG = "https://example.com/a.png"
IMG2 = "https://example.com/b.png"
VID = "https://example.com/clip.mp4"
WAV = "https://example.com/voice.wav"
FAST_SEARCH = {"recovery_settle": 0.3, "recovery_interval": 0.5, "recovery_timeout": 20}


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    write_image(folder, "host.png", 640, 480, "PNG")
    write_image(folder, "guest.jpg", 480, 640, "JPEG")
    write_image(folder, "style.png", 512, 512, "PNG")
    (folder / "product.mp4").write_bytes(make_mp4(seconds=4.0))
    (folder / "voice.wav").write_bytes(make_wav(seconds=3.0))
    monkeypatch.setenv("BAILIAN_TEST_MEDIA_DIR", str(folder))
    return folder


@pytest.fixture
def ds(emulator: Any, make_conn: Any) -> BailianHook:
    make_conn("bailian_media", emulator.base_url, api_style="dashscope", **FAST_SEARCH)
    make_conn("bailian_media_rec", emulator.base_url, api_style="dashscope", **FAST_SEARCH)
    hook = BailianHook("bailian_media")
    yield hook
    hook.close()


def _data(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def _sent(emulator: Any) -> dict[str, Any]:
    (sent,) = emulator.submissions
    return sent


def _output(capfd: Any) -> str:
    out = capfd.readouterr()
    return all_logs() + out.out + out.err


# ---- each new model's exact body -----------------------------------------------------------
BODIES = [
    pytest.param(
        Text2VideoRequest(
            model="wan3.0-video",
            prompt="a paper boat in the rain",
            resolution="480P",
            ratio="adaptive",
            duration=-1,
            audio=False,
        ),
        DS_VIDEO,
        {
            "model": "wan3.0-video",
            "input": {"prompt": "a paper boat in the rain"},
            "parameters": {
                "resolution": "480P",
                "ratio": "adaptive",
                "duration": -1,
                "audio": False,
            },
        },
        id="wan3.0-text",
    ),
    pytest.param(
        Image2VideoRequest(
            model="wan3.0-video-prime", image=IMG, last_frame=IMG2, prompt="p", duration=12
        ),
        DS_VIDEO,
        {
            "model": "wan3.0-video-prime",
            "input": {
                "prompt": "p",
                "media": [
                    {"type": "first_frame", "url": IMG},
                    {"type": "last_frame", "url": IMG2},
                ],
            },
            "parameters": {"duration": 12},
        },
        id="wan3.0-prime-frames",
    ),
    pytest.param(
        Reference2VideoRequest(
            model="wan3.0-video",
            prompt="Image 1 meets Image 2; Video 1 moves; Audio 1 plays",
            references=[IMG, IMG2, VID],
            reference_audio=[WAV],
            media=[{"type": "link", "url": "https://example.com/brief"}],
            resolution="1080P",
        ),
        DS_VIDEO,
        {
            "model": "wan3.0-video",
            "input": {
                "prompt": "Image 1 meets Image 2; Video 1 moves; Audio 1 plays",
                "media": [
                    {"type": "reference_image", "url": IMG},
                    {"type": "reference_image", "url": IMG2},
                    {"type": "reference_video", "url": VID},
                    {"type": "reference_audio", "url": WAV},
                    {"type": "link", "url": "https://example.com/brief"},
                ],
            },
            "parameters": {"resolution": "1080P"},
        },
        id="wan3.0-references",
    ),
    pytest.param(
        Reference2VideoRequest(
            model="wan2.7-r2v",
            prompt="character1 sings to character2",
            references=[IMG, VID],
            reference_voices=[WAV],
            ratio="9:16",
            duration=8,
        ),
        DS_VIDEO,
        {
            "model": "wan2.7-r2v",
            "input": {
                "prompt": "character1 sings to character2",
                "media": [
                    {"type": "reference_image", "url": IMG, "reference_voice": WAV},
                    {"type": "reference_video", "url": VID},
                ],
            },
            "parameters": {"ratio": "9:16", "duration": 8},
        },
        id="wan2.7-r2v-voices",
    ),
    pytest.param(
        Image2VideoRequest(model="wan2.7-i2v", first_clip=VID, last_frame=IMG, duration=6),
        DS_VIDEO,
        {
            "model": "wan2.7-i2v",
            "input": {
                "media": [
                    {"type": "first_clip", "url": VID},
                    {"type": "last_frame", "url": IMG},
                ]
            },
            "parameters": {"duration": 6},
        },
        id="wan2.7-i2v-continue",
    ),
    pytest.param(
        Text2VideoRequest(
            model="wan2.7-t2v-2026-04-25", prompt="p", resolution="720P", ratio="1:1"
        ),
        DS_VIDEO,
        {
            "model": "wan2.7-t2v-2026-04-25",
            "input": {"prompt": "p"},
            "parameters": {"resolution": "720P", "ratio": "1:1"},
        },
        id="wan2.7-snapshot",
    ),
    pytest.param(
        Text2VideoRequest(model="happyhorse-1.1-t2v", prompt="p", ratio="21:9", duration=3),
        DS_VIDEO,
        {
            "model": "happyhorse-1.1-t2v",
            "input": {"prompt": "p"},
            "parameters": {"ratio": "21:9", "duration": 3},
        },
        id="happyhorse-t2v",
    ),
    pytest.param(
        Image2VideoRequest(model="happyhorse-1.0-i2v", image=IMG, resolution="720P"),
        DS_VIDEO,
        {
            "model": "happyhorse-1.0-i2v",
            "input": {"media": [{"type": "first_frame", "url": IMG}]},
            "parameters": {"resolution": "720P"},
        },
        id="happyhorse-i2v",
    ),
    pytest.param(
        Reference2VideoRequest(model="happyhorse-1.0-r2v", prompt="p", references=[IMG, IMG2]),
        DS_VIDEO,
        {
            "model": "happyhorse-1.0-r2v",
            "input": {
                "prompt": "p",
                "media": [
                    {"type": "reference_image", "url": IMG},
                    {"type": "reference_image", "url": IMG2},
                ],
            },
        },
        id="happyhorse-r2v",
    ),
    pytest.param(
        VideoEditRequest(
            model="wan2.7-videoedit",
            video=VID,
            references=[IMG],
            prompt="make it a watercolour",
            resolution="720P",
            audio_setting="origin",
            prompt_extend=False,
        ),
        DS_VIDEO,
        {
            "model": "wan2.7-videoedit",
            "input": {
                "prompt": "make it a watercolour",
                "media": [{"type": "video", "url": VID}, {"type": "reference_image", "url": IMG}],
            },
            "parameters": {"resolution": "720P", "audio_setting": "origin", "prompt_extend": False},
        },
        id="wan2.7-videoedit",
    ),
    pytest.param(
        VideoEditRequest(model="happyhorse-1.0-video-edit", video=VID, prompt="at night"),
        DS_VIDEO,
        {
            "model": "happyhorse-1.0-video-edit",
            "input": {"prompt": "at night", "media": [{"type": "video", "url": VID}]},
        },
        id="happyhorse-edit",
    ),
    pytest.param(
        Speech2VideoRequest(model="wan2.2-s2v", image=IMG, audio=WAV, resolution="720P"),
        DS_IMAGE2VIDEO,
        {
            "model": "wan2.2-s2v",
            "input": {"image_url": IMG, "audio_url": WAV},
            "parameters": {"resolution": "720P"},
        },
        id="wan2.2-s2v",
    ),
]


@pytest.mark.parametrize(("request_", "path", "body"), BODIES)
def test_each_new_model_sends_its_exact_body(
    ds: BailianHook, emulator: Any, request_: Any, path: str, body: dict
) -> None:
    submission = ds.submit_video(request_)
    sent = _sent(emulator)
    assert sent["path"] == path
    assert sent["body"] == body
    result = ds.wait_for_task(submission.task_id, poll_interval=0.1, timeout=30)
    assert result.video_url


# ---- local files: the image inline, the video and the audio uploaded ----------------------
def test_local_image_video_and_audio(ds: BailianHook, emulator: Any, files: Path) -> None:
    request = Reference2VideoRequest(
        model="wan3.0-video",
        prompt="Image 1 in Video 1 with Audio 1",
        references=[str(files / "host.png"), f"file://{files / 'product.mp4'}"],
        reference_audio=[str(files / "voice.wav")],
        duration=5,
    )
    submission = ds.submit_video(request)
    sent = _sent(emulator)
    media = sent["body"]["input"]["media"]
    assert [m["type"] for m in media] == ["reference_image", "reference_video", "reference_audio"]
    assert media[0]["url"] == _data(files / "host.png", "image/png")
    assert media[1]["url"].startswith("oss://")
    assert media[1]["url"].endswith("-product.mp4")
    assert media[2]["url"].startswith("oss://")
    assert {k.lower(): v for k, v in sent["headers"].items()}[
        "x-dashscope-ossresourceresolve"
    ] == "enable"
    stored = {u["url"]: u for u in emulator.uploads.values()}
    assert stored[media[1]["url"]]["data"] == (files / "product.mp4").read_bytes()
    assert stored[media[2]["url"]]["data"] == (files / "voice.wav").read_bytes()
    assert stored[media[1]["url"]]["model"] == "wan3.0-video"
    uploads = [r for r in emulator.requests if r["route"] == "upload"]
    assert len(uploads) == 2
    assert all("authorization" not in {k.lower() for k in r["headers"]} for r in uploads)
    assert ds.wait_for_task(submission.task_id, poll_interval=0.1, timeout=30).video_url


def test_local_video_on_the_gateway_fails_before_sending(
    emulator: Any, make_conn: Any, files: Path
) -> None:
    make_conn("gw", emulator.base_url, api_style="gateway")
    hook = BailianHook("gw")
    request = Reference2VideoRequest(
        model="wan2.6-r2v", prompt="character1", references=[str(files / "product.mp4")]
    )
    with pytest.raises(BailianValidationError) as info:
        hook.submit_video(request)
    text = str(info.value)
    assert "wan2.6-r2v" in text
    assert "gateway" in text
    assert "product.mp4" in text
    assert emulator.requests == []


# ---- refusals before sending ----------------------------------------------------------------
REFUSALS = [
    pytest.param(
        Text2VideoRequest(
            model="wan3.0-video", prompt="p", media=[{"type": "driving_audio", "url": WAV}]
        ),
        ("media[0].type", "driving_audio", "reference_audio"),
        id="type-not-taken",
    ),
    pytest.param(
        Reference2VideoRequest(model="wan3.0-video", prompt="p", references=[IMG] * 11),
        ("media (reference_image)", 11, "at most 10"),
        id="too-many-references",
    ),
    pytest.param(
        Reference2VideoRequest(model="happyhorse-1.0-r2v", prompt="p", references=[VID]),
        ("references[0]", VID, "reference_image"),
        id="video-on-an-images-only-model",
    ),
    pytest.param(
        Image2VideoRequest(
            model="wan3.0-video", image=IMG, media=[{"type": "reference_image", "url": IMG2}]
        ),
        ("media", "first_frame with reference_image", "never together"),
        id="frames-with-references",
    ),
    pytest.param(
        Text2VideoRequest(model="wan3.0-video", prompt="p", duration=31),
        ("duration", 31, "from 2 to 30, or -1"),
        id="duration-31",
    ),
    pytest.param(
        Text2VideoRequest(model="happyhorse-1.0-t2v", prompt="p", ratio="adaptive"),
        ("ratio", "adaptive", "21:9"),
        id="ratio-the-model-lacks",
    ),
    pytest.param(
        Text2VideoRequest(
            model="wan2.6-t2v", prompt="p", media=[{"type": "reference_image", "url": IMG}]
        ),
        ("media", ["reference_image"], "wan2.6-t2v takes no media list"),
        id="media-on-wan2.6",
    ),
    pytest.param(
        Image2VideoRequest(model="wan2.7-i2v", image=IMG, first_clip=VID),
        ("media", "first_frame with first_clip", "never together"),
        id="frame-with-clip",
    ),
    pytest.param(
        VideoEditRequest(model="wan2.7-videoedit", prompt="p", audio_setting="louder", video=VID),
        ("audio_setting", "louder", "auto, origin"),
        id="audio-setting",
    ),
    pytest.param(
        Speech2VideoRequest(model="wan2.2-s2v", image=IMG, audio=WAV, resolution="1080P"),
        ("resolution", "1080P", "480P, 720P"),
        id="speech-resolution",
    ),
    pytest.param(
        Text2VideoRequest(
            model="wan3.0-video",
            prompt="p",
            media=[{"type": "video", "url": "data:video/mp4;base64,AAAA"}],
        ),
        ("media[0]", "data:video/mp4;base64,AAAA", "data: URIs are for images only"),
        id="data-uri-video",
    ),
]


@pytest.mark.parametrize(("request_", "problem"), REFUSALS)
def test_refused_before_sending_naming_field_value_and_allowed(
    ds: BailianHook, emulator: Any, request_: Any, problem: tuple[str, Any, str]
) -> None:
    field, value, allowed = problem
    with pytest.raises(BailianValidationError) as info:
        ds.submit_video(request_)
    found = {(f, repr(v)): a for f, v, a in info.value.problems}
    assert (field, repr(value)) in found, info.value.problems
    assert allowed in found[(field, repr(value))]
    assert field in str(info.value)
    assert emulator.requests == []


def test_the_gateway_style_refuses_a_media_model(emulator: Any, make_conn: Any) -> None:
    make_conn("gw", emulator.base_url, api_style="gateway")
    hook = BailianHook("gw")
    for request in (
        Text2VideoRequest(model="wan3.0-video", prompt="p"),
        VideoEditRequest(model="wan2.7-videoedit", video=VID, prompt="p"),
        Speech2VideoRequest(model="wan2.2-s2v", image=IMG, audio=WAV),
    ):
        with pytest.raises(BailianValidationError) as info:
            hook.submit_video(request)
        text = str(info.value)
        assert request.model in text
        assert "gateway" in text
        assert "dashscope" in text
    assert emulator.requests == []


# ---- failures as they happen in the field ---------------------------------------------------
def test_a_failure_without_a_reason_names_task_request_and_model(ds: BailianHook) -> None:
    submission = ds.submit_video(Text2VideoRequest(model="wan3.0-video", prompt="[fail:] a boat"))
    with pytest.raises(BailianTaskFailedError) as info:
        ds.wait_for_task(submission.task_id, poll_interval=0.1, timeout=30, model="wan3.0-video")
    text = str(info.value)
    assert "Bailian gave no reason" in text
    assert submission.task_id in text
    assert "model=wan3.0-video" in text
    assert "request_id=" in text


def test_a_content_check_failure_says_a_retry_fails_the_same_way(ds: BailianHook) -> None:
    submission = ds.submit_video(
        Text2VideoRequest(model="wan3.0-video", prompt="[fail:DataInspectionFailed] a boat")
    )
    with pytest.raises(BailianTaskFailedError) as info:
        ds.wait_for_task(submission.task_id, poll_interval=0.1, timeout=30)
    text = str(info.value)
    assert "DataInspectionFailed" in text
    assert "content check" in text
    assert "a retry of the same request fails the same way" in text


# ---- through Airflow --------------------------------------------------------------------------
def test_edit_operator_uploads_the_video_and_prices_input_and_output(
    ds: BailianHook, emulator: Any, files: Path, capfd: Any
) -> None:
    dag_run = run_dag(FILE, "bailian_m_edit")
    assert ti_states(dag_run) == {"generate": "success"}
    body = _sent(emulator)["body"]
    assert body["model"] == "wan2.7-videoedit"
    video, style = body["input"]["media"]
    assert video["type"] == "video"
    assert video["url"].startswith("oss://")
    assert style == {"type": "reference_image", "url": _data(files / "style.png", "image/png")}
    assert body["parameters"] == {"resolution": "720P", "audio_setting": "origin"}
    assert xcom(dag_run, "generate", key="video_url")
    logs = _output(capfd)
    # The estimate counts the 4 s input and the 4 s output (editing bills both) and says
    # that its price is an estimate.
    assert "8 s x 0.6 CNY/s, wan2.7-videoedit 720P" in logs
    assert "estimate: no list price published" in logs
    assert FAKE_KEY not in logs
    stored = [xcom(dag_run, "generate", key=k) for k in ("result", "usage", "cost")]
    assert FAKE_KEY not in json.dumps(stored)


def test_edit_dry_run_sends_nothing(
    ds: BailianHook, emulator: Any, files: Path, capfd: Any
) -> None:
    dag_run = run_dag(FILE, "bailian_m_edit_dry_run")
    assert ti_states(dag_run) == {"generate": "success"}
    assert emulator.requests == []
    logs = _output(capfd)
    assert '"type": "video"' in logs
    assert "uploaded first" in logs


@pytest.mark.parametrize("where", ["worker", "deferred"])
def test_an_edit_after_an_ambiguous_500_pays_once(
    ds: BailianHook, emulator: Any, files: Path, where: str, capfd: Any
) -> None:
    emulator.add_fault("submit", "500_created")
    dag_run = run_dag(FILE, f"bailian_m_edit_recover_{where}")
    assert ti_states(dag_run) == {"generate": "success"}
    assert emulator.count("submit") == 1
    (task_id,) = emulator.tasks
    assert xcom(dag_run, "generate") == task_id
    assert f"Recovered the submission: Bailian task {task_id}" in _output(capfd)


def test_an_edit_retry_reattaches_instead_of_paying_twice(
    ds: BailianHook, emulator: Any, files: Path, capfd: Any
) -> None:
    emulator.configure(task_seconds=4)
    dag_run = run_dag(FILE, "bailian_m_edit_reattach")
    assert ti_states(dag_run) == {"generate": "success"}
    assert emulator.count("submit") == 1
    (task_id,) = emulator.tasks
    assert f"Reattaching to Bailian task {task_id}" in _output(capfd)


def test_wan30_with_two_reference_images_and_a_reference_audio(
    ds: BailianHook, emulator: Any, files: Path
) -> None:
    dag_run = run_dag(FILE, "bailian_m_wan30_references")
    assert ti_states(dag_run) == {"generate": "success"}
    media = _sent(emulator)["body"]["input"]["media"]
    assert media[0] == {"type": "reference_image", "url": _data(files / "host.png", "image/png")}
    assert media[1] == {"type": "reference_image", "url": _data(files / "guest.jpg", "image/jpeg")}
    assert media[2]["type"] == "reference_audio"
    assert media[2]["url"].startswith("oss://")
    cost = xcom(dag_run, "generate", key="cost")
    assert cost["currency"] == "USD"
    assert "estimate" in cost["source"]


def test_continuation_uploads_the_clip(ds: BailianHook, emulator: Any, files: Path) -> None:
    dag_run = run_dag(FILE, "bailian_m_continue")
    assert ti_states(dag_run) == {"generate": "success"}
    body = _sent(emulator)["body"]
    assert body["model"] == "wan2.7-i2v"
    (clip,) = body["input"]["media"]
    assert clip["type"] == "first_clip"
    assert clip["url"].startswith("oss://")


def test_speech_operator_on_its_own_path(ds: BailianHook, emulator: Any, files: Path) -> None:
    dag_run = run_dag(FILE, "bailian_m_speech")
    assert ti_states(dag_run) == {"generate": "success"}
    sent = _sent(emulator)
    assert sent["path"] == DS_IMAGE2VIDEO
    assert sent["body"]["input"]["image_url"] == _data(files / "host.png", "image/png")
    assert sent["body"]["input"]["audio_url"].startswith("oss://")
    cost = xcom(dag_run, "generate", key="cost")
    assert cost["currency"] == "USD"
    assert cost["per_second"] == pytest.approx(0.071677)


def test_a_plan_of_edits_is_priced_approved_and_run(ds: BailianHook, emulator: Any) -> None:
    dag_run = run_dag(FILE, "bailian_m_plan_edits")
    states = ti_states(dag_run)
    assert states == {"plan": "success", "generate[0]": "success", "generate[1]": "success"}
    plan = xcom(dag_run, "plan", key="plan")
    assert [i["mode"] for i in plan["items"]] == ["edit", "edit"]
    # Output seconds plus the input video's (a URL: counted at the output's length).
    assert [i["estimate"] for i in plan["items"]] == [pytest.approx(6.0), pytest.approx(4.8)]
    assert plan["total"] == pytest.approx(10.8)
    assert emulator.count("submit") == 2
    assert sorted(s["body"]["input"]["prompt"] for s in emulator.submissions) == [
        "restyle as a pencil sketch",
        "restyle as a watercolour",
    ]


# ---- endpoints: workspace domains and cn-hongkong -----------------------------------------
def test_workspace_domain_switch_and_hong_kong(make_conn: Any) -> None:
    from airflow_provider_bailian.exceptions import BailianError
    from airflow_provider_bailian.pricing import billing_region

    make_conn("ws", "", workspace_domain="true", workspace="ws-123", region="hongkong")
    settings = BailianHook("ws").settings
    assert settings.base_url == "https://ws-123.cn-hongkong.maas.aliyuncs.com"
    assert settings.style.value == "dashscope"
    assert settings.region == "cn-hongkong"
    assert billing_region(settings.region) == "international"

    # A pasted workspace host is the DashScope style, and names its region.
    make_conn("ws_host", "https://ws-9.ap-southeast-1.maas.aliyuncs.com/api/v1")
    pasted = BailianHook("ws_host").settings
    assert pasted.style.value == "dashscope"
    assert pasted.base_url == "https://ws-9.ap-southeast-1.maas.aliyuncs.com"
    assert pasted.region == "ap-southeast-1"

    make_conn("hk_plain", "", api_style="dashscope", region="cn-hongkong")
    with pytest.raises(BailianError, match="only through a workspace domain"):
        _ = BailianHook("hk_plain").settings
    make_conn("ws_missing", "", workspace_domain=True, region="cn-beijing")
    with pytest.raises(BailianError, match="workspace"):
        _ = BailianHook("ws_missing").settings


def test_speech_runs_one_task_at_a_time(ds: BailianHook, emulator: Any) -> None:
    from airflow_provider_bailian.models import running_limit

    # The table's limit is what the status watcher and the waits count running slots by.
    assert running_limit("wan2.2-s2v") == 1
    assert running_limit("wan3.0-video") == 5
    request = Speech2VideoRequest(model="wan2.2-s2v", image=IMG, audio=WAV)
    first, second = ds.submit_video(request), ds.submit_video(request)
    assert ds.get_task(second.task_id).status.value == "PENDING"
    assert ds.wait_for_task(first.task_id, poll_interval=0.1, timeout=30).video_url
    assert ds.wait_for_task(second.task_id, poll_interval=0.1, timeout=30).video_url


def test_a_content_check_refusal_of_the_submission_says_so(ds: BailianHook) -> None:
    from airflow_provider_bailian.exceptions import BailianAPIError

    with pytest.raises(BailianAPIError) as info:
        ds.submit_video(Text2VideoRequest(model="wan3.0-video", prompt="[reject] a boat"))
    assert info.value.code == "DataInspectionFailed"
    assert "a retry of the same request fails the same way" in str(info.value)


def test_plan_modes_edit_and_speech_validate_and_price_like_their_operators() -> None:
    from airflow_provider_bailian.exceptions import BailianPlanValidationError
    from airflow_provider_bailian.planning import build_plan
    from airflow_provider_bailian.pricing import PriceTable

    def prices(_overrides: Any, _conn: str) -> PriceTable:
        return PriceTable("cn-beijing")

    plan = build_plan(
        [
            {"mode": "speech", "image": IMG, "audio": WAV, "resolution": "720P"},
            {"mode": "speech", "image": IMG, "audio": WAV},
        ],
        defaults=None,
        conn_id="c",
        price_table=prices,
    )
    # The speech's length is unknown before the answer: counted at its 20 s maximum.
    assert [i.estimate.amount for i in plan.items] == [
        pytest.approx(20 * 0.129018),
        pytest.approx(20 * 0.071677),
    ]
    assert plan.currency == "USD"
    assert all(i.kwargs["plan_fingerprint"] for i in plan.items)
    with pytest.raises(BailianPlanValidationError) as info:
        build_plan(
            [{"mode": "edit", "prompt": "no video"}, {"mode": "speech", "image": IMG}],
            defaults=None,
            conn_id="c",
            price_table=prices,
        )
    fields = [f for f, _v, _a in info.value.problems]
    assert fields == ["requests[0].video", "requests[1].audio"]


def test_videos_and_audio_follow_input_roots(
    ds: BailianHook, emulator: Any, files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.mp4").write_bytes(make_mp4(seconds=3.0))
    monkeypatch.setenv("AIRFLOW__BAILIAN__INPUT_ROOTS", str(files))
    request = VideoEditRequest(
        model="wan2.7-videoedit", video=str(outside / "private.mp4"), prompt="p"
    )
    with pytest.raises(BailianValidationError) as info:
        ds.submit_video(request)
    assert "input_roots" in str(info.value)
    assert emulator.requests == []
    inside = VideoEditRequest(
        model="wan2.7-videoedit", video=str(files / "product.mp4"), prompt="p"
    )
    ds.submit_video(inside)
    assert _sent(emulator)["body"]["input"]["media"][0]["url"].startswith("oss://")
