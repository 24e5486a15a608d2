"""``evalkit scaling`` across models on a Meta-World task, end to end: a small collected dataset,
two tiny random-weight models (open_clip's ``evalkit-tiny-vit`` and a Hugging Face CLIP folder),
the task's own dataset found without ``--dataset``, the saved EPIC rows and both figures."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

needs_metaworld = pytest.mark.skipif(
    importlib.util.find_spec("metaworld") is None,
    reason="Meta-World is not installed (pip install -e '.[metaworld]')",
)

TASK = "drawer-close"
SMALL = {"episodes": 1, "epsilons": (0.5,), "steps": 100, "size": 32, "progress": False}


@needs_metaworld
@pytest.mark.slow
def test_scaling_across_two_tiny_models_on_a_metaworld_task(cli, datasets_root, tmp_path):
    from helpers_hf import save_tiny_clip

    from evalkit.data.metaworld_rollouts import collect_metaworld

    ds = collect_metaworld(TASK, root=str(datasets_root), **SMALL).dataset
    hf = save_tiny_clip(tmp_path / "tiny-hf-clip")
    models = f"evalkit-tiny-vit,hf:{hf}"
    result = cli(
        "scaling", "--task", TASK, "--models", models, "--pretrained", "none,",
        "--alpha", "0,1", "--bootstrap", "100", "--out", str(tmp_path / "fig"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for kind in ("by_model", "by_size"):
        assert (tmp_path / f"fig_{kind}.png").stat().st_size > 0
    assert "RANDOM WEIGHTS" in result.output and "log-linear fit" in result.output

    import pandas as pd

    saved = pd.read_parquet(ds.path / "results" / "epic.parquet")
    saved = saved[(saved["task"] == TASK) & (saved["metric"] == "epic") & (saved["model"] != "")]
    assert len(saved[["model", "alpha"]].drop_duplicates()) == 4  # two models × two α
    # each saved distance is the closed-form EPIC distance sqrt((1 − ρ) / 2), ρ the Pearson
    # correlation of that model's rewards with the success flags (numpy, not evalkit's EPIC)
    labels = ds.labels(TASK).astype(float)
    assert 0 < labels.sum() < len(labels)
    from evalkit.pipeline.reward_kinds import RewardContext, model_rewards

    for model, pretrained in (("evalkit-tiny-vit", "none"), (f"hf:{hf}", None)):
        source = model_rewards(RewardContext(model, pretrained, (0.0, 1.0), task=TASK))
        values = source.dataset_rewards(ds, TASK).values
        for column, alpha in enumerate((0.0, 1.0)):
            row = saved[(saved["model"] == model) & np.isclose(saved["alpha"], alpha)]
            rho = np.corrcoef(values[:, column], labels)[0, 1]
            assert row["distance"].iloc[-1] == pytest.approx(np.sqrt((1 - rho) / 2), abs=1e-6)
