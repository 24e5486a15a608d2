"""The metrics the field reports on a Meta-World dataset, through ``evalkit epic --metrics all``
with a tiny random-weight model (collection kept small as in test_metaworld.py)."""

from __future__ import annotations

import importlib.util

import pytest

needs_metaworld = pytest.mark.skipif(
    importlib.util.find_spec("metaworld") is None,
    reason="Meta-World is not installed (pip install -e '.[metaworld]')",
)

SMALL = {"episodes": 1, "epsilons": (0.5,), "steps": 100, "size": 32, "progress": False}


@needs_metaworld
@pytest.mark.slow
def test_epic_all_shows_every_applicable_metric_and_what_voc_left_out(cli, datasets_root):
    from evalkit.data.metaworld_rollouts import collect_metaworld

    collect_metaworld("drawer-open", root=str(datasets_root), **SMALL)
    args = ["epic", "--task", "drawer-open", "--dataset", "metaworld-drawer-open"]
    args += ["--model", "evalkit-tiny-vit", "--pretrained", "none", "--alpha", "0"]
    result = cli(*args, "--metrics", "all", "--bootstrap", "0", "--format", "csv", "--no-save")
    assert result.exit_code == 0, result.output
    import io

    import pandas as pd

    table = pd.read_csv(io.StringIO(result.stdout))
    shown = set(table["metric"])
    # erc reads Meta-World's dense reward (gt_reward), rank_quality the tiers (1 − ε)
    want = {"epic", "auc", "ap", "spearman", "kendall", "voc", "erc_pearson"}
    assert want | {"erc_spearman", "rank_quality", "rank_success"} == shown
    text = cli(*args, "--metrics", "voc", "--bootstrap", "0", "--no-save")
    assert text.exit_code == 0
    assert "VOC used all 3 episodes" in text.stdout or "VOC left out" in text.stdout


@needs_metaworld
@pytest.mark.slow
def test_confusion_of_two_tasks_prints_the_matrix_and_writes_the_figure(
    cli, datasets_root, tmp_path
):
    from evalkit.data.metaworld_rollouts import collect_metaworld

    for task in ("drawer-open", "drawer-close"):
        collect_metaworld(task, root=str(datasets_root), **SMALL)
    result = cli(
        "confusion",
        "--tasks",
        "drawer-open,drawer-close",
        "--datasets",
        "metaworld-drawer-open,metaworld-drawer-close",
        "--model",
        "evalkit-tiny-vit",
        "--pretrained",
        "none",
        "--bootstrap",
        "100",
        "--figure",
        str(tmp_path / "confusion.png"),
    )
    assert result.exit_code == 0, result.output
    assert "own prompt highest:" in result.stdout and "of 6 episodes" in result.stdout
    assert "margin (own − best other)" in result.stdout
    assert (tmp_path / "confusion.png").stat().st_size > 0
    bad = cli("confusion", "--tasks", "drawer-open,drawer-close", "--datasets", "x", "-m", "m")
    assert bad.exit_code == 2 and "one dataset per task" in bad.output
