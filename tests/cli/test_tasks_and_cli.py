"""The task registry (paper Tables 2 and 3) and the informational CLI commands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import EvalkitError
from evalkit.tasks import TASKS, get_family, get_task, load_tasks_file, tasks_for_family

# Table 3 of the paper, copied independently from DIGEST.md.
PAPER_PROMPTS = {
    "cartpole": ("pole vertically upright on top of the cart", "pole and cart"),
    "mountaincar": (
        "a car at the peak of the mountain, next to the yellow flag",
        "a car in the mountain",
    ),
    "kneeling": ("a humanoid robot kneeling", "a humanoid robot"),
    "lotus": ("a humanoid robot seated down, meditating in the lotus position", "a humanoid robot"),
    "standing": ("a humanoid robot standing up", "a humanoid robot"),
    "arms_raised": ("a humanoid robot standing up, with both arms raised", "a humanoid robot"),
    "splits": ("a humanoid robot practicing gymnastics, doing the side splits", "a humanoid robot"),
    "hands_on_hips": ("a humanoid robot standing up with hands on hips", "a humanoid robot"),
    "arms_crossed": ("a humanoid robot standing up, with its arms crossed", "a humanoid robot"),
    "one_leg": ("a humanoid robot standing up on one leg", "a humanoid robot"),
}


def test_builtin_tasks_match_paper_table_3():
    for name, (goal, baseline) in PAPER_PROMPTS.items():
        t = get_task(name)
        assert (t.goal_prompt, t.baseline_prompt) == (goal, baseline)
    assert {t.name for t in tasks_for_family("humanoid")} == set(PAPER_PROMPTS) - {
        "cartpole",
        "mountaincar",
    }
    for t in tasks_for_family("humanoid"):
        assert t.criterion, t.name


def test_classic_rules():
    states = pd.DataFrame(
        {"angle": [-0.3, -0.2094, 0.0, 0.2095, 0.5], "position": [-1.2, 0.0, 0.44, 0.45, 0.6]}
    )
    np.testing.assert_array_equal(
        get_task("cartpole").rule_labels(states), [False, True, True, False, False]
    )
    np.testing.assert_array_equal(
        get_task("mountaincar").rule_labels(states), [False, False, False, True, True]
    )
    off_track = states.assign(
        cart_position=[0.0, 2.4, -2.41, 0.0, 3.0]
    )  # the ground truth's track limit too
    np.testing.assert_array_equal(
        get_task("cartpole").rule_labels(off_track), [False, True, False, False, False]
    )


def test_cartpole_rule_labels_agree_with_the_ground_truth_reward():
    from evalkit.envs.classic import CartPoleEnv

    rng = np.random.default_rng(0)
    states = pd.DataFrame(
        {
            "cart_position": rng.uniform(-3.5, 3.5, 400),
            "cart_velocity": 0.0,
            "angle": rng.uniform(-0.5, 0.5, 400),
            "angular_velocity": 0.0,
        }
    )
    env = CartPoleEnv()
    env.reset(seed=0)
    truth = []
    for row in states.itertuples(index=False):
        env.set_state(row._asdict())
        truth.append(env.is_upright())  # what the +1/-1 reward is computed from
    np.testing.assert_array_equal(get_task("cartpole").rule_labels(states), truth)
    assert 0.1 < np.mean(truth) < 0.9


def test_unknown_names_suggest_the_closest():
    with pytest.raises(EvalkitError, match="Did you mean 'kneeling'"):
        get_task("kneling")
    with pytest.raises(
        EvalkitError, match="Valid environment families: cartpole, mountaincar, humanoid"
    ):
        get_family("acrobot")


def test_tasks_file_adds_tasks_with_inherited_rule(tmp_path):
    f = tmp_path / "tasks.toml"
    f.write_text(
        '[[task]]\nname = "cart_tight"\nfamily = "cartpole"\ngoal = "a perfectly upright pole"\n'
        'baseline = "pole and cart"\nrule_params = { max_angle = 0.01 }\n'
    )
    try:
        (task,) = load_tasks_file(f)
        assert get_task("cart_tight") is task
        states = pd.DataFrame({"angle": [0.0, 0.02]})
        np.testing.assert_array_equal(task.rule_labels(states), [True, False])
    finally:
        TASKS.pop("cart_tight", None)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[task]]\nname = "x"\nfamily = "cartpole"\n', "lacks goal, baseline"),
        (
            '[[task]]\nname = "x"\nfamily = "boat"\ngoal = "g"\nbaseline = "b"\n',
            "Unknown environment family 'boat'",
        ),
        (
            '[[task]]\nname = "kneeling"\nfamily = "humanoid"\ngoal = "g"\nbaseline = "b"\n',
            "already exists",
        ),
        ("not = [toml", "not valid TOML"),
        ("x = 1\n", "no \\[\\[task\\]\\] tables"),
    ],
)
def test_bad_tasks_files(tmp_path, text, message):
    f = tmp_path / "t.toml"
    f.write_text(text)
    with pytest.raises(EvalkitError, match=message):
        load_tasks_file(f)


def test_cli_tasks_lists_every_task(cli):
    result = cli("tasks")
    assert result.exit_code == 0
    for name in PAPER_PROMPTS:
        assert name in result.output
    assert "evalkit/Humanoid-v0" in result.output


def test_cli_datasets_empty_and_unknown_command(cli, datasets_root):
    result = cli("datasets")
    assert result.exit_code == 0 and "No datasets" in result.output
    assert cli("no-such-command").exit_code == 2


def test_cli_user_error_exits_2_with_one_sentence(cli, datasets_root):
    result = cli("delete", "ghost", "--yes")
    assert result.exit_code == 2
    assert "No dataset called 'ghost'" in result.output
    assert "Traceback" not in result.output
