"""Image inputs: the cost of reading, checking and encoding a local file, and of importing.

    python benchmarks/media.py [REPEATS]

For incompressible PNGs of growing size it measures, side by side in one run:

* the provider's check (``media.load_local_media``: one read, Pillow reads the header
  only, the format and sides checked) against a full decode of the same file with Pillow
  (what a check that opened the image "properly" would cost);
* the data URI the body carries (time to build it, its length against the file);
* the allocations of the whole step (``tracemalloc`` peak), against the file size.

It also reports the import time of the operator module, which DAG parsing pays, with and
without Pillow (Pillow is imported only when an image is checked).
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
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


if __name__ == "__main__":
    main()
