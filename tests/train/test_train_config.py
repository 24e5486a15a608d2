"""The paper's hyperparameters and TrainConfig: defaults, files, flags, resume checks, bad input."""

from __future__ import annotations

import json

import pytest

from evalkit.errors import EvalkitError
from evalkit.train.config import TrainConfig, read_run_config, write_run_config
from evalkit.train.runner import prepare_run


def test_defaults_are_the_papers_appendix_c():
    cart = TrainConfig(task="cartpole", model="ViT-B-32").resolved()
    assert (cart.algo, cart.steps, cart.checkpoint_every) == ("dqn", 3_000_000, 64_000)
    assert cart.algo_kwargs == {
        "learning_starts": 75_000,
        "train_freq": 200,
        "gradient_steps": 200,
        "learning_rate": 2.3e-3,
        "policy_kwargs": {"net_arch": [256, 256]},
    }
    car = TrainConfig(task="mountaincar", model="ViT-B-32").resolved()
    assert (car.algo, car.steps, car.env_kwargs) == ("sac", 3_000_000, {"textured": True})
    assert car.algo_kwargs == {
        "learning_rate": 1e-4,
        "tau": 0.01,
        "gamma": 0.9999,
        "ent_coef": 0.1,
        "policy_kwargs": {"net_arch": [64, 64]},
    }
    kneel = TrainConfig(task="kneeling", model="ViT-bigG-14").resolved()
    assert (kneel.algo, kneel.steps, kneel.checkpoint_every, kneel.reward_batch_size) == (
        "sac",
        10_000_000,
        128_000,
        3200,
    )
    assert kneel.algo_kwargs == {
        "learning_starts": 50_000,
        "train_freq": 100,
        "gradient_steps": 100,
        "learning_rate": 6e-4,
        "tau": 0.005,
        "gamma": 0.95,
    }
    assert kneel.env_id == "evalkit/Humanoid-v0" and kneel.labelling == "batch"
    assert TrainConfig(task="cartpole", model="m", algo="ppo").resolved().labelling == "step"


def test_wrong_algorithm_for_the_action_space_suggests_the_right_one():
    with pytest.raises(EvalkitError, match="SAC needs continuous actions.*use --algo dqn"):
        TrainConfig(task="cartpole", model="m", algo="sac").resolved()
    with pytest.raises(EvalkitError, match="DQN needs discrete.*--algo sac"):
        TrainConfig(task="kneeling", model="m", algo="dqn").resolved()
    with pytest.raises(EvalkitError, match="Unknown algorithm 'a2c'"):
        TrainConfig(task="cartpole", model="m", algo="a2c").resolved()
    for labelling in ("rollout", "batch"):
        with pytest.raises(
            EvalkitError, match=f"'{labelling}' writes rewards into a replay buffer, which PPO"
        ):
            TrainConfig(
                task="cartpole", model="m", algo="ppo", reward_labelling=labelling
            ).resolved()


@pytest.mark.parametrize(
    "algo_kwargs,message",
    [
        ({"optimize_memory_usage": True}, "does not support optimize_memory_usage"),
        ({"n_steps": 3}, "n-step returns"),
        ({"replay_buffer_class": "x"}, "brings its own replay buffer class"),
        (
            {"buffer_size": 800},
            r"A replay buffer of 100 steps \(8 environments each\) cannot hold the 401 steps",
        ),
        ({"buffer_size": 800, "train_freq": [2, "episode"]}, "cannot hold the 800 steps"),
    ],
)
def test_deferred_labelling_refuses_buffers_it_cannot_fill(algo_kwargs, message):
    config = TrainConfig(
        task="mountaincar", model="m", n_envs=8, algo_kwargs=algo_kwargs, reward_worker=False
    )
    with pytest.raises(EvalkitError, match=message):
        config.resolved()
    TrainConfig(
        task="mountaincar", model="m", n_envs=8, algo_kwargs=algo_kwargs, reward_labelling="step"
    ).resolved()


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("n_envs", 0, "--envs must be a positive whole number"),
        ("steps", -5, "--steps must be"),
        ("alpha", 1.5, "--alpha must lie in"),
        ("reward", "sparse", "--reward must be one of"),
        ("model", None, "needs a model"),
    ],
)
def test_bad_values_are_refused(field, value, message):
    with pytest.raises(EvalkitError, match=message):
        TrainConfig(**{"task": "cartpole", "model": "m", field: value}).resolved()


def test_file_then_flags(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text(
        'task = "cartpole"\nmodel = "ViT-B-32"\nalpha = 0.5\nenvs = 4\n'
        '[algo_kwargs]\nlearning_starts = 10\ntrain_freq = [4, "step"]\n'
    )
    c = TrainConfig.from_sources({"alpha": 0.25, "seed": None}, toml).resolved()
    assert (c.alpha, c.n_envs, c.seed) == (0.25, 4, 0)
    assert c.algo_kwargs["learning_starts"] == 10 and c.algo_kwargs["train_freq"] == (4, "step")
    assert c.algo_kwargs["learning_rate"] == 2.3e-3  # the paper's, not overridden
    yaml = tmp_path / "run.yaml"
    yaml.write_text("task: mountaincar\nmodel: RN50\nreward-batch-size: 128\n")
    assert TrainConfig.from_sources({}, yaml).resolved().reward_batch_size == 128
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "cartpole"\nlearning_rate = 0.1\n')
    with pytest.raises(
        EvalkitError, match=r"Unknown setting\(s\) learning_rate in .*bad.toml.*algo_kwargs"
    ):
        TrainConfig.from_sources({}, bad)
    with pytest.raises(EvalkitError, match="does not exist"):
        TrainConfig.from_sources({}, tmp_path / "missing.toml")


def test_run_config_round_trip_and_resume_checks(tmp_path):
    config = TrainConfig(
        task="cartpole",
        model="evalkit-tiny-vit",
        pretrained="none",
        algo_kwargs={"train_freq": [8, "step"]},
    ).resolved()
    write_run_config(tmp_path, config)
    doc = json.loads((tmp_path / "config.json").read_text())
    assert (
        doc["seed"] == 0
        and doc["reward_is_random"] is True
        and "stable_baselines3" in doc["versions"]
    )
    assert read_run_config(tmp_path) == config
    # a resume may extend the run; it may not change what is learnt
    resumed, _ = prepare_run(TrainConfig(task="", steps=5_000_000), tmp_path, resume=True)
    assert resumed.steps == 5_000_000 and resumed.algo_kwargs == config.algo_kwargs
    with pytest.raises(EvalkitError, match="another configuration.*task = 'kneeling'"):
        prepare_run(TrainConfig(task="kneeling"), tmp_path, resume=True)
    with pytest.raises(EvalkitError, match="alpha = 0.5"):
        prepare_run(TrainConfig(task="cartpole", alpha=0.5), tmp_path, resume=True)
    # a fresh run never overwrites, and a resume needs a run
    with pytest.raises(EvalkitError, match="already exists; pass --resume"):
        prepare_run(config, tmp_path, resume=False)
    with pytest.raises(EvalkitError, match="no run to resume"):
        prepare_run(config, tmp_path / "nothing", resume=True)


def test_building_a_model_leaves_the_configs_algorithm_arguments_as_they_were():
    """stable-baselines3's SAC writes ``use_sde`` into the ``policy_kwargs`` it is given: the run's
    config (written to config.json and compared on resume) must not change with it."""
    from stable_baselines3.common.env_util import make_vec_env

    from evalkit.train.env_factory import build_model

    kwargs = {"learning_starts": 10, "buffer_size": 100, "policy_kwargs": {"net_arch": [8]}}
    config = TrainConfig(task="mountaincar", algo="sac", device="cpu", algo_kwargs=kwargs)
    before = json.dumps(config.algo_kwargs, sort_keys=True)
    env = make_vec_env("MountainCarContinuous-v0", n_envs=1)
    try:
        model = build_model(config, env, None)
    finally:
        env.close()
    assert "use_sde" in model.policy_kwargs  # what SAC writes, into its own copy
    assert json.dumps(config.algo_kwargs, sort_keys=True) == before
