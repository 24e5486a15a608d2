"""Reading the documentation's code blocks and links, for the tests in ``tests/docs/``."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
NOT_EXECUTED = "not-executed"

_FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)\s*$", re.M | re.S
)
_DIRECTIVE = re.compile(r"^\{(code-block|code|sourcecode)\}\s*(?P<lang>\S*)")


@dataclass(frozen=True)
class CodeBlock:
    """A fenced code block of a Markdown page: its language, its code and whether the page marks
    it as not executed (``:class: not-executed``)."""

    path: Path
    line: int
    language: str
    code: str
    executed: bool


def markdown_pages() -> list[Path]:
    """Every Markdown page of the site, sorted."""
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)


def code_blocks(path: Path) -> list[CodeBlock]:
    """The fenced code blocks of a Markdown page, in order (MyST ``{code-block}`` ones included,
    their ``:option:`` lines removed)."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for m in _FENCE.finditer(text):
        info, body = m.group("info").strip(), m.group("body")
        directive = _DIRECTIVE.match(info)
        executed = True
        if directive:
            language = directive.group("lang")
            lines = body.splitlines(keepends=True)
            options = [ln for ln in lines if re.match(r"^:[\w-]+:", ln)]
            executed = not any(NOT_EXECUTED in ln for ln in options if ln.startswith(":class:"))
            body = "".join(lines[len(options) :]).lstrip("\n") if options else body
        elif info.startswith("{"):
            continue  # a directive (toctree, note...), not code
        else:
            language = info.split()[0] if info else ""
        line = text.count("\n", 0, m.start()) + 2
        blocks.append(CodeBlock(path, line, language, body, executed))
    return blocks


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def evalkit_command_lines(block: CodeBlock) -> list[tuple[dict[str, str], list[str]]]:
    """The ``evalkit ...`` command lines of a shell block, each as the environment variables set
    before it (``EVALKIT_PLUGINS=x evalkit ...``) and its arguments after ``evalkit`` (comments
    dropped, ``a && b`` split; ``export NAME=value`` lines apply to the block's later lines)."""
    out = []
    exported: dict[str, str] = {}
    for raw in block.code.splitlines():
        try:
            tokens = shlex.split(raw, comments=True)
        except ValueError as exc:  # an unbalanced quote is a broken example too
            raise AssertionError(f"{block.path}:{block.line}: cannot parse {raw!r}: {exc}") from exc
        segment: list[str] = []
        for token in [*tokens, "&&"]:
            if token in ("&&", "||", ";"):
                if segment and segment[0] == "export":
                    exported.update(t.partition("=")[::2] for t in segment[1:] if "=" in t)
                    segment = []
                    continue
                env = dict(exported)
                while segment and _ASSIGNMENT.match(segment[0]):
                    name, _, value = segment.pop(0).partition("=")
                    env[name] = value
                if segment and (segment[0] == "evalkit" or segment[0].endswith("/evalkit")):
                    out.append((env, segment[1:]))
                segment = []
            else:
                segment.append(token)
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is None:
                continue
            if key in ("id", "name"):
                self.ids.add(value)
            if (key == "href" and tag in ("a", "link")) or (
                key == "src" and tag in ("img", "script")
            ):
                self.links.append(value)


def parse_html(path: Path) -> tuple[list[str], set[str]]:
    """The links (``href``/``src``) and the anchors (``id``/``name``) of an HTML file."""
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.links, parser.ids


def broken_internal_links(site: Path) -> list[str]:
    """Every internal link of the built site whose file or anchor is missing, as
    ``page -> link`` strings (external links are not followed)."""
    anchors: dict[Path, set[str]] = {}
    pages = sorted(site.rglob("*.html"))
    parsed = {p: parse_html(p) for p in pages}
    for p, (_, ids) in parsed.items():
        anchors[p.resolve()] = ids
    broken = []
    for page, (links, _) in parsed.items():
        for link in links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link}")
                continue
            if parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in anchors.get(target, set()):
                    broken.append(f"{page.relative_to(site)} -> {link} (no such anchor)")
    return broken
