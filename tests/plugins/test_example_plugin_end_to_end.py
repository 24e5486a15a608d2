"""The example plugin file (family, task, metric and backend in one module) through the real
command line: collect, embed, epic --metrics, landscape, scaling --metric and report all work on
what it registers, with no evalkit file touched."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_plugins import HERE, plugin_env, run_evalkit


@pytest.mark.slow
def test_every_command_works_on_what_the_example_plugin_registers(tmp_path):
    env = plugin_env(tmp_path, HERE, plugins="example_plugin")

    def ok(*args: str):
        r = run_evalkit(*args, env=env)
        assert r.returncode == 0, f"evalkit {' '.join(args)}:\n{r.stdout}\n{r.stderr}"
        return r

    ok("collect", "acrobot", "--n", "60")
    ok("embed", "acrobot-sweep", "--model", "pixels:8", "--devices", "cpu", "--no-progress")
    epic = ok(
        "epic", "--task", "acrobot_up", "--model", "pixels:8", "--metrics", "epic,pearson_progress"
    )
    assert "pearson_progress" in epic.stdout

    results = tmp_path / "datasets/acrobot-sweep/results"
    rows = pd.concat([pd.read_parquet(p) for p in results.glob("*.parquet")])
    pearson = rows[rows["metric"] == "pearson_progress"]
    assert len(pearson) == 5 and np.isfinite(pearson["estimate"]).all()  # one per α

    landscape = tmp_path / "landscape.png"
    ok("landscape", "acrobot", "--model", "pixels:8", "--out", str(landscape))
    assert landscape.stat().st_size > 5_000

    stem = tmp_path / "scaling"
    ok("scaling", "--task", "acrobot_up", "--models", "pixels:4,pixels:8",
       "--metric", "pearson_progress", "--out", str(stem))  # fmt: skip
    assert (tmp_path / "scaling_by_model.png").stat().st_size > 5_000

    ok("report")
    html = (tmp_path / "reports/report/index.html").read_text(encoding="utf-8")
    assert "acrobot_up" in html and "pearson_progress" in html
    manifest = json.loads((tmp_path / "datasets/acrobot-sweep/manifest.json").read_text())
    assert manifest["family"] == "acrobot"
