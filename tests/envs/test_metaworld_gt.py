"""The ground-truth reward of Meta-World tasks is Meta-World's own dense reward, wherever evalkit
reads it: the return a training run logs, the ``gt_reward`` a collected dataset stores (ERC's
ground truth) and ``--reward ground-truth``. Each is checked against Meta-World's environment
made and stepped directly (``metaworld.MT1``), not through evalkit."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

needs_metaworld = pytest.mark.skipif(
    importlib.util.find_spec("metaworld") is None,
    reason="Meta-World is not installed (pip install -e '.[metaworld]')",
)

TASK = "drawer-close"


def metaworld_rewards(task: str, variation: int, actions: np.ndarray, seed: int = 0) -> np.ndarray:
    """Meta-World's own reward of every step of ``actions``, replayed on the task variation
    ``metaworld.MT1(task, seed).train_tasks[variation]`` without evalkit."""
    import metaworld

    name = f"{task}-v3"
    benchmark = metaworld.MT1(name, seed=seed)
    env = benchmark.train_classes[name]()
    env.set_task(benchmark.train_tasks[variation])
    env.reset()
    try:
        return np.array([env.step(np.asarray(a, dtype=np.float32))[1] for a in actions])
    finally:
        env.close()


@needs_metaworld
@pytest.mark.slow
def test_the_training_return_is_the_sum_of_metaworlds_own_rewards():
    """A ground-truth run's logged return (SB3's Monitor in the run's vector environment) of a
    full 500-step episode equals the sum of Meta-World's rewards on the same actions; the scripted
    expert's is in the thousands (rewards in [0, 10] per step), a random policy's near 0."""
    from evalkit.envs.metaworld_env import expert_policy
    from evalkit.train.config import TrainConfig
    from evalkit.train.env_factory import make_training_env

    config = TrainConfig(task=TASK, reward="ground-truth", n_envs=1).resolved()
    returns = {}
    for name, eps in (("expert", 0.0), ("random", 1.0)):
        venv, clip = make_training_env(config, seed=0)
        assert clip is None
        policy, rng = expert_policy(TASK), np.random.default_rng(0)
        obs, actions, episode = venv.reset(), [], None
        try:
            while episode is None:
                action = rng.uniform(-1, 1, 4) if rng.random() < eps else policy.get_action(obs[0])
                actions.append(np.clip(action, -1, 1))
                obs, _, _, infos = venv.step(np.array([actions[-1]]))
                episode = infos[0].get("episode")
        finally:
            venv.close()
        assert episode["l"] == len(actions) == 500
        own = metaworld_rewards(TASK, 0, np.array(actions))
        assert episode["r"] == pytest.approx(own.sum(), rel=1e-6)
        returns[name] = episode["r"]
    assert returns["expert"] > 1000 and returns["expert"] > 100 * returns["random"]


@needs_metaworld
@pytest.mark.slow
def test_a_collected_datasets_ground_truth_is_metaworlds_reward_of_the_replayed_episode(
    tmp_path, cli, monkeypatch
):
    """Per step, a dataset's ``gt_reward`` is Meta-World's reward of the stored action replayed;
    the expert's return is far above the random policy's; ``--reward ground-truth`` scores it on
    the task's own dataset, found without ``--dataset``."""
    from evalkit.data.metaworld_rollouts import collect_metaworld

    ds = collect_metaworld(
        TASK, episodes=1, epsilons=(), steps=150, size=16, root=str(tmp_path), progress=False
    ).dataset
    states = ds.states
    totals = {}
    for _, rows in states.groupby("episode"):
        actions = rows[[f"action_{i}" for i in range(4)]].to_numpy(dtype=float)
        own = metaworld_rewards(TASK, int(rows["variation"].iloc[0]), actions)
        np.testing.assert_allclose(rows["gt_reward"].to_numpy(), own, rtol=1e-6, atol=1e-9)
        totals[rows["tier"].iloc[0]] = own.sum()
    assert totals["expert"] > 300 and totals["expert"] > 20 * totals["random"]

    monkeypatch.setenv("EVALKIT_DATASETS", str(tmp_path))
    result = cli(
        "epic", "--task", TASK, "--reward", "ground-truth",
        "--metrics", "epic,erc", "--bootstrap", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ground-truth" in result.output and "Traceback" not in result.output
    assert f"on dataset {ds.name}" in result.output and ds.name == f"metaworld-{TASK}"
