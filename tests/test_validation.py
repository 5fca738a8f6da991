"""Every validation rule: a clear error naming field, value and allowed values; nothing sent."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_bailian.exceptions import BailianValidationError
from airflow_provider_bailian.models import MODELS, Text2VideoRequest

BASE: dict[str, Any] = {"model": "wan2.6-t2v", "prompt": "a cat on a cliff"}

BAD_CASES = [
    ({"model": ""}, "model", "a model name"),
    ({"prompt": ""}, "prompt", "non-empty"),
    ({"prompt": "x" * 1501}, "prompt", "at most 1500 characters"),
    ({"model": "wan2.2-t2v-plus", "prompt": "x" * 801}, "prompt", "at most 800"),
    ({"negative_prompt": "n" * 501}, "negative_prompt", "at most 500"),
    ({"size": "720P"}, "size", "1280*720"),
    ({"size": "832*480"}, "size", "one of 1280*720"),
    ({"model": "wanx2.1-t2v-plus", "size": "1920*1080"}, "size", "1280*720"),
    ({"model": "wan2.7-t2v", "size": "1280*720"}, "size", "resolution and ratio"),
    ({"model": "wan2.7-t2v", "resolution": "480P"}, "resolution", "720P, 1080P"),
    ({"model": "wan2.7-t2v", "ratio": "21:9"}, "ratio", "16:9, 9:16, 1:1, 4:3, 3:4"),
    ({"resolution": "720P"}, "resolution", "only for wan2.7-t2v"),
    ({"duration": 20}, "duration", "an integer from 2 to 15"),
    ({"model": "wan2.5-t2v-preview", "duration": 7}, "duration", "one of 5, 10"),
    ({"model": "wan2.2-t2v-plus", "duration": 10}, "duration", "one of 5"),
    ({"duration": "five"}, "duration", "a whole number"),
    ({"seed": -1}, "seed", "0 to 2147483647"),
    ({"seed": 2147483648}, "seed", "0 to 2147483647"),
    ({"shot_type": "wide"}, "shot_type", "single, multi"),
    ({"model": "wan2.5-t2v-preview", "shot_type": "multi"}, "shot_type", "only wan2.6-t2v"),
    ({"shot_type": "multi", "prompt_extend": False}, "shot_type", "prompt_extend=True"),
    ({"audio_url": "ftp://example.com/a.mp3"}, "audio_url", "http://, https:// or oss://"),
    ({"audio_url": "not a url"}, "audio_url", "http://"),
    ({"model": "wan2.2-t2v-plus", "audio_url": "https://x.test/a.mp3"}, "audio_url", "silent"),
    ({"prompt_extend": "maybe"}, "prompt_extend", "true or false"),
]


@pytest.mark.parametrize(("changes", "field", "allowed"), BAD_CASES)
def test_bad_value_names_field_value_and_allowed(changes: dict, field: str, allowed: str) -> None:
    with pytest.raises(BailianValidationError) as info:
        Text2VideoRequest(**{**BASE, **changes}).validated()
    err = info.value
    assert err.field == field
    assert allowed in str(err)
    shown = str(changes.get(field, ""))[:40]
    assert shown in str(err)


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(BailianValidationError) as info:
        Text2VideoRequest(**BASE, size="1*1", duration=99, seed=-5).validated()
    assert [p[0] for p in info.value.problems] == ["size", "duration", "seed"]


def test_valid_request_coerces_templated_strings() -> None:
    request, warnings = Text2VideoRequest(
        **BASE, size="1280x720", duration="10", seed="42", shot_type="multi", prompt_extend=True
    ).validated()
    assert warnings == []
    assert (request.size, request.duration, request.seed) == ("1280*720", 10, 42)


def test_wan27_uses_resolution_and_ratio() -> None:
    request, _ = Text2VideoRequest(
        model="wan2.7-t2v", prompt="p" * 4000, resolution="720p", ratio="9:16", duration=12
    ).validated()
    body = request.to_body()
    assert body["parameters"] == {"resolution": "720P", "ratio": "9:16", "duration": 12}


def test_unknown_model_passes_with_warning_and_generic_rules() -> None:
    _request, warnings = Text2VideoRequest(
        model="wan9.9-t2v", prompt="p", size="999*111"
    ).validated()
    assert "not in this provider's capability table" in warnings[0]
    with pytest.raises(BailianValidationError, match="seed"):
        Text2VideoRequest(model="wan9.9-t2v", prompt="p", seed=-1).validated()


def test_aliases_resolve_to_table_entries() -> None:
    _, warnings = Text2VideoRequest(
        model="wan2.1-t2v-turbo", prompt="p", size="832*480"
    ).validated()
    assert warnings == []


def test_every_row_is_a_named_model_with_its_modes_facts() -> None:
    """Rows are built on shared base specs: none is left unnamed, and the bases' facts land."""
    from airflow_provider_bailian.capabilities import FRAMES, IMAGE, SHAPE_FRAME_URLS

    assert all(name and spec.name == name for name, spec in MODELS.items())
    assert "" not in MODELS
    flash = MODELS["wan2.6-i2v-flash"]
    assert (flash.mode, flash.audio, flash.prompt_max) == (IMAGE, True, 1500)
    assert (flash.resolutions, flash.default_resolution) == (("720P", "1080P"), "1080P")
    kf2v = MODELS["wan2.2-kf2v-flash"]
    assert (kf2v.mode, kf2v.shape, kf2v.durations, kf2v.prompt_max) == (
        FRAMES,
        SHAPE_FRAME_URLS,
        (5,),
        800,
    )
    assert MODELS["wan2.7-r2v"].image_px == (240, 8000)
    assert MODELS["happyhorse-1.1-i2v"].media == (("first_frame", 1),)


def test_body_contains_only_fields_that_were_set() -> None:
    request, _ = Text2VideoRequest(**BASE, negative_prompt="", watermark=False).validated()
    assert request.to_body() == {
        "model": "wan2.6-t2v",
        "input": {"prompt": "a cat on a cliff"},
        "parameters": {"watermark": False},
    }


def test_table_matches_documented_sizes() -> None:
    assert "1920*1080" in MODELS["wan2.6-t2v"].sizes
    assert "832*480" not in MODELS["wan2.6-t2v"].sizes
    assert set(MODELS["wanx2.1-t2v-plus"].sizes) == {
        "1280*720",
        "720*1280",
        "960*960",
        "1088*832",
        "832*1088",
    }


def test_invalid_request_sends_nothing(hook: Any, emulator: Any) -> None:
    with pytest.raises(BailianValidationError):
        hook.submit_text2video(model="wan2.6-t2v", prompt="p", size="1*1")
    assert emulator.count("submit") == 0
    assert emulator.requests == []


def test_request_types_and_their_rules_import_as_plain_python() -> None:
    """The request types call validation at module level; neither loads Airflow (nor an HTTP
    client) until a request is refused, and the old import paths name the same objects."""
    probe = (
        "import sys\n"
        "import airflow_provider_bailian.models, airflow_provider_bailian.validation\n"
        "print('LOADED=' + ','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('airflow', 'sqlalchemy', 'requests', 'httpx'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LOADED=\n" in done.stdout + "\n", done.stdout

    from airflow_provider_bailian import inputs, models, protocol

    for name in ("LocalFile", "LocalImage", "MediaItem", "wire", "identity"):
        assert getattr(models, name) is getattr(inputs, name), name
    assert protocol.request_body is models.request_body
    assert protocol.INPUT_LAYOUTS is models.INPUT_LAYOUTS
    request = Text2VideoRequest(**BASE, duration="5")
    checked, _warnings = request.validated()
    assert checked.duration == 5
    assert request.to_body() == protocol.request_body(request)
    assert checked.to_body()["parameters"] == {"duration": 5}
    with pytest.raises(BailianValidationError, match="duration"):
        Text2VideoRequest(**BASE, duration=20).validated()
