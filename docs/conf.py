"""Sphinx configuration of the documentation site (built by ``bash scripts/docs.sh``).

Pages are Markdown (MyST) or reStructuredText; the API reference is generated from the
docstrings by sphinx-autoapi, which reads the source without importing it (no Airflow
needed). The build runs with warnings as errors, and every cross-reference to an object of
this package must resolve (``nitpicky``): a renamed class, a broken include or a
docstring-less provider class fails it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_provider_bailian import __version__  # noqa: E402  (imports nothing else)

project = "airflow-provider-bailian"
author = "airflow-provider-bailian contributors"
copyright = "airflow-provider-bailian contributors"
version = release = __version__

extensions = ["myst_parser", "autoapi.extension", "sphinx.ext.napoleon"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_api_templates", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # "[...](page.md#a-heading)" links to a heading

# ---- API reference, from the docstrings ---------------------------------------------------
autoapi_type = "python"
autoapi_dirs = [str(ROOT / "airflow_provider_bailian")]
autoapi_root = "_api"
autoapi_add_toctree_entry = False  # the index has its own "References" toctree
autoapi_keep_files = True  # docs/_api/, ignored by git: read what was generated
autoapi_member_order = "groupwise"
autoapi_options = [
    "members",
    "undoc-members",
    "show-inheritance",
    "show-module-summary",
    "imported-members",
]
autoapi_ignore = ["*/plugins/static/*"]
autoapi_python_class_content = "both"  # the class docstring, then __init__'s
suppress_warnings = [
    # A module imports names another module does not export (``_compat``'s Airflow classes,
    # constants outside ``__all__``): autoapi cannot follow them, and they are not ours to show.
    "autoapi.python_import_resolution",
    # A bare module name matching two modules (``media``: the provider's and the emulator's)
    # links to the first; a reference that matches nothing still fails.
    "ref.python",
]

# ---- References must resolve ----------------------------------------------------------------
nitpicky = True
# Names outside this package (the standard library, Airflow, requests, httpx, ...) are not
# documented here and no inventory of theirs is fetched: only they may stay unresolved.
# Every reference into ``airflow_provider_bailian`` must name an object of the API reference.
_OWN = re.compile(r"^airflow_provider_bailian(\.|$)")


def _missing_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Let references to other projects' objects stay plain text; ours must resolve."""
    target = node.get("reftarget", "").lstrip("~.")
    own = _OWN.match(target) and not target.startswith("airflow_provider_bailian._compat.")
    if node.get("refdomain") == "py" and not own and not _looks_own(target):
        return contnode
    return None


def _looks_own(target: str) -> bool:
    """A bare ``Bailian...`` name (``:class:`BailianHook``` in a docstring) is one of ours.

    ``airflow_provider_bailian._compat`` re-exports Airflow's classes under their own names:
    those are Airflow's, not ours.
    """
    if target.startswith("airflow_provider_bailian._compat."):
        return False
    return target.rsplit(".", 1)[-1].startswith("Bailian")


# ---- Public provider classes must say what they are ----------------------------------------
# What a DAG author reads first: the hooks, operators, sensors, triggers, extra links, the
# gallery plugin and the errors. A class of theirs without a docstring fails the build (a new
# module in one of these folders is checked as soon as it exists).
PACKAGE = ROOT / "airflow_provider_bailian"
PUBLIC_MODULES = tuple(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in sorted(
        [
            *(
                module
                for folder in ("hooks", "operators", "sensors", "triggers", "links")
                for module in (PACKAGE / folder).glob("*.py")
                if module.name != "__init__.py"
            ),
            PACKAGE / "plugins" / "gallery.py",
            PACKAGE / "exceptions.py",
        ]
    )
)


def _check_docstrings(app: Any) -> None:
    """Warn (so fail) for a public class of a public module without a docstring of its own.

    Read from the source (``ast``): the API reference would show a base class's docstring
    instead, which hides the gap.
    """
    import ast

    from sphinx.util import logging

    log = logging.getLogger(__name__)
    for module in PUBLIC_MODULES:
        path = ROOT / (module.replace(".", "/") + ".py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.ClassDef)
                and not node.name.startswith("_")
                and not ast.get_docstring(node)
            ):
                log.warning(
                    "public class %s.%s has no docstring",
                    module,
                    node.name,
                    location=f"{path}:{node.lineno}",
                    type="bailian",
                    subtype="docstring",
                )


def setup(app: Any) -> None:
    app.connect("missing-reference", _missing_reference)
    app.connect("builder-inited", _check_docstrings)


# ---- HTML -----------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"airflow-provider-bailian {release}"
html_static_path: list[str] = []
