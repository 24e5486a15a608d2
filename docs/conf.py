"""Sphinx configuration of evalkit's documentation site (Sphinx + furo + MyST).

Build it offline, warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import importlib  # noqa: E402
import re  # noqa: E402

from evalkit import __version__  # noqa: E402


def _materialise_lazy_exports() -> None:
    """Packages that import their exports on first use (a module ``__getattr__``) do not list them
    in ``dir()``, where autodoc looks: resolve every name of their ``__all__`` once, so that the
    API pages show them (the build only; evalkit itself stays lazy)."""
    for page in sorted((Path(__file__).parent / "api").glob("*.rst")):
        for name in re.findall(r"^\.\. automodule:: (\S+)", page.read_text(), flags=re.M):
            module = importlib.import_module(name)
            for export in getattr(module, "__all__", ()):
                if export not in vars(module):
                    setattr(module, export, getattr(module, export))


_materialise_lazy_exports()

project = "evalkit"
author = "the evalkit authors"
copyright = "the evalkit authors, MIT licence"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "evalkit_cli",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_ext"]
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
# Annotations name third-party types (torch, numpy) that have no page here.
nitpicky = False

html_theme = "furo"
html_title = f"evalkit {release}"
# One look with the HTML report: the report's stylesheet is served as is.
html_static_path = ["../evalkit/report/templates/evalkit.css"]
html_css_files = ["evalkit.css"]
html_theme_options = {"navigation_with_keys": True}
html_show_sourcelink = False
