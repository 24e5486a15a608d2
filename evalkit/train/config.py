"""What a training run is: :class:`TrainConfig`, read from defaults, a config file and flags.

Precedence, lowest first: the paper's settings (:mod:`evalkit.train.hyperparams`), a TOML or
YAML file (``--config``), command-line flags. A file holds :class:`TrainConfig`'s field names
at the top level and stable-baselines3 constructor arguments under ``algo_kwargs``::

    # cartpole-fast.toml
    task = "cartpole"
    model = "ViT-B-32"
    alpha = 0.5
    steps = 200_000
    n_envs = 8

    [algo_kwargs]
    learning_starts = 10_000
    exploration_fraction = 0.2

The resolved config (every default filled in), the library versions and the seed are written
next to the checkpoints as ``config.json``; ``--resume`` reads it back.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_write_text
from evalkit.pipeline.prototypes import FrameSet
from evalkit.pipeline.reward_kinds import (
    RewardContext,
    RewardKind,
    check_goal_video,
    reward_kind_of,
    trainable_rewards,
)
from evalkit.tasks import get_family, get_task
from evalkit.train.hyperparams import algo_kwargs as paper_algo_kwargs
from evalkit.train.hyperparams import family_settings, get_algorithm
from evalkit.train.settings import TrainSettings
from evalkit.vlm.precision import PRECISIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILE = "config.json"
LABELLING = ("auto", "batch", "rollout", "step")
VEC_ENVS = ("dummy", "subproc")
METRICS_EVERY = 3200
"""Default environment steps between rows of a run's ``metrics.csv`` (and fidelity measurements):
one paper-sized reward batch."""

RESUMABLE = frozenset(
    {
        "steps",
        "device",
        "vec_env",
        "torch_threads",
        "reward_worker",
        "reward_threads",
        "reward_batch_size",
        "precision",
        "checkpoint_every",
        "save_replay_buffer",
        "metrics_every",
        "fidelity",
    }
)
"""Fields that ``--resume`` may change; any other difference from the saved run is refused."""


@dataclass(frozen=True)
class TrainConfig(TrainSettings):
    """Everything that decides a training run: the settings of :class:`TrainSettings` (each
    field's meaning is there), read from defaults, a config file and flags, resolved and checked.
    """

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_sources(
        cls, flags: Mapping[str, Any] | None = None, config_file: str | Path | None = None
    ) -> "TrainConfig":
        """A config from a file and flags (flags win); ``None`` flag values count as not given."""
        values = load_config_file(config_file) if config_file is not None else {}
        values.update({k: v for k, v in (flags or {}).items() if v is not None})
        if "task" not in values:
            raise EvalkitError("Say which task to train: --task cartpole (see 'evalkit tasks').")
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = "the config") -> "TrainConfig":
        known = set(cls.field_names())
        unknown = set(values) - known
        if unknown:
            raise EvalkitError(
                f"Unknown setting(s) {', '.join(sorted(unknown))} in {source}; valid settings: "
                f"{', '.join(sorted(known))} (algorithm arguments go under algo_kwargs)."
            )
        return cls(**dict(values))

    def resolved(self) -> "TrainConfig":
        """This config with every default filled in from the paper's table, validated."""
        task = get_task(self.task)  # task, family and algorithm errors come first
        get_algorithm(self.algo or family_settings(task.family).default_algo, task.family)
        reward = self.reward_kind
        _check_frame_goals(self, reward)
        reward.check_task(self.task)  # a head of another family, as epic and landscape refuse it
        own = _own_model(self, reward)
        return dataclasses.replace(
            self, reward=reward.run_text(), goal_video=None, **own
        ).resolved_with_model()  # a demonstration goal is part of the reward's text

    @property
    def reward_kind(self) -> RewardKind:
        """The reward this run trains on (:mod:`evalkit.pipeline.reward_kinds`).

        :raises EvalkitError: ``reward`` names no reward a run can train on.
        """
        context = RewardContext(
            self.model,
            self.pretrained,
            (self.alpha,),
            self.goal_frames,
            self.baseline_frames,
            self.task or None,
            self.goal_video,
        )
        kind = reward_kind_of(str(self.reward), context)
        if kind is None or not kind.trainable:
            raise EvalkitError(
                f"--reward must be one of {trainable_rewards()}, not {self.reward!r}."
            )
        check_goal_video(kind, context)
        return kind.parse(str(self.reward), context)

    def resolved_with_model(self) -> "TrainConfig":
        """:meth:`resolved` once the reward's model is known."""
        task = get_task(self.task)
        settings = family_settings(task.family)
        algo = get_algorithm(self.algo or settings.default_algo, task.family)
        if self.reward_kind.embeds and not self.model:
            raise EvalkitError(
                "The CLIP reward needs a model: pass --model (e.g. --model ViT-B-32), or train with "
                "--reward ground-truth."
            )
        _check_choice("reward_labelling", self.reward_labelling, LABELLING)
        _check_choice("vec_env", self.vec_env, VEC_ENVS)
        _check_choice("precision", self.precision, PRECISIONS)
        if self.reward_labelling in ("batch", "rollout") and not algo.off_policy:
            raise EvalkitError(
                f"reward_labelling = '{self.reward_labelling}' writes rewards into a replay buffer, which "
                f"{algo.class_name} does not have; use 'step' (rewards for all environments in one batch each step)."
            )
        merged = paper_algo_kwargs(task.family, algo.name)
        merged.update(_tuples(dict(self.algo_kwargs)))
        out = dataclasses.replace(
            self,
            algo=algo.name,
            steps=_default(self.steps, settings.steps),
            reward_batch_size=_default(self.reward_batch_size, settings.reward_batch_size),
            checkpoint_every=_default(self.checkpoint_every, settings.checkpoint_every),
            metrics_every=_default(self.metrics_every, METRICS_EVERY),
            env_id=self.env_id or task.env.env_id,
            env_kwargs={
                **task.env.task_env_kwargs(task.name),
                **(settings.env_kwargs if self.env_kwargs is None else self.env_kwargs),
            },
            algo_kwargs=merged,
        )
        for name in _POSITIVE:
            value, flag = getattr(out, name), self.flag(name)
            if (value is not None or name not in _OPTIONAL) and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise EvalkitError(f"{flag} must be a positive whole number, not {value!r}.")
        for name in ("fidelity", "reward_worker"):
            if not isinstance(getattr(out, name), bool) and (
                name == "fidelity" or getattr(out, name) is not None
            ):
                raise EvalkitError(f"{name} must be true or false, not {getattr(out, name)!r}.")
        out = dataclasses.replace(
            out, reward_labelling=out.labelling
        )  # config.json says which one ran
        if out.model_reward and out.labelling in ("batch", "rollout"):
            _check_deferred_labelling(out)
        if (
            isinstance(out.alpha, bool)
            or not isinstance(out.alpha, (int, float))
            or not 0.0 <= out.alpha <= 1.0
        ):
            raise EvalkitError(
                f"--alpha must lie in [0, 1] (Definition 1 of the paper), not {out.alpha}."
            )
        return out

    @property
    def labelling(self) -> str:
        """The reward labelling actually used (``auto`` decided)."""
        if self.reward_labelling != "auto":
            return self.reward_labelling
        return (
            "batch"
            if get_algorithm(self.algo or "", get_task(self.task).family).off_policy
            else "step"
        )

    def algo_setting(self, argument: str) -> Any:
        """A stable-baselines3 constructor argument of this (resolved) run: ``algo_kwargs``'s,
        else the library's default."""
        if argument in self.algo_kwargs:
            return self.algo_kwargs[argument]
        return get_algorithm(self.algo or "", get_task(self.task).family).sb3_default(argument)

    @property
    def train_freq_steps(self) -> int:
        """Vector steps of one rollout (``train_freq``; episodes counted at the task's episode length)."""
        freq = self.algo_setting("train_freq") or 1
        n, unit = (freq, "step") if isinstance(freq, int) else (int(freq[0]), str(freq[1]))
        return (
            n * get_family(get_task(self.task).family).episode_length
            if unit.startswith("episode")
            else n
        )

    @property
    def uses_reward_worker(self) -> bool:
        """Whether a reward worker scores the frames: model rewards, deferred labelling, and
        ``reward_worker`` (``None``: when the reward runs on a GPU, where the environments and the
        learner use the CPU meanwhile, or on a CPU with a core to spare for it — measured on an
        idle 2-core machine, a CartPole run with the e2e tower went 1.7× faster with it; and in
        both cases only where the replay buffer has room for the batch the worker scores)."""
        if not (self.model_reward and self.labelling in ("batch", "rollout")):
            return False
        if self.reward_worker is not None:
            return bool(self.reward_worker)
        if self.device == "auto":
            import torch

            on_gpu = torch.cuda.is_available()
        else:
            on_gpu = str(self.device).startswith("cuda")
        from evalkit.train.reward_worker import available_cores

        if not on_gpu and available_cores() < 2:
            return False
        _, needed, rows = _buffer_need(self, worker=True)
        return rows >= needed  # by default, never at the cost of a buffer too small for it

    @property
    def model_reward(self) -> bool:
        """Whether the reward comes from a model's embeddings of rendered frames (CLIP or a head)."""
        return self.reward_kind.embeds

    @property
    def reward_is_random(self) -> bool:
        """Whether the reward comes from a model with random weights (a smoke test only)."""
        return (
            self.model_reward and self.pretrained is not None and self.pretrained.lower() == "none"
        )

    def describe_reward(self) -> str:
        """One line for people about the reward this run trains on."""
        return self.reward_kind.describe_run(self.model, self.pretrained, self.reward_is_random)

    def default_run_name(self) -> str:
        tag = self.reward_kind.run_tag()
        return f"{self.task}-{tag}-{self.algo or 'default'}-s{self.seed}".replace("/", "_")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    # -- resuming ---------------------------------------------------------------------------

    def resume_with(self, overrides: Mapping[str, Any], run: Path) -> "TrainConfig":
        """The saved config of ``run`` (``self``) with the settings a resume may change.

        :raises EvalkitError: if ``overrides`` change anything else (another task, model, α...).
        """
        clashes = []
        for name, value in overrides.items():
            saved = getattr(self, name, None)
            if name in RESUMABLE or value is None:
                continue
            if name in ("algo_kwargs", "env_kwargs") and isinstance(value, Mapping):
                saved = dict(saved or {})
                clashes += [
                    f"{name}.{k} = {v!r} (the run has {saved.get(k)!r})"
                    for k, v in _tuples(dict(value)).items()
                    if _normal(v) != _normal(saved.get(k))
                ]
            elif name == "reward" and _same_reward(value, self):
                continue
            elif _normal(value) != _normal(saved):
                clashes.append(f"{name} = {value!r} (the run has {saved!r})")
        if clashes:
            raise EvalkitError(
                f"{run} was trained with another configuration; you asked for {'; '.join(clashes)}. "
                "Resume without those settings, or start a new run with another --out."
            )
        check_reward_unchanged(run, self)
        return dataclasses.replace(
            self, **{k: v for k, v in overrides.items() if k in RESUMABLE and v is not None}
        ).resolved()


_POSITIVE = (
    "n_envs",
    "steps",
    "render_size",
    "reward_batch_size",
    "checkpoint_every",
    "metrics_every",
    "torch_threads",
    "reward_threads",
)
"""Settings that must be positive whole numbers."""
_OPTIONAL = ("torch_threads", "reward_threads")
"""Of those, the ones that may be ``None`` (torch's or evalkit's choice)."""


def _check_frame_goals(config: TrainConfig, reward: RewardKind) -> None:
    """Frame goals need a CLIP reward (a head has its own goal) and, for a baseline, a goal."""
    if config.baseline_frames is not None and config.goal_frames is None:
        raise EvalkitError("--baseline-frames needs --goal-frames (the goal as frames too).")
    if config.goal_frames is not None and reward.frame_sets()[0] is None:
        raise EvalkitError(
            f"--goal-frames gives the CLIP reward its goal; it does not apply to --reward {config.reward}."
        )
    for frame_set in (config.goal_frames, config.baseline_frames):
        if frame_set is not None:
            FrameSet.parse_standalone(frame_set)


def _own_model(config: TrainConfig, reward: RewardKind) -> dict[str, Any]:
    """The model and weights a reward that names its own (a head) embeds with; a model given
    otherwise is an error."""
    own = reward.own_weights()
    if own is None:
        return {}
    model, pretrained = own
    if config.model is not None and config.model != model:
        raise EvalkitError(
            f"The head {config.reward} was fitted on {model}'s embeddings, not {config.model}'s; "
            "drop --model (the head names its own)."
        )
    return {"model": model, "pretrained": config.pretrained if config.pretrained else pretrained}


def _same_reward(asked: Any, saved: TrainConfig) -> bool:
    """Whether ``--reward asked`` names the run's reward (a head by another path to the same file)."""
    try:
        return dataclasses.replace(saved, reward=str(asked)).reward_kind.run_text() == saved.reward
    except EvalkitError:
        return False


REWARD_IDENTITY = "reward_identity"
"""Key of ``config.json`` that records what the reward was made of (a head's files, goal frames)."""


def check_reward_unchanged(run_dir: Path, config: TrainConfig) -> None:
    """Refuse a run whose reward changed since it was trained (a head's files rewritten, goal
    frames that are other frames now): its returns and metrics would not be its own.

    Runs saved before evalkit recorded this are not checked.
    """
    path = Path(run_dir) / CONFIG_FILE
    try:
        recorded = json.loads(path.read_text()).get(REWARD_IDENTITY)
    except (OSError, ValueError, AttributeError):
        return
    if not isinstance(recorded, dict) or not recorded:
        return
    now = config.reward_kind.run_identity(config.task)
    changed = sorted(k for k in recorded if now.get(k) != recorded[k])
    if changed:
        what = " and ".join(changed).replace("_", " ")
        raise EvalkitError(
            f"The {what} of run {run_dir} changed since it was trained ({config.reward}); its "
            "returns and metrics would not be the run's own: restore them, or train a new run."
        )


def _buffer_need(config: TrainConfig, worker: bool) -> tuple[int, int, int]:
    """Deferred labelling's replay-buffer arithmetic: the vector steps that wait for their
    rewards, the rows the buffer needs for them, and the rows it has (as SB3 divides it)."""
    waiting = config.train_freq_steps  # vector steps stored between two rollout ends
    batch_steps = max(1, int(config.reward_batch_size or 1) // config.n_envs)
    if config.labelling == "batch":  # plus the steps of a CLIP batch that is still filling
        waiting += batch_steps
    if worker:  # plus the batch the worker is scoring
        waiting += batch_steps
    rows = max(int(dict(config.algo_kwargs).get("buffer_size", 1_000_000)) // config.n_envs, 1)
    # once updates start, sampling keeps the waiting steps under half of those stored
    return waiting, waiting + 2, rows


def _check_deferred_labelling(config: TrainConfig) -> None:
    """Refuse replay-buffer settings that rewards written after the step cannot work with."""
    kwargs = dict(config.algo_kwargs)
    fix = "drop it from algo_kwargs, or use reward_labelling = 'step' (--labelling step)"
    if kwargs.get("replay_buffer_class") is not None:
        raise EvalkitError(
            f"reward_labelling = '{config.labelling}' brings its own replay buffer class; {fix}."
        )
    if kwargs.get("optimize_memory_usage"):
        raise EvalkitError(
            f"reward_labelling = '{config.labelling}' does not support optimize_memory_usage; {fix}."
        )
    if int(kwargs.get("n_steps", 1) or 1) > 1:
        raise EvalkitError(
            f"n-step returns (n_steps = {kwargs['n_steps']}) need every reward at once; {fix}."
        )
    if not isinstance(kwargs.get("train_freq", 1), int) and len(kwargs["train_freq"]) != 2:
        raise EvalkitError(
            f"train_freq must be a number of steps or [number, 'step' | 'episode'], not {kwargs['train_freq']!r}."
        )
    waiting, needed, rows = _buffer_need(config, config.uses_reward_worker)
    if rows < needed:
        raise EvalkitError(
            f"A replay buffer of {rows} steps ({config.n_envs} environments each) cannot hold the {waiting} steps that "
            f"wait for their CLIP rewards with reward_labelling = '{config.labelling}' (it needs {needed}); raise "
            "algo_kwargs.buffer_size, or lower --reward-batch-size or train_freq."
        )


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise EvalkitError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")


def _tuples(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``train_freq = [4, "step"]`` from a file becomes the tuple stable-baselines3 expects."""
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    return kwargs


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a GPU is visible, else ``cpu``; a GPU asked for that is
    not there (or a device torch does not know) is an error, not a slow surprise later."""
    import torch  # here: 'evalkit --help' does not load torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        raise EvalkitError(
            f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N."
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise EvalkitError(
            f"--device {device} asks for a GPU but torch sees none on this machine; use --device cpu (or auto)."
        )
    if kind == "cuda" and torch.device(device).index is not None:
        count = torch.cuda.device_count()
        if torch.device(device).index >= count:
            raise EvalkitError(
                f"--device {device}: this machine has {count} GPU{'s' if count != 1 else ''} (cuda:0 ... cuda:{count - 1})."
            )
    return device


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The settings in a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file, keys with ``_``."""
    p = Path(path)
    if not p.is_file():
        raise EvalkitError(f"Config file {p} does not exist.")
    text = p.read_text()
    if p.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise EvalkitError(f"Config file {p} is not valid TOML: {exc}.") from None
    elif p.suffix.lower() in {".yaml", ".yml"}:
        try:
            import yaml
        except ImportError:  # pragma: no cover - PyYAML comes with huggingface_hub
            raise EvalkitError(
                "Reading YAML needs PyYAML (pip install pyyaml), or write the config in TOML."
            ) from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise EvalkitError(f"Config file {p} is not valid YAML: {exc}.") from None
    else:
        raise EvalkitError(f"Config file {p} must end in .toml, .yaml or .yml.")
    if not isinstance(data, dict):
        raise EvalkitError(f"Config file {p} must hold a table of settings at the top level.")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    if "envs" in data:
        data["n_envs"] = data.pop("envs")
    TrainConfig.from_dict(
        {"task": "", **data}, source=str(p)
    )  # unknown keys fail here, naming the file
    return data


def library_versions() -> dict[str, str]:
    """Versions of the libraries a run depends on (written next to its checkpoints)."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for dist in (
        "evalkit",
        "stable_baselines3",
        "torch",
        "gymnasium",
        "numpy",
        "open_clip_torch",
        "mujoco",
    ):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return versions


def write_run_config(run_dir: Path, config: TrainConfig, **extra: Any) -> Path:
    """Write ``config.json``: the resolved config, the versions, the seed and ``extra`` facts."""
    doc = {
        "config": config.to_dict(),
        REWARD_IDENTITY: config.reward_kind.run_identity(config.task),
        "seed": config.seed,
        "reward": config.describe_reward(),
        "reward_is_random": config.reward_is_random,
        "versions": library_versions(),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        **extra,
    }
    target = run_dir / CONFIG_FILE
    atomic_write_text(json.dumps(doc, indent=2, default=str) + "\n", target)
    return target


def read_run_config(run_dir: Path) -> TrainConfig:
    """The resolved config saved in a run folder."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise EvalkitError(
            f"{run_dir} is not a training run (it has no {CONFIG_FILE}); pass a folder made by 'evalkit train'."
        )
    try:
        values = dict(json.loads(path.read_text())["config"])
        values["algo_kwargs"] = _tuples(dict(values["algo_kwargs"]))
        return TrainConfig.from_dict(values, source=str(path))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise EvalkitError(
            f"{path} is corrupt ({exc}); the run cannot be resumed or evaluated."
        ) from None
