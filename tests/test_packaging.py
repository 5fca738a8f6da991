"""The distribution as users install it: one wheel and one sdist, complete and clean.

An editable install hides what a wheel leaves out, so these tests build the real thing
(``python -m build``, from a copy of the source tree so that parallel runs never share
``build/``) and look inside: package data, entry points, metadata an index shows, and that
the sdist builds the same wheel as the tree.
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import tarfile
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest

from airflow_provider_bailian import __version__

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_bailian"
DIST_NAME = f"airflow_provider_bailian-{__version__}"
STATIC_DIR = Path(PACKAGE, "plugins", "static")
_SKIP = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "node_modules"
)


def _build(source: Path, out: Path, *args: str) -> list[Path]:
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), *args, str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return sorted(out.iterdir())


class Dist:
    """The built files: ``python -m build`` (sdist, then the wheel from the sdist) and a
    wheel built straight from the tree."""

    def __init__(self, tmp: Path) -> None:
        self.source = tmp / "src"
        shutil.copytree(ROOT, self.source, ignore=_SKIP)
        self.files = _build(self.source, tmp / "dist")
        self.direct_wheel = _build(self.source, tmp / "direct", "--wheel")[0]
        self.wheel = next(p for p in self.files if p.suffix == ".whl")
        self.sdist = next(p for p in self.files if p.name.endswith(".tar.gz"))
        with zipfile.ZipFile(self.wheel) as whl:
            self.names = whl.namelist()
            self.entry_points = whl.read(f"{DIST_NAME}.dist-info/entry_points.txt").decode()
            self.metadata = email.parser.HeaderParser().parsestr(
                whl.read(f"{DIST_NAME}.dist-info/METADATA").decode()
            )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    return Dist(tmp_path_factory.mktemp("packaging"))


def _record(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as whl:
        record = next(n for n in whl.namelist() if n.endswith(".dist-info/RECORD"))
        return {
            line for line in whl.read(record).decode().splitlines() if line.split(",")[0] != record
        }


def test_build_makes_one_wheel_and_one_sdist(dist: Dist) -> None:
    assert [p.name for p in dist.files] == [
        f"{DIST_NAME}-py3-none-any.whl",
        f"{DIST_NAME}.tar.gz",
    ]


def test_twine_check_passes(dist: Dist) -> None:
    """The long description renders and the metadata is complete enough to upload."""
    out = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("PASSED") == 2, out.stdout


def test_sdist_builds_the_same_wheel(dist: Dist) -> None:
    """Every file and hash of the wheel built from the sdist equals the one from the tree."""
    assert _record(dist.wheel) == _record(dist.direct_wheel)


def test_wheel_carries_package_data(dist: Dist) -> None:
    assert f"{PACKAGE}/emulator/sample.mp4" in dist.names
    assert f"{PACKAGE}/py.typed" in dist.names
    assert f"{DIST_NAME}.dist-info/licenses/LICENSE" in dist.names
    # Every module of the source tree is in the wheel.
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / PACKAGE).rglob("*.py")}
    assert modules - set(dist.names) == set()


def test_wheel_carries_every_plugin_static_file(dist: Dist) -> None:
    """The plugin's static files (HTML, JS, CSS...) are declared and all shipped."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ][PACKAGE]
    assert "plugins/static/*" in declared
    static = ROOT / STATIC_DIR
    files = [p for p in static.rglob("*") if p.is_file()] if static.is_dir() else []
    missing = {p.relative_to(ROOT).as_posix() for p in files} - set(dist.names)
    assert missing == set()


def test_wheel_has_no_tests_or_example_dags(dist: Dist) -> None:
    bad = [
        n
        for n in dist.names
        if n.split("/")[0] in ("tests", "example_dags", "scripts", "docs", "benchmarks")
        or "/tests/" in n
        or "__pycache__" in n
    ]
    assert bad == []
    top = {n.split("/")[0] for n in dist.names}
    assert top == {PACKAGE, f"{DIST_NAME}.dist-info"}


def test_sdist_has_what_the_wheel_is_built_from(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "PKG-INFO"):
        assert name in names
    assert f"{PACKAGE}/emulator/sample.mp4" in names
    assert not any(".venv" in n or n.startswith(".git/") for n in names)


def test_entry_points(dist: Dist) -> None:
    parser = ConfigParser()
    parser.read_string(dist.entry_points)
    assert dict(parser["apache_airflow_provider"]) == {
        "provider_info": f"{PACKAGE}.get_provider_info:get_provider_info"
    }
    assert dict(parser["pytest11"]) == {"bailian": f"{PACKAGE}.emulator.pytest_plugin"}


def test_metadata_an_index_shows(dist: Dist) -> None:
    from trove_classifiers import classifiers as known

    meta = dist.metadata
    assert meta["Name"] == "airflow-provider-bailian"
    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "# airflow-provider-bailian" in meta.get_payload()
    classifiers = meta.get_all("Classifier")
    assert set(classifiers) - known == set()  # PyPI rejects unknown classifiers on upload
    for wanted in (
        "Typing :: Typed",
        "Framework :: Apache Airflow",
        "Framework :: Apache Airflow :: Provider",
        *(f"Programming Language :: Python :: 3.{minor}" for minor in range(10, 14)),
    ):
        assert wanted in classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(urls)
    requires = meta.get_all("Requires-Dist")
    assert any(r.startswith("apache-airflow>=2.11") for r in requires)


def test_installed_wheel_runs_the_emulator_without_airflow(dist: Dist, tmp_path: Path) -> None:
    """From the wheel alone (no source tree, no site-packages, Airflow unimportable): the
    emulator imports with the standard library only, runs a task and serves an MP4."""
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(dist.wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = subprocess.run(
        # -I -S: no environment, no site-packages (so no editable install of the sources).
        [sys.executable, "-I", "-S", "-c", _EMULATOR_FROM_WHEEL, str(site)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    module, video_head, third_party = out.stdout.strip().splitlines()[-1].split("|")
    assert Path(module).is_relative_to(site)
    assert video_head == "ftyp"
    assert third_party == ""


_EMULATOR_FROM_WHEEL = """
import json, sys, time, urllib.request

sys.path.insert(0, sys.argv[1])


class NoAirflow:
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ImportError(f"no Airflow here: {name}")


sys.meta_path.insert(0, NoAirflow())
import airflow_provider_bailian.emulator as emulator


def call(url, body=None):
    headers = {"Authorization": "Bearer sk-fake-wheel", "X-DashScope-Async": "enable"}
    data = json.dumps(body).encode() if body else None
    if data:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.read()


with emulator.BailianEmulator(task_seconds=0.1, pending_seconds=0) as emu:
    api = emu.base_url + "/api/v1"
    body = {"model": "wan2.2-t2v-plus", "input": {"prompt": "a wheel"}, "parameters": {}}
    task_id = json.loads(call(api + "/services/aigc/video-generation/video-synthesis", body))[
        "output"
    ]["task_id"]
    for _ in range(100):
        output = json.loads(call(f"{api}/tasks/{task_id}"))["output"]
        if output["task_status"] == "SUCCEEDED":
            break
        time.sleep(0.05)
    video = call(output["video_url"])
third_party = [
    m for m in sys.modules
    if m.split(".")[0] not in sys.stdlib_module_names
    and m != "__main__"
    and not m.startswith("airflow_provider_bailian")
]
print(emulator.__file__, video[4:8].decode(), ",".join(sorted(third_party)), sep="|")
"""
