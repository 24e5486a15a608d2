"""Reward sources: one or more rewards for every frame of a dataset, and where they came from.

A :class:`RewardSource` is what :func:`evalkit.pipeline.evaluate_rewards` measures: CLIP
rewards for a list of α (:func:`clip_reward_source`, from :func:`evalkit.pipeline.task_rewards`
and Definition 1 in :mod:`evalkit.rewards`), a Python function of the state table and frames
(:func:`function_reward_source`), or a column of numbers from a file
(:func:`column_reward_source`). Example::

    from evalkit.data.store import open_dataset
    from evalkit.pipeline import evaluate_rewards, function_reward_source

    ds = open_dataset("cartpole-sweep")
    source = function_reward_source(ds, "my_rewards:upright")   # def upright(states, frames): ...
    run = evaluate_rewards(ds, "cartpole", source)
    print(run.results[0])
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from evalkit.data.store import Dataset
from evalkit.errors import DegenerateError, EvalkitError
from evalkit.fileio import digest, file_digest
from evalkit.pipeline.reward_kinds import ColumnReward, FunctionReward, TextPromptReward
from evalkit.pipeline.rewards import task_rewards
from evalkit.rewards import DEFAULT_ALPHAS

if TYPE_CHECKING:
    from evalkit.pipeline.reward_kinds import RewardKind
    from evalkit.vlm import ModelSpec


@dataclass(frozen=True)
class RewardSource:
    """Rewards for every frame of one dataset and their provenance.

    :ivar reward: the reward (a :class:`~evalkit.pipeline.reward_kinds.RewardKind`): CLIP with
        the task's prompts, a frame prototype, a head, a function, a column...
    :ivar values: ``(n_frames, k)`` rewards, one column per α (or a single column).
    :ivar alphas: α of each column (``None`` for rewards that are not CLIP rewards).
    :ivar model: model name (models' rewards only).
    :ivar pretrained: weights tag or path (``"none"`` for random weights).
    :ivar model_identity: the reward engine's full identity of the model and weights.
    :ivar random_weights: the model has random weights: its numbers mean nothing.
    :ivar identity: content hash of what made the rewards (the model's identity and the prompts;
        the function's code; the column file), saved with results so that a saved row whose
        reward changed is not shown as current.
    """

    reward: "RewardKind"
    values: np.ndarray = field(repr=False)
    alphas: tuple[float | None, ...]
    model: str = ""
    pretrained: str = ""
    model_identity: str = ""
    random_weights: bool = False
    identity: str = ""

    @property
    def kind(self) -> str:
        """The reward kind's name (``clip``, ``prototype``, ``head``, ``function``, ``column``...)."""
        return self.reward.name

    @property
    def source(self) -> str:
        """The reward's canonical string, saved with results (``clip``, ``head:PATH``, ...)."""
        return self.reward.canonical

    def column_names(self) -> list[str]:
        """A name per column: ``alpha=0.5`` for CLIP rewards, else the function or file."""
        return [self.source.split(":", 1)[-1] if a is None else f"alpha={a:g}" for a in self.alphas]

    def describe(self) -> str:
        """One line for people: which reward (model and weights, or function, or file)."""
        return self.reward.describe(self)


def check_values(values: Any, n: int, what: str) -> np.ndarray:
    """``values`` as one float per frame of ``n``; a one-sentence error naming ``what`` otherwise."""
    v = np.asarray(values.to_numpy() if isinstance(values, (pd.Series, pd.DataFrame)) else values)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise DegenerateError(
            f"{what} gave an array of shape {v.shape}; it must give one number per frame ({n})."
        )
    if len(v) != n:
        raise DegenerateError(
            f"{what} gave {len(v)} rewards but the dataset has {n} frames; give one reward per frame, in frame order."
        )
    if v.dtype == object or not (np.issubdtype(v.dtype, np.number) or v.dtype == bool):
        raise DegenerateError(f"{what} gave {v.dtype} values; rewards must be numbers.")
    return v.astype(float)


# -- reward sources ----------------------------------------------------------------------------


def _import_function(spec: str) -> Callable[..., Any]:
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise EvalkitError(
            f"--reward takes MODULE:FUNCTION (or path/to/file.py:FUNCTION), not {spec!r}."
        )
    if module_name.endswith(".py") or os.sep in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise EvalkitError(f"The reward file {path} does not exist.")
        mod_spec = importlib.util.spec_from_file_location(f"_evalkit_reward_{path.stem}", path)
        assert mod_spec is not None and mod_spec.loader is not None
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
    else:
        cwd = os.getcwd()
        added = cwd not in sys.path
        if added:
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise EvalkitError(
                    f"Cannot import the reward module {module_name!r} (no module named {exc.name!r}); "
                    "run from the folder that holds it, put it on PYTHONPATH, or pass path/to/file.py:FUNCTION."
                ) from None
            raise
        finally:
            if added:
                sys.path.remove(cwd)
    fn = getattr(module, attr, None)
    if fn is None:
        raise EvalkitError(f"The reward module {module_name!r} has no function {attr!r}.")
    if not callable(fn):
        raise EvalkitError(f"{spec} is not a function.")
    return fn


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def function_reward_source(dataset: Dataset, spec: str | Callable[..., Any]) -> RewardSource:
    """Rewards from a Python function of the dataset's state table (and frames).

    :param spec: ``"module:function"``, ``"path/to/file.py:function"`` or a callable. The
        function is called as ``f(states, frames)`` (or ``f(states)`` if it takes one argument):
        ``states`` is the dataset's state table (a DataFrame, one row per frame: ``frame_id``,
        ``episode``, ``step`` and physical state columns such as ``angle``), ``frames`` the
        memory-mapped ``uint8 (n, H, W, 3)`` images. It returns one number per frame.
    """
    if callable(spec):
        fn, name = (
            spec,
            f"{getattr(spec, '__module__', '?')}:{getattr(spec, '__qualname__', repr(spec))}",
        )
    else:
        fn, name = _import_function(spec), spec
    args = (dataset.states, dataset.frames) if _positional_arity(fn) >= 2 else (dataset.states,)
    try:
        values = fn(*args)
    except Exception as exc:  # the user's code: say where it failed, in one sentence
        where = traceback.extract_tb(exc.__traceback__)[-1]
        raise EvalkitError(
            f"The reward function {name} raised {type(exc).__name__}: {exc} "
            f"(at {where.filename}:{where.lineno})."
        ) from exc
    v = check_values(values, len(dataset), f"The reward function {name}")
    return RewardSource(
        reward=FunctionReward(name),
        values=v[:, None],
        alphas=(None,),
        identity=_function_identity(fn, name),
    )


def _function_identity(fn: Callable[..., Any], name: str) -> str:
    """A hash of the function's name and its module's source file (its code as it is now)."""
    try:
        path = inspect.getsourcefile(fn)
    except TypeError:  # a builtin or a C function: its name is all there is
        path = None
    return digest(name, file_digest(path) if path and os.path.isfile(path) else "")


def _read_column(path: Path, column: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Values and (if the file has them) frame ids of a column in a .npy, .csv or .parquet file."""
    if path.suffix == ".npy":
        if column:
            raise EvalkitError(f"{path} is a .npy file: pass it without a :COLUMN.")
        try:
            return np.load(path, allow_pickle=False), None
        except ValueError as exc:
            raise EvalkitError(f"Cannot read {path} as a numpy array ({exc}).") from None
    if path.suffix == ".csv":
        table = pd.read_csv(path)
    elif path.suffix == ".parquet":
        table = pd.read_parquet(path)
    else:
        raise EvalkitError(f"--reward-column reads .npy, .csv or .parquet files, not {path.name}.")
    if column is None:
        candidates = [c for c in table.columns if c != "frame_id"]
        if len(candidates) != 1:
            raise EvalkitError(
                f"{path} has columns {', '.join(map(str, table.columns))}; say which with {path}:COLUMN."
            )
        column = candidates[0]
    if column not in table.columns:
        raise EvalkitError(
            f"{path} has no column {column!r} (it has: {', '.join(map(str, table.columns))})."
        )
    ids = table["frame_id"].to_numpy() if "frame_id" in table.columns else None
    return table[column].to_numpy(), ids


def column_reward_source(dataset: Dataset, spec: str) -> RewardSource:
    """Rewards from a column of numbers: ``FILE.npy``, ``FILE.csv:COLUMN`` or ``FILE.parquet:COLUMN``.

    The column holds one reward per frame in frame order; if the table has a ``frame_id``
    column, rows are matched to frames by it instead (and must cover every frame once).
    """
    path_text, sep, column = spec.rpartition(":")
    if not sep or not path_text or Path(spec).is_file():
        path_text, column = spec, ""
    path = Path(path_text)
    if not path.is_file():
        raise EvalkitError(f"The reward column file {path} does not exist.")
    values, ids = _read_column(path, column or None)
    n = len(dataset)
    what = f"The reward column {spec}"
    if ids is not None:
        ids = np.asarray(ids)
        if len(ids) != n or not np.array_equal(np.sort(ids), np.arange(n)):
            raise DegenerateError(
                f"{what} has frame ids that do not match the dataset's {n} frames "
                f"({len(ids)} rows); give exactly one row per frame id 0..{n - 1}."
            )
        values = np.asarray(values)[np.argsort(ids, kind="stable")]
    v = check_values(values, n, what)
    return RewardSource(
        reward=ColumnReward(spec),
        values=v[:, None],
        alphas=(None,),
        identity=digest(column, file_digest(path)),
    )


def clip_reward_source(
    dataset: Dataset,
    task: str,
    model: "ModelSpec | str",
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    *,
    devices: str | None = None,
    batch_size: int | None = None,
    progress: bool = True,
) -> RewardSource:
    """CLIP rewards of every frame for the task's prompts and each α, from the reward engine.

    Embeds the dataset with the model first if its embeddings are not cached (see
    :func:`evalkit.pipeline.task_rewards`).

    :param model: a :class:`~evalkit.vlm.ModelSpec`, or an open_clip architecture (``"ARCH"``,
        ``"ARCH:TAG"``, or a model config file) with evalkit's default weights.
    :param devices: devices to embed on (default: the engine's choice, every GPU or the CPU).
    """
    # open_clip and torch: loaded only when a model is used
    from evalkit.vlm import ModelSpec
    from evalkit.vlm.models import canonical_model_name

    spec = ModelSpec.coerce(model)
    kwargs: dict[str, Any] = {"progress": progress}
    if devices is not None:
        kwargs["devices"] = devices
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    table = task_rewards(dataset, task, spec, [float(a) for a in alphas], **kwargs)
    values = np.asarray(table.values, dtype=float)
    values = values[:, None] if values.ndim == 1 else values
    table_alphas = tuple(float(a) for a in table.alphas)
    if values.shape != (len(dataset), len(table_alphas)):
        raise DegenerateError(
            f"The reward engine gave rewards of shape {values.shape} for {len(dataset)} frames and "
            f"{len(table_alphas)} alphas."
        )
    name = canonical_model_name(spec.model)  # saved as open_clip spells it, however it was typed
    return RewardSource(
        reward=TextPromptReward(name, spec.pretrained, table_alphas),
        values=values,
        alphas=table_alphas,
        model=name,
        pretrained=pretrained_name(name, spec.pretrained),
        model_identity=str(table.model),
        random_weights=bool(table.random_weights),
        identity=clip_identity(str(table.model), table.goal, table.baseline),
    )


def clip_identity(model_identity: str, goal: Sequence[str], baseline: Sequence[str] | None) -> str:
    """The identity of a CLIP reward: the model and weights, and the goal and baseline prompts."""
    return digest(model_identity, "\x1e".join(goal), "\x1e".join(baseline or ()))


def pretrained_name(model: str, pretrained: str | None) -> str:
    """The weights name saved with results (the ``pretrained`` key of the results table).

    The tag, checkpoint path or ``"none"`` as asked; when ``None``, evalkit's default tag of
    the architecture (so that asking for the default and naming it give the same rows).
    """
    if pretrained is not None:
        text = str(pretrained).strip()
        return "none" if text.lower() == "none" else text
    # open_clip and torch: only when a model is named
    from evalkit.vlm import ModelSpec, default_tag

    spec = ModelSpec.coerce(model)
    if spec.pretrained is not None:
        return pretrained_name(spec.model, spec.pretrained)
    return default_tag(spec.model.replace("/", "-")) or ""
