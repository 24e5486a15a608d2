"""State sweeps: datasets of rendered states spread uniformly over a family's state axis.

The paper measures CLIP rewards "under the uniform distribution over states" for CartPole and
MountainCar (Appendix A) and plots them against the pole angle and the car position (Fig. 2).
A sweep puts the environment into ``n`` states along one axis, renders each and stores frames,
states and rule labels (:class:`evalkit.data.store.DatasetWriter` labels every task of the
family on publish)::

    from evalkit.data.sweeps import collect_sweep
    result = collect_sweep("cartpole", n=1000, size=224)
    result.dataset.labels("cartpole")      # |angle| <= 12°

Which states a family's sweep visits is its :class:`~evalkit.envs.family.SweepSpec`
(``Family.sweep``); the built-in ones:

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
``seed`` (then sorted, so frame order still follows the axis). ``spacing="box"`` draws *every*
state variable independently and uniformly over the family's state box
(:attr:`~evalkit.envs.family.SweepSpec.box`; sorted by the axis), so the dataset covers the
states a learning agent visits, not only the axis:

============  ===========================================================================
family        box (uniform, every column)
============  ===========================================================================
cartpole      ``cart_position`` in [-1.6, 1.6] (the cart in the frame), ``cart_velocity``
              in [-2, 2], ``angle`` in [-π, π] (the pole all the way round),
              ``angular_velocity`` in [-4, 4]
mountaincar   ``position`` in [-1.2, 0.6], ``velocity`` in [-0.07, 0.07]
============  ===========================================================================

A box dataset's default name is the sweep's with ``-box`` appended (``cartpole-sweep-box``).
Each frame is its own episode (``episode = frame index``, ``step = 0``): the states are
independent draws, so episode-grouped folds and a bootstrap over episodes resample single
frames, which is right for independent states.

Re-running with the same arguments returns the existing dataset without rendering anything;
other arguments under an existing name are refused unless ``overwrite``.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np
import pandas as pd

from evalkit.data.store import (
    CollectResult,
    DatasetWriter,
    check_dataset_size,
    check_root,
    collect_into,
    resolve_root,
)
from evalkit.envs.family import (  # noqa: F401 - SPACINGS and sweep_values re-exported
    BOX,
    SPACINGS,
    Family,
    Spacing,
    all_families,
    sweep_values,
)
from evalkit.errors import EvalkitError
from evalkit.tasks import get_family

GENERATOR = "sweep"
DEFAULT_N = 1000
"""Default number of states: 1000 frames of 224x224 render in seconds and give ~130 CartPole and
~80 MountainCar goal frames."""
DEFAULT_SIZE = 224
BOX_SUFFIX = "-box"
"""Appended to a sweep's default dataset name for ``spacing="box"`` (``cartpole-sweep-box``)."""
MAX_SIZE = 2048
"""Largest frame side accepted (a 1000-frame sweep at this size is already 12 GB)."""


def sweep_families() -> list[str]:
    """The families that have a state sweep."""
    return [f.name for f in all_families() if f.sweep is not None]


def default_name(family: str, textured: bool | None = None, **variants: bool | None) -> str:
    """The dataset name a sweep gets when none is given: the family's default dataset
    (``cartpole-sweep``, ``mountaincar-sweep-textured``) or its variant's (``mountaincar-sweep-plain``)."""
    fam = get_family(family)
    return fam.sweep_dataset_name(check_variants(fam, _variants(textured, variants)))


def _variants(textured: bool | None, variants: Mapping[str, bool | None]) -> dict[str, bool | None]:
    return {**({"textured": textured} if textured is not None else {}), **variants}


def check_variants(family: Family, given: Mapping[str, bool | None]) -> dict[str, bool | None]:
    """``given`` without the switches that ``family`` lacks and that are off (a plain CartPole is
    just CartPole); a switch turned on that the family lacks is an error naming who has it."""
    own = {v.name for v in family.variants}
    for key, value in given.items():
        if key not in own and value:
            owners = [
                f.name
                for f in all_families()
                if f.sweep is not None and key in {v.name for v in f.variants}
            ]
            raise EvalkitError(
                f"Only {' and '.join(owners) or 'no family'} has a {key} renderer, not {family.name}."
            )
    return {k: v for k, v in given.items() if k in own}


def _make_env(family: Family, size: int, variants: Mapping[str, bool], seed: int) -> Any:
    """The family's environment (unwrapped: sweeps set states directly) for ``size`` frames."""
    kwargs = {
        "render_mode": "rgb_array",
        "width": size,
        "height": size,
        **family.env_kwargs(variants, seed),
    }
    env = family.make_env(**kwargs).unwrapped
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
    variants: Mapping[str, bool | None] | None = None,
) -> CollectResult:
    """Render a uniform sweep of ``family``'s states into a dataset (see the module docstring).

    :param family: a family with a sweep (``"cartpole"``, ``"mountaincar"``, or one registered).
    :param n: number of states (frames).
    :param size: frame width and height in pixels.
    :param seed: seed of the random spacing and of MountainCar's textures.
    :param spacing: ``"grid"`` (evenly spaced, default), ``"random"`` (uniform draws of the
        axis) or ``"box"`` (uniform draws of every state variable over the family's box).
    :param textured: MountainCar only: textured scene (default) or gymnasium's line drawing
        (the same as ``variants={"textured": ...}``).
    :param name: dataset name (default: :func:`default_name`, with ``-box`` for ``"box"``).
    :param root: datasets root (default: ``$EVALKIT_DATASETS`` or ``./datasets``).
    :param overwrite: replace a dataset of that name made with other parameters.
    :param progress: show a progress bar on stderr.
    :param batch_size: frames handed to the writer at a time.
    :param variants: values of the family's render variants (default: the paper's).
    :raises EvalkitError: bad arguments, an unusable root, or the name taken by other parameters.
    """
    fam = get_family(family)
    spec = fam.require_sweep()
    if (
        isinstance(size, bool)
        or not isinstance(size, (int, np.integer))
        or not 0 < size <= MAX_SIZE
    ):
        raise EvalkitError(
            f"The image size must be a whole number of pixels from 1 to {MAX_SIZE}, not {size}."
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise EvalkitError(f"The number of states must be a positive whole number, not {n}.")
    if spacing == BOX and not spec.box:
        boxed = [f.name for f in all_families() if f.sweep is not None and f.sweep.box]
        raise EvalkitError(
            f"{fam.name} has no state box, so no 'box' spacing (families with one: "
            f"{', '.join(boxed) or 'none'}); use grid or random."
        )
    chosen = fam.resolve_variants(check_variants(fam, _variants(textured, variants or {})))
    spec = fam.sweep_for(chosen)
    if name is None:  # '' is refused, not replaced
        name = fam.sweep_dataset_name(chosen) + (BOX_SUFFIX if spacing == BOX else "")
    root_path = check_root(resolve_root(root))
    check_dataset_size(root_path, int(n), (size, size, 3))  # before the state table is built
    states = spec.states(int(n), spacing, seed)

    env = _make_env(fam, int(size), chosen, seed)
    params = {
        "n": int(n),
        "spacing": spacing,
        "seed": int(seed),
        "axis": spec.axis,
        "low": spec.low,
        "high": spec.high,
        "fixed": dict(spec.fixed),
    }
    if spacing == BOX:  # only then, so that grid and random sweeps keep their identity
        params["box"] = {k: list(v) for k, v in spec.box.items()}
    render = env.render_settings()
    try:
        return collect_into(
            root_path,
            name,
            family=fam.name,
            env_id=fam.env_id,
            generator=GENERATOR,
            params=params,
            render=render,
            n_frames=int(n),
            frame_shape=(size, size, 3),
            overwrite=overwrite,
            write=lambda writer: _render_into(writer, env, states, name, progress, batch_size),
        )
    finally:
        env.close()


def _render_into(
    writer: DatasetWriter,
    env: Any,
    states: pd.DataFrame,
    name: str,
    progress: bool,
    batch_size: int,
) -> None:
    """Set, render and hand over every state in batches; rows record the state as the env has it."""
    from evalkit.progress import progress_bar

    n = len(states)
    columns = list(env.state_columns)
    with progress_bar(n, f"collect {name}", "frame", enabled=progress, leave=False) as bar:
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            frames, rows = [], []
            records = states.iloc[start:stop].to_dict("records")  # one batch of rows at a time
            for i, record in zip(range(start, stop), records):
                env.set_state(record)
                frames.append(env.render())
                state = env.get_state()
                rows.append({"episode": i, "step": 0, **{c: state[c] for c in columns}})
            writer.add(np.stack(frames), pd.DataFrame(rows))
            bar.update(stop - start)
