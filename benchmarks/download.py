"""Download throughput and memory: a large video streamed from the local emulator to disk.

    python benchmarks/download.py [MEGABYTES] [CHUNK_KIB]

Reports the throughput and the growth of the process's peak RSS while copying, which stays
flat whatever the video size (the copy is streamed in chunks).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

MEGABYTES = int(sys.argv[1]) if len(sys.argv) > 1 else 512
CHUNK_KIB = int(sys.argv[2]) if len(sys.argv) > 2 else 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp())
    from airflow_provider_bailian.emulator import BailianEmulator
    from airflow_provider_bailian.hooks.bailian import BailianHook

    size = MEGABYTES * 1024 * 1024
    with (
        BailianEmulator(task_seconds=0.2, video_bytes=size) as emu,
        tempfile.TemporaryDirectory() as d,
    ):
        os.environ["AIRFLOW_CONN_BENCH"] = json.dumps(
            {"conn_type": "bailian", "host": emu.base_url, "password": "sk-fake-bench"}
        )
        hook = BailianHook("bench")
        task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p").task_id
        hook.wait_for_task(task_id, poll_interval=0.1, timeout=30)
        before = peak_rss_mb()
        started = time.perf_counter()
        path = hook.download_video(
            task_id, destination=str(Path(d) / "v.mp4"), chunk_size=CHUNK_KIB * 1024
        )
        seconds = time.perf_counter() - started
        assert Path(path).stat().st_size == size
    print(f"video: {MEGABYTES} MiB, chunk: {CHUNK_KIB} KiB")
    print(f"time: {seconds:.2f} s, throughput: {MEGABYTES / seconds:.0f} MiB/s")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (before the download: {before:.0f} MB)")


if __name__ == "__main__":
    main()
