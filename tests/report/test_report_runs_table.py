"""The report's training-runs table: short reward names, the full identity on demand, and a
table that fits a 1 300-pixel window (headless Chromium)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from helpers_labels import CHROMIUM, CHROMIUM_ARGS

from evalkit.report import ReportContent, render_report
from evalkit.report.runs import RunEntry, run_rows, short_reward
from evalkit.train.run_index import RunSummary

LONG = "/home/researcher/experiments/2026-12-e2e/bench-e2e-full-track"
HEAD_REWARD = (
    f"reward head {LONG}/heads/cartpole-box-rule-head.safetensors on {LONG}/model/tower.json "
    f"({LONG}/model/tower-weights.safetensors) — RANDOM WEIGHTS: the head reads features of an "
    "untrained image tower"
)


@pytest.mark.parametrize(
    ("full", "short"),
    [
        (
            HEAD_REWARD,
            "reward head cartpole-box-rule-head.safetensors on tower.json (tower-weights.safetensors)",
        ),
        ("CLIP reward of ViT-B-32 (openai), α = 0.5", "CLIP reward of ViT-B-32 (openai), α = 0.5"),
        ("ground-truth reward of the environment", "ground-truth reward of the environment"),
        (
            "CLIP reward of ViT-B-32 (default weights), goal frames /data/goal-frames/, α = 0",
            "CLIP reward of ViT-B-32 (default weights), goal frames goal-frames, α = 0",
        ),
        (
            "reward head heads/h.safetensors on hf:/srv/clip (none)",
            "reward head heads/h.safetensors on hf:/srv/clip (none)",
        ),
    ],
)
def test_short_reward_names_files_by_their_names(full, short):
    assert short_reward(full) == short


def _summary(name: str, reward: str, random: bool) -> RunSummary:
    return RunSummary(
        path=f"/runs/{name}", name=name, task="cartpole", reward=reward, algo="dqn",
        steps_done=50_176, steps_planned=50_000, best_gt_return=198.0, last_fidelity_epic=0.197,
        status="finished", checkpoints=12, evaluated_step=45_056, reward_is_random=random,
    )  # fmt: skip


RUNS = [
    RunEntry(_summary("cartpole-head-cartpole-box-rule-head-dqn-seed0", HEAD_REWARD, True)),
    RunEntry(
        _summary(
            "cartpole-clip-vit-b-32-dqn-seed0", "CLIP reward of ViT-B-32 (openai), α = 0", False
        )
    ),
]


def test_rows_carry_short_name_and_full_identity():
    rows = run_rows(RUNS)
    assert rows[0]["reward"] == short_reward(HEAD_REWARD) and rows[0]["reward_full"] == HEAD_REWARD
    assert LONG not in rows[0]["reward"]


@pytest.fixture
def report_page(tmp_path) -> Path:
    content = ReportContent(
        title="runs", tasks=[], datasets=[], epic=pd.DataFrame(), weights=[], figures=[],
        commands=[], runs=RUNS,
    )  # fmt: skip
    return render_report(content, tmp_path / "report")


def test_table_shows_short_names_and_the_identity_on_demand(report_page):
    html = report_page.read_text()
    section = html[html.index('<section id="runs">') :]
    section = section[: section.index("</section>")]
    assert f'title="{HEAD_REWARD}"' in section  # the full identity as a tooltip...
    assert f"<div>{HEAD_REWARD}<br>" in section  # ...and in the row's details
    assert f">{short_reward(HEAD_REWARD)}</summary>" in section


@pytest.mark.browser
@pytest.mark.slow
def test_runs_table_fits_a_1300_pixel_window(report_page):
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: install it with 'bash scripts/install-system-deps.sh'."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(report_page.as_uri())
        wrap = page.locator("#runs .table-wrap")
        scroll, client = wrap.evaluate("e => [e.scrollWidth, e.clientWidth]")
        reward_cell = page.locator("#runs td.reward").first
        closed = reward_cell.bounding_box()["height"]
        page.locator("#runs details.identity summary").first.click()
        opened = reward_cell.bounding_box()["height"]
        browser.close()
    assert scroll <= client, f"the runs table overflows: {scroll} px in a {client} px column"
    assert opened > closed  # the details open to the full identity
