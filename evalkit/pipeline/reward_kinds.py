"""Reward kinds: what a reward is, in one object per kind, for every command that names one.

A :class:`RewardKind` owns everything about one kind of reward: reading it from what a user
wrote (:meth:`~RewardKind.parse`), the canonical string saved with results
(:attr:`~RewardKind.canonical`, the ``reward_source`` column), a short label for people, the
identity that says whether a saved result or a training run is still of this reward, the
command-line options that reproduce it, and the reward itself, on a dataset
(:meth:`~RewardKind.dataset_rewards`) or for training (:meth:`~RewardKind.frame_reward`).

The built-in kinds (written as → saved as, the ``reward_source`` of results):

- :class:`TextPromptReward`: ``--model M --alpha A`` or ``--reward clip:M`` → ``clip``;
- :class:`FramePrototypeReward`: ``--model M --goal-frames F`` → ``prototype:GOAL|BASELINE``;
- :class:`HeadReward`: ``--reward head:PATH`` → ``head:PATH``;
- :class:`FunctionReward`: ``--reward MODULE:FUNCTION`` → ``function:MODULE:FUNCTION``;
- :class:`ColumnReward`: ``--reward-column FILE[:COLUMN]`` → ``column:FILE[:COLUMN]``;
- :class:`GroundTruthReward`: ``--reward ground-truth`` (training; a rollout's ``gt_reward``).

A plugin adds a kind with one class and :func:`register_reward_kind`; kinds registered later
are asked first, so a new prefix wins over ``MODULE:FUNCTION``.
"""

from __future__ import annotations

import hashlib
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

import numpy as np

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.fileio import digest
from evalkit.heads import head_file_identity, load_head
from evalkit.rewards import DEFAULT_ALPHAS, RewardModel
from evalkit.tasks import get_task
from evalkit.text import number_list

if TYPE_CHECKING:
    from evalkit.pipeline.sources import RewardSource
    from evalkit.vlm import ModelSpec

FrameReward = Callable[[np.ndarray], np.ndarray]
"""Rewards ``(n,)`` of a batch of ``uint8 (n, H, W, 3)`` frames (training)."""


@dataclass(frozen=True)
class RewardContext:
    """What a command says besides the reward's own text: the CLIP model, weights, α and frame
    goals (``--model``, ``--pretrained``, ``--alpha``, ``--goal-frames``, ``--baseline-frames``),
    and the task (whose baseline prompt a frame-prototype goal keeps)."""

    model: "ModelSpec | str | None" = None
    pretrained: str | None = None
    alphas: tuple[float, ...] = tuple(DEFAULT_ALPHAS)
    goal_frames: str | None = None
    baseline_frames: str | None = None
    task: str | None = None
    goal_video: str | None = None
    """``--goal-video``: a demonstration as the goal of a video reward (``DATASET@episode:N``
    or a folder of frames)."""


@dataclass(frozen=True)
class FrameRewardSettings:
    """How a training run scores frames: torch device, precision, batch size, message sink."""

    device: str
    precision: str = "fp32"
    batch_size: int | None = None
    on_message: Callable[[str], None] | None = None


class RewardKind(ABC):
    """One reward, as a command names it and as results and runs record it.

    :cvar name: the kind's name (``RewardSource.kind``, figure legends).
    :cvar embeds: the reward reads a model's image embeddings of frames.
    :cvar text_prompts: the reward is a model's text-prompt CLIP reward (whose EPIC rows the
        figures read back from saved results).
    :cvar own_model: the reward names its own model (placed at that model's size in scaling
        figures, drawn as a line of its own).
    :cvar episodic: one reward per episode, at its last step (``evalkit epic`` adds the
        episode-level metrics: success AUC over episodes, ERC).
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    embeds: ClassVar[bool] = False
    text_prompts: ClassVar[bool] = False
    own_model: ClassVar[bool] = False
    trainable: ClassVar[bool] = False
    episodic: ClassVar[bool] = False
    takes_goal_video: ClassVar[bool] = False
    """A demonstration (``--goal-video``) can be its goal."""
    temporal: ClassVar[bool] = False
    """The reward of a frame reads the frames before it (a window, a whole episode): it needs
    an episode's frames in time order (a sweep's states have none)."""
    axis_label: ClassVar[str] = "reward"
    """How a figure's reward axis names this kind's values (``CLIP reward``, ``head score``)."""
    train_usage: ClassVar[str] = ""
    """How ``train --reward`` names this kind, for a trainable kind (``head:PATH``)."""

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def accepts(cls, text: str, context: RewardContext) -> bool:
        """Whether ``text`` (a ``--reward`` value or a saved ``reward_source``) is of this kind."""

    @classmethod
    @abstractmethod
    def parse(cls, text: str, context: RewardContext) -> "RewardKind":
        """The reward ``text`` names (with ``context``'s model and α where the kind uses them).

        :raises EvalkitError: ``text`` is malformed, in one sentence.
        """

    # -- naming ----------------------------------------------------------------------------

    @property
    @abstractmethod
    def canonical(self) -> str:
        """The string saved with results (``reward_source``) and in run configs."""

    @abstractmethod
    def label(self, model: str = "") -> str:
        """A short name for tables and legends (``model``: the results row's model)."""

    def frame_sets(self) -> tuple[str | None, str | None]:
        """The goal and baseline frame sets it uses instead of the task's prompts (``None``: none)."""
        return None, None

    def series(self) -> str:
        """The name of its own line in scaling figures (``""``: drawn with its model's α lines)."""
        return ""

    def describe(self, source: "RewardSource") -> str:
        """One line for people about rewards computed with this kind."""
        return self.label(source.model)

    @abstractmethod
    def command_options(self, model: str, pretrained: str, alphas: Sequence[float]) -> str:
        """The ``evalkit epic`` options that compute this reward again."""

    # -- identity --------------------------------------------------------------------------

    def change(self, recorded: str, task: str, model_identity: str = "") -> str:
        """Why a result recorded with identity ``recorded`` (by ``model_identity``) is no longer
        of this reward (``""``: it is, or the kind cannot tell)."""
        return ""

    def run_identity(self, task: str, root: str | Path | None = None) -> dict[str, str]:
        """What a training run records about the reward to notice later that it changed
        (content hashes of files, frames); empty when the config says it all."""
        return {}

    # -- rewards ---------------------------------------------------------------------------

    @abstractmethod
    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> "RewardSource":
        """The rewards of every frame of ``dataset``.

        :param embed: passed to the embedding engine (``devices``, ``batch_size``, ``progress``).
        """

    def frame_reward(self, task: str, settings: FrameRewardSettings) -> FrameReward:
        """The reward of frames in memory, for training.

        :raises EvalkitError: the kind cannot score frames a run renders.
        """
        raise EvalkitError(
            f"A {self.name} reward cannot score the frames of a training run; train with "
            "--reward clip, head:PATH or ground-truth."
        )

    def check_task(self, task: str) -> None:
        """Refuse a task the reward cannot serve (e.g. a head of another family)."""
        return None

    def own_weights(self) -> tuple[str, str | None] | None:
        """The model and weights the reward names itself (``None``: the command's)."""
        return None

    def run_text(self) -> str:
        """The ``reward`` setting a training run records (paths made absolute, so that the run
        works from any folder)."""
        return self.canonical

    def run_tag(self) -> str:
        """The part of a training run's default name that says which reward it trained on."""
        return self.name

    def describe_run(self, model: str | None, pretrained: str | None, random: bool) -> str:
        """One line for people about a training run's reward (``random``: random model weights)."""
        return self.label(model or "")


# -- registry ---------------------------------------------------------------------------------

_KINDS: list[type[RewardKind]] = []


def register_reward_kind(kind: type[RewardKind]) -> type[RewardKind]:
    """Add a reward kind (usable as a class decorator); kinds added later are asked first.

    :raises TypeError: ``kind`` is not a :class:`RewardKind` subclass with a ``name``.
    """
    if not (isinstance(kind, type) and issubclass(kind, RewardKind)) or not getattr(
        kind, "name", ""
    ):
        raise TypeError(f"{kind!r} is not a RewardKind subclass with a name")
    if kind not in _KINDS:
        _KINDS.append(kind)
    return kind


def trainable_rewards() -> str:
    """How ``train --reward`` names every trainable kind: ``clip, head:PATH (…) or ground-truth``."""
    usages = list(dict.fromkeys(k.train_usage for k in _KINDS if k.trainable and k.train_usage))
    return usages[0] if len(usages) == 1 else f"{', '.join(usages[:-1])} or {usages[-1]}"


def registered_reward_kinds() -> list[type[RewardKind]]:
    """The registered kinds, in the order they are asked (newest first)."""
    return list(reversed(_KINDS))


def reward_kind_of(text: str, context: RewardContext | None = None) -> type[RewardKind] | None:
    """The kind that reads ``text`` (``None``: no registered kind does)."""
    ctx = context or RewardContext()
    return next((k for k in registered_reward_kinds() if k.accepts(str(text), ctx)), None)


def parse_reward(text: str, context: RewardContext | None = None) -> RewardKind:
    """The reward that ``text`` names (a ``--reward`` value or a saved ``reward_source``).

    :raises EvalkitError: no kind reads it, or it is malformed.
    """
    ctx = context or RewardContext()
    kind = reward_kind_of(text, ctx)
    if kind is None:
        raise EvalkitError(
            f"--reward takes head:PATH, MODULE:FUNCTION (or path/to/file.py:FUNCTION), not {text!r}."
        )
    check_goal_video(kind, ctx)
    return kind.parse(str(text), ctx)


def check_goal_video(kind: type[RewardKind], context: RewardContext) -> None:
    """Refuse ``--goal-video`` for a kind that takes no demonstration, in one sentence."""
    if context.goal_video is not None and not kind.takes_goal_video:
        takers = [k.train_usage or k.name for k in registered_reward_kinds() if k.takes_goal_video]
        raise EvalkitError(
            f"--goal-video gives a video reward its goal ({', '.join(takers)}); it does not apply "
            f"to the {kind.title or kind.name} reward."
        )


def saved_reward(source: str, model: str = "", pretrained: str = "") -> RewardKind:
    """The reward of a saved results row, from its ``reward_source``, ``model`` and ``pretrained``."""
    return parse_reward(
        str(source), RewardContext(model=model or None, pretrained=pretrained or None)
    )


def model_rewards(context: RewardContext) -> RewardKind:
    """The reward ``--model`` names: CLIP with the task's prompts, or with ``--goal-frames``."""
    return parse_reward(TextPromptReward.name, context)


def _quote(text: str) -> str:
    return shlex.quote(str(text))


def _model_options(model: str, pretrained: str, alphas: Sequence[float]) -> str:
    return f"--model {_quote(model)} --pretrained {_quote(pretrained)} --alpha {number_list(sorted(alphas))}"


# -- the kinds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextPromptReward(RewardKind):
    """CLIP's reward for the task's goal and baseline prompts, Definition 1 with each α."""

    model: "ModelSpec | str | None" = None
    pretrained: str | None = None
    alphas: tuple[float, ...] = tuple(DEFAULT_ALPHAS)

    name: ClassVar[str] = "clip"
    title: ClassVar[str] = "CLIP"
    embeds: ClassVar[bool] = True
    text_prompts: ClassVar[bool] = True
    trainable: ClassVar[bool] = True
    axis_label: ClassVar[str] = "CLIP reward"
    train_usage: ClassVar[str] = "clip"

    @classmethod
    def accepts(cls, text: str, context: RewardContext) -> bool:
        return text == cls.name or text.startswith(f"{cls.name}:")

    @classmethod
    def parse(cls, text: str, context: RewardContext) -> "TextPromptReward":
        """``clip`` (the model of ``--model``) or ``clip:MODEL`` (``clip:ViT-B-32:openai``: the
        model named in the text, a reward that can stand beside others in one command)."""
        alphas = tuple(float(a) for a in context.alphas)
        named = text[len(cls.name) + 1 :].strip()
        if text.startswith(f"{cls.name}:"):
            if not named:
                raise EvalkitError(
                    f"{text!r} names no model; write clip:MODEL (e.g. clip:ViT-B-32:openai)."
                )
            return cls(named, None, alphas)
        return cls(context.model, context.pretrained, alphas)

    @property
    def canonical(self) -> str:
        return self.name

    def label(self, model: str = "") -> str:
        return model or self._model_text() or self.name

    def _model_text(self) -> str:
        """The model's name as written (a spec's model name)."""
        return str(getattr(self.model, "model", self.model) or "")

    def describe(self, source: "RewardSource") -> str:
        weights = (
            "RANDOM weights"
            if source.random_weights
            else f"weights {source.pretrained or 'default'}"
        )
        ident = f" [{source.model_identity}]" if source.model_identity else ""
        return f"CLIP reward of {source.model} ({weights}){ident}"

    def command_options(self, model: str, pretrained: str, alphas: Sequence[float]) -> str:
        return _model_options(model, pretrained, alphas)

    def change(self, recorded: str, task: str, model_identity: str = "") -> str:
        from evalkit.pipeline.sources import clip_identity

        t = get_task(task)
        now = clip_identity(model_identity, (t.goal_prompt,), (t.baseline_prompt,))
        return f"the prompts of task {task} changed" if recorded not in ("", now) else ""

    def run_text(self) -> str:
        return TextPromptReward.name

    def run_tag(self) -> str:
        return f"clip-{self.model}-a{self.alphas[0]:g}"

    def _run_goal(self) -> str:
        return ""

    def describe_run(self, model: str | None, pretrained: str | None, random: bool) -> str:
        text = f"CLIP reward of {model} ({pretrained or 'default weights'}){self._run_goal()}, α = {self.alphas[0]:g}"
        if random:
            text += (
                " — RANDOM WEIGHTS: the reward is random noise, this run only tests the machinery"
            )
        return text

    def _require_model(self) -> "ModelSpec | str":
        if not self.model:
            raise EvalkitError(
                "The CLIP reward needs a model: pass --model (e.g. --model ViT-B-32)."
            )
        return self.model

    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> "RewardSource":
        from evalkit.pipeline.sources import clip_reward_source
        from evalkit.vlm import ModelSpec  # open_clip: only when a model is used

        spec = ModelSpec.coerce(self._require_model(), self.pretrained)
        return clip_reward_source(dataset, task, spec, self.alphas, **embed)

    def _goal_embeddings(
        self, task: str, settings: FrameRewardSettings
    ) -> tuple[str, str, np.ndarray | None, np.ndarray | None]:
        t = get_task(task)
        return t.goal_prompt, t.baseline_prompt, None, None

    def frame_reward(self, task: str, settings: FrameRewardSettings) -> FrameReward:
        goal, baseline, goal_emb, baseline_emb = self._goal_embeddings(task, settings)
        return RewardModel(
            self._require_model(),
            goal=goal,
            baseline=baseline,
            alpha=self.alphas[0],
            goal_embedding=goal_emb,
            baseline_embedding=baseline_emb,
            pretrained=self.pretrained,
            device=settings.device,
            precision=settings.precision,
            batch_size=settings.batch_size,
            on_message=settings.on_message,
        )


@dataclass(frozen=True)
class FramePrototypeReward(TextPromptReward):
    """Definition 1 with the goal (and baseline) as the prototype of example frames
    (:mod:`evalkit.pipeline.prototypes`)."""

    goal_frames: str = ""
    baseline_frames: str | None = None
    baseline_text: str = ""

    name: ClassVar[str] = "prototype"
    text_prompts: ClassVar[bool] = False
    axis_label: ClassVar[str] = "prototype reward"
    prefix: ClassVar[str] = "prototype:"

    @classmethod
    def accepts(cls, text: str, context: RewardContext) -> bool:
        return text.startswith(cls.prefix) or (
            text == TextPromptReward.name and context.goal_frames is not None
        )

    @classmethod
    def parse(cls, text: str, context: RewardContext) -> "FramePrototypeReward":
        goal, base = context.goal_frames, context.baseline_frames
        if text.startswith(cls.prefix):
            goal, _, saved = text[len(cls.prefix) :].partition("|")
            base = None if not saved or saved.startswith(cls.PROMPT) else saved
        else:
            saved = base or (
                f"{cls.PROMPT}{get_task(context.task).baseline_prompt}" if context.task else ""
            )
        alphas = tuple(float(a) for a in context.alphas)
        return cls(context.model, context.pretrained, alphas, str(goal), base, saved)

    PROMPT: ClassVar[str] = "prompt:"
    """How a baseline that is the task's prompt is saved (``prompt:TEXT``)."""

    @property
    def canonical(self) -> str:
        return f"{self.prefix}{self.goal_frames}|{self.baseline_text}"

    def label(self, model: str = "") -> str:
        base = f", baseline {self.baseline_frames}" if self.baseline_frames else ""
        return f"{model or self._model_text()}, prototype goal {self.goal_frames}{base}"

    def frame_sets(self) -> tuple[str | None, str | None]:
        return self.goal_frames, self.baseline_frames

    def run_tag(self) -> str:  # runs of different frame sets get different names
        frames = hashlib.sha256(f"{self.goal_frames}|{self.baseline_frames}".encode()).hexdigest()
        return f"frames{frames[:8]}-{self.model}-a{self.alphas[0]:g}"

    def _run_goal(self) -> str:
        base = f", baseline frames {self.baseline_frames}" if self.baseline_frames else ""
        return f", goal frames {self.goal_frames}{base}"

    def describe(self, source: "RewardSource") -> str:
        goal, _, base = source.source[len(self.prefix) :].partition("|")
        return f"frame-prototype reward of {source.model} (goal {goal}, baseline {base})"

    def command_options(self, model: str, pretrained: str, alphas: Sequence[float]) -> str:
        frames = f" --goal-frames {_quote(self.goal_frames)}" + (
            f" --baseline-frames {_quote(self.baseline_frames)}" if self.baseline_frames else ""
        )
        return (
            f"--model {_quote(model)} --pretrained {_quote(pretrained)}{frames}"
            f" --alpha {number_list(sorted(alphas))}"
        )

    def change(self, recorded: str, task: str, model_identity: str = "") -> str:
        return ""

    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> "RewardSource":
        from evalkit.pipeline.prototypes import prototype_reward_source
        from evalkit.vlm import ModelSpec  # open_clip: only when a model is used

        spec = ModelSpec.coerce(self._require_model(), self.pretrained)
        return prototype_reward_source(
            dataset, task, spec, self.goal_frames, self.baseline_frames, self.alphas, **embed
        )

    def _goal_embeddings(
        self, task: str, settings: FrameRewardSettings
    ) -> tuple[str, str, np.ndarray | None, np.ndarray | None]:
        from evalkit.pipeline.prototypes import prototype_embedding
        from evalkit.vlm import ModelSpec  # torch: loaded only when a model is used

        spec = ModelSpec(str(self._require_model()), self.pretrained)

        def embedding(frames: str) -> np.ndarray:
            return prototype_embedding(
                frames, task, spec, settings.precision, devices=settings.device
            )

        t = get_task(task)
        base = self.baseline_frames
        return (
            self.goal_frames,
            base or t.baseline_prompt,
            embedding(self.goal_frames),
            None if base is None else embedding(base),
        )

    def run_identity(self, task: str, root: str | Path | None = None) -> dict[str, str]:
        from evalkit.pipeline.prototypes import frame_set_identity

        out = {"goal_frames": frame_set_identity(self.goal_frames, task, root)}
        if self.baseline_frames is not None:
            out["baseline_frames"] = frame_set_identity(self.baseline_frames, task, root)
        return out


@dataclass(frozen=True)
class HeadReward(RewardKind):
    """A logistic reward head fitted by ``evalkit align`` (:mod:`evalkit.heads`), on its own
    model's embeddings."""

    path: str

    name: ClassVar[str] = "head"
    title: ClassVar[str] = "reward head"
    embeds: ClassVar[bool] = True
    own_model: ClassVar[bool] = True
    trainable: ClassVar[bool] = True
    prefix: ClassVar[str] = "head:"
    axis_label: ClassVar[str] = "head score"
    train_usage: ClassVar[str] = "head:PATH (a head fitted by 'evalkit align')"

    @classmethod
    def accepts(cls, text: str, context: RewardContext) -> bool:
        return text.startswith(cls.prefix)

    @classmethod
    def parse(cls, text: str, context: RewardContext) -> "HeadReward":
        path = text[len(cls.prefix) :]
        if not path.strip():
            raise EvalkitError(
                f"{text!r} names no head file; write head:PATH.json (a head fitted by evalkit align)."
            )
        if Path(path).is_dir():
            raise EvalkitError(
                f"{text!r} names a folder; name the head's .json file in it, as head:{Path(path) / 'NAME.json'}."
            )
        return cls(path)

    @property
    def canonical(self) -> str:
        return f"{self.prefix}{self.path}"

    def label(self, model: str = "") -> str:
        return f"{self.series()} ({model})" if model else self.series()

    def series(self) -> str:
        return f"head {Path(self.path).stem}"

    def describe(self, source: "RewardSource") -> str:
        return f"reward head {self.path} on {source.model_identity}"

    def command_options(self, model: str, pretrained: str, alphas: Sequence[float]) -> str:
        return f"--reward {_quote(self.canonical)}"

    def change(self, recorded: str, task: str, model_identity: str = "") -> str:
        try:
            now = head_file_identity(self.path)
        except (OSError, EvalkitError):
            return f"the head file {self.path} is missing"
        return f"the head file {self.path} was rewritten since" if recorded not in ("", now) else ""

    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> "RewardSource":
        from evalkit.pipeline.heads import head_reward_source

        return head_reward_source(dataset, self.path, **embed)

    def frame_reward(self, task: str, settings: FrameRewardSettings) -> FrameReward:
        from evalkit.pipeline.heads import HeadRewardModel

        return HeadRewardModel(self.path, settings)

    def check_task(self, task: str) -> None:
        from evalkit.pipeline.heads import check_same_family

        check_same_family(load_head(self.path), get_task(task).family, self.path)

    def own_weights(self) -> tuple[str, str | None]:
        head = load_head(self.path)
        model = head.meta.get("model")
        if not model:
            raise EvalkitError(f"The head {self.path} does not name the model it was fitted on.")
        return str(model), head.meta.get("pretrained")

    def run_text(self) -> str:
        return f"{self.prefix}{Path(self.path).expanduser().resolve()}"

    def run_tag(self) -> str:
        return f"head-{Path(self.path).stem}"

    def describe_run(self, model: str | None, pretrained: str | None, random: bool) -> str:
        text = f"reward head {self.path} on {model} ({pretrained or 'default weights'})"
        if random:
            text += " — RANDOM WEIGHTS: the head reads features of an untrained image tower"
        return text

    def run_identity(self, task: str, root: str | Path | None = None) -> dict[str, str]:
        load_head(self.path)  # a missing or corrupt head: its own sentence
        return {"head": head_file_identity(self.path)}


@dataclass(frozen=True)
class _NamedBySpec(RewardKind):
    """A reward named by one string (``spec``), saved as ``PREFIX:spec``, given with ``option``."""

    spec: str

    prefix: ClassVar[str]
    option: ClassVar[str]
    what: ClassVar[str]

    @classmethod
    def accepts(cls, text: str, context: RewardContext) -> bool:
        return text.startswith(cls.prefix)

    @classmethod
    def parse(cls, text: str, context: RewardContext) -> "_NamedBySpec":
        return cls(text[len(cls.prefix) :] if text.startswith(cls.prefix) else text)

    @property
    def canonical(self) -> str:
        return f"{self.prefix}{self.spec}"

    def label(self, model: str = "") -> str:
        return model or self.canonical

    def describe(self, source: "RewardSource") -> str:
        return f"{self.what} {self.spec}"

    def command_options(self, model: str, pretrained: str, alphas: Sequence[float]) -> str:
        return f"{self.option} {_quote(self.spec)}"


@dataclass(frozen=True)
class FunctionReward(_NamedBySpec):
    """A Python function of the state table and frames: ``MODULE:FUNCTION`` or ``FILE.py:FUNCTION``."""

    name: ClassVar[str] = "function"
    prefix: ClassVar[str] = "function:"
    option: ClassVar[str] = "--reward"
    what: ClassVar[str] = "reward function"

    @classmethod
    def accepts(cls, text: str, context: RewardContext) -> bool:
        return ":" in text  # asked last: any MODULE:FUNCTION no other kind reads

    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> "RewardSource":
        from evalkit.pipeline.sources import function_reward_source

        return function_reward_source(dataset, self.spec)


@dataclass(frozen=True)
class ColumnReward(_NamedBySpec):
    """A column of numbers from a file: ``FILE.npy``, ``FILE.csv:COLUMN`` or ``FILE.parquet:COLUMN``."""

    name: ClassVar[str] = "column"
    prefix: ClassVar[str] = "column:"
    option: ClassVar[str] = "--reward-column"
    what: ClassVar[str] = "reward column"

    @classmethod
    def from_option(cls, spec: str) -> "ColumnReward":
        """The reward ``--reward-column spec`` names."""
        return cls(spec)

    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> "RewardSource":
        from evalkit.pipeline.sources import column_reward_source

        return column_reward_source(dataset, self.spec)


@dataclass(frozen=True)
class GroundTruthReward(RewardKind):
    """The environment's own reward (training), or the ``gt_reward`` a rollout dataset stores."""

    name: ClassVar[str] = "ground-truth"
    title: ClassVar[str] = "ground truth"
    trainable: ClassVar[bool] = True
    train_usage: ClassVar[str] = "ground-truth"

    @classmethod
    def accepts(cls, text: str, context: RewardContext) -> bool:
        return text == cls.name

    @classmethod
    def parse(cls, text: str, context: RewardContext) -> "GroundTruthReward":
        return cls()

    @property
    def canonical(self) -> str:
        return self.name

    def label(self, model: str = "") -> str:
        return "ground-truth reward"

    def run_tag(self) -> str:
        return "gt"

    def describe_run(self, model: str | None, pretrained: str | None, random: bool) -> str:
        return "ground-truth reward of the environment"

    def describe(self, source: "RewardSource") -> str:
        return "ground-truth reward of the environment"

    def command_options(self, model: str, pretrained: str, alphas: Sequence[float]) -> str:
        return f"--reward {self.name}"

    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> "RewardSource":
        from evalkit.pipeline.evaluate import GT_REWARD_COLUMN
        from evalkit.pipeline.sources import RewardSource, check_values

        if GT_REWARD_COLUMN not in dataset.states.columns:
            raise EvalkitError(
                f"Dataset {dataset.name!r} stores no ground-truth reward ({GT_REWARD_COLUMN}); "
                "only rollouts that record the environment's reward do ('evalkit evaluate', 'evalkit collect metaworld')."
            )
        values = check_values(dataset.states[GT_REWARD_COLUMN], len(dataset), "The ground truth")
        return RewardSource(
            reward=self,
            values=values[:, None],
            alphas=(None,),
            identity=digest(np.ascontiguousarray(values).tobytes()),
        )


for _kind in (
    FunctionReward,
    ColumnReward,
    GroundTruthReward,
    TextPromptReward,
    FramePrototypeReward,
    HeadReward,
):
    register_reward_kind(_kind)
