"""Meta-World task variations per episode: a reset's seed chooses the variation (Meta-World itself
freezes it at ``set_task``), the variation is part of the state, collection keeps its numbering."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("metaworld") is None,
    reason="Meta-World is not installed (pip install -e '.[metaworld]')",
)

TASK = "drawer-close"


def _positions(env) -> tuple[np.ndarray, np.ndarray]:
    """The drawer's body position and the goal site's position in the MuJoCo model (where a
    variation puts them; neither is a joint)."""
    return env.model.body("drawer").pos.copy(), env.model.site("goal").pos.copy()


def test_two_seeds_give_different_positions_and_the_same_seed_the_same():
    from evalkit.envs.metaworld_env import MetaWorldEnv, variation_task

    env = MetaWorldEnv(task=TASK)
    try:
        seen = {}
        for seed in (0, 1, 0, 51):
            obs, _ = env.reset(seed=seed)
            seen.setdefault(seed, []).append((obs.copy(), *_positions(env)))
            assert env.get_state()["variation"] == seed
    finally:
        env.close()
    for a, b in zip(seen[0][0], seen[0][1]):
        np.testing.assert_array_equal(a, b)
    for x, y in ((0, 1), (0, 51), (1, 51)):
        assert not np.allclose(seen[x][0][1], seen[y][0][1])  # the drawer moved
        assert not np.allclose(seen[x][0][2], seen[y][0][2])  # and the goal with it
        assert not np.allclose(seen[x][0][0][36:39], seen[y][0][0][36:39])  # the observed goal
    # variation 51 is Meta-World's train task 1 of the next MT1 seed, the same task object
    # whoever asks for it
    assert variation_task(TASK, 0, 51)[1] is variation_task(TASK, 1, 1)[1]


def test_unseeded_resets_draw_variations_from_the_generator_seeded_once():
    from evalkit.envs.metaworld_env import VARIATIONS_PER_SEED, MetaWorldEnv

    runs = []
    for _ in range(2):
        env = MetaWorldEnv(task=TASK)
        try:
            env.reset(seed=7)
            drawn = []
            for _ in range(8):
                env.reset()
                drawn.append(env.variation)
            runs.append(drawn)
        finally:
            env.close()
    assert runs[0] == runs[1]
    assert len(set(runs[0])) >= 3 and all(0 <= v < VARIATIONS_PER_SEED for v in runs[0])


def test_a_pinned_variation_ignores_the_seed():
    from evalkit.envs.metaworld_env import MetaWorldEnv

    env = MetaWorldEnv(task=TASK, variation=4)
    try:
        first = env.reset(seed=0)[0]
        again = env.reset(seed=1)[0]
        unseeded = env.reset()[0]
    finally:
        env.close()
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, unseeded)


def test_stored_states_of_two_variations_re_render_the_same_frames():
    from evalkit.envs.metaworld_env import MetaWorldEnv

    env = MetaWorldEnv(render_mode="rgb_array", width=48, height=48, task=TASK)
    rng = np.random.default_rng(0)
    states, frames = [], []
    try:
        for seed in (2, 3):
            env.reset(seed=seed)
            for _ in range(4):
                env.step(rng.uniform(-1, 1, 4))
                states.append(env.get_state())
                frames.append(env.render())
        assert frames[0].tobytes() != frames[4].tobytes()  # the variations look different
        env.reset(seed=9)  # a third variation, then the stored states in an interleaved order
        order = [0, 4, 1, 5, 2, 6, 3, 7]
        for i in order:
            env.set_state(states[i])
            np.testing.assert_array_equal(env.render(), frames[i])
        env.set_state(list(states[2].values()))  # all values in column order works too
        np.testing.assert_array_equal(env.render(), frames[2])
        with pytest.raises(ValueError, match="whole number"):
            env.set_state({"variation": 1.5})
    finally:
        env.close()


class _Constant:
    """A deterministic policy: the same action whatever it sees."""

    def predict(self, obs, deterministic=True):
        return np.array([0.3, -0.2, 0.1, 0.0], dtype=np.float32), None


@pytest.mark.slow
def test_evaluation_episodes_of_a_fixed_policy_see_several_variations():
    from evalkit.train.config import TrainConfig
    from evalkit.train.evaluate import roll_out

    config = TrainConfig(task=TASK, reward="ground-truth", render_size=16).resolved()
    rollouts = roll_out(_Constant(), config, episodes=3, seed=10_000)
    states = rollouts.states
    per_episode = states.groupby("episode")["variation"].agg(["min", "max"])
    assert (per_episode["min"] == per_episode["max"]).all()  # one variation per episode
    assert per_episode["min"].nunique() >= 2
    first = states[states["step"] == 0].set_index("episode")
    joints = [c for c in states.columns if c.startswith("qpos_")]
    assert first[joints].drop_duplicates().shape[0] >= 2  # so the episodes differ


def test_a_collected_episode_replays_from_its_seed_with_the_stored_labels(tmp_path):
    """Episode ``k`` of a tier was collected in variation ``k``: an environment reset with seed
    ``k`` replays its stored actions to the stored success flags and states."""
    from evalkit.data.metaworld_rollouts import collect_metaworld
    from evalkit.envs.metaworld_env import MetaWorldEnv

    ds = collect_metaworld(
        TASK, episodes=2, epsilons=(), steps=80, size=16, root=str(tmp_path), progress=False
    ).dataset
    states, labels = ds.states, ds.labels(TASK)
    assert labels.any()
    env = MetaWorldEnv(task=TASK)
    try:
        for episode in (0, 1):  # the expert's two variations
            rows = states[states["episode"] == episode]
            env.reset(seed=int(rows["variation"].iloc[0]))
            flags, qpos = [], []
            for _, row in rows.iterrows():
                action = row[[f"action_{i}" for i in range(4)]].to_numpy(dtype=float)
                flags.append(env.step(action)[4]["success"] > 0.5)
                qpos.append(env.get_state()["qpos_0"])
            np.testing.assert_array_equal(labels[rows.index.to_numpy()], flags)
            np.testing.assert_allclose(rows["qpos_0"].to_numpy(), qpos)
    finally:
        env.close()
