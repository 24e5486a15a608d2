"""State sweeps: datasets of rendered states spread uniformly over a family's state axis.

The paper measures CLIP rewards "under the uniform distribution over states" for CartPole and
MountainCar (Appendix A) and plots them against the pole angle and the car position (Fig. 2).
A sweep puts the environment into ``n`` states along one axis, renders each and stores frames,
states and rule labels (:class:`evalkit.data.store.DatasetWriter` labels every task of the
family on publish)::

    from evalkit.data.sweeps import collect_sweep
    result = collect_sweep("cartpole", n=1000, size=224)
    result.dataset.labels("cartpole")      # |angle| <= 12°

============  =======================  ======================================================
family        swept (uniform)          held fixed
============  =======================  ======================================================
cartpole      ``angle`` in [-π/2, π/2]  ``cart_position = cart_velocity = angular_velocity = 0``
                                       (the cart centred and at rest)
mountaincar   ``position`` in           ``velocity = 0``
              [-1.2, 0.6] (the track)
============  =======================  ======================================================

``spacing="grid"`` (default) takes ``n`` evenly spaced values including both ends
(``numpy.linspace``); ``spacing="random"`` draws ``n`` values independently and uniformly with
``seed`` (then sorted, so frame order still follows the axis). Each frame is its own episode
(``episode = frame index``, ``step = 0``): the states are independent, so a bootstrap over
episodes resamples single frames.

Re-running with the same arguments returns the existing dataset without rendering anything;
other arguments under an existing name are refused unless ``overwrite``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.data.store import Dataset, DatasetWriter, check_root, existing_matching, resolve_root
from evalkit.errors import EvalkitError
from evalkit.tasks import get_family, tasks_for_family

GENERATOR = "sweep"
DEFAULT_N = 1000
"""Default number of states: 1000 frames of 224x224 render in seconds and give ~130 CartPole and
~80 MountainCar goal frames."""
DEFAULT_SIZE = 224
MAX_SIZE = 2048
"""Largest frame side accepted (a 1000-frame sweep at this size is already 12 GB)."""

Spacing = Literal["grid", "random"]
SPACINGS: tuple[str, ...] = ("grid", "random")


@dataclass(frozen=True)
class SweepSpec:
    """Which states a family's sweep visits.

    :param family: environment family name.
    :param axis: the state column swept.
    :param low: smallest value of ``axis``.
    :param high: largest value of ``axis``.
    :param fixed: values of the other state columns.
    """

    family: str
    axis: str
    low: float
    high: float
    fixed: dict[str, float] = field(default_factory=dict)

    def states(self, n: int, spacing: Spacing = "grid", seed: int = 0) -> pd.DataFrame:
        """``n`` states, one row each, columns ``axis`` and the fixed ones."""
        values = sweep_values(n, self.low, self.high, spacing, seed)
        table = pd.DataFrame({self.axis: values})
        for name, value in self.fixed.items():
            table[name] = float(value)
        return table


SWEEPS: dict[str, SweepSpec] = {
    "cartpole": SweepSpec("cartpole", "angle", -math.pi / 2, math.pi / 2,
                          {"cart_position": 0.0, "cart_velocity": 0.0, "angular_velocity": 0.0}),
    "mountaincar": SweepSpec("mountaincar", "position", -1.2, 0.6, {"velocity": 0.0}),
}
"""The sweep of every classic family (the humanoid has no single state axis)."""


def sweep_values(n: int, low: float, high: float, spacing: Spacing = "grid", seed: int = 0) -> np.ndarray:
    """``n`` values covering ``[low, high]`` uniformly: evenly spaced including both ends
    (``"grid"``) or independent uniform draws with ``seed``, sorted (``"random"``)."""
    if n <= 0:
        raise EvalkitError(f"The number of states must be positive, not {n}.")
    if spacing == "grid":
        return np.linspace(low, high, n)
    if spacing == "random":
        return np.sort(np.random.default_rng(seed).uniform(low, high, n))
    raise EvalkitError(f"Unknown spacing {spacing!r}; use one of: {', '.join(SPACINGS)}.")


def default_name(family: str, textured: bool | None = None) -> str:
    """The dataset name a sweep gets when none is given: the family's default dataset
    (``cartpole-sweep``, ``mountaincar-sweep-textured``) or ``mountaincar-sweep-plain``."""
    fam = get_family(family)
    if family == "mountaincar" and textured is False:
        return "mountaincar-sweep-plain"
    return fam.default_dataset


@dataclass(frozen=True)
class SweepResult:
    """What :func:`collect_sweep` did.

    :param dataset: the dataset (new, or the existing one with the same parameters).
    :param created: whether it was rendered now (``False``: it existed already).
    :param seconds: wall time of rendering and writing (0 when nothing was done).
    :param goal_counts: number of goal frames per task of the family (rule labels).
    """

    dataset: Dataset
    created: bool
    seconds: float
    goal_counts: dict[str, int]

    @property
    def frames_per_second(self) -> float:
        """Collection throughput (frames rendered and written per second); ``nan`` if none were."""
        return len(self.dataset) / self.seconds if self.created and self.seconds > 0 else float("nan")


def _make_env(family: str, size: int, textured: bool, seed: int) -> Any:
    """The family's environment (unwrapped: sweeps set states directly) for ``size`` frames."""
    import gymnasium as gym

    import evalkit.envs  # noqa: F401  (registers the ids)

    kwargs: dict[str, Any] = {"render_mode": "rgb_array", "width": size, "height": size}
    if family == "mountaincar":
        kwargs.update(textured=textured, texture_seed=seed)
    env = gym.make(get_family(family).env_id, **kwargs).unwrapped
    env.reset(seed=seed)
    return env


def collect_sweep(
    family: str,
    n: int = DEFAULT_N,
    size: int = DEFAULT_SIZE,
    *,
    seed: int = 0,
    spacing: Spacing = "grid",
    textured: bool | None = None,
    name: str | None = None,
    root: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    batch_size: int = 64,
) -> SweepResult:
    """Render a uniform sweep of ``family``'s states into a dataset (see the module docstring).

    :param family: ``"cartpole"`` or ``"mountaincar"``.
    :param n: number of states (frames).
    :param size: frame width and height in pixels.
    :param seed: seed of the random spacing and of MountainCar's textures.
    :param spacing: ``"grid"`` (evenly spaced, default) or ``"random"`` (uniform draws).
    :param textured: MountainCar only: textured scene (default) or gymnasium's line drawing.
    :param name: dataset name (default: :func:`default_name`).
    :param root: datasets root (default: ``$EVALKIT_DATASETS`` or ``./datasets``).
    :param overwrite: replace a dataset of that name made with other parameters.
    :param progress: show a progress bar on stderr.
    :param batch_size: frames handed to the writer at a time.
    :raises EvalkitError: bad arguments, an unusable root, or the name taken by other parameters.
    """
    if family not in SWEEPS:
        get_family(family)  # unknown names get the registry's error with suggestions
        raise EvalkitError(f"Family {family!r} has no state sweep; sweeps exist for: {', '.join(SWEEPS)}.")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 0 < size <= MAX_SIZE:
        raise EvalkitError(f"The image size must be a whole number of pixels from 1 to {MAX_SIZE}, not {size}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise EvalkitError(f"The number of states must be a positive whole number, not {n}.")
    if family == "mountaincar":
        textured = True if textured is None else bool(textured)
    elif textured:
        raise EvalkitError(f"Only mountaincar has a textured renderer, not {family}.")
    spec = SWEEPS[family]
    states = spec.states(int(n), spacing, seed)
    name = name or default_name(family, textured)
    root_path = check_root(resolve_root(root))

    env = _make_env(family, int(size), bool(textured), seed)
    params = {"n": int(n), "spacing": spacing, "seed": int(seed), "axis": spec.axis,
              "low": spec.low, "high": spec.high, "fixed": dict(spec.fixed)}
    render = env.render_settings()
    fam = get_family(family)
    identity = {"family": family, "env_id": fam.env_id, "generator": GENERATOR, "params": params, "render": render}

    existing = existing_matching(root_path, name, identity, overwrite=overwrite)
    if existing is not None:
        env.close()
        return SweepResult(existing, created=False, seconds=0.0, goal_counts=_goal_counts(existing))

    start = time.perf_counter()
    try:
        with DatasetWriter(root_path, name, family=family, env_id=fam.env_id, generator=GENERATOR,
                           params=params, render=render, n_frames=int(n), frame_shape=(size, size, 3),
                           overwrite=overwrite) as writer:
            _render_into(writer, env, states, name, progress, batch_size)
    finally:
        env.close()
    assert writer.dataset is not None
    return SweepResult(writer.dataset, created=True, seconds=time.perf_counter() - start,
                       goal_counts=_goal_counts(writer.dataset))


def _render_into(writer: DatasetWriter, env: Any, states: pd.DataFrame, name: str, progress: bool,
                 batch_size: int) -> None:
    """Set, render and hand over every state in batches; rows record the state as the env has it."""
    from tqdm.auto import tqdm

    n = len(states)
    columns = list(env.state_columns)
    records = states.to_dict("records")
    with tqdm(total=n, desc=f"collect {name}", unit="frame", disable=not progress, leave=False) as bar:
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            frames, rows = [], []
            for i in range(start, stop):
                env.set_state(records[i])
                frames.append(env.render())
                state = env.get_state()
                rows.append({"episode": i, "step": 0, **{c: state[c] for c in columns}})
            writer.add(np.stack(frames), pd.DataFrame(rows))
            bar.update(stop - start)


def _goal_counts(dataset: Dataset) -> dict[str, int]:
    return {t.name: int(dataset.labels(t.name).sum()) for t in tasks_for_family(dataset.family) if t.rule is not None}


def collect_cartpole(n: int = DEFAULT_N, size: int = DEFAULT_SIZE, **kwargs: Any) -> SweepResult:
    """:func:`collect_sweep` for CartPole (pole angle in [-π/2, π/2], cart centred at rest)."""
    return collect_sweep("cartpole", n, size, **kwargs)


def collect_mountaincar(n: int = DEFAULT_N, size: int = DEFAULT_SIZE, textured: bool = True, **kwargs: Any) -> SweepResult:
    """:func:`collect_sweep` for MountainCar (car position in [-1.2, 0.6], at rest)."""
    return collect_sweep("mountaincar", n, size, textured=textured, **kwargs)

