"""The environment contract is checked when a family registers; a family's own tasks join the
task registry; the render-variant flags and the default task of ``landscape`` come from the
families."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from helpers_registry import registries_restored

from evalkit.envs import (
    Family,
    FamilyTask,
    StateSettable,
    SweepSpec,
    all_families,
    get_family,
    register_family,
)
from evalkit.envs.base import contract_problems
from evalkit.errors import EvalkitError
from evalkit.tasks import Task, all_tasks, get_task


class Dot(StateSettable, gym.Env):
    """The smallest evalkit environment: a dot on a line."""

    metadata = {"render_modes": ["rgb_array"]}
    state_columns = ("x",)
    action_space = gym.spaces.Discrete(2)
    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def __init__(self, render_mode: str | None = None, width: int = 8, height: int = 8) -> None:
        self.render_mode, self.width, self.height, self._x = render_mode, width, height, None

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        self._x = np.zeros(1)
        return self._x, {}

    def step(self, action: Any) -> Any:
        return self._x, 0.0, False, False, {}

    def render(self) -> np.ndarray:
        frame = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        frame[:, int(np.clip((self._x[0] + 1) / 2 * (self.width - 1), 0, self.width - 1))] = 255
        return frame

    def render_settings(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "renderer": "dot/1"}

    def _get_state_vector(self) -> np.ndarray | None:
        return self._x

    def _set_state_vector(self, vector: np.ndarray) -> None:
        self._x = vector


def right_half(states: Any, edge: float = 0.0) -> np.ndarray:
    return np.asarray(states["x"], dtype=float) > edge


def dot_family(entry_point: Any = Dot, **changes: Any) -> Family:
    fields = dict(
        name="dot",
        env_id="evalkit-test/Dot-v0",
        entry_point=entry_point,
        episode_length=10,
        default_dataset="dot-sweep",
        sweep=SweepSpec("x", -1.0, 1.0),
        axis_label="x",
        goal_value=0.5,
        rules={"right_half": right_half},
        default_rule="right_half",
    )
    return Family(**{**fields, **changes})


class NoSize(Dot):
    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(render_mode)


class NoSettings(StateSettable, gym.Env):
    state_columns = ("x",)

    def __init__(self, render_mode=None, width=8, height=8):
        pass

    step = render = Dot.render

    def _get_state_vector(self):
        return None


@pytest.mark.parametrize(
    ("entry_point", "missing"),
    [
        (NoSize, "its constructor takes no width, height keyword arguments."),
        (NoSettings, "it leaves _set_state_vector(), render_settings() unimplemented."),
        (Dot(), "is not a class"),
        (
            "evalkit.envs.base:StateSettable",
            "it is not a gymnasium.Env subclass; it has no step(), render() methods",
        ),
    ],
)
def test_an_environment_that_breaks_the_contract_is_refused_at_registration(entry_point, missing):
    with registries_restored():
        with pytest.raises(EvalkitError) as info:
            register_family(dot_family(entry_point))
        assert "dot" not in {f.name for f in all_families()}
    message = str(info.value)
    assert message.startswith("Family 'dot': ") and missing in message
    assert message.count(". ") == 0  # one sentence


def test_a_complete_environment_registers_and_its_frames_are_collected(datasets_root):
    from evalkit.data.sweeps import collect_sweep

    assert contract_problems(Dot) == []
    with registries_restored():
        register_family(dot_family())
        assert isinstance(gym.make("evalkit-test/Dot-v0").unwrapped, Dot)  # training makes it so
        result = collect_sweep("dot", 5, 8, progress=False)
        assert result.dataset.manifest.render["renderer"] == "dot/1"


def test_an_entry_point_string_is_checked_when_first_made():
    with registries_restored():
        with pytest.raises(EvalkitError, match="entry_point must be the environment class"):
            register_family(dot_family("no colon here"))
        family = register_family(dot_family("no_such_module_anywhere:Env"))  # not imported yet
        with pytest.raises(EvalkitError, match="cannot load its environment"):
            family.make_env()


def test_the_built_in_environments_meet_the_contract():
    for family in all_families():
        assert contract_problems(family.env_class()) == [], family.name


def test_a_familys_own_tasks_are_in_the_task_registry_in_family_order():
    own = [Task.of_family(f, spec) for f in all_families() for spec in f.tasks]
    assert own and all_tasks()[: len(own)] == own
    assert get_task(own[0].name) == own[0]


def test_a_family_registered_later_brings_its_tasks():
    task = FamilyTask("dot_right", "a dot on the right", "a dot", rule="right_half")
    with registries_restored():
        register_family(dot_family(tasks=(task,)))
        assert get_task("dot_right") == Task(
            "dot_right", "dot", "a dot on the right", "a dot", rule="right_half"
        )
        assert all_tasks()[-1].name == "dot_right"
        assert get_task("dot_right").rule_labels({"x": np.array([-0.5, 0.5])}).tolist() == [False, True]  # fmt: skip


def test_a_family_task_must_use_one_of_its_rules():
    with registries_restored(), pytest.raises(EvalkitError, match="names the rule 'nope'"):
        register_family(dot_family(tasks=(FamilyTask("dot_x", "a dot", "a dot", rule="nope"),)))


def test_landscape_of_a_family_without_a_task_is_one_sentence(cli, datasets_root):
    with registries_restored():
        register_family(dot_family())
        r = cli("landscape", "dot", "--model", "evalkit-tiny-vit", "--pretrained", "none")
    assert r.exit_code == 2
    assert r.output.strip().startswith("error: The family 'dot' has no task yet;")
    assert r.output.strip().count("\n") == 0


def test_landscape_takes_the_render_flags_of_every_sweep_family(cli):
    help_text = cli("landscape", "--help").output
    flags = [(f, v) for f in all_families() if f.sweep is not None for v in f.variants]
    assert flags
    for family, variant in flags:
        assert variant.on_flag in help_text and variant.off_flag in help_text
        lacking = [f.name for f in all_families() if f.sweep is not None and variant not in f.variants]  # fmt: skip
        for name in lacking:
            r = cli("landscape", name, variant.on_flag)
            assert r.exit_code == 2
            assert f"{variant.on_flag}/{variant.off_flag} only applies to {family.name}" in r.output


def test_a_plugin_familys_flag_reaches_collect_and_landscape(cli, datasets_root):
    from evalkit.envs import Variant

    class Tinted(Dot):
        def __init__(self, render_mode=None, width=8, height=8, tinted: bool = False):
            super().__init__(render_mode, width, height)
            self.tinted = tinted

        def render_settings(self) -> dict[str, Any]:
            return {**super().render_settings(), "tinted": self.tinted}

    tint = Variant("tinted", False, "--tinted", "--untinted", "Tint.", ("", "-tinted"))
    with registries_restored():
        register_family(dot_family(Tinted, variants=(tint,), sweep=SweepSpec("x", -1, 1)))
        assert "--tinted" in cli("landscape", "--help").output
        r = cli("collect", "dot", "--tinted", "--n", "3", "--size", "8")
        assert r.exit_code == 0, r.output
        assert (datasets_root / "dot-sweep-tinted").is_dir()
        assert math.isclose(get_family("dot").goal_value, 0.5)


def test_collect_takes_each_familys_own_flags(cli):
    for family in all_families():
        help_text = cli("collect", family.name, "--help").output
        for variant in family.variants:
            assert variant.on_flag in help_text and variant.off_flag in help_text
