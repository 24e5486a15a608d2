"""README.md is the front page: short, and every link in it into the repository resolves."""

from __future__ import annotations

import re

from helpers_docs import README, ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 130, f"README.md has {len(lines)} lines: move the detail into docs/"


def test_readme_links_resolve():
    text = README.read_text(encoding="utf-8")
    links = [link for link in LINK.findall(text) if "://" not in link and not link.startswith("#")]
    assert any(link.startswith("docs/") for link in links), "the README links into the docs"
    missing = [link for link in links if not (ROOT / link.split("#", 1)[0]).exists()]
    assert missing == []
