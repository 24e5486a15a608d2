"""Reward heads and frame prototypes in the report: named by what they are, drawn in the
landscape, scaling and histogram figures, and a head whose file was rewritten shown stale."""

from __future__ import annotations

import json

import pytest
from helpers_heads import TINY, embedded_sweep

from evalkit.pipeline import align
from evalkit.report.builder import build_report, gather_report


@pytest.fixture
def results(tmp_path, cli):
    """A tiny embedded sweep with saved results of a CLIP reward, a frame prototype and a head."""
    ds = embedded_sweep(tmp_path / "datasets")
    head = align(
        ds, "cartpole", TINY, folds=3, n_bootstrap=0, devices="cpu", save_to=tmp_path / "upright"
    ).path
    root = str(ds.path.parent)
    common = ("--task", "cartpole", "--root", root, "--bootstrap", "100", "--devices", "cpu")
    tiny = ("--model", TINY.model, "--pretrained", "none", "--alpha", "0")
    for args in (tiny, (*tiny, "--goal-frames", "labels:rule"), ("--reward", f"head:{head}")):
        r = cli("epic", *common, *args)
        assert r.exit_code == 0, r.output
    return ds, head


def _epic_section(html: str) -> str:
    start = html.index('<section id="epic">')
    return html[start : html.index("</section>", start)]


def test_report_names_heads_and_prototypes_and_draws_them(results, tmp_path):
    ds, head = results
    page = build_report(tmp_path / "report", root=ds.path.parent, tasks=["cartpole"])
    epic = _epic_section(page.read_text())
    assert "<code>head upright (evalkit-tiny-vit)</code>" in epic
    assert "<code>evalkit-tiny-vit, prototype goal labels:rule</code>" in epic
    html = page.read_text()
    assert f"evalkit epic --task cartpole --reward head:{head}" in html
    assert "--goal-frames labels:rule" in html
    figures = {p.stem for p in (page.parent / "figures").glob("*.png")}
    assert "landscape_cartpole-sweep_cartpole_heads" in figures
    assert "reward landscape of head upright (evalkit-tiny-vit)" in html
    assert (
        "landscape_cartpole-sweep_cartpole_evalkit-tiny-vit_none_prototype_labels_rule" in figures
    )
    assert "reward landscape of evalkit-tiny-vit, prototype goal labels:rule (none)" in html
    content = gather_report(ds.path.parent, ["cartpole"])
    [scaling] = [f for f in content.figures if f.key.endswith("by_model")]
    ax = scaling.draw().axes[0]
    assert any(line.get_gid() == "reward-head" for line in ax.lines)
    [histogram] = [f for f in content.figures if f.section == "histograms"]
    panels = histogram.draw().axes
    assert [a.get_xlabel() for a in panels if a.get_visible()] == ["CLIP reward", "head score"]


def test_report_marks_a_rewritten_head_stale(results, tmp_path):
    ds, head = results
    doc = json.loads(head.read_text())
    doc["bias"] += 1.0
    head.write_text(json.dumps(doc))
    page = build_report(tmp_path / "report", root=ds.path.parent, tasks=["cartpole"])
    html = page.read_text()
    assert "head upright" not in _epic_section(html)
    assert f"the head file {head} was rewritten since" in html
    assert f"refresh: evalkit epic --task cartpole --reward head:{head}" in html
    head.unlink()
    html = build_report(tmp_path / "report", root=ds.path.parent, tasks=["cartpole"]).read_text()
    assert f"the head file {head} is missing" in html
