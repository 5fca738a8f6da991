"""``storage_roots``: the one rule for ``gallery_roots`` and ``input_roots`` (plain Python, real
files in a temporary folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_bailian.storage_roots import NotAllowed, parse_roots, resolve


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "videos" / "sub").mkdir(parents=True)
    (tmp_path / "videos-private").mkdir()
    (tmp_path / "videos" / "a.mp4").write_bytes(b"x")
    (tmp_path / "videos-private" / "b.mp4").write_bytes(b"x")
    (tmp_path / "videos" / "out.mp4").symlink_to(tmp_path / "videos-private" / "b.mp4")
    (tmp_path / "alias").symlink_to(tmp_path / "videos")
    return tmp_path


def test_the_option_is_split_on_commas_and_new_lines(tree: Path) -> None:
    roots = parse_roots(f" {tree}/videos ,\n\n s3://aws@bucket/videos/ ,gs://b")
    assert [r.text for r in roots] == [f"{tree}/videos", "s3://aws@bucket/videos/", "gs://b"]
    assert roots[0].prefix == f"{os.path.realpath(tree / 'videos')}/"
    assert (roots[1].scheme, roots[1].conn_id, roots[1].bucket, roots[1].prefix) == (
        "s3",
        "aws",
        "bucket",
        "videos/",
    )
    assert roots[2].prefix == ""  # the whole bucket
    assert parse_roots("") == parse_roots(None) == parse_roots(" , \n") == ()


@pytest.mark.parametrize("bad", ["relative/videos", "file://host/videos", "s3://", "s3://b/../x"])
def test_a_malformed_root_is_named(bad: str) -> None:
    with pytest.raises(NotAllowed, match="root"):
        parse_roots(f"/tmp, {bad}")


def test_local_paths_resolve_inside_a_folder_only(tree: Path) -> None:
    roots = parse_roots(str(tree / "alias"))  # a root that is itself a symlink
    real = os.path.realpath(tree / "videos" / "a.mp4")
    for inside in ("videos/a.mp4", "alias/a.mp4", "alias/sub/../a.mp4"):
        found = resolve(str(tree / inside), roots)
        assert (found.location, found.local) == (real, True)
    assert resolve(f"file://{tree}/alias/a.mp4", roots).location == real
    assert resolve(f"file://localhost{tree}/alias/a.mp4", roots).location == real
    for outside in (
        str(tree / "videos" / "out.mp4"),  # a symlink out
        str(tree / "videos" / ".." / "videos-private" / "b.mp4"),
        str(tree / "videos-private" / "b.mp4"),  # a sibling sharing the name's start
        "/etc/passwd",
        f"file://otherhost{tree}/videos/a.mp4",
        "videos/a.mp4",  # relative: resolved from the working folder
        f"{tree}/videos/a.mp4\x00",
    ):
        with pytest.raises(NotAllowed):
            resolve(outside, roots)
    with pytest.raises(NotAllowed):
        resolve({"path": str(tree / "videos" / "a.mp4")}, roots)


def test_object_store_urls_follow_the_prefix_and_its_connection() -> None:
    roots = parse_roots("s3://aws@bucket/videos, gs://open/")
    assert resolve("s3://bucket/videos/a.mp4", roots).location == "s3://aws@bucket/videos/a.mp4"
    assert resolve("s3://aws@bucket/videos/a.mp4", roots).location == "s3://aws@bucket/videos/a.mp4"
    assert resolve("S3://bucket/videos/x/y.mp4", roots).local is False
    assert resolve("gs://open/any/key.mp4", roots).location == "gs://open/any/key.mp4"
    refused = {
        "s3://admin@bucket/videos/a.mp4": "own connection 'admin'",
        "gs://conn@open/a.mp4": "own connection 'conn'",
        "s3://bucket/videos-private/a.mp4": "outside",
        "s3://bucket/videos": "outside",
        "s3://other/videos/a.mp4": "outside",
        "gcs://open/a.mp4": "outside",
        "s3://bucket/videos/../secret/a.mp4": "'..' segment",
        "s3://bucket/videos/%2e%2e/secret/a.mp4": "'..' segment",
        "/etc/passwd": "outside the allowed folders",
    }
    for location, reason in refused.items():
        with pytest.raises(NotAllowed, match=reason):
            resolve(location, roots)
