"""Videos, audio and documents by their bytes: what the service checks, and test files.

:func:`file_info` tells an MP4/MOV video, a WAV or MP3 audio file and a PDF apart by their
first bytes (a file name or a declared type is not trusted, as with images) and reads what
the service's limits need: a video's seconds and pixel size (``mvhd`` and ``tkhd`` boxes),
an audio file's seconds (a WAV header, or a constant-bitrate MP3's first frame).
:func:`make_mp4`, :func:`make_wav`, :func:`make_mp3` and :func:`make_pdf` build small files
of any length with the standard library, for tests of the emulator and of the provider
(``from airflow_provider_bailian.emulator.mediafiles import make_mp4``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: Kinds of non-image inputs, with the formats (and MIME types) the service accepts.
FILE_FORMATS = {
    "video": {"MP4": "video/mp4", "MOV": "video/quicktime"},
    "audio": {"WAV": "audio/wav", "MP3": "audio/mpeg"},
    "file": {"PDF": "application/pdf"},
}

# MPEG-1 Layer III bitrates (kbit/s) by header index, and sample rates (Hz).
_MP3_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_RATES = (44100, 48000, 32000)


@dataclass(frozen=True)
class FileInfo:
    """What the bytes say: kind (video, audio, file), format, seconds and pixel size."""

    kind: str
    format: str
    seconds: float | None = None
    width: int | None = None
    height: int | None = None

    @property
    def mime(self) -> str:
        return FILE_FORMATS[self.kind][self.format]


def file_info(data: bytes) -> FileInfo | None:
    """The kind, format and length of a video, audio or PDF file; None for anything else."""
    try:
        if data[4:8] == b"ftyp":
            return _mp4_info(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
            return _wav_info(data)
        if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
            return _mp3_info(data)
        if data[:5] == b"%PDF-":
            return FileInfo("file", "PDF")
    except (struct.error, IndexError, ZeroDivisionError):
        return None
    return None


def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of the ISO boxes in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        head = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            head = 16
        elif size == 0:
            size = end - pos
        if size < head:
            return
        yield kind, pos + head, min(pos + size, end)
        pos += size


def _mp4_info(data: bytes) -> FileInfo:
    brand = data[8:12]
    fmt = "MOV" if brand == b"qt  " else "MP4"
    seconds = width = height = None
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for sub, s_start, s_end in _boxes(data, start, end):
            if sub == b"mvhd":
                if data[s_start] == 1:
                    scale, length = struct.unpack(">IQ", data[s_start + 20 : s_start + 32])
                else:
                    scale, length = struct.unpack(">II", data[s_start + 12 : s_start + 20])
                seconds = length / scale if scale else None
            elif sub == b"trak" and width is None:
                for box, _start, b_end in _boxes(data, s_start, s_end):
                    if box == b"tkhd":
                        w, h = struct.unpack(">II", data[b_end - 8 : b_end])
                        if w and h:
                            width, height = w >> 16, h >> 16
    return FileInfo("video", fmt, seconds, width, height)


def _wav_info(data: bytes) -> FileInfo:
    byte_rate = None
    for kind, start, end in _boxes_le(data):
        if kind == b"fmt ":
            (byte_rate,) = struct.unpack("<I", data[start + 8 : start + 12])
        elif kind == b"data" and byte_rate:
            return FileInfo("audio", "WAV", (end - start) / byte_rate)
    return FileInfo("audio", "WAV")


def _boxes_le(data: bytes):
    """RIFF chunks after the ``WAVE`` tag: (id, payload start, payload end)."""
    pos = 12
    while pos + 8 <= len(data):
        kind, size = struct.unpack("<4sI", data[pos : pos + 8])
        yield kind, pos + 8, min(pos + 8 + size, len(data))
        pos += 8 + size + (size & 1)


def _mp3_info(data: bytes) -> FileInfo:
    start = 0
    if data[:3] == b"ID3":  # a tag first; its size is "syncsafe" (7 bits a byte)
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        start = 10 + size
    header = data[start : start + 4]
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return FileInfo("audio", "MP3")
    bitrate = _MP3_BITRATES[header[2] >> 4] if header[2] >> 4 < len(_MP3_BITRATES) else 0
    if not bitrate:
        return FileInfo("audio", "MP3")
    return FileInfo("audio", "MP3", (len(data) - start) * 8 / (bitrate * 1000))


# ------------------------------------------------------------------ files for tests


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def make_mp4(
    seconds: float = 5.0,
    width: int = 1280,
    height: int = 720,
    min_bytes: int = 0,
    quicktime: bool = False,
) -> bytes:
    """A small MP4 (or MOV) whose header says ``seconds`` long and ``width`` x ``height``;
    ``min_bytes`` pads it with an ``mdat`` box (a large upload costs no thought)."""
    brand = b"qt  " if quicktime else b"isom"
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"mp41")
    scale = 1000
    mvhd = _box(b"mvhd", struct.pack(">5I", 0, 0, 0, scale, int(seconds * scale)) + bytes(80))
    tkhd_payload = bytes(76) + struct.pack(">II", width << 16, height << 16)
    moov = _box(b"moov", mvhd + _box(b"trak", _box(b"tkhd", tkhd_payload)))
    data = ftyp + moov
    if len(data) + 8 < min_bytes:
        data += struct.pack(">I4s", min_bytes - len(data), b"mdat")
        data += bytes(min_bytes - len(data))
    return data


def make_wav(seconds: float = 3.0, rate: int = 8000) -> bytes:
    """A silent mono 8-bit WAV of ``seconds``."""
    frames = int(seconds * rate)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    body = b"WAVE" + struct.pack("<4sI", b"fmt ", len(fmt)) + fmt
    body += struct.pack("<4sI", b"data", frames) + b"\x80" * frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def make_mp3(seconds: float = 3.0) -> bytes:
    """A constant-bitrate (128 kbit/s, 44.1 kHz) MP3 of ``seconds``, silent frames only."""
    frame = b"\xff\xfb\x90\x00" + bytes(413)  # 144 * 128000 / 44100 = 417 bytes a frame
    count = max(1, round(seconds * 44100 / 1152))
    return frame * count


def make_pdf(text: str = "A product sheet.") -> bytes:
    """A one-page PDF carrying ``text`` (enough for a file input's checks)."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
        + f"% {text}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
