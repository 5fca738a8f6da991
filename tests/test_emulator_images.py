"""The emulator's image-driven modes, checked over real HTTP.

Image-to-video (``img_url`` and wan2.7's ``media``), first and last frame (kf2v) and
reference-to-video in both API styles, the service's validation of each, image inputs
(data URIs decoded and checked, ``oss://`` temporary files), the temporary-file upload, and
the official ``dashscope`` SDK's image calls against the emulator.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from airflow_provider_bailian.emulator import BailianEmulator
from airflow_provider_bailian.emulator.images import (
    data_uri,
    image_info,
    make_bmp,
    make_jpeg,
    make_png,
    make_webp,
)

TOKEN = "sk-fake-test"
VIDEO_SYNTHESIS = "/api/v1/services/aigc/video-generation/video-synthesis"
KF2V = "/api/v1/services/aigc/image2video/video-synthesis"
GW_I2V = "/task/bailian/image2video"
GW_R2V = "/task/bailian/ref2video"
ASYNC = {"X-DashScope-Async": "enable"}
RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}
MB = 1024 * 1024
PNG_720 = data_uri(make_png(1280, 720))


@pytest.fixture
def emu() -> Iterator[BailianEmulator]:
    with BailianEmulator(task_seconds=1.0, api_key=TOKEN) as emulator:
        yield emulator


def call(
    emu: BailianEmulator,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    token: str | None = TOKEN,
) -> tuple[int, Any]:
    """One request on a fresh connection; (status, parsed JSON body)."""
    parts = urlsplit(emu.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def post(emu: BailianEmulator, path: str, body: dict, headers: dict | None = None) -> Any:
    """Submit in the style the path belongs to (the async header on DashScope paths)."""
    extra = dict(ASYNC) if path.startswith("/api/") else {}
    return call(emu, "POST", path, body, {**extra, **(headers or {})})


def ok(emu: BailianEmulator, path: str, body: dict, headers: dict | None = None) -> str:
    status, answer = post(emu, path, body, headers)
    assert status == 200, answer
    return answer["output"]["task_id"]


def rejected(
    emu: BailianEmulator,
    path: str,
    body: dict,
    field: str,
    *words: str,
    headers: dict | None = None,
) -> str:
    """Assert a 400 InvalidParameter naming ``field`` (and ``words``); no task is made."""
    before = len(emu.tasks)
    status, answer = post(emu, path, body, headers)
    assert status == 400, answer
    assert answer["code"] == "InvalidParameter"
    assert answer["message"].startswith(f"{field}:"), answer["message"]
    for word in words:
        assert word in answer["message"], answer["message"]
    assert len(emu.tasks) == before
    return answer["message"]


def finished(emu: BailianEmulator, task_id: str, style: str = "dashscope") -> dict:
    emu.advance(30)
    path = f"/api/v1/tasks/{task_id}" if style == "dashscope" else f"/task/{task_id}"
    status, answer = call(emu, "GET", path)
    assert status == 200
    assert answer["output"]["task_status"] == "SUCCEEDED", answer
    return answer


def i2v(model: str = "wan2.6-i2v", img: str = PNG_720, **params: Any) -> dict:
    body: dict[str, Any] = {"model": model, "input": {"img_url": img, "prompt": "it moves"}}
    if params:
        body["parameters"] = params
    return body


def kf2v(first: str = PNG_720, last: str | None = PNG_720, **params: Any) -> dict:
    """A first-and-last-frame body (``last=None`` leaves the last frame out)."""
    inp = {"first_frame_url": first, "prompt": "from one to the other"}
    if last is not None:
        inp["last_frame_url"] = last
    return {"model": "wan2.2-kf2v-flash", "input": inp, "parameters": params}


def r2v(refs: Any, model: str = "wan2.6-r2v", **params: Any) -> dict:
    inp = {"prompt": "character1 waves at character2", "reference_urls": refs}
    return {"model": model, "input": inp, "parameters": params}


def media(*items: tuple[str, str]) -> dict:
    return {
        "model": "wan2.7-i2v",
        "input": {"prompt": "go", "media": [{"type": t, "url": u} for t, u in items]},
    }


# ------------------------------------------------------------------ image-to-video


def test_dashscope_i2v_data_uri_runs_and_echoes(emu: BailianEmulator) -> None:
    """img_url as a data URI: recorded as sent, mode image2video, answered like text."""
    task_id = ok(emu, VIDEO_SYNTHESIS, i2v(resolution="720P", duration=10, shot_type="multi"))
    sub = emu.submissions[-1]
    assert sub["mode"] == "image2video"
    assert sub["api_style"] == "dashscope"
    assert sub["body"]["input"]["img_url"] == PNG_720
    assert emu.tasks[task_id]["mode"] == "image2video"
    answer = finished(emu, task_id)
    out = answer["output"]
    assert out["orig_prompt"] == "it moves"
    assert "actual_prompt" not in out
    assert answer["usage"] == {
        "duration": 10.0,
        "input_video_duration": 0,
        "output_video_duration": 10,
        "SR": 720,
        "size": "1280*720",
        "video_count": 1,
    }
    assert out["video_url"].startswith(f"http://localhost:{emu.port}/videos/{task_id}.mp4?")


@pytest.mark.parametrize(
    ("model", "image", "params", "usage_key", "expected"),
    [
        ("wan2.6-i2v", (1280, 720), {"resolution": "720P"}, "size", "1280*720"),
        ("wan2.6-i2v", (720, 1280), {}, "size", "1080*1920"),  # default 1080P
        ("wan2.6-i2v", (1000, 1000), {"resolution": "720P"}, "size", "960*960"),
        ("wan2.6-i2v", (1500, 500), {"resolution": "720P"}, "size", "1664*560"),
        ("wan2.2-i2v-flash", (640, 480), {"resolution": "480P"}, "video_ratio", "736*544"),
        ("wanx2.1-i2v-plus", (1280, 720), {}, "video_ratio", "1280*720"),
    ],
)
def test_i2v_output_keeps_the_image_aspect_ratio(
    emu: BailianEmulator,
    model: str,
    image: tuple[int, int],
    params: dict,
    usage_key: str,
    expected: str,
) -> None:
    img = data_uri(make_png(*image))
    task_id = ok(emu, VIDEO_SYNTHESIS, i2v(model, img, **params))
    assert finished(emu, task_id)["usage"][usage_key] == expected


def test_i2v_http_url_is_taken_as_is(emu: BailianEmulator) -> None:
    """The emulator cannot see a remote image: 16:9 at the tier, URL recorded unchanged."""
    url = "https://example.com/photos/cat.png?x=1"
    task_id = ok(emu, VIDEO_SYNTHESIS, i2v(img=url, resolution="720P"))
    assert emu.submissions[-1]["body"]["input"]["img_url"] == url
    assert finished(emu, task_id)["usage"]["size"] == "1280*720"


def test_i2v_prompt_is_optional_on_dashscope(emu: BailianEmulator) -> None:
    body = {"model": "wan2.2-i2v-plus", "input": {"img_url": PNG_720}}
    answer = finished(emu, ok(emu, VIDEO_SYNTHESIS, body))
    assert answer["output"]["orig_prompt"] == ""
    assert answer["usage"] == {"video_count": 1, "video_ratio": "1920*1080", "video_duration": 5}


def test_i2v_flash_audio_switch_is_reported(emu: BailianEmulator) -> None:
    silent = finished(emu, ok(emu, VIDEO_SYNTHESIS, i2v("wan2.6-i2v-flash", audio=False)))
    assert silent["usage"]["audio"] is False
    loud = finished(emu, ok(emu, VIDEO_SYNTHESIS, i2v("wan2.6-i2v-flash", duration=2)))
    assert loud["usage"]["audio"] is True
    assert loud["usage"]["output_video_duration"] == 2


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"model": "wan2.6-i2v", "input": {"prompt": "x"}}, "input.img_url", ["required"]),
        (i2v(resolution="480P"), "parameters.resolution", ["'480P'", "720P, 1080P"]),
        (i2v(resolution="720p"), "parameters.resolution", ["720P, 1080P"]),
        (i2v(size="1280*720"), "parameters.size", ["use parameters.resolution"]),
        (i2v(ratio="16:9"), "parameters.ratio", ["use parameters.resolution"]),
        (i2v("wan2.5-i2v-preview", duration=7), "parameters.duration", ["5 or 10"]),
        (i2v("wanx2.1-i2v-turbo", duration=5.5), "parameters.duration", ["3-5"]),
        (i2v("wan2.6-i2v", duration=16), "parameters.duration", ["2-15"]),
        (i2v("wan2.5-i2v-preview", shot_type="multi"), "parameters.shot_type", ["not supported"]),
        (i2v(shot_type="double"), "parameters.shot_type", ["single, multi"]),
        (i2v("wan2.6-i2v", audio=False), "parameters.audio", ["wan2.6-i2v"]),
        (i2v("wan2.6-i2v-flash", audio="no"), "parameters.audio", ["boolean"]),
        (i2v(seed=-1), "parameters.seed", ["2147483647"]),
        (i2v(prompt_extend="yes"), "parameters.prompt_extend", ["boolean"]),
        (
            {"model": "wan2.6-i2v", "input": {"img_url": PNG_720, "negative_prompt": "n" * 501}},
            "input.negative_prompt",
            ["500"],
        ),
        (
            {"model": "wan2.2-i2v-flash", "input": {"img_url": PNG_720, "audio_url": "https://a"}},
            "input.audio_url",
            ["does not support audio"],
        ),
        (
            {"model": "wan2.6-i2v", "input": {"img_url": PNG_720, "template": 3}},
            "input.template",
            ["string"],
        ),
        (
            {"model": "wan2.6-i2v", "input": {"img_url": PNG_720, "media": []}},
            "input.media",
            ["use input.img_url"],
        ),
        ({"model": "wan2.2-kf2v-flash", "input": {"img_url": PNG_720}}, "model", [KF2V]),
    ],
)
def test_i2v_validation(emu: BailianEmulator, body: dict, field: str, words: list[str]) -> None:
    rejected(emu, VIDEO_SYNTHESIS, body, field, *words)


def test_i2v_long_prompt_is_cut_like_the_service(emu: BailianEmulator) -> None:
    body = i2v("wan2.2-i2v-flash")
    body["input"]["prompt"] = "p" * 900
    answer = finished(emu, ok(emu, VIDEO_SYNTHESIS, body))
    assert answer["output"]["orig_prompt"] == "p" * 800


def test_i2v_fail_marker_fails_the_task(emu: BailianEmulator) -> None:
    body = i2v()
    body["input"]["prompt"] = "[fail:DataInspectionFailed] a cat"
    task_id = ok(emu, VIDEO_SYNTHESIS, body)
    emu.advance(30)
    out = call(emu, "GET", f"/api/v1/tasks/{task_id}")[1]["output"]
    assert (out["task_status"], out["code"]) == ("FAILED", "DataInspectionFailed")


# ------------------------------------------------------------------ wan2.7-i2v media


@pytest.mark.parametrize(
    "types",
    [
        ("first_frame",),
        ("first_frame", "driving_audio"),
        ("first_frame", "last_frame"),
        ("last_frame", "first_frame", "driving_audio"),
        ("first_clip",),
        ("first_clip", "last_frame"),
    ],
)
def test_wan27_media_valid_sets(emu: BailianEmulator, types: tuple[str, ...]) -> None:
    urls = {
        "first_frame": data_uri(make_png(720, 1280)),
        "last_frame": data_uri(make_jpeg(720, 1280)),
        "driving_audio": "https://example.com/voice.mp3",
        "first_clip": "https://example.com/clip.mp4",
    }
    task_id = ok(emu, VIDEO_SYNTHESIS, media(*((t, urls[t]) for t in types)))
    usage = finished(emu, task_id)["usage"]
    # A first frame sets the aspect ratio; a clip is not read (16:9).
    assert usage["size"] == ("1080*1920" if "first_frame" in types else "1920*1080")
    assert emu.submissions[-1]["body"]["input"]["media"][0]["type"] == types[0]


@pytest.mark.parametrize(
    ("items", "field", "word"),
    [
        ((("last_frame", PNG_720),), "input.media", "not a valid set"),
        ((("first_frame", PNG_720), ("first_clip", "https://c.mp4")), "input.media", "allowed"),
        ((("first_frame", PNG_720), ("first_frame", PNG_720)), "input.media[1].type", "twice"),
        ((("reference", PNG_720),), "input.media[0].type", "first_frame"),
        ((("first_frame", data_uri(make_png(240, 2200))),), "input.media[0].url", "1:8-8:1"),
        ((("first_frame", data_uri(make_png(200, 300))),), "input.media[0].url", "240-8000"),
    ],
)
def test_wan27_media_validation(
    emu: BailianEmulator, items: tuple[tuple[str, str], ...], field: str, word: str
) -> None:
    rejected(emu, VIDEO_SYNTHESIS, media(*items), field, word)


def test_wan27_takes_large_frames_and_refuses_img_url(emu: BailianEmulator) -> None:
    big = data_uri(make_png(4000, 3000, min_bytes=15 * MB))  # over wan2.6's 2000 px and 10 MB
    assert ok(emu, VIDEO_SYNTHESIS, media(("first_frame", big)))
    body = {"model": "wan2.7-i2v", "input": {"img_url": PNG_720}}
    rejected(emu, VIDEO_SYNTHESIS, body, "input.img_url", "use input.media")
    rejected(emu, VIDEO_SYNTHESIS, {"model": "wan2.7-i2v", "input": {}}, "input.media", "required")
    body = media(("first_frame", PNG_720))
    body["parameters"] = {"resolution": "480P"}
    rejected(emu, VIDEO_SYNTHESIS, body, "parameters.resolution", "720P, 1080P")


# ------------------------------------------------------------------ first and last frame


def test_kf2v_on_its_endpoint(emu: BailianEmulator) -> None:
    task_id = ok(emu, KF2V, kf2v(data_uri(make_png(720, 1280)), resolution="480P"))
    sub = emu.submissions[-1]
    assert (sub["path"], sub["mode"]) == (KF2V, "kf2v")
    assert sub["body"]["input"]["last_frame_url"] == PNG_720
    answer = finished(emu, task_id)
    assert answer["usage"] == {"video_count": 1, "video_ratio": "480*832", "video_duration": 5}
    assert answer["output"]["orig_prompt"] == "from one to the other"
    assert ok(emu, KF2V, kf2v(last=None))  # the last frame is optional


@pytest.mark.parametrize(
    ("body", "field", "word"),
    [
        (
            {"model": "wan2.2-kf2v-flash", "input": {"last_frame_url": PNG_720}},
            "input.first_frame_url",
            "required",
        ),
        (kf2v(last=data_uri(make_png(100, 100))), "input.last_frame_url", "360-2000"),
        (kf2v(duration=10), "parameters.duration", "5"),
        (kf2v(resolution="4K"), "parameters.resolution", "480P, 720P, 1080P"),
        (kf2v(shot_type="single"), "parameters.shot_type", "not supported"),
        (kf2v(audio=True), "parameters.audio", "not supported"),
        ({**kf2v(), "model": "wan2.6-i2v"}, "model", VIDEO_SYNTHESIS),
    ],
)
def test_kf2v_validation(emu: BailianEmulator, body: dict, field: str, word: str) -> None:
    rejected(emu, KF2V, body, field, word)


def test_kf2v_model_refused_on_the_shared_endpoint(emu: BailianEmulator) -> None:
    rejected(emu, VIDEO_SYNTHESIS, kf2v(), "model", "kf2v", KF2V)


def test_unknown_model_is_model_not_found(emu: BailianEmulator) -> None:
    status, answer = post(emu, KF2V, {**kf2v(), "model": "wan9-kf2v"})
    assert (status, answer["code"]) == (404, "ModelNotFound")


# ------------------------------------------------------------------ reference-to-video


def test_r2v_with_images(emu: BailianEmulator) -> None:
    refs = [data_uri(make_png(512, 512)), data_uri(make_webp(600, 800))]
    task_id = ok(emu, VIDEO_SYNTHESIS, r2v(refs, size="1280*720", duration=10))
    assert emu.submissions[-1]["mode"] == "ref2video"
    assert emu.submissions[-1]["body"]["input"]["reference_urls"] == refs
    answer = finished(emu, task_id)
    assert answer["output"]["orig_prompt"] == "character1 waves at character2"
    assert answer["usage"]["size"] == "1280*720"
    assert answer["usage"]["input_video_duration"] == 0
    assert answer["usage"]["duration"] == 10.0


def test_r2v_video_references_bill_input_seconds(emu: BailianEmulator) -> None:
    refs = ["https://example.com/a.mp4", "https://example.com/b.png"]
    usage = finished(emu, ok(emu, VIDEO_SYNTHESIS, r2v(refs, "wan2.6-r2v-flash")))["usage"]
    assert usage["size"] == "1920*1080"
    assert (usage["input_video_duration"], usage["output_video_duration"]) == (5, 5)
    assert usage["duration"] == 10.0


@pytest.mark.parametrize(
    ("body", "field", "word"),
    [
        (r2v([]), "input.reference_urls", "1-5"),
        (r2v([PNG_720] * 6), "input.reference_urls", "got 6"),
        (r2v(PNG_720), "input.reference_urls", "list"),
        (r2v(["https://v.mp4"] * 4), "input.reference_urls", "at most 3 videos"),
        (r2v([data_uri(make_png(200, 200))]), "input.reference_urls[0]", "240-5000"),
        (r2v([PNG_720, "ftp://x.png"]), "input.reference_urls[1]", "http(s)"),
        (r2v([PNG_720], resolution="720P"), "parameters.resolution", "use parameters.size"),
        (r2v([PNG_720], size="832*480"), "parameters.size", "1920*1080"),
        (r2v([PNG_720], duration=11), "parameters.duration", "2-10"),
        (r2v([PNG_720], audio=False), "parameters.audio", "wan2.6-r2v"),
        ({"model": "wan2.6-r2v", "input": {"reference_urls": [PNG_720]}}, "input.prompt", "req"),
        ({"model": "wan2.6-r2v", "input": {"prompt": "x"}}, "input.reference_urls", "required"),
    ],
)
def test_r2v_validation(emu: BailianEmulator, body: dict, field: str, word: str) -> None:
    rejected(emu, VIDEO_SYNTHESIS, body, field, word)


# ------------------------------------------------------------------ the gateway style


def test_gateway_image2video(emu: BailianEmulator) -> None:
    body = i2v("wan2.6-i2v-flash", resolution="720P", duration=5)
    status, answer = call(emu, "POST", GW_I2V, body)  # no async header on the gateway
    assert status == 200, answer
    task_id = answer["output"]["task_id"]
    sub = emu.submissions[-1]
    assert (sub["api_style"], sub["mode"], sub["path"]) == ("gateway", "image2video", GW_I2V)
    answer = finished(emu, task_id, style="gateway")
    assert answer["usage"]["size"] == "1280*720"
    assert emu.tasks[task_id]["api_style"] == "gateway"


@pytest.mark.parametrize(
    ("body", "field", "word"),
    [
        ({**i2v(resolution="720P", duration=5), "input": {"img_url": PNG_720}}, "input.prompt", ""),
        (i2v(duration=5), "parameters.resolution", "required"),
        (i2v(resolution="720P"), "parameters.duration", "required"),
        (i2v(img="oss://dashscope-instant/x/a.png", resolution="720P", duration=5), "input.img_url",
         "not supported by this API"),
        ({**media(("first_frame", PNG_720)), "parameters": {"resolution": "720P", "duration": 5}},
         "model", "input.media"),
    ],
)  # fmt: skip
def test_gateway_image2video_validation(
    emu: BailianEmulator, body: dict, field: str, word: str
) -> None:
    rejected(emu, GW_I2V, body, field, word, headers=RESOLVE)


def test_gateway_ref2video(emu: BailianEmulator) -> None:
    task_id = ok(emu, GW_R2V, r2v([PNG_720, PNG_720], size="720*1280", duration=2))
    assert emu.submissions[-1]["mode"] == "ref2video"
    usage = finished(emu, task_id, style="gateway")["usage"]
    assert (usage["size"], usage["output_video_duration"]) == ("720*1280", 2)
    rejected(emu, GW_R2V, r2v([PNG_720]), "parameters.size", "required")
    rejected(emu, GW_R2V, r2v([PNG_720], size="1280*720", duration=15), "parameters.duration")


def test_gateway_has_no_kf2v_route(emu: BailianEmulator) -> None:
    status, answer = call(emu, "POST", "/task/bailian/kf2v", kf2v())
    assert (status, answer["code"]) == (404, "NotFound")
    assert emu.submissions == []


# ------------------------------------------------------------------ image inputs


@pytest.mark.parametrize("maker", [make_png, make_jpeg, make_bmp, make_webp])
def test_every_accepted_format_from_its_bytes(emu: BailianEmulator, maker: Any) -> None:
    data = maker(1280, 720)
    # The declared MIME type is not trusted: the bytes decide.
    uri = f"data:image/png;base64,{base64.b64encode(data).decode()}"
    assert finished(emu, ok(emu, VIDEO_SYNTHESIS, i2v(img=uri)))["usage"]["size"] == "1920*1080"


@pytest.mark.parametrize(
    ("img", "word"),
    [
        ("data:image/gif;base64," + base64.b64encode(b"GIF89a" + bytes(64)).decode(), "JPEG, PNG"),
        ("data:image/png;base64,@@@notbase64@@@", "does not decode"),
        ("data:image/png," + "x" * 10, "data:{mime};base64,{data}"),
        (data_uri(make_png(359, 720)), "359x720 px"),
        (data_uri(make_png(2001, 720)), "360-2000 px"),
        (data_uri(make_png(1280, 720, min_bytes=10 * MB + 1)), "at most 10485760"),
        ("ftp://example.com/a.png", "http(s)://"),
        ("/home/me/a.png", "oss://"),
        ("", "data URI"),
        (["https://a.png"], "data URI"),
    ],
)
def test_image_checks(emu: BailianEmulator, img: Any, word: str) -> None:
    rejected(emu, VIDEO_SYNTHESIS, i2v(img=img), "input.img_url", word)


def test_oss_url_needs_the_resolve_header_and_a_stored_file(emu: BailianEmulator) -> None:
    png = make_png(1280, 720)
    url = emu.add_upload(png, "wan2.6-i2v", name="cat.png")
    assert url.startswith("oss://dashscope-instant/")
    assert url.endswith("/cat.png")
    rejected(emu, VIDEO_SYNTHESIS, i2v(img=url), "input.img_url", "X-DashScope-OssResourceResolve")
    task_id = ok(emu, VIDEO_SYNTHESIS, i2v(img=url, resolution="720P"), RESOLVE)
    assert emu.submissions[-1]["headers"]["X-DashScope-OssResourceResolve"] == "enable"
    assert finished(emu, task_id)["usage"]["size"] == "1280*720"

    missing = url.replace("cat.png", "dog.png")
    rejected(
        emu, VIDEO_SYNTHESIS, i2v(img=missing), "input.img_url", "does not exist", headers=RESOLVE
    )
    rejected(
        emu, VIDEO_SYNTHESIS, i2v("wan2.6-i2v-flash", url), "input.img_url", "uploaded for model",
        headers=RESOLVE,
    )  # fmt: skip
    not_image = emu.add_upload(b"hello", "wan2.6-i2v", name="notes.txt")
    rejected(emu, VIDEO_SYNTHESIS, i2v(img=not_image), "input.img_url", "JPEG", headers=RESOLVE)
    emu.advance(48 * 3600 + 1)
    rejected(emu, VIDEO_SYNTHESIS, i2v(img=url), "input.img_url", "expired", headers=RESOLVE)


# ------------------------------------------------------------------ temporary-file upload


def get_policy(emu: BailianEmulator, model: str = "wan2.6-i2v") -> dict:
    status, answer = call(emu, "GET", f"/api/v1/uploads?action=getPolicy&model={model}")
    assert status == 200, answer
    return answer["data"]


def upload(policy: dict, data: bytes, name: str = "cat.png", **override: str) -> requests.Response:
    """The form POST as Alibaba documents it (no Authorization header)."""
    form = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": f"{policy['upload_dir']}/{name}",
        "x-oss-object-acl": policy["x_oss_object_acl"],
        "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
        "success_action_status": "200",
        "x-oss-content-type": "image/png",
        **override,
    }
    files = {"file": (name, data, "image/png")}
    return requests.post(policy["upload_host"], data=form, files=files, timeout=10)


def test_upload_flow_then_oss_url(emu: BailianEmulator) -> None:
    policy = get_policy(emu)
    assert set(policy) >= {
        "policy", "signature", "upload_dir", "upload_host", "expire_in_seconds",
        "max_file_size_mb", "oss_access_key_id", "x_oss_object_acl", "x_oss_forbid_overwrite",
    }  # fmt: skip
    assert policy["upload_host"].startswith(emu.base_url)
    assert policy["max_file_size_mb"] == 10
    png = make_png(720, 1280)
    resp = upload(policy, png)
    assert resp.status_code == 200, resp.text
    key = f"{policy['upload_dir']}/cat.png"
    stored = emu.uploads[key]
    assert (stored["data"], stored["model"], stored["content_type"]) == (
        png,
        "wan2.6-i2v",
        "image/png",
    )
    record = emu.requests[-1]
    assert (record["route"], record["auth_header"]) == ("upload", False)

    task_id = ok(emu, VIDEO_SYNTHESIS, i2v(img=f"oss://{key}", resolution="720P"), RESOLVE)
    assert finished(emu, task_id)["usage"]["size"] == "720*1280"


def test_upload_refusals_look_like_oss(emu: BailianEmulator) -> None:
    policy = get_policy(emu)
    png = make_png(400, 400)

    def refused(resp: requests.Response, status: int, code: str) -> None:
        assert resp.status_code == status, resp.text
        assert f"<Code>{code}</Code>" in resp.text
        assert resp.headers["Content-Type"] == "application/xml"

    refused(upload(policy, png, Signature="forged"), 403, "SignatureDoesNotMatch")
    refused(upload(policy, png, key="elsewhere/cat.png"), 403, "AccessDenied")
    refused(upload(policy, make_png(400, 400, min_bytes=10 * MB + 1)), 400, "EntityTooLarge")
    no_form = requests.post(policy["upload_host"], data=b"raw", timeout=10)
    refused(no_form, 400, "RequestIsNotMultiPartContent")
    assert upload(policy, png, success_action_status="204").status_code == 204
    refused(upload(policy, png), 409, "FileAlreadyExists")
    emu.advance(301)
    refused(upload(policy, png, key=f"{policy['upload_dir']}/late.png"), 403, "AccessDenied")
    assert len(emu.uploads) == 1


def test_upload_policy_needs_a_token_and_a_model(emu: BailianEmulator) -> None:
    status, answer = call(emu, "GET", "/api/v1/uploads?action=getPolicy&model=x", token=None)
    assert (status, answer["code"]) == (401, "InvalidApiKey")
    status, answer = call(emu, "GET", "/api/v1/uploads?action=getPolicy")
    assert (status, answer["code"]) == (400, "InvalidParameter")
    # wan2.7-i2v also takes a video to continue (first_clip): its largest input is a video.
    assert get_policy(emu, "wan2.7-i2v")["max_file_size_mb"] == 100
    assert get_policy(emu, "wan2.6-i2v")["max_file_size_mb"] == 10


def test_faults_reach_the_upload_routes(emu: BailianEmulator) -> None:
    emu.add_fault("policy", "503")
    status, _ = call(emu, "GET", "/api/v1/uploads?action=getPolicy&model=wan2.6-i2v")
    assert status == 503
    policy = get_policy(emu)
    emu.add_fault("upload", "500")
    assert upload(policy, make_png(400, 400)).status_code == 500
    assert upload(policy, make_png(400, 400)).status_code == 200


def test_control_endpoint_lists_uploads(emu: BailianEmulator) -> None:
    """For an emulator in another process: what was stored, with a digest of the bytes."""
    png = make_png(400, 400)
    url = emu.add_upload(png, "wan2.6-r2v", name="hero.png")
    status, listed = call(emu, "GET", "/_emulator/uploads", token=None)
    assert status == 200
    (info,) = listed.values()
    assert info["url"] == url
    assert (info["model"], info["size"], info["content_type"]) == (
        "wan2.6-r2v",
        len(png),
        "image/png",
    )
    assert info["sha256"] == hashlib.sha256(png).hexdigest()
    assert "data" not in info


def test_reset_forgets_uploads(emu: BailianEmulator) -> None:
    emu.add_upload(make_png(400, 400), "wan2.6-i2v")
    emu.reset()
    assert emu.uploads == {}


# ------------------------------------------------------------------ the test images


@pytest.mark.parametrize(
    ("maker", "fmt"),
    [(make_png, "PNG"), (make_jpeg, "JPEG"), (make_bmp, "BMP"), (make_webp, "WEBP")],
)
def test_image_makers_read_back(maker: Any, fmt: str) -> None:
    assert image_info(maker(37, 19)) == (fmt, 37, 19)
    assert image_info(maker(2000, 8)) == (fmt, 2000, 8)


def test_png_padding_keeps_a_valid_image() -> None:
    data = make_png(10, 10, min_bytes=5000)
    assert len(data) == 5000
    assert data.endswith(b"IEND\xaeB`\x82")
    assert image_info(data) == ("PNG", 10, 10)


# ------------------------------------------------------------------ the official SDK

dashscope = pytest.importorskip("dashscope")


@pytest.fixture
def sdk(emu: BailianEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{emu.base_url}/api/v1")
    return dashscope.VideoSynthesis


def test_sdk_image_to_video(emu: BailianEmulator, sdk: Any) -> None:
    task = sdk.async_call(
        model="wan2.6-i2v", img_url=PNG_720, prompt="a cat", resolution="720P", api_key=TOKEN
    )
    assert task.status_code == 200, task
    sub = emu.submissions[-1]
    assert (sub["path"], sub["mode"]) == (VIDEO_SYNTHESIS, "image2video")
    assert sub["body"]["input"]["img_url"] == PNG_720
    assert sub["body"]["input"]["prompt"] == "a cat"
    assert sub["body"]["parameters"]["resolution"] == "720P"
    emu.advance(30)
    done = sdk.wait(task, api_key=TOKEN)
    assert done.output.task_status == "SUCCEEDED"
    assert done.usage["size"] == "1280*720"


def test_sdk_kf2v_uploads_local_files_through_the_emulator(
    emu: BailianEmulator, sdk: Any, tmp_path: Path
) -> None:
    """file:// frames: the SDK asks for a policy, posts the files, sends oss:// URLs with
    the resolve header to the kf2v endpoint; all of it against the emulator."""
    first, last = tmp_path / "first.jpg", tmp_path / "last.png"
    first.write_bytes(make_jpeg(720, 1280))
    last.write_bytes(make_png(720, 1280))
    done = sdk.call(
        model="wan2.2-kf2v-flash",
        first_frame_url=f"file://{first}",
        last_frame_url=f"file://{last}",
        prompt="a bloom",
        api_key=TOKEN,
    )
    assert done.status_code == 200, done
    assert done.output.task_status == "SUCCEEDED"
    assert done.usage["video_ratio"] == "720*1280"
    sub = emu.submissions[-1]
    assert (sub["path"], sub["mode"]) == (KF2V, "kf2v")
    assert sub["headers"]["X-DashScope-OssResourceResolve"] == "enable"
    sent = sub["body"]["input"]
    stored = {f["url"]: f["data"] for f in emu.uploads.values()}
    assert stored[sent["first_frame_url"]] == first.read_bytes()
    assert stored[sent["last_frame_url"]] == last.read_bytes()
    routes = [r["route"] for r in emu.requests]
    assert routes.count("policy") >= 1
    assert routes.count("upload") == 2
