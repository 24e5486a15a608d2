"""Reward fidelity on the agent's own states, reward-hacking contact sheets and metrics.csv.

The oracle is the replay buffer: the next observations SB3 stored are the states the rendered
frames show (the terminal one at an episode's end), its rewards the training reward of those
frames, its done flags the episodes. The metric panel on them must give the run's figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers_train import SMALL, one_torch_thread, shape_reward, tiny_config

import evalkit.train.fidelity as fidelity_module
from evalkit.data.sweeps import collect_sweep
from evalkit.errors import EvalkitError
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.panel import metric_panel
from evalkit.pipeline.results import load_epic_results
from evalkit.plots.contact_sheet import plot_contact_sheet
from evalkit.tasks import TASKS, Task, get_task, register_task
from evalkit.train.config import TrainConfig
from evalkit.train.fidelity import (
    N_BOOTSTRAP,
    ContactSheetReservoir,
    Fidelity,
    fidelity_sentence,
    measure_fidelity,
)
from evalkit.train.metrics_log import FIDELITY_COLUMNS, MetricsLog
from evalkit.train.runner import RESUME_DIR, read_checkpoints, train

CARTPOLE_COLUMNS = ("cart_position", "cart_velocity", "angle", "angular_velocity")


def pole_height(frames: np.ndarray) -> np.ndarray:
    """A reward that sees the goal: how many rows of the frame the (tan) pole covers, in [0, 1]
    (tallest when upright; a fallen pole or a cart out of view covers few)."""
    f = np.asarray(frames).astype(np.int16)
    pole = (f[..., 0] > 150) & (f[..., 0] - f[..., 2] > 60)
    return pole.any(axis=2).mean(axis=1)


def inverted(frames: np.ndarray) -> np.ndarray:
    return -pole_height(frames)


def buffer_visits(model) -> pd.DataFrame:
    """The visited states, rewards and episodes from the replay buffer, step by step."""
    buffer = model.replay_buffer
    n, n_envs = buffer.pos, buffer.n_envs
    states = buffer.next_observations[:n].reshape(n * n_envs, -1).astype(np.float64)
    table = pd.DataFrame(states, columns=list(CARTPOLE_COLUMNS))
    table["reward"] = buffer.rewards[:n].reshape(-1).astype(np.float64)
    dones = buffer.dones[:n].astype(bool)
    ended = np.vstack([np.zeros((1, n_envs), dtype=int), np.cumsum(dones, axis=0)[:-1]])
    table["episode"] = (np.arange(n_envs)[None, :] + n_envs * ended).reshape(-1)
    table["done"] = dones.reshape(-1)
    table["goal"] = get_task("cartpole").rule_labels(table)
    return table


def offline_panel(table: pd.DataFrame) -> dict[str, object]:
    """The panel on the buffer's visits (every metric with its interval; the run computes
    EPIC's only)."""
    res = metric_panel(
        table["reward"].to_numpy(),
        labels=table["goal"].to_numpy(),
        progress=get_task("cartpole").env.progress_values(table),
        episodes=table["episode"].to_numpy(),
        metrics=("epic", "auc", "spearman"),
        bootstrap=BootstrapOptions(n_bootstrap=N_BOOTSTRAP),
    )
    return {r.metric: r for r in res}


@pytest.mark.parametrize(
    "labelling, batch_size, steps",
    [
        ("batch", 64, 240),  # batches of 64 frames, labelled a few together
        ("batch", 256, 320),  # a batch of 256 frames, labelled at once
        ("step", 64, 240),  # two frames a step, labelled a few steps together
    ],
)
def test_fidelity_equals_the_metric_panel_on_the_replay_buffer(
    tmp_path, labelling, batch_size, steps
):
    config = tiny_config(
        "cartpole",
        steps=steps,
        reward_labelling=labelling,
        reward_batch_size=batch_size,
        metrics_every=80,
    )
    with one_torch_thread():
        result = train(config, tmp_path / "run", reward_fn=shape_reward)
    visits = buffer_visits(result.model)
    assert len(visits) == result.steps == steps
    expected = offline_panel(visits)
    f = result.fidelity
    assert f is not None and f.frames == steps
    assert f.goal_share == pytest.approx(visits["goal"].mean())
    assert 0 < f.goal_share < 1
    assert f.epic == pytest.approx(expected["epic"].estimate, abs=1e-9)
    assert f.epic_interval == pytest.approx(expected["epic"].interval, abs=1e-9)
    assert f.auc == pytest.approx(expected["auc"].estimate, abs=1e-9)
    assert f.progress_rank == pytest.approx(expected["spearman"].estimate, abs=1e-6)

    rows = MetricsLog(tmp_path / "run").rows()
    assert [r["step"] for r in rows] == list(range(80, steps + 1, 80))
    last = rows[-1]
    assert last["fidelity_epic"] == pytest.approx(f.epic)
    assert last["fidelity_frames"] == steps and last["goal_share"] == pytest.approx(f.goal_share)
    # the first row was measured on the frames scored by then: a prefix of the buffer's
    first = next(r for r in rows if r["fidelity_frames"] is not None)
    assert first["fidelity_frames"] <= first["step"]
    prefix = visits.iloc[: int(first["fidelity_frames"])]
    assert first["goal_share"] == pytest.approx(prefix["goal"].mean())
    assert list((tmp_path / "run" / "tb").rglob("events.out.tfevents*"))


def test_an_inverted_reward_shows_epic_near_one_and_its_favourite_non_goal_frames(
    tmp_path, monkeypatch
):
    drawn = []
    real = fidelity_module.plot_contact_sheet

    def spy(non_goal, goal, title=""):
        drawn.append((non_goal, goal))
        return real(non_goal, goal, title)

    monkeypatch.setattr(fidelity_module, "plot_contact_sheet", spy)
    config = tiny_config("cartpole", steps=240, checkpoint_every=10**6, metrics_every=80)
    with one_torch_thread():
        result = train(config, tmp_path / "run", reward_fn=inverted)
    assert result.fidelity.epic > 0.85  # the reward points away from the goal
    assert result.fidelity.auc < 0.15
    assert result.fidelity_summary.startswith("on the agent's states the reward's EPIC is 0.")

    # one sheet, at the end: it holds the non-goal frames the reward likes most
    assert [p.name for p in (tmp_path / "run" / "fidelity").iterdir()] == ["step_000000240.png"]
    (non_goal_rewards, non_goal_frames), (goal_rewards, goal_frames) = drawn[0]
    visits = buffer_visits(result.model)
    top = np.sort(visits.loc[~visits["goal"], "reward"].to_numpy())[::-1][:8]
    np.testing.assert_allclose(non_goal_rewards, top, rtol=1e-6)
    np.testing.assert_allclose(inverted(np.stack(non_goal_frames)), non_goal_rewards, rtol=1e-6)
    bottom = np.sort(visits.loc[visits["goal"], "reward"].to_numpy())[:8]
    np.testing.assert_allclose(goal_rewards, bottom, rtol=1e-6)
    # what an inverted reward likes best is a pole that covers few rows: fallen
    assert pole_height(np.stack(non_goal_frames)).max() < pole_height(np.stack(goal_frames)).min()


def test_interrupted_and_resumed_runs_keep_one_continuous_metrics_file(tmp_path):
    run = tmp_path / "run"
    config = tiny_config("cartpole", steps=240, metrics_every=80)
    with one_torch_thread():
        train(config, run, reward_fn=shape_reward)
        before = MetricsLog(run).rows()
        assert [r["step"] for r in before] == [80, 160, 240]
        # killed after the checkpoint at 160: the newest checkpoint and the resume state are lost
        (run / "checkpoints" / "step_000000240.zip").unlink()
        for f in (run / RESUME_DIR).iterdir():
            f.unlink()
        (run / RESUME_DIR).rmdir()
        messages = []
        second = train(
            tiny_config("cartpole", steps=400, metrics_every=80),
            run,
            resume=True,
            reward_fn=shape_reward,
            report=messages.append,
        )
    assert second.start_step == 160
    after = MetricsLog(run).rows()
    steps = [r["step"] for r in after]
    assert steps == [80, 160, 240, 320, 400]
    assert after[:2] == before[:2]  # the rows up to the resumed step are kept as they were
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert (run / "metrics.csv").read_text().count(header) == 1


def test_a_ground_truth_run_has_success_but_no_fidelity(tmp_path):
    config = tiny_config("cartpole", reward="ground-truth", steps=480, n_envs=1, metrics_every=160)
    with one_torch_thread():
        result = train(config, tmp_path / "run")
    assert result.fidelity is None and result.fidelity_summary is None
    assert not (tmp_path / "run" / "fidelity").exists()
    rows = MetricsLog(tmp_path / "run").rows()
    checkpoint_steps = {c.step for c in read_checkpoints(tmp_path / "run")}
    assert [r["step"] for r in rows] == sorted({160, 320, 480} | checkpoint_steps)
    assert all(r[c] is None for r in rows for c in FIDELITY_COLUMNS)
    # success: an episode succeeds when the pole stays up throughout (the buffer's states)
    visits = buffer_visits(result.model)
    finished = visits.groupby("episode").filter(lambda e: e["done"].any())
    expected = finished.groupby("episode")["goal"].all().mean()
    assert finished["episode"].nunique() == 2
    assert rows[-1]["success_rate"] == pytest.approx(expected)
    assert result.success_rate == pytest.approx(expected)
    assert rows[0]["success_rate"] is None  # no episode had ended by step 160
    assert rows[-1]["gt_return"] is not None and rows[-1]["train_return"] == rows[-1]["gt_return"]


@pytest.fixture
def task_without_rule():
    task = register_task(
        Task(
            name="cartpole-by-hand",
            family="cartpole",
            goal_prompt="pole vertically upright on top of a cart",
            baseline_prompt="pole and cart",
        )
    )
    yield task
    TASKS.pop(task.name, None)


def test_a_task_without_goal_rule_says_once_that_fidelity_is_off(tmp_path, task_without_rule):
    messages: list[str] = []
    config = tiny_config(task_without_rule.name, steps=160, metrics_every=40)
    with one_torch_thread():
        result = train(config, tmp_path / "run", reward_fn=shape_reward, report=messages.append)
    off = [m for m in messages if "fidelity is off" in m]
    assert len(off) == 1 and "no goal rule" in off[0]
    assert result.fidelity is None and result.success_rate is None
    rows = MetricsLog(tmp_path / "run").rows()
    assert len(rows) >= 2 and all(r[c] is None for r in rows for c in FIDELITY_COLUMNS)
    assert not (tmp_path / "run" / "fidelity").exists()


def test_the_summary_names_the_saved_offline_epic_of_the_same_reward(tmp_path, cli, datasets_root):
    collect_sweep("cartpole", 60, 32, root=datasets_root, progress=False)
    epic = ("epic", "--task", "cartpole", "--model", "evalkit-tiny-vit", "--pretrained", "none")
    assert cli(*epic, "--alpha", "0", "--bootstrap", "0", "--devices", "cpu").exit_code == 0
    saved = load_epic_results(datasets_root / "cartpole-sweep")
    assert list(saved["alpha"]) == [0.0]
    offline = float(saved["distance"].iloc[0])
    with one_torch_thread():
        same = train(tiny_config("cartpole", steps=160), tmp_path / "same")
        other = train(tiny_config("cartpole", steps=160, alpha=0.5), tmp_path / "other")
    assert same.fidelity.epic is not None
    assert f"; offline on cartpole-sweep it was {offline:.2f}: " in same.fidelity_summary
    assert "offline" not in other.fidelity_summary  # nothing saved for α = 0.5


def test_a_measurement_never_stops_the_run():
    rng = np.random.default_rng(0)
    rewards, episodes = rng.normal(size=40), np.arange(40) // 10
    one_goal_episode = episodes == 1
    f = measure_fidelity(rewards, one_goal_episode, episodes, rewards)
    assert f.epic is not None and f.epic_interval is None  # no bootstrap over one goal episode
    assert f.auc is not None and f.progress_rank == pytest.approx(1.0)
    constant = measure_fidelity(np.ones(40), episodes % 2 == 0, episodes)
    assert constant.epic is None and constant.goal_share == 0.5
    none = measure_fidelity(rewards, np.zeros(40, dtype=bool), episodes)
    assert none.epic is None and none.auc is None and none.goal_share == 0


def test_the_summary_compares_with_the_offline_epic():
    f = Fidelity(frames=900, goal_share=0.2, epic=0.64, epic_interval=(0.58, 0.70))
    assert fidelity_sentence(f, ("cartpole-sweep", 0.31)) == (
        "on the agent's states the reward's EPIC is 0.64 (0.58–0.70); offline on cartpole-sweep "
        "it was 0.31: the agent visits states the reward misjudges"
    )
    assert (
        fidelity_sentence(f, None) == "on the agent's states the reward's EPIC is 0.64 (0.58–0.70)"
    )
    assert "as it judged" in fidelity_sentence(f, ("cartpole-sweep", 0.6))
    assert "better than" in fidelity_sentence(f, ("cartpole-sweep", 0.9))
    assert fidelity_sentence(Fidelity(frames=10, goal_share=0.0), None) is None


def test_the_cli_summary_says_fidelity_and_success(cli, tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    run = tmp_path / "run"
    args = ("--task", "cartpole", "--model", "evalkit-tiny-vit", "--pretrained", "none")
    more = ("--steps", "240", "--envs", "1", "--metrics-every", "80", "--device", "cpu")
    with one_torch_thread():
        result = cli(
            "train", *args, *more, "--config", str(tmp_path / "small.toml"), "--out", str(run)
        )
    assert result.exit_code == 0, result.output
    rows = MetricsLog(run).rows()
    last = rows[-1]
    assert "fidelity: on the agent's states the reward's EPIC is " in result.output
    low = last["fidelity_epic_low"]  # none when goal frames came in one episode only
    interval = "" if low is None else f" ({low:.2f}–{last['fidelity_epic_high']:.2f})"
    assert f"EPIC is {last['fidelity_epic']:.2f}{interval}" in result.output
    assert f"{last['goal_share']:.0%} goal states, on the last 240 visited frames" in result.output
    assert f"success rate (recent training episodes, goal rule): {last['success_rate']:.0%}" in (
        result.output
    )
    assert sorted(p.name for p in (run / "fidelity").iterdir())[-1] == "step_000000240.png"


def test_the_reservoir_keeps_the_best_candidates_of_every_batch_as_copies(tmp_path):
    rng = np.random.default_rng(1)
    reservoir = ContactSheetReservoir(size=3)
    buffer = np.zeros((20, 4, 4, 3), dtype=np.uint8)  # reused for every batch, as the wrapper's
    everything = []
    for batch in range(5):
        rewards, labels = rng.normal(size=20), rng.random(20) < 0.3
        buffer[:] = np.arange(20)[:, None, None, None] + 20 * batch  # frame i of batch b: 20b + i
        reservoir.offer(buffer, rewards, labels)
        everything += [(r, g, 20 * batch + i) for i, (r, g) in enumerate(zip(rewards, labels))]
    buffer[:] = 255  # the kept frames are copies
    non_goal = sorted((t for t in everything if not t[1]), key=lambda t: -t[0])[:3]
    goal = sorted((t for t in everything if t[1]), key=lambda t: t[0])[:3]
    for kept, expected in (
        (reservoir.candidates(False), non_goal),
        (reservoir.candidates(True), goal),
    ):
        rewards, frames = kept
        np.testing.assert_allclose(rewards, [t[0] for t in expected])
        assert [int(f[0, 0, 0]) for f in frames] == [t[2] for t in expected]
    fig = plot_contact_sheet(reservoir.candidates(False), (np.empty(0), []), "a title")
    assert len([ax for ax in fig.axes if ax.images]) == 3
    reservoir.clear()
    assert len(reservoir) == 0


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("metrics_every", 0, "--metrics-every must be a positive whole number"),
        ("fidelity", "no", "fidelity must be true or false"),
    ],
)
def test_bad_fidelity_settings_are_refused(field, value, message):
    with pytest.raises(EvalkitError, match=message):
        TrainConfig(**{"task": "cartpole", "model": "m", field: value}).resolved()
