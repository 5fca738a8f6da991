"""Image and reference modes without the network: routing, bodies, validation, file inputs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian.exceptions import BailianValidationError
from airflow_provider_bailian.media import load_local_media
from airflow_provider_bailian.models import (
    Image2VideoRequest,
    LocalImage,
    Reference2VideoRequest,
    Text2VideoRequest,
)
from airflow_provider_bailian.pricing import PriceTable
from airflow_provider_bailian.protocol import ApiStyle, BailianProtocol
from tests.conftest import FAKE_KEY
from tests.images import image_bytes, write_image

DS = BailianProtocol(ApiStyle.DASHSCOPE, "http://127.0.0.1:1", FAKE_KEY)
GW = BailianProtocol(ApiStyle.GATEWAY, "http://127.0.0.1:1", FAKE_KEY)
URL = "https://example.com/first.png"
LAST = "https://example.com/last.png"
I2V_PATH = "/api/v1/services/aigc/video-generation/video-synthesis"
KF2V_PATH = "/api/v1/services/aigc/image2video/video-synthesis"


def _problems(request: Any) -> list[tuple[str, Any, str]]:
    with pytest.raises(BailianValidationError) as info:
        load_local_media(request.validated()[0])
    return info.value.problems


@pytest.mark.parametrize(
    ("request_", "dashscope_path", "gateway_path", "body"),
    [
        pytest.param(
            Image2VideoRequest(model="wan2.6-i2v", image=URL, prompt="p", resolution="720P"),
            I2V_PATH,
            "/task/bailian/image2video",
            {
                "model": "wan2.6-i2v",
                "input": {"prompt": "p", "img_url": URL},
                "parameters": {"resolution": "720P"},
            },
            id="img_url",
        ),
        pytest.param(
            Image2VideoRequest(model="wan2.6-i2v-flash", image=URL, prompt="p", audio="false"),
            I2V_PATH,
            "/task/bailian/image2video",
            {
                "model": "wan2.6-i2v-flash",
                "input": {"prompt": "p", "img_url": URL},
                "parameters": {"audio": False},
            },
            id="flash-silent",
        ),
        pytest.param(
            Image2VideoRequest(
                model="wan2.7-i2v",
                image=URL,
                last_frame=LAST,
                audio_url="https://example.com/a.mp3",
                duration="8",
            ),
            I2V_PATH,
            None,
            {
                "model": "wan2.7-i2v",
                "input": {
                    "media": [
                        {"type": "first_frame", "url": URL},
                        {"type": "last_frame", "url": LAST},
                        {"type": "driving_audio", "url": "https://example.com/a.mp3"},
                    ]
                },
                "parameters": {"duration": 8},
            },
            id="media",
        ),
        pytest.param(
            Image2VideoRequest(model="wan2.2-kf2v-flash", image=URL, last_frame=LAST, seed=3),
            KF2V_PATH,
            None,
            {
                "model": "wan2.2-kf2v-flash",
                "input": {"first_frame_url": URL, "last_frame_url": LAST},
                "parameters": {"seed": 3},
            },
            id="kf2v",
        ),
        pytest.param(
            Image2VideoRequest(model="wan9-kf2v-future", image=URL),
            KF2V_PATH,
            None,
            {"model": "wan9-kf2v-future", "input": {"first_frame_url": URL}},
            id="unknown-kf2v-by-name",
        ),
        pytest.param(
            Reference2VideoRequest(
                model="wan2.6-r2v",
                prompt="character1 hands character2 a cup",
                references=[URL, LAST],
                size="1280*720",
            ),
            I2V_PATH,
            "/task/bailian/ref2video",
            {
                "model": "wan2.6-r2v",
                "input": {
                    "prompt": "character1 hands character2 a cup",
                    "reference_urls": [URL, LAST],
                },
                "parameters": {"size": "1280*720"},
            },
            id="r2v",
        ),
    ],
)
def test_routing_and_bodies_in_both_styles(
    request_: Any, dashscope_path: str, gateway_path: str | None, body: dict
) -> None:
    request, _ = request_.validated()
    http = DS.submit(request)
    assert http.url == "http://127.0.0.1:1" + dashscope_path
    assert http.json == body
    assert http.headers["X-DashScope-Async"] == "enable"
    if gateway_path is None:
        with pytest.raises(BailianValidationError) as info:
            GW.submit(request)
        text = str(info.value)
        assert request.model in text
        assert "gateway" in text
        assert "dashscope" in text
        return
    http = GW.submit(request)
    assert http.url == "http://127.0.0.1:1" + gateway_path
    assert "X-DashScope-Async" not in http.headers
    # The gateway requires these parameters: the model's defaults fill what is unset.
    required = ("resolution", "duration") if "img_url" in body["input"] else ("size", "duration")
    assert all(http.json["parameters"].get(name) for name in required)
    assert http.json["input"] == body["input"]


def test_gateway_image2video_needs_a_prompt() -> None:
    request, _ = Image2VideoRequest(model="wan2.6-i2v", image=URL).validated()
    assert DS.submit(request).json["input"] == {"img_url": URL}
    with pytest.raises(BailianValidationError) as info:
        GW.submit(request)
    assert info.value.problems[0][0] == "prompt"


def test_oss_inputs_get_the_resolve_header() -> None:
    request, _ = Image2VideoRequest(model="wan2.6-i2v", image="oss://dir/a.png").validated()
    assert DS.submit(request).headers["X-DashScope-OssResourceResolve"] == "enable"
    request, _ = Image2VideoRequest(model="wan2.6-i2v", image=URL).validated()
    assert "X-DashScope-OssResourceResolve" not in DS.submit(request).headers


@pytest.mark.parametrize(
    ("request_", "field", "allowed"),
    [
        (Image2VideoRequest(model="wan2.6-i2v", image=None), "image", "http(s)"),
        (
            Image2VideoRequest(model="wan2.6-i2v", image=URL, last_frame=LAST),
            "last_frame",
            "wan2.7-i2v",
        ),
        (
            Image2VideoRequest(model="wan2.6-i2v", image=URL, resolution="480P"),
            "resolution",
            "720P, 1080P",
        ),
        (
            Image2VideoRequest(model="wan2.6-i2v", image=URL, resolution="1280*720"),
            "resolution",
            "720P",
        ),
        (
            Image2VideoRequest(model="wan2.5-i2v-preview", image=URL, duration=7),
            "duration",
            "5, 10",
        ),
        (Image2VideoRequest(model="wan2.2-kf2v-flash", image=URL, duration=10), "duration", "5"),
        (
            Image2VideoRequest(model="wan2.5-i2v-preview", image=URL, shot_type="multi"),
            "shot_type",
            "wan2.6-i2v",
        ),
        (
            Image2VideoRequest(model="wan2.6-i2v", image=URL, audio=False),
            "audio",
            "wan2.6-i2v-flash",
        ),
        (
            Image2VideoRequest(model="wan2.7-i2v", image=URL, template="flying"),
            "template",
            "wan2.6-i2v",
        ),
        (
            Image2VideoRequest(model="wan2.2-i2v-plus", image=URL, audio_url="https://e.com/a.mp3"),
            "audio_url",
            "silent",
        ),
        (Image2VideoRequest(model="wan2.6-t2v", image=URL), "model", "wan2.6-i2v"),
        (
            Image2VideoRequest(model="wan2.6-i2v", image="data:text/plain;base64,eA=="),
            "image",
            "data:image",
        ),
        (
            Reference2VideoRequest(model="wan2.6-r2v", prompt="p", references=[]),
            "references",
            "1 to 5",
        ),
        (
            Reference2VideoRequest(model="wan2.6-r2v", prompt="p", references=[URL] * 6),
            "references",
            "1 to 5",
        ),
        (
            Reference2VideoRequest(model="wan2.6-r2v", prompt="", references=[URL]),
            "prompt",
            "non-empty",
        ),
        (
            Reference2VideoRequest(
                model="wan2.6-r2v", prompt="p", references=[URL], size="832*480"
            ),
            "size",
            "1280*720",
        ),
        (
            Reference2VideoRequest(model="wan2.6-r2v", prompt="p", references=[URL], duration=12),
            "duration",
            "2 to 10",
        ),
        (
            Reference2VideoRequest(model="wan2.6-r2v", prompt="p", references=[URL], audio=True),
            "audio",
            "wan2.6-r2v-flash",
        ),
    ],
)
def test_each_rule_names_field_value_and_allowed(request_: Any, field: str, allowed: str) -> None:
    problems = _problems(request_)
    names = [p[0] for p in problems]
    assert field in names, problems
    problem = problems[names.index(field)]
    assert allowed in problem[2]
    assert field in str(BailianValidationError(problems))


def test_png_and_jpeg_files_become_data_uris_equal_to_the_file(tmp_path: Path) -> None:
    png = write_image(tmp_path, "first.png", 640, 360, "PNG")
    jpeg = write_image(tmp_path, "last frame.jpg", 640, 360, "JPEG")
    request, _ = Image2VideoRequest(
        model="wan2.7-i2v", image=str(png), last_frame=f"file://{jpeg}"
    ).validated()
    loaded = load_local_media(request)
    assert isinstance(loaded.image, LocalImage)
    assert (loaded.image.mime, loaded.image.width, loaded.image.height) == ("image/png", 640, 360)
    media = loaded.to_body()["input"]["media"]
    for item, path, mime in ((media[0], png, "image/png"), (media[1], jpeg, "image/jpeg")):
        prefix = f"data:{mime};base64,"
        assert item["url"].startswith(prefix)
        assert base64.b64decode(item["url"][len(prefix) :]) == path.read_bytes()
    assert "file://" not in str(loaded.fingerprint_body())


def memory_store() -> Any:
    """fsspec's in-memory store, attached to Airflow's object storage as ``memory://``."""
    import fsspec

    try:
        from airflow.sdk.io import attach
    except ImportError:  # Airflow 2.11
        from airflow.io.store import attach
    fs = fsspec.filesystem("memory")
    attach("memory", fs=fs)
    return fs


def test_object_storage_image_through_fsspec_memory() -> None:
    data = image_bytes(800, 600, "JPEG")
    memory_store().pipe_file("/bucket/products/mug.jpg", data)
    request, _ = Image2VideoRequest(
        model="wan2.6-i2v", image="memory://bucket/products/mug.jpg"
    ).validated()
    body = load_local_media(request).to_body()
    assert body["input"]["img_url"] == "data:image/jpeg;base64," + base64.b64encode(data).decode()


def test_format_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    disguised = tmp_path / "photo.png"
    disguised.write_bytes(image_bytes(400, 400, "JPEG"))
    request, _ = Image2VideoRequest(model="wan2.6-i2v", image=str(disguised)).validated()
    assert load_local_media(request).image.mime == "image/jpeg"

    fake = tmp_path / "fake.png"
    fake.write_bytes(b"GIF89a not really an image at all")
    problems = _problems(Image2VideoRequest(model="wan2.6-i2v", image=str(fake)))
    assert problems[0][0] == "image"
    assert problems[0][1] == str(fake)
    assert "JPEG, PNG, BMP, WEBP" in problems[0][2]

    gif = tmp_path / "anim.gif"
    from PIL import Image

    Image.new("RGB", (400, 400)).save(gif, format="GIF")
    assert "got GIF data" in _problems(Image2VideoRequest(model="wan2.6-i2v", image=str(gif)))[0][2]


@pytest.mark.parametrize(("fmt", "mime"), [("BMP", "image/bmp"), ("WEBP", "image/webp")])
def test_bmp_and_webp_are_accepted(tmp_path: Path, fmt: str, mime: str) -> None:
    path = write_image(tmp_path, "frame.bin", 400, 400, fmt)
    loaded = load_local_media(Image2VideoRequest(model="wan2.6-i2v", image=str(path)))
    assert (loaded.image.mime, loaded.image.width, loaded.image.height) == (mime, 400, 400)


@pytest.mark.parametrize(
    ("model", "size", "ok"),
    [
        ("wan2.6-i2v", (359, 400), False),
        ("wan2.6-i2v", (360, 2000), True),
        ("wan2.6-i2v", (400, 2001), False),
        ("wan2.7-i2v", (240, 300), True),
        ("wan2.7-i2v", (239, 300), False),
        ("wan2.7-i2v", (2400, 250), False),  # ratio beyond 8:1
    ],
)
def test_pixel_range_per_model(tmp_path: Path, model: str, size: tuple[int, int], ok: bool) -> None:
    path = write_image(tmp_path, "x.png", *size)
    request = Image2VideoRequest(model=model, image=str(path))
    if ok:
        assert isinstance(load_local_media(request.validated()[0]).image, LocalImage)
    else:
        problem = _problems(request)[0]
        assert problem[0] == "image"
        assert f"{size[0]}x{size[1]}" in problem[2] or "aspect ratio" in problem[2]


def test_file_size_per_model(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    # A valid PNG header followed by padding: 10 MB + 1 byte is over wan2.6-i2v's limit.
    data = image_bytes(400, 400, "PNG")
    big.write_bytes(data + b"\0" * (10 * 1024 * 1024 + 1 - len(data)))
    problem = _problems(Image2VideoRequest(model="wan2.6-i2v", image=str(big)))[0]
    assert (problem[0], problem[1]) == ("image", str(big))
    assert "at most 10 MB" in problem[2]
    loaded = load_local_media(Image2VideoRequest(model="wan2.7-i2v", image=str(big)))
    assert isinstance(loaded.image, LocalImage)  # 20 MB for wan2.7-i2v


def test_missing_file_and_every_bad_reference_in_one_error(tmp_path: Path) -> None:
    good = write_image(tmp_path, "a.png")
    small = write_image(tmp_path, "b.png", 100, 100)
    request = Reference2VideoRequest(
        model="wan2.6-r2v",
        prompt="character1 and character2",
        references=[str(good), str(tmp_path / "missing.png"), str(small)],
    )
    problems = _problems(request)
    assert [p[0] for p in problems] == ["references[1]", "references[2]"]
    assert "readable image file" in problems[0][2]
    assert "240-5000 px" in problems[1][2]


def test_a_changed_file_is_a_new_fingerprint(tmp_path: Path) -> None:
    path = write_image(tmp_path, "a.png", 400, 400)
    request = Image2VideoRequest(model="wan2.6-i2v", image=str(path))
    first = load_local_media(request).fingerprint_body()
    assert first == load_local_media(request).fingerprint_body()
    write_image(tmp_path, "a.png", 400, 401)
    assert load_local_media(request).fingerprint_body() != first


def test_references_rendered_as_text_are_a_list() -> None:
    request = Reference2VideoRequest(
        model="wan2.6-r2v", prompt="p", references=f'["{URL}", "{LAST}"]'
    )
    assert request.references == (URL, LAST)
    assert Reference2VideoRequest(model="wan2.6-r2v", prompt="p", references=URL).references == (
        URL,
    )


@pytest.mark.parametrize(
    ("request_", "amount"),
    [
        (Image2VideoRequest(model="wan2.6-i2v", image=URL, resolution="720P", duration=10), 6.0),
        (Image2VideoRequest(model="wan2.6-i2v-flash", image=URL), 2.5),  # 1080P with sound
        (Image2VideoRequest(model="wan2.6-i2v-flash", image=URL, audio=False), 1.25),
        (Image2VideoRequest(model="wan2.2-kf2v-flash", image=URL, last_frame=LAST), 1.0),  # 720P
        (
            Reference2VideoRequest(
                model="wan2.6-r2v", prompt="p", references=[URL], size="1280*720"
            ),
            3.0,
        ),
        # A reference video is billed too: at most 5 s in total, the estimate's upper bound.
        (
            Reference2VideoRequest(
                model="wan2.6-r2v", prompt="p", references=["https://e.com/a.mp4"], size="1280*720"
            ),
            6.0,
        ),
    ],
)
def test_estimates_of_the_new_models(request_: Any, amount: float) -> None:
    estimate = PriceTable("cn-beijing").estimate(request_.validated()[0])
    assert estimate is not None
    assert estimate.amount == pytest.approx(amount)
    assert estimate.currency == "CNY"


def test_actual_cost_counts_billed_input_video_and_silence() -> None:
    from airflow_provider_bailian.models import Usage

    table = PriceTable("cn-beijing")
    usage = Usage.parse(
        {"output_video_duration": 5, "input_video_duration": 3, "SR": 720, "video_count": 1}
    )
    assert table.actual("wan2.6-r2v", usage).amount == pytest.approx(8 * 0.6)
    silent = Usage.parse({"output_video_duration": 5, "SR": 720, "audio": False})
    assert table.actual("wan2.6-i2v-flash", silent).amount == pytest.approx(5 * 0.15)


def test_text_requests_keep_their_body_and_fingerprint() -> None:
    request, _ = Text2VideoRequest(model="wan2.6-t2v", prompt="p", size="1280*720").validated()
    assert request.fingerprint_body() == request.to_body()
    assert load_local_media(request) is request
