"""Command line: run the emulator as a process.

The first line printed on stdout is the base URL, so a parent process can read one line
and know where to connect. With ``--verbose`` one line per request follows (never the
token). SIGINT and SIGTERM stop it cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from airflow_provider_bailian.emulator.catalog import MODEL_CONCURRENCY
from airflow_provider_bailian.emulator.server import (
    FAULT_KINDS,
    FAULT_ROUTES,
    BailianEmulator,
    parse_fault_spec,
)


def build_parser() -> argparse.ArgumentParser:
    """The CLI's options, one per emulator option."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_bailian.emulator",
        description="Local Bailian/DashScope video generation API for tests and offline runs.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default=None, help="accept only this token")
    parser.add_argument("--task-seconds", type=float, default=3.0)
    parser.add_argument("--pending-seconds", type=float, default=None)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--submit-rps", type=float, default=None)
    parser.add_argument("--query-rps", type=float, default=None)
    parser.add_argument("--max-concurrent", type=int, default=None)
    parser.add_argument(
        "--model-concurrency",
        action="append",
        default=None,
        metavar="MODEL=N",
        help="tasks of MODEL running at once (default: wan2.2-s2v=1); 'none' lifts them all",
    )
    parser.add_argument("--url-ttl", type=float, default=86400)
    parser.add_argument("--video-bytes", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--video-host", default="localhost")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ROUTE:KIND[:TIMES][:key=value]",
        help=f"routes: {', '.join(FAULT_ROUTES)}; kinds: {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument("--verbose", action="store_true", help="print one line per request")
    return parser


def _model_concurrency(values: list[str] | None) -> dict[str, int] | None:
    """``MODEL=N`` options as a dict; none given: the documented limits; ``none``: no limit."""
    if values is None:
        return dict(MODEL_CONCURRENCY)
    limits: dict[str, int] = {}
    for value in values:
        if value.lower() == "none":
            continue
        model, sep, count = value.partition("=")
        if not sep or not count.strip().isdigit():
            raise ValueError(f"--model-concurrency {value!r}: expected MODEL=N")
        limits[model.strip()] = int(count)
    return limits


def main(argv: list[str] | None = None) -> int:
    """Run until SIGINT/SIGTERM. Returns the process exit code."""
    args = build_parser().parse_args(argv)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "api_key": args.api_key,
        "task_seconds": args.task_seconds,
        "pending_seconds": args.pending_seconds,
        "failure_rate": args.failure_rate,
        "fault_rate": args.fault_rate,
        "submit_rps": args.submit_rps,
        "query_rps": args.query_rps,
        "max_concurrent": args.max_concurrent,
        "url_ttl": args.url_ttl,
        "video_bytes": args.video_bytes,
        "seed": args.seed,
        "quiet": not args.verbose,
        "video_host": args.video_host,
    }
    try:
        options["model_concurrency"] = _model_concurrency(args.model_concurrency)
        emulator = BailianEmulator(**options)
        for spec in args.fault:
            route, kind, times, opts = parse_fault_spec(spec)
            emulator.add_fault(route, kind, times, **opts)
        emulator.start()
    except (TypeError, ValueError, OSError) as exc:
        print(f"bailian emulator: {exc}", file=sys.stderr, flush=True)
        return 2

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(emulator.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
