#!/usr/bin/env bash
# Build the documentation site into docs/_build/html: Sphinx, Markdown pages (MyST), the example
# DAGs included between their [START ...]/[END ...] markers, the API reference from the
# docstrings (sphinx-autoapi), warnings as errors. A broken include, a reference to an object of
# this package that does not exist, or a provider class without a docstring fails the build.
#
# Usage: bash scripts/docs.sh [--check]
#   --check  then prove that: build a copy of the sources with one fault of each kind (an
#            include's marker, a page's and a docstring's reference, a link to a heading, a
#            docstring) and expect it to fail, naming each fault.
#   VENV     the virtualenv to use (default .venv-docs; created if missing). It gets only the
#            `docs` extra of pyproject.toml: autoapi reads the source, it imports nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-docs}"
PYTHON="${PYTHON:-python3}"
CHECK=0
for arg in "$@"; do
  case "$arg" in
    --check) CHECK=1 ;;
    *) echo "usage: bash scripts/docs.sh [--check]" >&2; exit 2 ;;
  esac
done

stamp="$VENV/.bailian-docs-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -c "import tomllib" 2>/dev/null \
    || "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check tomli
  mapfile -t requirements < <("$VENV/bin/python" - <<'EOF'
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["docs"]))
EOF
  )
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" 2>&1 \
    | grep -v "is ignored" >&2 || true
  "$VENV/bin/python" -c "import sphinx, myst_parser, autoapi, furo" >/dev/null
  touch "$stamp"
fi

build() {  # source folder, output folder: a full build (-E -a: no cached page hides a warning)
  "$VENV/bin/python" -m sphinx -W --keep-going -E -a -q -b html -d "$2/doctrees" "$1" "$2/html"
}

echo "Building the documentation into docs/_build/html"
rm -rf docs/_build docs/_api
build docs docs/_build
echo "Documentation: docs/_build/html/index.html"
[ "$CHECK" -eq 1 ] || exit 0

# ---- --check: one fault of each kind in a copy must fail the build, each named ----------------
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cp -r docs example_dags CHANGELOG.md "$work/src/"
cp -r airflow_provider_bailian "$work/src/"
rm -rf "$work/src/docs/_build" "$work/src/docs/_api"
"$VENV/bin/python" - "$work/src" <<'EOF'
import pathlib
import sys

src = pathlib.Path(sys.argv[1])


def edit(path: str, old: str, new: str) -> None:
    file = src / path
    text = file.read_text()
    assert old in text, (path, old)
    file.write_text(text.replace(old, new, 1))


# 1. A broken include: an example DAG lost its START marker.
edit("example_dags/bailian_text2video.py", "# [START howto_operator_bailian_text2video]\n", "")
# 2. A page refers to a class that is gone from the API (renamed).
edit("airflow_provider_bailian/sensors/task.py", "class BailianTaskSensor(", "class BailianWaitSensor(")
# 3. A docstring refers to a class of ours that does not exist.
edit(
    "airflow_provider_bailian/operators/plan.py",
    '"""',
    '"""See :class:`BailianBatchOperator`.\n\n',
)
# 4. A page links to a heading that is not there.
edit("docs/sensors/task.md", "waiting.md#waiting-for-the-video", "waiting.md#waiting-for-a-video")
# 5. A provider class without a docstring.
file = src / "airflow_provider_bailian/operators/download.py"
text = file.read_text()
start = text.index('    """Downloads the video')
end = text.index('"""', start + 7) + 4
file.write_text(text[:start] + text[end:])
EOF
set +e
build "$work/src/docs" "$work/out" >"$work/build.log" 2>&1
rc=$?
set -e
expected=(
  "start-after pattern not found: [START howto_operator_bailian_text2video]"
  "reference target not found: airflow_provider_bailian.sensors.task.BailianTaskSensor"
  "reference target not found: BailianBatchOperator"
  "local id not found in doc 'waiting': 'waiting-for-a-video'"
  "public class airflow_provider_bailian.operators.download.BailianDownloadVideoOperator has no docstring"
)
echo "The broken copy's build (expected to fail):"
grep -E "WARNING|ERROR" "$work/build.log" | sed "s|$work/src/||" || true
ok=1
[ "$rc" -ne 0 ] || { echo "FAIL: the build of the broken copy succeeded" >&2; ok=0; }
for message in "${expected[@]}"; do
  if grep -qF -- "$message" "$work/build.log"; then
    echo "ok: the broken copy fails with: $message"
  else
    echo "FAIL: no warning: $message" >&2; ok=0
  fi
done
if [ "$ok" -ne 1 ]; then
  cat "$work/build.log" >&2
  exit 1
fi
echo "The documentation build fails on a broken include, a missing reference or link, and a missing docstring."
