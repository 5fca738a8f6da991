"""Every example DAG, run through Airflow against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_bailian._compat import AIRFLOW_V3
from tests.conftest import asset_events, load_dag, run_dag, ti_states, xcom


@pytest.fixture
def examples(emulator: Any, make_conn: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    make_conn("bailian_default", emulator.base_url)
    monkeypatch.setenv("BAILIAN_EXAMPLE_POLL_INTERVAL", "0.1")
    return emulator


def test_submit_and_deferrable_wait_in_one_task(examples: Any) -> None:
    dag_run = run_dag("bailian_wait_deferrable.py", "bailian_wait_deferrable")
    assert ti_states(dag_run) == {"generate": "success", "publish": "success"}
    assert xcom(dag_run, "publish") == xcom(dag_run, "generate", key="video_url")
    assert examples.count("submit") == 1


def test_submit_then_sensor(examples: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("BAILIAN_VIDEO_DIR", str(tmp_path / "videos"))
    dag_run = run_dag("bailian_submit_then_sensor.py", "bailian_submit_then_sensor")
    assert ti_states(dag_run) == {
        "submit": "success",
        "wait": "success",
        "download": "success",
        "report": "success",
    }
    assert xcom(dag_run, "report") == xcom(dag_run, "wait", key="video_url")
    assert examples.count("submit") == 1
    target = tmp_path / "videos" / f"{xcom(dag_run, 'submit')}.mp4"
    assert xcom(dag_run, "download", key="video_path") == str(target)
    assert target.read_bytes()[4:8] == b"ftyp"


def test_mapped_prompts_under_a_pool(examples: Any) -> None:
    from airflow.models.pool import Pool

    Pool.create_or_update_pool("bailian", 5, "Bailian concurrency", include_deferred=True)
    dag_run = run_dag("bailian_mapped_prompts.py", "bailian_mapped_prompts")
    states = ti_states(dag_run)
    assert states == {
        "prompts": "success",
        "generate[0]": "success",
        "generate[1]": "success",
        "generate[2]": "success",
        "total_cost": "success",
    }
    # 3 videos x 5 s x 0.6 CNY/s (wan2.6-t2v 720P, Beijing list price).
    assert xcom(dag_run, "total_cost") == {
        "videos": 3,
        "seconds": 15.0,
        "amount": 9.0,
        "currency": "CNY",
    }
    assert examples.count("submit") == 3
    prompts = sorted(r["body"]["input"]["prompt"] for r in examples.submissions)
    assert prompts[0].startswith("A red fox")
    for ti in dag_run.get_task_instances():
        if ti.task_id == "generate":
            assert ti.pool == "bailian"


def test_generate_download_and_asset_event(
    examples: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("BAILIAN_VIDEO_DIR", str(tmp_path / "videos"))
    producer = load_dag("bailian_generate_and_download.py", "bailian_generate_and_download")
    if not AIRFLOW_V3:
        # Airflow 2.11's dag.test records dataset events only for datasets already in the
        # database, which the DAG processor would have written.
        from airflow.models.dag import DAG

        DAG.bulk_write_to_db([producer])
    dag_run = producer.test()
    assert ti_states(dag_run) == {"generate": "success"}
    target = tmp_path / "videos" / "latest.mp4"
    assert xcom(dag_run, "generate", key="video_path") == str(target)
    assert target.read_bytes()[4:8] == b"ftyp"
    (task_id,) = examples.tasks
    (event,) = asset_events(f"file://{target}")
    assert event["bailian_task_id"] == task_id
    assert event["model"] == "wan2.6-t2v"
    assert event["prompt"].startswith("A hot-air balloon")
    consumer = load_dag("bailian_generate_and_download.py", "bailian_publish_video")
    timetable = consumer.timetable
    condition = getattr(timetable, "asset_condition", None) or timetable.dataset_condition
    assert [a.uri for a in condition.objects] == [f"file://{target}"]


@pytest.fixture
def example_images(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.images import write_image

    write_image(tmp_path, "mug.jpg", 800, 800, "JPEG")
    write_image(tmp_path, "shot-01.png", 1280, 720, "PNG")
    write_image(tmp_path, "shot-02.png", 1280, 720, "PNG")
    write_image(tmp_path, "girl.png", 512, 768, "PNG")
    write_image(tmp_path, "robot.jpg", 640, 640, "JPEG")
    monkeypatch.setenv("BAILIAN_PRODUCT_PHOTO", str(tmp_path / "mug.jpg"))
    monkeypatch.setenv("BAILIAN_FIRST_FRAME", str(tmp_path / "shot-01.png"))
    monkeypatch.setenv("BAILIAN_LAST_FRAME", f"file://{tmp_path / 'shot-02.png'}")
    monkeypatch.setenv("BAILIAN_REFERENCE_1", str(tmp_path / "girl.png"))
    monkeypatch.setenv("BAILIAN_REFERENCE_2", str(tmp_path / "robot.jpg"))
    monkeypatch.setenv("BAILIAN_VIDEO_DIR", str(tmp_path / "videos"))
    return tmp_path


def test_product_photo_from_local_storage(examples: Any, example_images: Any) -> None:
    dag_run = run_dag("bailian_product_photo.py", "bailian_product_photo")
    assert ti_states(dag_run) == {"animate": "success"}
    path = xcom(dag_run, "animate", key="video_path")
    assert path.startswith(str(example_images / "videos" / "product-"))
    (sent,) = examples.submissions
    assert sent["body"]["input"]["img_url"].startswith("data:image/jpeg;base64,")


def test_first_and_last_frame_transition(
    examples: Any, example_images: Any, make_conn: Any
) -> None:
    make_conn("bailian_dashscope", examples.base_url, api_style="dashscope")
    dag_run = run_dag("bailian_first_last_frame.py", "bailian_first_last_frame")
    assert ti_states(dag_run) == {"transition": "success", "report": "success"}
    (sent,) = examples.submissions
    assert sent["path"] == "/api/v1/services/aigc/image2video/video-synthesis"
    assert set(sent["body"]["input"]) == {"prompt", "first_frame_url", "last_frame_url"}


def test_reference_with_two_subjects(examples: Any, example_images: Any) -> None:
    dag_run = run_dag("bailian_reference_subjects.py", "bailian_reference_subjects")
    assert ti_states(dag_run) == {"scene": "success"}
    (sent,) = examples.submissions
    assert len(sent["body"]["input"]["reference_urls"]) == 2
    assert xcom(dag_run, "scene", key="video_url")


@pytest.fixture
def example_media(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from airflow_provider_bailian.emulator.mediafiles import make_mp4, make_wav
    from tests.images import write_image

    write_image(tmp_path, "watercolour.png", 512, 512, "PNG")
    write_image(tmp_path, "host.png", 640, 480, "PNG")
    write_image(tmp_path, "guest.jpg", 480, 640, "JPEG")
    (tmp_path / "kettle.mp4").write_bytes(make_mp4(seconds=6.0))
    (tmp_path / "welcome.wav").write_bytes(make_wav(seconds=4.0))
    for name, file in {
        "BAILIAN_PRODUCT_VIDEO": "kettle.mp4",
        "BAILIAN_STYLE_IMAGE": "watercolour.png",
        "BAILIAN_HOST_IMAGE": "host.png",
        "BAILIAN_GUEST_IMAGE": "guest.jpg",
        "BAILIAN_VOICE_AUDIO": "welcome.wav",
        "BAILIAN_CLIP": "kettle.mp4",
    }.items():
        monkeypatch.setenv(name, str(tmp_path / file))
    return tmp_path


@pytest.mark.parametrize(
    ("file", "task", "types"),
    [
        ("bailian_video_edit.py", "restyle", ["video", "reference_image"]),
        (
            "bailian_wan30_references.py",
            "interview",
            ["reference_image", "reference_image", "reference_audio"],
        ),
        ("bailian_continuation.py", "continue_shot", ["first_clip"]),
    ],
)
def test_media_examples(
    examples: Any, example_media: Any, make_conn: Any, file: str, task: str, types: list[str]
) -> None:
    make_conn("bailian_dashscope", examples.base_url, api_style="dashscope")
    dag_run = run_dag(file, file.removesuffix(".py"))
    assert ti_states(dag_run) == {task: "success"}
    (sent,) = examples.submissions
    assert [m["type"] for m in sent["body"]["input"]["media"]] == types
    assert examples.count("upload") == 1
    assert xcom(dag_run, task, key="video_url")
