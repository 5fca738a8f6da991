"""Small real images for tests: the emulator's image makers, written to files."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_bailian.emulator.images import make_bmp, make_jpeg, make_png, make_webp

MAKERS = {"PNG": make_png, "JPEG": make_jpeg, "BMP": make_bmp, "WEBP": make_webp}


def image_bytes(width: int = 480, height: int = 360, fmt: str = "PNG") -> bytes:
    return MAKERS[fmt](width, height)


def write_image(
    folder: Path, name: str, width: int = 480, height: int = 360, fmt: str = "PNG"
) -> Path:
    path = folder / name
    path.write_bytes(image_bytes(width, height, fmt))
    return path
