"""The HTML report and the figure commands, end to end with tiny random-weight models."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_plots import landscape_table, scaling_table

from evalkit import __version__

SECTIONS = (
    "summary",
    "weights",
    "datasets",
    "epic",
    "landscapes",
    "scaling",
    "histograms",
    "reproduce",
)
TINY = ("evalkit-tiny-vit", "evalkit-tiny-rn")


class _Links(HTMLParser):
    """Every src/href of a page, and the ids of its elements."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _check_links_relative_and_present(page: Path, parser: _Links) -> None:
    for link in parser.links:
        if link.startswith("#"):
            assert link[1:] in parser.ids, link
            continue
        assert not re.match(r"^[a-z]+:", link) and not link.startswith("/"), (
            f"not a relative link: {link}"
        )
        assert (page.parent / link).is_file(), f"broken link: {link}"


# --------------------------------------------------------------------------- without a model


def _toy_dataset(root, n=30):
    from evalkit.data.store import DatasetWriter

    rng = np.random.default_rng(0)
    angles = np.linspace(-1.5, 1.5, n)
    with DatasetWriter(
        root,
        "toy-sweep",
        family="cartpole",
        env_id="evalkit/CartPole-v0",
        generator="sweep",
        params={"n": n, "spacing": "grid", "seed": 0},
        render={"width": 16, "height": 16},
        n_frames=n,
        frame_shape=(16, 16, 3),
    ) as w:
        w.add(
            rng.integers(0, 255, (n, 16, 16, 3), dtype=np.uint8),
            pd.DataFrame({"episode": np.arange(n), "step": 0, "angle": angles}),
        )
    return w.dataset


def _content(ds, random_weights: bool):
    from evalkit.plots import plot_landscape, plot_scaling_by_model
    from evalkit.report.content import FigureSpec, ReportContent, WeightsInfo

    epic = pd.DataFrame(
        {
            "task": "cartpole",
            "dataset": ds.name,
            "label_set": "rule",
            "reward_source": "clip",
            "model": "m",
            "pretrained": "none" if random_weights else "tag",
            "alpha": [0.0, 0.5],
            "distance": [0.4, 0.3],
            "ci_low": [0.35, 0.25],
            "ci_high": [0.45, 0.35],
            "rho": [0.68, 0.82],
            "n_goal": 4,
            "n_nongoal": 26,
            "n_episodes": 30,
            "random_weights": random_weights,
        }
    )
    figures = [
        FigureSpec(
            "landscape_toy",
            "landscapes",
            "toy landscape",
            "caption L",
            lambda: plot_landscape(
                landscape_table(n=21), "pole angle (rad)", 0.0, random_weights=random_weights
            ),
            random_weights=random_weights,
        ),
        FigureSpec(
            "scaling_toy",
            "scaling",
            "toy scaling",
            "caption S",
            lambda: plot_scaling_by_model(scaling_table()),
            random_weights=random_weights,
        ),
    ]
    weights = [
        WeightsInfo(
            "m", "none" if random_weights else "tag", random_weights, identity="m/x", params=1234567
        )
    ]
    return ReportContent(
        title="toy report",
        tasks=["cartpole"],
        datasets=[ds],
        epic=epic,
        weights=weights,
        figures=figures,
        commands=["evalkit epic --task cartpole --model m"],
    )


def test_render_report_pages_sections_links_and_banner(tmp_path):
    from evalkit.report import render_report

    ds = _toy_dataset(tmp_path / "datasets")
    page = render_report(_content(ds, random_weights=True), tmp_path / "reports" / "toy")
    html = page.read_text()
    parser = _parse(page)
    assert set(SECTIONS) <= parser.ids
    assert "random-weights-banner" in parser.ids and "RANDOM WEIGHTS" in html
    assert f"evalkit {__version__}" in html
    assert "evalkit epic --task cartpole --model m" in html
    _check_links_relative_and_present(page, parser)
    folder = page.parent
    for stem in ("landscape_toy", "scaling_toy"):
        assert (folder / "figures" / f"{stem}.png").stat().st_size > 5_000
        assert (folder / "figures" / f"{stem}.svg").is_file()
    assert (folder / "datasets" / "toy-sweep.png").is_file()
    assert pd.read_csv(folder / "epic.csv")["distance"].tolist() == [0.4, 0.3]
    # Bold best α, an interval per row, histograms section present but empty with advice.
    assert "[0.250, 0.350]" in html and 'class="best"' in html
    assert "No histogram" in html
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_render_report_real_weights_has_no_banner_and_replaces_old_report(tmp_path):
    from evalkit.report import render_report

    ds = _toy_dataset(tmp_path / "datasets")
    out = tmp_path / "rep"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    page = render_report(_content(ds, random_weights=False), out)
    assert "random-weights-banner" not in _parse(page).ids
    assert "RANDOM WEIGHTS" not in page.read_text()
    assert not (out / "stale.txt").exists()


def test_render_report_leaves_out_a_figure_that_cannot_be_drawn(tmp_path):
    from evalkit.errors import DegenerateError
    from evalkit.report import render_report
    from evalkit.report.content import FigureSpec

    ds = _toy_dataset(tmp_path / "datasets")
    content = _content(ds, random_weights=False)

    def broken():
        raise DegenerateError("all frames are goal frames")

    content.figures.append(FigureSpec("broken", "histograms", "a broken one", "", broken))
    html = render_report(content, tmp_path / "rep").read_text()
    assert "a broken one" in html and "all frames are goal frames" in html
    assert not (tmp_path / "rep" / "figures" / "broken.png").exists()


def test_epic_and_collect_commands():
    from evalkit.report.commands import epic_commands

    rows = pd.DataFrame(
        {
            "dataset": "d",
            "task": "kneeling",
            "label_set": "human",
            "reward_source": ["clip", "clip", "function:m:f"],
            "model": ["ViT-H-14", "ViT-H-14", ""],
            "pretrained": ["laion2b_s32b_b79k", "laion2b_s32b_b79k", ""],
            "alpha": [0.5, 0.0, np.nan],
            "n_bootstrap": 2000,
            "ci_method": "bca",
            "confidence": 0.95,
            "seed": 3,
        }
    )
    cmds = epic_commands(rows)
    assert (
        "evalkit epic --task kneeling --model ViT-H-14 --pretrained laion2b_s32b_b79k --alpha 0,0.5 "
        "--dataset d --labels human --bootstrap 2000 --ci bca --confidence 0.95 --seed 3"
    ) in cmds
    assert any("--reward m:f" in c for c in cmds)
    # α rows computed with another number of resamples get their own command
    again = pd.concat([rows, rows.iloc[[0]].assign(alpha=1.0, n_bootstrap=100)])
    cmds = epic_commands(again)
    assert len(cmds) == 3 and any("--alpha 0,0.5 " in c and "--bootstrap 2000" in c for c in cmds)
    assert any("--alpha 1 " in c and "--bootstrap 100" in c for c in cmds)


def test_collect_command_of_a_pose_dataset():
    from types import SimpleNamespace

    from evalkit.data.poses import PoseSpec
    from evalkit.envs.humanoid_poses import HUMANOID_TASKS
    from evalkit.report.commands import collect_command

    params = {**PoseSpec(per_task=6, tasks=HUMANOID_TASKS).to_params(), "seed": 2}
    manifest = SimpleNamespace(
        generator="poses",
        family="humanoid",
        name="hp",
        params=params,
        frame_shape=(128, 128, 3),
        render={"profile": "fast", "textured": True, "fixed_camera": False},
        n_frames=10,
    )
    assert collect_command(SimpleNamespace(manifest=manifest)) == (
        "evalkit collect humanoid --poses --per-task 6 --size 128 --seed 2 --profile fast --tracking-camera --name hp"
    )
    manifest.params = {**params, "yaw": 10.0}  # not what the command line makes: described instead
    assert collect_command(SimpleNamespace(manifest=manifest)).startswith(
        "# dataset hp: made by the 'poses' generator"
    )
    assert "size=128" in collect_command(SimpleNamespace(manifest=manifest))


def test_report_without_results_says_what_to_run(datasets_root, cli, tmp_path):
    from typer.testing import CliRunner

    from evalkit.cli import app

    _toy_dataset(datasets_root)
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "evalkit epic --task" in result.output
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- with tiny random models


def _run(*args: str):
    from typer.testing import CliRunner

    from evalkit.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    """A datasets root with a 40-state CartPole sweep at 32 px and EPIC results of both tiny
    random models (shared by the tests of this module: they only read it)."""
    root = tmp_path_factory.mktemp("tiny") / "datasets"
    assert (
        _run("collect", "cartpole", "--n", "40", "--size", "32", "--root", str(root)).exit_code == 0
    )
    for model in TINY:
        r = _run(
            "epic",
            "--task",
            "cartpole",
            "--model",
            model,
            "--pretrained",
            "none",
            "--bootstrap",
            "200",
            "--root",
            str(root),
        )
        assert r.exit_code == 0, r.output
    return root


@pytest.mark.slow
def test_report_end_to_end_with_tiny_random_models(tiny_results, tmp_path):
    out = tmp_path / "reports" / "tiny"
    r = _run("report", "--task", "cartpole", "--root", str(tiny_results), "--out", str(out))
    assert r.exit_code == 0, r.output
    page = out / "index.html"
    html = page.read_text()
    parser = _parse(page)
    assert set(SECTIONS) <= parser.ids
    assert "random-weights-banner" in parser.ids
    _check_links_relative_and_present(page, parser)
    figures = {p.stem for p in (out / "figures").glob("*.png")}
    assert {p.stem for p in (out / "figures").glob("*.svg")} == figures
    kinds = {f.split("_")[0] for f in figures}
    assert kinds == {"landscape", "scaling", "histogram", "pairwise"}
    assert "EPIC distance between every pair of 10 CLIP rewards" in html  # 2 models × 5 α
    assert sum(f.startswith("landscape") for f in figures) == len(TINY)
    assert any(f.endswith("by_size") for f in figures)  # two model sizes: Fig. 4b with its fit
    assert (out / "datasets" / "cartpole-sweep.png").is_file()
    for model in TINY:
        assert f"evalkit epic --task cartpole --model {model} --pretrained none" in html
    assert "evalkit collect cartpole --n 40 --size 32" in html
    assert f"evalkit report --task cartpole --root {tiny_results} --out {out}" in html
    # The EPIC table shows every model × α saved, each with its interval and the random-weights tag.
    epic = html[
        html.index('<section id="epic">') : html.index(
            "</section>", html.index('<section id="epic">')
        )
    ]
    rows = re.findall(
        r"<tr class=\"[^\"]*\"><td><code>(evalkit-tiny-\w+)</code>.*?</tr>", epic, flags=re.S
    )
    assert sorted(rows) == sorted(list(TINY) * 5)
    assert (
        epic.count("random weights</span>") == 10
        and len(re.findall(r"\[0\.\d{3}, 0\.\d{3}\]", epic)) == 10
    )


@pytest.mark.slow
def test_landscape_cli_end_to_end_collects_and_embeds(datasets_root, cli, tmp_path):
    out = tmp_path / "fig" / "landscape"
    r = cli(
        "landscape",
        "cartpole",
        "--model",
        "evalkit-tiny-vit",
        "--pretrained",
        "none",
        "--n",
        "30",
        "--size",
        "32",
        "--alpha",
        "0,0.5,1",
        "--out",
        str(out),
    )
    assert r.exit_code == 0, r.output
    assert "RANDOM WEIGHTS" in r.output and "rescaled" in r.output
    assert (out.parent / "landscape.png").stat().st_size > 5_000 and (
        out.parent / "landscape.svg"
    ).is_file()
    assert (datasets_root / "cartpole-sweep").is_dir()


@pytest.mark.slow
def test_landscape_rewards_are_the_reward_engines(datasets_root):
    from evalkit.data.sweeps import collect_sweep
    from evalkit.pipeline import clip_reward_source, landscape_data
    from evalkit.vlm import ModelSpec

    ds = collect_sweep("cartpole", 20, 32, root=datasets_root, progress=False).dataset
    data = landscape_data(ds, "cartpole", ModelSpec("evalkit-tiny-rn", "none"), [0.0, 1.0])
    source = clip_reward_source(ds, "cartpole", ModelSpec("evalkit-tiny-rn", "none"), [0.0, 1.0])
    for j, a in enumerate((0.0, 1.0)):
        rows = data.table[data.table["alpha"] == a]
        np.testing.assert_array_equal(rows["reward"].to_numpy(), source.values[:, j])
        np.testing.assert_array_equal(rows["state_value"].to_numpy(), ds.states["angle"].to_numpy())
    assert data.random_weights and data.goal_value == 0.0
    lo, hi = data.goal_region
    assert -0.21 < lo < 0 < hi < 0.21


@pytest.mark.slow
def test_scaling_and_histogram_cli(tiny_results, tmp_path):
    root = ("--root", str(tiny_results))
    r = _run(
        "scaling",
        "--task",
        "cartpole",
        "--models",
        ",".join(TINY),
        "--pretrained",
        "none",
        "--out",
        str(tmp_path / "s.png"),
        *root,
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s_by_model.png").is_file() and (tmp_path / "s_by_size.png").is_file()
    assert "slope" in r.output
    r = _run(
        "histogram",
        "--task",
        "cartpole",
        "--model",
        ",".join(TINY),
        "--pretrained",
        "none",
        "--out",
        str(tmp_path / "h"),
        *root,
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "h.png").is_file() and (tmp_path / "h.svg").is_file()
    # Saved results were used, not recomputed.
    assert "computing" not in r.output
    # Several α, like `evalkit epic`: one figure each, into the --out folder.
    r = _run(
        "histogram",
        "--task",
        "cartpole",
        "--model",
        TINY[0],
        "--pretrained",
        "none",
        "--alpha",
        "0,1",
        "--out",
        str(tmp_path / "hs"),
        *root,
    )
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (tmp_path / "hs").glob("*.png"))
    assert (
        len(names) == 2 and names[0].endswith("alpha0.png") and names[1].endswith("alpha1.png")
    ), names
    r = _run(
        "histogram",
        "--task",
        "cartpole",
        "--model",
        TINY[0],
        "--alpha",
        "0,1",
        "--out",
        str(tmp_path / "x.png"),
        *root,
    )
    assert r.exit_code == 2 and "give a folder" in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["landscape", "humanoid"], "Reward landscapes exist for cartpole, mountaincar"),
        (["landscape", "cartpole", "--plain"], "only applies to mountaincar"),
        (["landscape", "cartpole", "--task", "kneeling"], "runs on humanoid"),
        (["landscape", "cartpole", "--alpha", "0,2"], "α must lie in [0, 1]"),
        (
            ["scaling", "--task", "cartpole", "--models", "a,b,c", "--pretrained", "x,y"],
            "one weights tag for every model",
        ),
        (
            ["histogram", "--task", "cartpole", "--model", "evalkit-tiny-vit"],
            "evalkit collect cartpole",
        ),
        (["report", "--task", "kneling"], "Did you mean 'kneeling'"),
    ],
)
def test_figure_commands_refuse_bad_input_with_one_sentence(datasets_root, args, message):
    from typer.testing import CliRunner

    from evalkit.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output


def test_figure_defaults_match_the_library():
    """The figures' default --alpha is the library's DEFAULT_ALPHAS (that evalkit epic uses)."""
    from evalkit.cli.figures import DEFAULT_ALPHAS
    from evalkit.rewards import DEFAULT_ALPHAS as LIBRARY

    assert [float(a) for a in DEFAULT_ALPHAS.split(",")] == list(LIBRARY)


@pytest.mark.slow
def test_scaling_of_another_metric(tiny_results, tmp_path):
    import shutil

    copy = tmp_path / "datasets"
    shutil.copytree(tiny_results, copy)  # the shared results stay as they are (it saves AUC rows)
    root = ("--root", str(copy))
    r = _run(
        "scaling",
        "--task",
        "cartpole",
        "--models",
        ",".join(TINY),
        "--pretrained",
        "none",
        "--metric",
        "auc",
        "--bootstrap",
        "100",
        "--out",
        str(tmp_path / "s.png"),
        *root,
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s_by_model.png").stat().st_size > 5_000
    r = _run(
        "scaling",
        "--task",
        "cartpole",
        "--models",
        TINY[0],
        "--pretrained",
        "none",
        "--metric",
        "auroc",
        *root,
    )
    assert r.exit_code == 2 and "Unknown metric 'auroc'" in r.output


@pytest.mark.slow
def test_report_shows_the_other_metrics(tiny_results, tmp_path):
    import shutil

    copy = tmp_path / "datasets"
    shutil.copytree(tiny_results, copy)
    r = _run(
        "epic",
        "--task",
        "cartpole",
        "--model",
        TINY[0],
        "--pretrained",
        "none",
        "--metrics",
        "auc,spearman",
        "--bootstrap",
        "100",
        "--root",
        str(copy),
    )
    assert r.exit_code == 0, r.output
    out = tmp_path / "report"
    r = _run("report", "--task", "cartpole", "--root", str(copy), "--out", str(out))
    assert r.exit_code == 0, r.output
    html = (out / "index.html").read_text()
    section = html[html.index('<section id="metrics">') :]
    section = section[: section.index("</section>")]
    assert '<th class="num">auc</th>' in section and '<th class="num">spearman</th>' in section
    assert section.count("<tr><td><code>evalkit-tiny-vit</code>") == 5  # one row per α
