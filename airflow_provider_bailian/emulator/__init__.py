"""A local Bailian/DashScope video generation service for tests and offline DAG runs.

Text-to-video, image-to-video, first-and-last-frame and reference-to-video in both API
styles, the media protocol (wan3.0, wan2.7 references and editing, HappyHorse) and speech to
video, with the temporary-file upload; ``images`` and ``mediafiles`` make small real test
images, videos, audio files and PDFs.

Standard library only and free of Airflow imports, so tests and the pytest plugin can
import it cheaply::

    from airflow_provider_bailian.emulator import BailianEmulator

    with BailianEmulator(task_seconds=1) as emu:
        ...  # point a client at emu.base_url

Run it as a process with ``python -m airflow_provider_bailian.emulator``.
"""

from __future__ import annotations

from airflow_provider_bailian.emulator.server import (
    FAULT_KINDS,
    FAULT_ROUTES,
    BailianEmulator,
    parse_fault_spec,
)

__all__ = ["FAULT_KINDS", "FAULT_ROUTES", "BailianEmulator", "parse_fault_spec"]
