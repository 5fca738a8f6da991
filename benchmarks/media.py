"""Local inputs: images read, checked and encoded; a 50 MB video read and uploaded.

    python benchmarks/media.py [REPEATS] [--write]

For incompressible PNGs of growing size it measures, side by side in one run:

* the provider's check (``media.load_local_media``: one read, Pillow reads the header
  only, the format and sides checked) against a full decode of the same file with Pillow
  (what a check that opened the image "properly" would cost);
* the data URI the body carries (time to build it, its length against the file);
* the allocations of the whole step (``tracemalloc`` peak), against the file size.

It also reports the import time of the operator module, which DAG parsing pays, with and
without Pillow (Pillow is imported only when an image is checked).

Then a 50 MB local MP4 goes the way every video, audio and PDF input goes: read once in
chunks (format, size, content hash, length from its ``mvhd`` box) by
``media.load_local_media``, then streamed to the emulator's temporary-file upload (run in
another process, so its own copy of the file is not counted) by ``BailianHook.upload_file``.
It reports the time of each step and the client's memory: ``tracemalloc`` peak and the
growth of the process's peak RSS, against the file size. ``--write`` replaces the
"Video inputs" section of benchmarks/RESULTS.md with these figures.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
REPEATS = int(ARGS[0]) if ARGS else 5
WRITE = "--write" in sys.argv
VIDEO_MB = 50
ROOT = Path(__file__).resolve().parent.parent
SIDES = (500, 1000, 1500, 2000)


def _best(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _import_ms() -> tuple[float, float]:
    """(operator module, PIL.Image after it), each timed in a fresh process; medians."""
    probe = (
        "import time\n"
        "s = time.perf_counter()\n"
        "import airflow_provider_bailian.operators.image2video\n"
        "m = time.perf_counter()\n"
        "import PIL.Image\n"
        "print(m - s, time.perf_counter() - m)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(REPEATS)
    ]
    return (
        statistics.median(float(r[0]) for r in runs) * 1000,
        statistics.median(float(r[1]) for r in runs) * 1000,
    )


def main() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp())
    from PIL import Image

    from airflow_provider_bailian.media import load_local_media
    from airflow_provider_bailian.models import Image2VideoRequest

    print(
        "| image | file MB | check ms | full decode ms | data URI ms | URI / file | peak alloc MB |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for side in SIDES:
            path = Path(folder) / f"noise-{side}.png"
            Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(path)
            size_mb = path.stat().st_size / 1024 / 1024
            request = Image2VideoRequest(model="wan2.7-i2v", image=str(path))

            check = _best(lambda request=request: load_local_media(request))

            def decode(path: Path = path) -> None:
                with Image.open(io.BytesIO(path.read_bytes())) as img:
                    img.load()

            full = _best(decode)
            loaded = load_local_media(request)
            uri = _best(lambda loaded=loaded: loaded.image.data_uri())
            ratio = len(loaded.image.data_uri()) / path.stat().st_size
            tracemalloc.start()
            load_local_media(request).to_body()
            peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
            tracemalloc.stop()
            print(
                f"| {side}x{side} PNG | {size_mb:.1f} | {check * 1000:.1f} | {full * 1000:.1f} | "
                f"{uri * 1000:.1f} | {ratio:.2f} | {peak:.1f} |"
            )
    operator, pil = _import_ms()
    print()
    print(f"import of operators.image2video (with Airflow): {operator:.0f} ms, median of {REPEATS}")
    print(f"PIL.Image imported after it: {pil:.0f} ms more; paid only when an image is checked")


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def video_upload() -> list[str]:
    """Read and upload a 50 MB MP4: time and client memory of each step (markdown lines)."""
    # This folder's queue.py would shadow the standard library's for Airflow's imports.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("queue", None)
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp())
    from airflow_provider_bailian.emulator.mediafiles import make_mp4

    key = "sk-benchmark-fake"
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_bailian.emulator",
            "--port",
            str(port),
            "--api-key",
            key,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = server.stdout.readline().strip() if server.stdout else ""
        os.environ["AIRFLOW_CONN_BAILIAN_BENCH"] = json.dumps(
            {
                "conn_type": "bailian",
                "host": base_url,
                "password": key,
                "extra": {"api_style": "dashscope", "timeout": 120},
            }
        )
        from airflow_provider_bailian.hooks.bailian import BailianHook
        from airflow_provider_bailian.media import load_local_media
        from airflow_provider_bailian.models import VideoEditRequest

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "product.mp4"
            path.write_bytes(make_mp4(seconds=8.0, min_bytes=VIDEO_MB * 1024 * 1024))
            size_mb = path.stat().st_size / 1024 / 1024
            hook = BailianHook("bailian_bench")
            request = VideoEditRequest(model="wan2.7-videoedit", video=str(path), prompt="p")
            request, _ = request.validated()
            hook.upload_file  # noqa: B018 - import requests and the encoder before measuring
            rss_before = _max_rss_mb()
            tracemalloc.start()
            started = time.perf_counter()
            loaded = load_local_media(request)
            read_s = time.perf_counter() - started
            read_peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
            tracemalloc.reset_peak()
            started = time.perf_counter()
            oss_url = hook.upload_file(loaded.video, request.model)
            upload_s = time.perf_counter() - started
            upload_peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
            tracemalloc.stop()
            rss_growth = _max_rss_mb() - rss_before
            assert oss_url.startswith("oss://")
            assert loaded.video.seconds == 8.0
            hook.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return [
        "## Video inputs: a 50 MB local file read and uploaded",
        "",
        f"`python benchmarks/media.py --write`: a {size_mb:.0f} MB MP4 (8 s by its `mvhd` box) "
        "read once in 1 MB chunks by `media.load_local_media` (format, size, SHA-256, "
        "length), then streamed by `BailianHook.upload_file` (a `requests_toolbelt` "
        "multipart encoder over the file) to the emulator's temporary-file upload, which "
        "runs in another process. Client memory only.",
        "",
        "| step | time | MB/s | tracemalloc peak | peak RSS growth | file |",
        "|---|---|---|---|---|---|",
        f"| read and check | {read_s * 1000:.0f} ms | {size_mb / read_s:.0f} | "
        f"{read_peak:.1f} MB | - | {size_mb:.0f} MB |",
        f"| upload (policy + form POST) | {upload_s * 1000:.0f} ms | {size_mb / upload_s:.0f} | "
        f"{upload_peak:.1f} MB | - | {size_mb:.0f} MB |",
        f"| both | {(read_s + upload_s) * 1000:.0f} ms | - | - | {rss_growth:.1f} MB | "
        f"{size_mb:.0f} MB |",
        "",
        "Memory stays at the read chunk and the encoder's buffers whatever the file's size; "
        "nothing holds the whole video.",
    ]


def write_results(lines: list[str]) -> None:
    results = ROOT / "benchmarks" / "RESULTS.md"
    text = results.read_text()
    start = text.find("## Video inputs")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + text[end + 1 :] if end >= 0 else text[:start]
    results.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    if "--video-only" not in sys.argv:
        main()
    video = video_upload()
    print()
    print("\n".join(video))
    if WRITE:
        write_results(video)
