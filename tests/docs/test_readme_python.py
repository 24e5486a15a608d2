"""README.md's "Use it from Python" example runs as written (in a fresh datasets root)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds one python block"
    return blocks[0]


def test_readme_python_example_runs(datasets_root, capsys):
    exec(compile(_python_example(), str(README), "exec"), {"__name__": "readme_example"})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["alpha=0", "alpha=0.5", "alpha=1"]
    assert all(
        re.fullmatch(r"alpha=[\d.]+: EPIC distance [\d.]+ \(95% CI [\d.]+ to [\d.]+\)", line)
        for line in lines
    )
    assert (datasets_root / "cartpole-sweep").is_dir()
