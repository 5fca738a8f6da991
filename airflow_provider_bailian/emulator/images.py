"""Images by their bytes: what the service checks, and small real images for tests.

:func:`image_info` reads the format and pixel size from the first bytes, as the service
does with an image input (the file name and a data URI's declared type are not trusted).
:func:`make_png`, :func:`make_jpeg`, :func:`make_bmp` and :func:`make_webp` build tiny,
decodable images of any size with the standard library, for tests of the emulator and of
the provider (``from airflow_provider_bailian.emulator.images import make_png``);
:func:`data_uri` wraps bytes as ``data:{mime};base64,...``.
"""

from __future__ import annotations

import base64
import struct
import zlib

#: Formats the service accepts for image inputs, with their MIME types.
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "WEBP": "image/webp"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (every coding process; C4, C8 and CC are other segments).
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` from an image's bytes, or None if not JPEG/PNG/BMP/WEBP."""
    try:
        if data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return "PNG", width, height
        if data.startswith(b"\xff\xd8"):
            return _jpeg_info(data)
        if data.startswith(b"BM") and len(data) >= 26:
            (dib_size,) = struct.unpack("<I", data[14:18])
            if dib_size == 12:
                width, height = struct.unpack("<HH", data[18:22])
            else:
                width, height = struct.unpack("<ii", data[18:26])
            return "BMP", abs(width), abs(height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_info(data)
    except struct.error:
        return None
    return None


def _jpeg_info(data: bytes) -> tuple[str, int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return "JPEG", width, height
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return None


def _webp_info(data: bytes) -> tuple[str, int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return "WEBP", width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return "WEBP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return "WEBP", width, height
    return None


def data_uri(data: bytes, mime: str | None = None) -> str:
    """``data:{mime};base64,{data}``; the MIME type is read from the bytes when not given."""
    if mime is None:
        info = image_info(data)
        mime = IMAGE_FORMATS[info[0]] if info else "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# ------------------------------------------------------------------ test image makers


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def make_png(
    width: int,
    height: int,
    color: tuple[int, int, int] = (200, 80, 40),
    alpha: bool = False,
    min_bytes: int = 0,
) -> bytes:
    """A one-colour PNG (RGB, or RGBA with ``alpha``); ``min_bytes`` pads it with a
    private ancillary chunk, so size limits can be tested with small pictures."""
    pixel = bytes(color) + (b"\xff" if alpha else b"")
    row = b"\x00" + pixel * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    out = _PNG_SIGNATURE + _png_chunk(b"IHDR", ihdr)
    out += _png_chunk(b"IDAT", zlib.compress(row * height, 9))
    end = _png_chunk(b"IEND", b"")
    missing = min_bytes - len(out) - len(end)
    if missing > 0:
        out += _png_chunk(b"emUl", b"\x00" * max(0, missing - 12))
    return out + end


def make_jpeg(width: int, height: int) -> bytes:
    """A mid-grey baseline JPEG: every 8x8 block has only a zero DC difference and an
    end-of-block, each coded in one bit by a one-symbol Huffman table."""
    blocks = -(-width // 8) * -(-height // 8)
    bits = 2 * blocks
    scan = b"\x00" * (bits // 8)
    if bits % 8:
        scan += bytes([(1 << (8 - bits % 8)) - 1])  # pad the last byte with one-bits
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1, for symbol 0

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + b"\x01" * 64)
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code)
        + segment(0xC4, b"\x10" + one_code)
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + scan
        + b"\xff\xd9"
    )


def make_bmp(width: int, height: int, color: tuple[int, int, int] = (40, 160, 90)) -> bytes:
    """A one-colour 24-bit uncompressed BMP."""
    row = bytes(reversed(color)) * width
    row += b"\x00" * (-len(row) % 4)
    pixels = row * height
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    dib = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + dib + pixels


def make_webp(
    width: int, height: int, color: tuple[int, int, int, int] = (30, 90, 200, 255)
) -> bytes:
    """A one-colour lossless WEBP: five one-symbol prefix codes, so every pixel costs
    zero bits after the header."""
    bits: list[tuple[int, int]] = [
        (0, 1),  # no transform
        (0, 1),  # no colour cache
        (0, 1),  # no meta prefix codes
    ]
    green, red, blue, alpha = color[1], color[0], color[2], color[3]
    for symbol in (green, red, blue, alpha):
        bits += [(1, 1), (0, 1), (1, 1), (symbol, 8)]  # simple code, 1 symbol, 8-bit symbol
    bits += [(1, 1), (0, 1), (0, 1), (0, 1)]  # distance code: 1 symbol, 1-bit symbol 0
    value, count = 0, 0
    for field, size in bits:
        value |= field << count
        count += size
    stream = value.to_bytes((count + 7) // 8, "little")
    header = (width - 1) | ((height - 1) << 14) | (1 << 28)
    payload = b"\x2f" + struct.pack("<I", header) + stream
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
