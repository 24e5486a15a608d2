"""The documentation site builds offline with warnings as errors, and every internal link of the
built site resolves (files and anchors)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_docs import DOCS, ROOT, broken_internal_links

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    missing = [m for m in ("sphinx", "furo", "myst_parser") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: install the docs extra (pip install -e '.[docs]')"
        )
    out = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    cmd += ["-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"the docs build failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stderr.strip() == "", proc.stderr
    return out / "html"


def test_site_has_every_page(site):
    pages = sorted(p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.md"))
    pages += sorted(p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.rst"))
    assert pages
    missing = [str(p) for p in pages if not (site / p).is_file()]
    assert missing == []


def test_api_reference_renders_param_docstrings(site):
    """autodoc renders the ``:param:`` docstrings as parameter lists."""
    html = (site / "api" / "metrics.html").read_text(encoding="utf-8")
    assert 'id="evalkit.metrics.epic_goal"' in html
    assert "Parameters" in html and ":param" not in html


def test_api_pages_show_every_exported_function_and_class(site):
    """Each API page documents every function and class its module exports (``__all__``),
    lazily imported ones included."""
    missing = []
    for page in sorted((DOCS / "api").glob("*.rst")):
        name = re.search(r"^\.\. automodule:: (\S+)", page.read_text(), flags=re.M).group(1)
        module = importlib.import_module(name)
        html = (site / "api" / page.with_suffix(".html").name).read_text(encoding="utf-8")
        for export in getattr(module, "__all__", ()):
            obj = getattr(module, export)
            if (
                inspect.isclass(obj) or inspect.isfunction(obj)
            ) and f'id="{name}.{export}"' not in html:
                missing.append(f"{name}.{export}")
    assert missing == []


def test_internal_links_resolve(site):
    assert len(list(site.rglob("*.html"))) > 10
    assert broken_internal_links(site) == []


def test_link_check_finds_a_broken_link(tmp_path):
    """The checker itself: a missing page and a missing anchor are both reported."""
    (tmp_path / "a.html").write_text(
        '<a href="b.html#here">ok</a><a href="b.html#gone">x</a><a href="c.html">y</a>'
        '<a href="https://example.org/z.html">ext</a>'
    )
    (tmp_path / "b.html").write_text('<h1 id="here">b</h1>')
    assert broken_internal_links(tmp_path) == [
        "a.html -> b.html#gone (no such anchor)",
        "a.html -> c.html",
    ]
