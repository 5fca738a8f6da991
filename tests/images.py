"""Small real images for tests, written with Pillow (a dependency of the provider)."""

from __future__ import annotations

import io
from pathlib import Path


def image_bytes(width: int = 480, height: int = 360, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (255, 106, 0)).save(buffer, format=fmt)
    return buffer.getvalue()


def write_image(
    folder: Path, name: str, width: int = 480, height: int = 360, fmt: str = "PNG"
) -> Path:
    path = folder / name
    path.write_bytes(image_bytes(width, height, fmt))
    return path
