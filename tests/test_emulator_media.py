"""The emulator's media protocol and speech to video, checked over real HTTP.

wan3.0, wan2.7 references, editing and continuation, HappyHorse and wan2.2-s2v: every
model served, every media type, the service's validation (types per model, counts,
exclusions, durations, ratios, resolutions), files behind ``oss://`` uploads (videos,
audio, PDFs), the answers' shapes, per-model concurrency, the field failures (a FAILED task
with no reason, the content check) and the official SDK's ``media=`` calls.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from airflow_provider_bailian.emulator import BailianEmulator
from airflow_provider_bailian.emulator.__main__ import _model_concurrency
from airflow_provider_bailian.emulator.catalog import MEDIA_MODELS
from airflow_provider_bailian.emulator.images import data_uri, make_jpeg, make_png
from airflow_provider_bailian.emulator.mediafiles import (
    file_info,
    make_mp3,
    make_mp4,
    make_pdf,
    make_wav,
)

TOKEN = "sk-fake-test"
VIDEO_SYNTHESIS = "/api/v1/services/aigc/video-generation/video-synthesis"
IMAGE2VIDEO = "/api/v1/services/aigc/image2video/video-synthesis"
ASYNC = {"X-DashScope-Async": "enable"}
RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}
PORTRAIT = data_uri(make_png(720, 1280))
LANDSCAPE = data_uri(make_jpeg(1280, 720))
HTTP_VIDEO = "https://example.com/clip.mp4"
HTTP_AUDIO = "https://example.com/voice.mp3"


@pytest.fixture
def emu() -> Iterator[BailianEmulator]:
    with BailianEmulator(task_seconds=1.0, api_key=TOKEN) as emulator:
        yield emulator


def call(
    emu: BailianEmulator, method: str, path: str, body: Any = None, headers: dict | None = None
) -> tuple[int, Any]:
    """One request on a fresh connection; (status, parsed JSON body)."""
    parts = urlsplit(emu.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    hdrs = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    hdrs.update(headers or {})
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def post(emu: BailianEmulator, body: dict, path: str = VIDEO_SYNTHESIS) -> tuple[int, Any]:
    return call(emu, "POST", path, body, {**ASYNC, **RESOLVE})


def ok(emu: BailianEmulator, body: dict, path: str = VIDEO_SYNTHESIS) -> str:
    status, answer = post(emu, body, path)
    assert status == 200, answer
    assert answer["output"]["task_status"] == "PENDING"
    return answer["output"]["task_id"]


def rejected(
    emu: BailianEmulator, body: dict, field: str, *words: str, path: str = VIDEO_SYNTHESIS
) -> str:
    """A 400 InvalidParameter whose message starts with ``field`` and holds ``words``; no
    task is made."""
    before = len(emu.tasks)
    status, answer = post(emu, body, path)
    assert status == 400, answer
    assert answer["code"] == "InvalidParameter", answer
    assert answer["message"].startswith(f"{field}:"), answer["message"]
    for word in words:
        assert word in answer["message"], answer["message"]
    assert len(emu.tasks) == before
    return answer["message"]


def query(emu: BailianEmulator, task_id: str) -> dict:
    status, answer = call(emu, "GET", f"/api/v1/tasks/{task_id}")
    assert status == 200
    return answer


def finished(emu: BailianEmulator, task_id: str) -> dict:
    emu.advance(30)
    answer = query(emu, task_id)
    assert answer["output"]["task_status"] == "SUCCEEDED", answer
    return answer


def body(model: str, *items: dict | tuple[str, str], prompt: str | None = "go", **params: Any):
    """A media-protocol body: items as dicts or (type, url) pairs, in order."""
    media = [i if isinstance(i, dict) else {"type": i[0], "url": i[1]} for i in items]
    inp: dict[str, Any] = {"media": media}
    if prompt is not None:
        inp["prompt"] = prompt
    out: dict[str, Any] = {"model": model, "input": inp}
    if params:
        out["parameters"] = params
    return out


def upload(emu: BailianEmulator, model: str, data: bytes, name: str) -> str:
    """A file through the temporary-upload API (policy, then the form POST): its oss:// URL."""
    status, policy = call(emu, "GET", f"/api/v1/uploads?action=getPolicy&model={model}")
    assert status == 200, policy
    info = policy["data"]
    key = f"{info['upload_dir']}/{name}"
    form = {
        "OSSAccessKeyId": info["oss_access_key_id"],
        "Signature": info["signature"],
        "policy": info["policy"],
        "key": key,
        "x-oss-object-acl": info["x_oss_object_acl"],
        "x-oss-forbid-overwrite": info["x_oss_forbid_overwrite"],
        "success_action_status": "200",
    }
    resp = requests.post(info["upload_host"], data=form, files={"file": (name, data)}, timeout=10)
    assert resp.status_code == 200, resp.text
    return f"oss://{key}"


# ------------------------------------------------------------------ every model is served

_MINIMAL: dict[str, tuple] = {
    "wan3.0-video": (),
    "wan3.0-video-prime": (("first_frame", PORTRAIT), ("last_frame", PORTRAIT)),
    "wan2.7-r2v": (("reference_image", PORTRAIT),),
    "wan2.7-r2v-2026-06-12": (("reference_video", HTTP_VIDEO),),
    "wan2.7-videoedit": (("video", HTTP_VIDEO),),
    "happyhorse-1.0-t2v": (),
    "happyhorse-1.1-t2v": (),
    "happyhorse-1.0-i2v": (("first_frame", PORTRAIT),),
    "happyhorse-1.1-i2v": (("first_frame", LANDSCAPE),),
    "happyhorse-1.0-r2v": (("reference_image", PORTRAIT),),
    "happyhorse-1.1-r2v": (("reference_image", PORTRAIT), ("reference_image", LANDSCAPE)),
    "happyhorse-1.0-video-edit": (("video", HTTP_VIDEO), ("reference_image", PORTRAIT)),
}


def test_every_media_model_is_listed_here() -> None:
    assert set(_MINIMAL) == set(MEDIA_MODELS)


@pytest.mark.parametrize("model", sorted(_MINIMAL))
def test_every_media_model_runs_and_answers_in_the_new_usage_shape(
    emu: BailianEmulator, model: str
) -> None:
    task_id = ok(emu, body(model, *_MINIMAL[model]))
    answer = finished(emu, task_id)
    out, usage = answer["output"], answer["usage"]
    assert out["video_url"].startswith(f"http://localhost:{emu.port}/videos/{task_id}.mp4?")
    assert out["orig_prompt"] == "go"
    assert "actual_prompt" not in out
    assert usage["video_count"] == 1
    assert usage["SR"] == 1080  # the default resolution
    assert usage["output_video_duration"] == 5
    assert usage["duration"] == 5 + usage["input_video_duration"]
    resp = requests.get(out["video_url"], timeout=10)
    assert resp.status_code == 200
    assert resp.content[4:8] == b"ftyp"


@pytest.mark.parametrize(
    ("model", "path"),
    [("wan2.7-t2v-2026-04-25", None), ("wan2.7-i2v-2026-04-25", "first_frame")],
)
def test_dated_wan27_snapshots_are_served(emu: BailianEmulator, model: str, path: Any) -> None:
    if path is None:
        request = {"model": model, "input": {"prompt": "a fox"}, "parameters": {"ratio": "9:16"}}
        size = "1080*1920"
    else:
        request = body(model, ("first_frame", PORTRAIT))
        size = "1080*1920"
    assert finished(emu, ok(emu, request))["usage"]["size"] == size


@pytest.mark.parametrize(
    ("items", "mode"),
    [
        ((), "text2video"),
        ((("first_frame", PORTRAIT),), "image2video"),
        ((("first_clip", HTTP_VIDEO),), "image2video"),
        ((("reference_image", PORTRAIT), ("reference_audio", HTTP_AUDIO)), "ref2video"),
        ((("link", "https://example.com/product"),), "ref2video"),
        ((("video", HTTP_VIDEO), ("reference_image", PORTRAIT)), "videoedit"),
    ],
)
def test_wan30_mode_follows_the_item_types(emu: BailianEmulator, items: tuple, mode: str) -> None:
    task_id = ok(emu, body("wan3.0-video", *items))
    assert emu.submissions[-1]["mode"] == mode
    assert emu.tasks[task_id]["mode"] == mode
    assert [m["type"] for m in emu.submissions[-1]["body"]["input"]["media"]] == [
        t for t, _ in items
    ]


# ------------------------------------------------------------------ wan3.0


def test_wan30_duration_minus_one_lets_the_model_pick(emu: BailianEmulator) -> None:
    task_id = ok(emu, body("wan3.0-video", prompt="a storm over the sea", duration=-1))
    usage = finished(emu, task_id)["usage"]
    assert 2 <= usage["output_video_duration"] <= 15
    assert usage["duration"] == usage["output_video_duration"]
    # The pick is the model's, not random: the same request picks the same length.
    again = finished(emu, ok(emu, body("wan3.0-video", prompt="a storm over the sea", duration=-1)))
    assert again["usage"]["output_video_duration"] == usage["output_video_duration"]


@pytest.mark.parametrize(
    ("params", "size", "sr"),
    [
        ({"resolution": "480P", "ratio": "16:9"}, "832*480", 480),
        ({"resolution": "480P", "ratio": "4:3"}, "736*544", 480),
        ({"resolution": "720P", "ratio": "3:4", "duration": 30}, "832*1104", 720),
        ({"resolution": "1080P", "ratio": "1:1", "duration": 2}, "1440*1440", 1080),
        ({"ratio": "adaptive"}, "1080*1920", 1080),  # the first frame's ratio
        ({}, "1080*1920", 1080),  # adaptive by default
    ],
)
def test_wan30_sizes(emu: BailianEmulator, params: dict, size: str, sr: int) -> None:
    request = body("wan3.0-video", ("first_frame", PORTRAIT), **params)
    usage = finished(emu, ok(emu, request))["usage"]
    assert (usage["size"], usage["SR"]) == (size, sr)
    assert usage["output_video_duration"] == params.get("duration", 5)
    assert usage["audio"] is True


def test_wan30_takes_ten_reference_images_and_every_reference_kind(emu: BailianEmulator) -> None:
    items = [("reference_image", PORTRAIT)] * 10
    items += [("reference_video", HTTP_VIDEO)] * 5 + [("reference_audio", HTTP_AUDIO)] * 5
    items += [("file", "https://example.com/sheet.pdf")]
    ok(emu, body("wan3.0-video", *items, audio=False, watermark=True, seed=7))
    ok(emu, body("wan3.0-video", ("link", "https://example.com/page"), enable_thinking=True))


@pytest.mark.parametrize(
    ("items", "params", "field", "words"),
    [
        (
            [("reference_image", PORTRAIT)] * 11,
            {},
            "input.media",
            ["11 reference_image items", "at most 10"],
        ),
        (
            [("first_frame", PORTRAIT), ("reference_image", PORTRAIT)],
            {},
            "input.media",
            ["first_frame cannot be combined with reference_image"],
        ),
        (
            [("last_frame", PORTRAIT), ("reference_audio", HTTP_AUDIO)],
            {},
            "input.media",
            ["last_frame cannot be combined with reference_audio"],
        ),
        (
            [("first_frame", PORTRAIT), ("link", "https://example.com")],
            {},
            "input.media",
            ["first_frame cannot be combined with link"],
        ),
        (
            [("file", "https://a/b.pdf"), ("link", "https://example.com")],
            {},
            "input.media",
            ["file cannot be combined with link"],
        ),
        (
            [("first_frame", PORTRAIT), ("first_frame", PORTRAIT)],
            {},
            "input.media",
            ["2 first_frame items", "at most 1"],
        ),
        (
            [("driving_audio", HTTP_AUDIO)],
            {},
            "input.media[0].type",
            ["'driving_audio'", "allowed"],
        ),
        ([("reference", PORTRAIT)], {}, "input.media[0].type", ["first_frame", "link"]),
        ([], {"duration": 31}, "parameters.duration", ["31", "2-30 or -1"]),
        ([], {"duration": 1}, "parameters.duration", ["2-30 or -1"]),
        ([], {"duration": 0}, "parameters.duration", ["2-30 or -1"]),
        ([], {"ratio": "4:5"}, "parameters.ratio", ["'4:5'", "adaptive, 16:9, 9:16"]),
        ([], {"resolution": "2K"}, "parameters.resolution", ["'2K'", "480P, 720P, 1080P"]),
        ([], {"size": "1280*720"}, "parameters.size", ["not supported", "resolution"]),
        ([], {"prompt_extend": True}, "parameters.prompt_extend", ["wan3.0-video"]),
        ([], {"audio_setting": "origin"}, "parameters.audio_setting", ["not supported"]),
        ([], {"audio": "yes"}, "parameters.audio", ["boolean"]),
        ([], {"seed": -1}, "parameters.seed", ["2147483647"]),
    ],
)
def test_wan30_refusals(
    emu: BailianEmulator, items: list, params: dict, field: str, words: list[str]
) -> None:
    rejected(emu, body("wan3.0-video", *items, **params), field, *words)


def test_wan30_input_refusals(emu: BailianEmulator) -> None:
    request = body("wan3.0-video")
    request["input"]["negative_prompt"] = "blur"
    rejected(emu, request, "input.negative_prompt", "wan3.0-video")
    request = body("wan3.0-video")
    request["input"]["img_url"] = PORTRAIT
    rejected(emu, request, "input.img_url", "use input.media")
    rejected(emu, body("wan3.0-video", prompt=None), "input.prompt", "required")
    rejected(emu, {"model": "wan3.0-video", "input": {"prompt": "x", "media": {}}}, "input.media")
    request = body(
        "wan3.0-video", {"type": "reference_image", "url": PORTRAIT, "reference_voice": HTTP_AUDIO}
    )
    rejected(emu, request, "input.media[0].reference_voice", "reference_audio")
    # A first frame carries the request: the prompt is optional then.
    ok(emu, body("wan3.0-video", ("first_frame", PORTRAIT), prompt=None))


def test_wan30_is_refused_on_the_gateway_and_the_image2video_path(emu: BailianEmulator) -> None:
    status, answer = call(emu, "POST", "/task/bailian/text2video", body("wan3.0-video"))
    assert status == 400, answer
    assert answer["message"].startswith("model:")
    assert VIDEO_SYNTHESIS in answer["message"]
    rejected(emu, body("wan3.0-video"), "model", VIDEO_SYNTHESIS, path=IMAGE2VIDEO)


# ------------------------------------------------------------------ files: uploads of any type


def test_uploaded_video_audio_and_pdf_resolve_and_are_checked(emu: BailianEmulator) -> None:
    model = "wan3.0-video"
    video = upload(emu, model, make_mp4(6, 720, 1280), "dance.mp4")
    audio = upload(emu, model, make_wav(4), "beat.wav")
    mp3 = upload(emu, model, make_mp3(3), "voice.mp3")
    pdf = upload(emu, model, make_pdf(), "sheet.pdf")
    task_id = ok(
        emu,
        body(
            model,
            ("reference_image", PORTRAIT),
            ("reference_video", video),
            ("reference_audio", audio),
            ("reference_audio", mp3),
            ("file", pdf),
        ),
    )
    assert finished(emu, task_id)["usage"]["size"] == "1080*1920"
    stored = {f["url"]: f for f in emu.uploads.values()}
    assert stored[video]["data"] == make_mp4(6, 720, 1280)
    assert {stored[u]["size"] > 0 for u in (video, audio, mp3, pdf)} == {True}


@pytest.mark.parametrize(
    ("kind", "data", "words"),
    [
        ("reference_video", make_pdf(), ["not a video file", "MP4, MOV"]),
        ("reference_audio", make_mp4(3), ["not a audio file", "WAV, MP3"]),
        ("file", make_wav(3), ["not a file file", "PDF"]),
        ("reference_video", make_mp4(16), ["15 s"]),
    ],
)
def test_uploaded_files_of_the_wrong_kind_or_length_are_refused(
    emu: BailianEmulator, kind: str, data: bytes, words: list[str]
) -> None:
    url = upload(emu, "wan3.0-video", data, "x.bin")
    field = "input.media" if "15 s" in words else "input.media[0].url"
    rejected(emu, body("wan3.0-video", (kind, url)), field, *words)


def test_reference_seconds_add_up_to_fifteen(emu: BailianEmulator) -> None:
    one = upload(emu, "wan3.0-video", make_mp4(8), "a.mp4")
    two = upload(emu, "wan3.0-video", make_mp4(8), "b.mp4")
    msg = rejected(
        emu,
        body("wan3.0-video", ("reference_video", one), ("reference_video", two)),
        "input.media",
        "16.0 s in all",
        "at most 15 s",
    )
    assert "reference_video" in msg
    low = upload(emu, "wan3.0-video", make_wav(10), "a.wav")
    high = upload(emu, "wan3.0-video", make_wav(6), "b.wav")
    items = (("reference_audio", low), ("reference_audio", high))
    rejected(emu, body("wan3.0-video", *items), "input.media", "reference_audio")


def test_non_image_data_uris_and_other_schemes_are_refused(emu: BailianEmulator) -> None:
    video = data_uri(make_mp4(3), "video/mp4")
    rejected(
        emu, body("wan3.0-video", ("reference_video", video)), "input.media[0].url", "images only"
    )
    rejected(emu, body("wan3.0-video", ("file", "ftp://a/b.pdf")), "input.media[0].url", "http(s)")
    rejected(emu, body("wan3.0-video", ("link", "oss://a/b")), "input.media[0].url", "web page")


def test_oss_urls_need_the_header_and_the_same_model(emu: BailianEmulator) -> None:
    url = upload(emu, "wan2.7-r2v", make_mp4(3), "a.mp4")
    status, answer = call(
        emu, "POST", VIDEO_SYNTHESIS, body("wan2.7-r2v", ("reference_video", url)), ASYNC
    )
    assert status == 400
    assert "X-DashScope-OssResourceResolve" in answer["message"]
    rejected(
        emu, body("wan3.0-video", ("reference_video", url)), "input.media[0].url", "wan2.7-r2v"
    )


def test_upload_policy_allows_videos(emu: BailianEmulator) -> None:
    status, answer = call(emu, "GET", "/api/v1/uploads?action=getPolicy&model=wan2.7-videoedit")
    assert status == 200
    assert answer["data"]["max_file_size_mb"] == 100
    status, answer = call(emu, "GET", "/api/v1/uploads?action=getPolicy&model=wan2.2-s2v")
    assert status == 200
    assert answer["data"]["max_file_size_mb"] == 15


def test_a_large_video_upload_is_stored_byte_for_byte(emu: BailianEmulator) -> None:
    data = make_mp4(9, 720, 1280, min_bytes=30 * 1024 * 1024)
    url = upload(emu, "wan2.7-videoedit", data, "long take.mp4")
    stored = emu.uploads[url[len("oss://") :]]
    assert stored["data"] == data
    request = body("wan2.7-videoedit", ("video", url), prompt="brighter")
    assert finished(emu, ok(emu, request))["usage"]["output_video_duration"] == 9


def test_add_upload_guesses_the_type_of_any_file(emu: BailianEmulator) -> None:
    for data, mime in (
        (make_mp4(2), "video/mp4"),
        (make_mp4(2, quicktime=True), "video/quicktime"),
        (make_wav(1), "audio/wav"),
        (make_mp3(1), "audio/mpeg"),
        (make_pdf(), "application/pdf"),
        (make_png(300, 300), "image/png"),
    ):
        url = emu.add_upload(data, "wan3.0-video")
        assert emu.uploads[url[len("oss://") :]]["content_type"] == mime


# ------------------------------------------------------------------ wan2.7 references and editing


def test_wan27_r2v_voices_and_billed_reference_seconds(emu: BailianEmulator) -> None:
    video = upload(emu, "wan2.7-r2v", make_mp4(4), "walk.mp4")
    voice = upload(emu, "wan2.7-r2v", make_wav(3), "voice.wav")
    items = (
        {"type": "reference_image", "url": PORTRAIT, "reference_voice": voice},
        {"type": "reference_video", "url": video, "reference_voice": HTTP_AUDIO},
        {"type": "reference_image", "url": LANDSCAPE},
    )
    task_id = ok(emu, body("wan2.7-r2v", *items, ratio="9:16", resolution="720P", duration=10))
    usage = finished(emu, task_id)["usage"]
    assert usage["size"] == "720*1280"
    assert usage["input_video_duration"] == 4
    assert usage["duration"] == 14.0
    sent = emu.submissions[-1]["body"]["input"]["media"]
    assert [m.get("reference_voice") for m in sent] == [voice, HTTP_AUDIO, None]


@pytest.mark.parametrize(
    ("items", "params", "field", "words"),
    [
        (
            [("reference_image", PORTRAIT)] * 6,
            {},
            "input.media",
            ["6 reference_image items", "at most 5"],
        ),
        (
            [("reference_image", PORTRAIT)] * 3 + [("reference_video", HTTP_VIDEO)] * 3,
            {},
            "input.media",
            ["at most 5 in all"],
        ),
        ([], {}, "input.media", ["needs at least 1 reference_image or reference_video"]),
        (
            [("first_frame", PORTRAIT)],
            {},
            "input.media[0].type",
            ["reference_image, reference_video"],
        ),
        ([("reference_image", PORTRAIT)], {"duration": 11}, "parameters.duration", ["2-10"]),
        (
            [("reference_image", PORTRAIT)],
            {"ratio": "21:9"},
            "parameters.ratio",
            ["16:9, 9:16, 1:1, 4:3, 3:4"],
        ),
        (
            [("reference_image", PORTRAIT)],
            {"resolution": "480P"},
            "parameters.resolution",
            ["720P, 1080P"],
        ),
        (
            [("reference_image", PORTRAIT)],
            {"shot_type": "multi"},
            "parameters.shot_type",
            ["wan2.7-r2v"],
        ),
    ],
)
def test_wan27_r2v_refusals(
    emu: BailianEmulator, items: list, params: dict, field: str, words: list[str]
) -> None:
    rejected(emu, body("wan2.7-r2v", *items, **params), field, *words)


def test_wan27_r2v_voice_must_be_audio(emu: BailianEmulator) -> None:
    item = {
        "type": "reference_image",
        "url": PORTRAIT,
        "reference_voice": data_uri(make_wav(2), "audio/wav"),
    }
    rejected(emu, body("wan2.7-r2v", item), "input.media[0].reference_voice", "images only")
    pdf = upload(emu, "wan2.7-r2v", make_pdf(), "x.pdf")
    item = {"type": "reference_image", "url": PORTRAIT, "reference_voice": pdf}
    rejected(emu, body("wan2.7-r2v", item), "input.media[0].reference_voice", "not a audio file")


def test_wan27_videoedit_follows_the_input_video(emu: BailianEmulator) -> None:
    video = upload(emu, "wan2.7-videoedit", make_mp4(8, 720, 1280), "product.mp4")
    request = body(
        "wan2.7-videoedit",
        ("video", video),
        ("reference_image", LANDSCAPE),
        prompt="restyle as watercolour",
        resolution="720P",
        audio_setting="origin",
        prompt_extend=False,
    )
    usage = finished(emu, ok(emu, request))["usage"]
    # The input's length and shape; input and output seconds are both billed.
    assert (usage["output_video_duration"], usage["size"]) == (8, "720*1280")
    assert usage["input_video_duration"] == 8
    assert usage["duration"] == 16.0
    assert emu.submissions[-1]["mode"] == "videoedit"
    request["parameters"]["duration"] = 0
    assert finished(emu, ok(emu, request))["usage"]["output_video_duration"] == 8
    request["parameters"]["duration"] = 3
    assert finished(emu, ok(emu, request))["usage"]["output_video_duration"] == 3
    # An http(s) video is not read: it counts as five seconds.
    usage = finished(emu, ok(emu, body("wan2.7-videoedit", ("video", HTTP_VIDEO))))["usage"]
    assert (usage["input_video_duration"], usage["output_video_duration"]) == (5, 5)


@pytest.mark.parametrize(
    ("items", "params", "field", "words"),
    [
        ([("reference_image", PORTRAIT)], {}, "input.media", ["needs at least 1 video"]),
        ([("video", HTTP_VIDEO)] * 2, {}, "input.media", ["2 video items", "at most 1"]),
        (
            [("video", HTTP_VIDEO)] + [("reference_image", PORTRAIT)] * 6,
            {},
            "input.media",
            ["at most 5"],
        ),
        (
            [("video", HTTP_VIDEO)],
            {"audio_setting": "mute"},
            "parameters.audio_setting",
            ["auto, origin"],
        ),
        ([("video", HTTP_VIDEO)], {"ratio": "16:9"}, "parameters.ratio", ["not supported"]),
        ([("video", HTTP_VIDEO)], {"duration": 11}, "parameters.duration", ["2-10 or 0"]),
        ([("video", HTTP_VIDEO)], {"resolution": "480P"}, "parameters.resolution", ["720P, 1080P"]),
        ([("video", data_uri(make_mp4(2)))], {}, "input.media[0].url", ["images only"]),
    ],
)
def test_wan27_videoedit_refusals(
    emu: BailianEmulator, items: list, params: dict, field: str, words: list[str]
) -> None:
    rejected(emu, body("wan2.7-videoedit", *items, **params), field, *words)


def test_wan27_videoedit_needs_a_prompt(emu: BailianEmulator) -> None:
    rejected(emu, body("wan2.7-videoedit", ("video", HTTP_VIDEO), prompt=None), "input.prompt")


# ------------------------------------------------------------------ HappyHorse


@pytest.mark.parametrize("ratio", ["4:5", "5:4", "21:9", "9:21", "16:9"])
def test_happyhorse_t2v_ratios(emu: BailianEmulator, ratio: str) -> None:
    usage = finished(emu, ok(emu, body("happyhorse-1.1-t2v", ratio=ratio, duration=3)))["usage"]
    w, h = (int(v) for v in usage["size"].split("*"))
    a, b = (int(v) for v in ratio.split(":"))
    assert abs(w / h - a / b) < 0.03
    assert usage["output_video_duration"] == 3


@pytest.mark.parametrize(
    ("model", "items", "params", "field", "words"),
    [
        (
            "happyhorse-1.0-t2v",
            [("first_frame", PORTRAIT)],
            {},
            "input.media",
            ["text to video only"],
        ),
        ("happyhorse-1.0-t2v", [], {"duration": 2}, "parameters.duration", ["3-15"]),
        ("happyhorse-1.0-t2v", [], {"ratio": "adaptive"}, "parameters.ratio", ["4:5"]),
        ("happyhorse-1.0-i2v", [], {}, "input.media", ["needs at least 1 first_frame"]),
        (
            "happyhorse-1.0-i2v",
            [("first_frame", PORTRAIT), ("last_frame", PORTRAIT)],
            {},
            "input.media[1].type",
            ["allowed: first_frame"],
        ),
        (
            "happyhorse-1.0-i2v",
            [("first_frame", PORTRAIT), ("driving_audio", HTTP_AUDIO)],
            {},
            "input.media[1].type",
            ["first_frame"],
        ),
        (
            "happyhorse-1.1-i2v",
            [("first_frame", PORTRAIT)],
            {"ratio": "16:9"},
            "parameters.ratio",
            ["not supported"],
        ),
        (
            "happyhorse-1.0-r2v",
            [("reference_image", PORTRAIT)] * 10,
            {},
            "input.media",
            ["10 reference_image items", "at most 9"],
        ),
        (
            "happyhorse-1.0-r2v",
            [("reference_video", HTTP_VIDEO)],
            {},
            "input.media[0].type",
            ["reference_image"],
        ),
        (
            "happyhorse-1.0-video-edit",
            [("video", HTTP_VIDEO)],
            {"duration": 2},
            "parameters.duration",
            ["3-15"],
        ),
        (
            "happyhorse-1.0-video-edit",
            [("video", HTTP_VIDEO)] + [("reference_image", PORTRAIT)] * 6,
            {},
            "input.media",
            ["at most 5"],
        ),
    ],
)
def test_happyhorse_refusals(
    emu: BailianEmulator, model: str, items: list, params: dict, field: str, words: list[str]
) -> None:
    rejected(emu, body(model, *items, **params), field, *words)


def test_happyhorse_i2v_keeps_the_frame_ratio(emu: BailianEmulator) -> None:
    request = body("happyhorse-1.0-i2v", ("first_frame", LANDSCAPE), resolution="720P", duration=15)
    usage = finished(emu, ok(emu, request))["usage"]
    assert (usage["size"], usage["output_video_duration"]) == ("1280*720", 15)


def test_happyhorse_video_edit_lasts_as_its_input(emu: BailianEmulator) -> None:
    video = upload(emu, "happyhorse-1.0-video-edit", make_mp4(7), "in.mp4")
    request = body("happyhorse-1.0-video-edit", ("video", video), audio_setting="auto")
    usage = finished(emu, ok(emu, request))["usage"]
    assert (usage["output_video_duration"], usage["input_video_duration"]) == (7, 7)
    request["parameters"]["duration"] = 4
    assert finished(emu, ok(emu, request))["usage"]["output_video_duration"] == 4
    # wan3.0 edits the same way: a video and no duration follow the input.
    video = upload(emu, "wan3.0-video", make_mp4(12), "in.mp4")
    usage = finished(emu, ok(emu, body("wan3.0-video", ("video", video))))["usage"]
    assert (usage["output_video_duration"], usage["input_video_duration"]) == (12, 12)


# ------------------------------------------------------------------ wan2.7-i2v continuation


def test_wan27_i2v_continues_an_uploaded_clip(emu: BailianEmulator) -> None:
    clip = upload(emu, "wan2.7-i2v", make_mp4(4), "clip.mp4")
    request = body("wan2.7-i2v", ("first_clip", clip), ("last_frame", PORTRAIT))
    assert finished(emu, ok(emu, request))["usage"]["output_video_duration"] == 5
    assert emu.submissions[-1]["mode"] == "image2video"


@pytest.mark.parametrize(
    ("kind", "data", "words"),
    [
        ("first_clip", make_mp4(12), ["lasts 12.0 s", "2-10 s"]),
        ("first_clip", make_mp4(1), ["lasts 1.0 s"]),
        ("first_clip", make_wav(4), ["not a video file"]),
        ("driving_audio", make_wav(31), ["lasts 31.0 s", "2-30 s"]),
        ("driving_audio", make_mp4(4), ["not a audio file"]),
    ],
)
def test_wan27_i2v_checks_clips_and_audio(
    emu: BailianEmulator, kind: str, data: bytes, words: list[str]
) -> None:
    url = upload(emu, "wan2.7-i2v", data, "x.bin")
    items = [("first_frame", PORTRAIT)] if kind == "driving_audio" else []
    index = len(items)
    rejected(emu, body("wan2.7-i2v", *items, (kind, url)), f"input.media[{index}].url", *words)


def test_wan27_i2v_takes_audio_and_clips_as_urls_only(emu: BailianEmulator) -> None:
    audio = data_uri(make_wav(3), "audio/wav")
    request = body("wan2.7-i2v", ("first_frame", PORTRAIT), ("driving_audio", audio))
    rejected(emu, request, "input.media[1].url", "images only")
    ok(emu, body("wan2.7-i2v", ("first_frame", PORTRAIT), ("driving_audio", HTTP_AUDIO)))


# ------------------------------------------------------------------ speech to video


def s2v(image: Any = PORTRAIT, audio: Any = HTTP_AUDIO, **params: Any) -> dict:
    inp = {}
    if image is not None:
        inp["image_url"] = image
    if audio is not None:
        inp["audio_url"] = audio
    out: dict[str, Any] = {"model": "wan2.2-s2v", "input": inp}
    if params:
        out["parameters"] = params
    return out


def test_s2v_lasts_as_long_as_its_audio(emu: BailianEmulator) -> None:
    audio = upload(emu, "wan2.2-s2v", make_mp3(12), "speech.mp3")
    task_id = ok(emu, s2v(audio=audio, resolution="720P"), IMAGE2VIDEO)
    sub = emu.submissions[-1]
    assert (sub["path"], sub["mode"]) == (IMAGE2VIDEO, "speech2video")
    usage = finished(emu, task_id)["usage"]
    assert (usage["output_video_duration"], usage["SR"], usage["size"]) == (12, 720, "720*1280")
    usage = finished(emu, ok(emu, s2v(image=LANDSCAPE), IMAGE2VIDEO))["usage"]
    assert (usage["SR"], usage["size"], usage["output_video_duration"]) == (480, "832*480", 5)


@pytest.mark.parametrize(
    ("request_body", "field", "words"),
    [
        (s2v(image=None), "input.image_url", ["required"]),
        (s2v(audio=None), "input.audio_url", ["required"]),
        (s2v(resolution="1080P"), "parameters.resolution", ["'1080P'", "480P, 720P"]),
        (s2v(duration=5), "parameters.duration", ["audio"]),
        (s2v(audio=data_uri(make_wav(2), "audio/wav")), "input.audio_url", ["images only"]),
        (s2v(image="ftp://x/y.png"), "input.image_url", []),
        ({"model": "wan2.2-s2v", "input": {"img_url": PORTRAIT}}, "input.img_url", ["image_url"]),
    ],
)
def test_s2v_refusals(emu: BailianEmulator, request_body: dict, field: str, words: list) -> None:
    rejected(emu, request_body, field, *words, path=IMAGE2VIDEO)


def test_s2v_audio_of_twenty_seconds_is_refused(emu: BailianEmulator) -> None:
    audio = upload(emu, "wan2.2-s2v", make_wav(20), "long.wav")
    rejected(emu, s2v(audio=audio), "input.audio_url", "20.0 s", "under 20 s", path=IMAGE2VIDEO)


def test_s2v_is_served_on_its_path_only(emu: BailianEmulator) -> None:
    rejected(emu, s2v(), "model", "speech2video", IMAGE2VIDEO)


def test_s2v_runs_one_task_at_a_time(emu: BailianEmulator) -> None:
    emu.configure(pending_seconds=0.0, task_seconds=10.0)
    first = ok(emu, s2v(), IMAGE2VIDEO)
    second = ok(emu, s2v(), IMAGE2VIDEO)
    other = ok(emu, body("wan3.0-video"))  # another model is not held up
    emu.advance(1)
    states = {t: query(emu, t)["output"]["task_status"] for t in (first, second, other)}
    assert states == {first: "RUNNING", second: "PENDING", other: "RUNNING"}
    emu.advance(10)
    assert query(emu, first)["output"]["task_status"] == "SUCCEEDED"
    assert query(emu, second)["output"]["task_status"] == "RUNNING"
    assert emu.tasks[second]["start_time"] == emu.tasks[first]["end_time"]
    assert emu.config["model_concurrency"] == {"wan2.2-s2v": 1}


def test_model_concurrency_is_configurable(emu: BailianEmulator) -> None:
    emu.configure(pending_seconds=0.0, task_seconds=10.0, model_concurrency=None)
    tasks = [ok(emu, s2v(), IMAGE2VIDEO) for _ in range(2)]
    emu.advance(1)
    assert [query(emu, t)["output"]["task_status"] for t in tasks] == ["RUNNING", "RUNNING"]
    emu.configure(model_concurrency={"wan3.0-video": 2})
    tasks = [ok(emu, body("wan3.0-video")) for _ in range(3)]
    emu.advance(1)
    assert [query(emu, t)["output"]["task_status"] for t in tasks] == [
        "RUNNING",
        "RUNNING",
        "PENDING",
    ]
    with pytest.raises(ValueError, match="model_concurrency"):
        emu.configure(model_concurrency={"wan3.0-video": 0})
    status, answer = call(emu, "POST", "/_emulator/config", {"model_concurrency": {"x": 1}})
    assert status == 200
    assert answer["model_concurrency"] == {"x": 1}


def test_model_concurrency_with_the_account_limit(emu: BailianEmulator) -> None:
    """A task waiting for its model's slot lets others start, within the account's limit."""
    emu.configure(pending_seconds=0.0, task_seconds=10.0, max_concurrent=2)
    s1, s2 = ok(emu, s2v(), IMAGE2VIDEO), ok(emu, s2v(), IMAGE2VIDEO)
    t1, t2 = ok(emu, body("wan3.0-video")), ok(emu, body("wan3.0-video"))
    emu.advance(1)
    states = [query(emu, t)["output"]["task_status"] for t in (s1, s2, t1, t2)]
    assert states == ["RUNNING", "PENDING", "RUNNING", "PENDING"]
    emu.advance(10)
    states = [query(emu, t)["output"]["task_status"] for t in (s1, s2, t1, t2)]
    assert states == ["SUCCEEDED", "RUNNING", "SUCCEEDED", "RUNNING"]


def test_cli_model_concurrency() -> None:
    assert _model_concurrency(None) == {"wan2.2-s2v": 1}
    assert _model_concurrency(["none"]) == {}
    assert _model_concurrency(["wan2.2-s2v=2", "wan3.0-video=1"]) == {
        "wan2.2-s2v": 2,
        "wan3.0-video": 1,
    }
    with pytest.raises(ValueError, match="MODEL=N"):
        _model_concurrency(["wan2.2-s2v"])


# ------------------------------------------------------------------ failures seen in the field


def test_fail_marker_without_a_code_fails_with_no_reason(emu: BailianEmulator) -> None:
    task_id = ok(emu, body("wan3.0-video", prompt="a city [fail:]"))
    emu.advance(30)
    out = query(emu, task_id)["output"]
    assert out["task_status"] == "FAILED"
    assert "code" not in out
    assert "message" not in out
    assert "usage" not in query(emu, task_id)
    info = emu.tasks[task_id]
    assert (info["failure_code"], info["failure_message"]) == (None, None)


def test_fail_marker_with_data_inspection(emu: BailianEmulator) -> None:
    task_id = ok(emu, body("wan3.0-video", prompt="a city [fail:DataInspectionFailed]"))
    emu.advance(30)
    out = query(emu, task_id)["output"]
    assert (out["task_status"], out["code"]) == ("FAILED", "DataInspectionFailed")
    assert "inappropriate" in out["message"]


@pytest.mark.parametrize(
    ("marker", "code"),
    [
        ("[reject]", "DataInspectionFailed"),
        ("[reject:InvalidParameter.DataInspection]", "InvalidParameter.DataInspection"),
    ],
)
def test_reject_marker_fails_the_submission(emu: BailianEmulator, marker: str, code: str) -> None:
    status, answer = post(emu, body("wan3.0-video", prompt=f"a city {marker}"))
    assert (status, answer["code"]) == (400, code)
    assert answer["message"] == "Input data may contain inappropriate content."
    assert answer["request_id"]
    assert emu.tasks == {}


def test_fail_task_fault_without_a_prompt(emu: BailianEmulator) -> None:
    """Speech to video has no prompt: the fault makes its task fail, soon, with no reason."""
    emu.add_fault("submit", "fail_task", seconds=0.5)
    task_id = ok(emu, s2v(), IMAGE2VIDEO)
    assert emu.submissions[-1]["fault"] == "fail_task"
    emu.advance(0.6)
    out = query(emu, task_id)["output"]
    assert out["task_status"] == "FAILED"
    assert "code" not in out
    assert "message" not in out
    emu.add_fault("submit", "fail_task", code="DataInspectionFailed")
    task_id = ok(emu, s2v(), IMAGE2VIDEO)
    emu.advance(30)
    out = query(emu, task_id)["output"]
    assert out["code"] == "DataInspectionFailed"
    assert "inappropriate" in out["message"]
    # The next submission is untouched.
    assert finished(emu, ok(emu, s2v(), IMAGE2VIDEO))


def test_inspection_fault_refuses_the_submission(emu: BailianEmulator) -> None:
    emu.add_fault("submit", "inspection")
    status, answer = post(emu, s2v(), IMAGE2VIDEO)
    assert (status, answer["code"]) == (400, "DataInspectionFailed")
    assert emu.tasks == {}
    with pytest.raises(ValueError, match="submit route only"):
        emu.add_fault("query", "fail_task")


def test_task_faults_from_the_command_line_spec() -> None:
    from airflow_provider_bailian.emulator import parse_fault_spec

    assert parse_fault_spec("submit:fail_task:2:seconds=3") == (
        "submit",
        "fail_task",
        2,
        {"seconds": 3},
    )
    with BailianEmulator() as emulator:
        emulator.add_fault("submit", "fail_task", 2, seconds=3)
        assert emulator.faults == [
            {"route": "submit", "kind": "fail_task", "times": 2, "seconds": 3}
        ]


def test_task_faults_through_the_control_endpoint(emu: BailianEmulator) -> None:
    """An emulator in another process takes the same faults over /_emulator/faults."""
    fault = {"route": "submit", "kind": "fail_task", "seconds": 0.2}
    status, pending = call(emu, "POST", "/_emulator/faults", fault)
    assert status == 200
    assert pending == [{**fault, "times": 1}]
    task_id = ok(emu, body("wan3.0-video"))
    emu.advance(1)
    out = query(emu, task_id)["output"]
    assert out["task_status"] == "FAILED"
    # Nothing but the task's id, status and times: no code, no message, no video.
    assert set(out) == {"task_id", "task_status", "submit_time", "scheduled_time", "end_time"}
    status, answer = call(emu, "POST", "/_emulator/faults", {"route": "any", "kind": "inspection"})
    assert status == 400
    assert "submit route only" in answer["error"]


# ------------------------------------------------------------------ files by their bytes


def test_file_makers_read_back() -> None:
    info = file_info(make_mp4(7.5, 720, 1280, min_bytes=50_000))
    assert (info.kind, info.format, info.seconds, info.width, info.height) == (
        "video",
        "MP4",
        7.5,
        720,
        1280,
    )
    assert file_info(make_mp4(3, quicktime=True)).format == "MOV"
    assert file_info(make_wav(4)).seconds == 4.0
    assert abs(file_info(make_mp3(12)).seconds - 12) < 0.1
    assert file_info(make_pdf()).kind == "file"
    assert file_info(b"plain text") is None
    assert file_info(make_png(10, 10)) is None
    sample = file_info(
        (Path(__file__).parents[1] / "airflow_provider_bailian/emulator/sample.mp4").read_bytes()
    )
    assert (sample.kind, sample.width, sample.height) == ("video", 160, 90)


# ------------------------------------------------------------------ the official SDK

dashscope = pytest.importorskip("dashscope")


@pytest.fixture
def sdk(emu: BailianEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{emu.base_url}/api/v1")
    return dashscope.VideoSynthesis


def test_sdk_media_type_names_are_the_emulators() -> None:
    from airflow_provider_bailian.emulator.catalog import MEDIA_KINDS

    names = {v for k, v in vars(dashscope.VideoSynthesis.MediaType).items() if k.isupper()}
    assert names == {*MEDIA_KINDS, "reference_voice"}


def test_sdk_wan30_uploads_local_media(emu: BailianEmulator, sdk: Any, tmp_path: Path) -> None:
    """wan3.0 with two local reference images and a local reference audio: the SDK uploads
    each file through the emulator and sends oss:// URLs with the resolve header."""
    kind = sdk.MediaType
    one, two, voice = tmp_path / "one.png", tmp_path / "two.jpg", tmp_path / "voice.wav"
    one.write_bytes(make_png(720, 1280))
    two.write_bytes(make_jpeg(720, 1280))
    voice.write_bytes(make_wav(5))
    media = [
        {"type": kind.REFERENCE_IMAGE, "url": f"file://{one}"},
        {"type": kind.REFERENCE_IMAGE, "url": f"file://{two}"},
        {"type": kind.REFERENCE_AUDIO, "url": f"file://{voice}"},
    ]
    done = sdk.call(
        model="wan3.0-video",
        prompt="Image 1 and Image 2 talk, in the voice of Audio 1",
        media=media,
        resolution="720P",
        ratio="adaptive",
        duration=-1,
        api_key=TOKEN,
    )
    assert done.status_code == 200, done
    assert done.output.task_status == "SUCCEEDED"
    assert done.usage["size"] == "720*1280"
    assert 2 <= done.usage["output_video_duration"] <= 15
    sub = emu.submissions[-1]
    assert sub["headers"]["X-DashScope-OssResourceResolve"] == "enable"
    sent = sub["body"]["input"]["media"]
    assert [m["type"] for m in sent] == ["reference_image", "reference_image", "reference_audio"]
    stored = {f["url"]: f for f in emu.uploads.values()}
    assert stored[sent[0]["url"]]["data"] == one.read_bytes()
    assert stored[sent[2]["url"]]["content_type"] == "audio/x-wav"
    assert sub["body"]["parameters"] == {"resolution": "720P", "ratio": "adaptive", "duration": -1}


def test_sdk_wan27_r2v_with_voices(emu: BailianEmulator, sdk: Any, tmp_path: Path) -> None:
    clip, voice = tmp_path / "walk.mp4", tmp_path / "voice.mp3"
    clip.write_bytes(make_mp4(3, 1280, 720))
    voice.write_bytes(make_mp3(4))
    media = [
        {"type": "reference_video", "url": f"file://{clip}", "reference_voice": f"file://{voice}"},
        {"type": "reference_image", "url": PORTRAIT, "reference_voice": HTTP_AUDIO},
    ]
    task = sdk.async_call(
        model="wan2.7-r2v", prompt="Video 1 greets Image 1", media=media, duration=6, api_key=TOKEN
    )
    assert task.status_code == 200, task
    emu.advance(30)
    done = sdk.wait(task, api_key=TOKEN)
    assert done.output.task_status == "SUCCEEDED"
    assert (done.usage["input_video_duration"], done.usage["output_video_duration"]) == (3, 6)
    sent = emu.submissions[-1]["body"]["input"]["media"]
    assert sent[0]["url"].startswith("oss://")
    assert sent[0]["reference_voice"].startswith("oss://")
    assert sent[1] == {"type": "reference_image", "url": PORTRAIT, "reference_voice": HTTP_AUDIO}


def test_sdk_wan27_videoedit(emu: BailianEmulator, sdk: Any, tmp_path: Path) -> None:
    video = tmp_path / "product.mp4"
    video.write_bytes(make_mp4(6, 720, 1280))
    done = sdk.call(
        model="wan2.7-videoedit",
        prompt="restyle the product video as a watercolour",
        media=[
            {"type": sdk.MediaType.VIDEO, "url": f"file://{video}"},
            {"type": sdk.MediaType.REFERENCE_IMAGE, "url": PORTRAIT},
        ],
        resolution="720P",
        audio_setting="origin",
        api_key=TOKEN,
    )
    assert done.status_code == 200, done
    assert done.output.task_status == "SUCCEEDED"
    assert (done.usage["size"], done.usage["output_video_duration"]) == ("720*1280", 6)
    sub = emu.submissions[-1]
    assert sub["mode"] == "videoedit"
    assert sub["body"]["parameters"] == {"resolution": "720P", "audio_setting": "origin"}


def test_sdk_sees_the_service_refusal(emu: BailianEmulator, sdk: Any) -> None:
    task = sdk.async_call(
        model="wan3.0-video",
        prompt="x",
        media=[
            {"type": "first_frame", "url": PORTRAIT},
            {"type": "reference_image", "url": PORTRAIT},
        ],
        api_key=TOKEN,
    )
    assert task.status_code == 400
    assert task.code == "InvalidParameter"
    assert task.message.startswith("input.media:")
