"""The gallery plugin is found through the package's entry point and never breaks Airflow.

Runs on both Airflow versions: on 3.1+ it brings the FastAPI app and the UI page; on 2.11
it is an empty plugin (the extra link stays the way to a video) and ``airflow plugins``
still works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

from airflow_provider_bailian._compat import AIRFLOW_V3_1


def test_registered_through_the_airflow_plugins_entry_point() -> None:
    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "bailian_gallery"]
    plugin = entry.load()
    assert plugin.name == "bailian_gallery"
    if AIRFLOW_V3_1:
        (app,) = plugin.fastapi_apps
        assert app["url_prefix"] == "/bailian"
        (view,) = plugin.external_views
        assert view["name"] == "Bailian videos"
        assert not view["href"].startswith("/")  # relative: the UI may have a base path
    else:
        assert not getattr(plugin, "fastapi_apps", [])


def test_airflow_plugins_command_lists_it_without_errors() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "plugins", "--output", "json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=240,
        check=True,
    )
    plugins = {p["name"]: p for p in json.loads(proc.stdout[proc.stdout.index("[") :])}
    assert "bailian_gallery" in plugins
    assert "Failed to import plugin" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_loading_the_plugin_is_cheap() -> None:
    """Every Airflow process loads plugins; only the api-server builds the gallery's app."""
    probe = (
        "import sys\n"
        "import airflow_provider_bailian.plugins.gallery\n"
        "print('HEAVY=' + str('airflow.api_fastapi.core_api.security' in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY=False" in done.stdout
