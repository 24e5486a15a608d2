"""The window reward kind: Definition 1 on the window of frames ending at each step.

``--reward window:K:S:MODEL`` (e.g. ``window:8:2:avg:ViT-B-32:laion2b_s34b_b79k``,
``window:8:1:hf:microsoft/xclip-base-patch32``): the reward of step ``t`` is Definition 1
with the video model's embedding of the window of ``K`` frames, stride ``S``, ending at ``t``
(:mod:`evalkit.vlm.windows`: the first steps repeat the episode's first frame), and the task's
goal and baseline prompts, for each α. A model that conditions its text embeddings on the
video (X-CLIP) gives a goal and a baseline direction per window — its own conditioned
embeddings, never the unconditioned text features; frame averaging gives the same for every
window.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError, RewardError
from evalkit.fileio import digest
from evalkit.pipeline.demonstration import Demonstration
from evalkit.pipeline.reward_kinds import (
    FrameReward,
    FrameRewardSettings,
    RewardContext,
    RewardKind,
    register_reward_kind,
)
from evalkit.rewards import DEFAULT_ALPHAS, check_alphas
from evalkit.tasks import get_task
from evalkit.vlm.windows import WindowSpec

if TYPE_CHECKING:
    from evalkit.pipeline.sources import RewardSource


def window_rewards(
    video: np.ndarray, goal: np.ndarray, baseline: np.ndarray, alphas: Sequence[float]
) -> np.ndarray:
    """Definition 1 with a goal and a baseline per row: ``(n, len(alphas))``.

    ``R = 1 − ½‖α·proj + (1 − α)·s − g‖²`` with ``proj`` the projection of ``s`` on the line
    through ``b`` and ``g`` (all rows unit vectors; computed in float64).

    :param video: ``(n, d)`` unit window embeddings.
    :param goal: ``(n, d)`` unit goal directions, one per window.
    :param baseline: ``(n, d)`` unit baseline directions, one per window.
    :param alphas: regularisation strengths.
    :raises RewardError: a goal equals its baseline while some α > 0.
    """
    s, g, b = (np.asarray(x, dtype=np.float64) for x in (video, goal, baseline))
    a = check_alphas(alphas)
    d = g - b
    dd = np.einsum("nd,nd->n", d, d)
    if np.any(a != 0) and np.any(dd == 0):
        raise RewardError(
            "A window's goal and baseline embeddings are identical, so the line between them "
            "(Definition 1) is undefined for α > 0; use another baseline prompt or α = 0."
        )
    t = np.einsum("nd,nd->n", s - b, d) / np.where(dd == 0, 1.0, dd)
    proj = b + t[:, None] * d
    out = np.empty((len(s), len(a)))
    for j, alpha in enumerate(a):
        v = alpha * proj + (1 - alpha) * s - g
        out[:, j] = 1.0 - 0.5 * np.einsum("nd,nd->n", v, v)
    return out


class VideoModelReward(RewardKind):
    """What the rewards of a named video model share: read by their prefix, named by their
    canonical string, their model their own (subclasses are dataclasses with ``model`` and
    ``alphas``)."""

    model: str
    alphas: tuple[float, ...]
    goal_video: str | None
    prefix: ClassVar[str]
    takes_goal_video: ClassVar[bool] = True

    @classmethod
    def accepts(cls, text: str, context: RewardContext) -> bool:
        return text.startswith(cls.prefix)

    @classmethod
    def split_goal(cls, text: str, context: RewardContext) -> tuple[str, str | None]:
        """The reward's text after its prefix, without ``|DEMO``, and its demonstration: the
        one the text names or ``--goal-video`` (``None``: the task's goal prompt).

        :raises EvalkitError: an empty ``|``, or two different demonstrations.
        """
        body, bar, demo = text[len(cls.prefix) :].partition("|")
        if bar and not demo.strip():
            raise EvalkitError(
                f"{text!r} ends in '|' without a demonstration; write {text}DATASET@episode:N."
            )
        named = demo.strip() if bar else None
        if named and context.goal_video and named != context.goal_video:
            raise EvalkitError(
                f"The reward {text!r} names its demonstration already; drop --goal-video "
                f"{context.goal_video} (or the |{named} part)."
            )
        return body, named or context.goal_video

    def describe_run(self, model: str | None, pretrained: str | None, random: bool) -> str:
        text = f"{self.label()}, α = {self.alphas[0]:g}"
        if random:
            text += (
                " — RANDOM WEIGHTS: the reward is random noise, this run only tests the machinery"
            )
        return text

    def goal_tag(self) -> str:
        """The part of a run's name that tells demonstrations apart (``""``: none)."""
        return f"-demo{digest(self.goal_video)[:8]}" if self.goal_video else ""

    def goal_suffix(self) -> str:
        """``|DEMO`` of the canonical string (``""``: the task's goal prompt)."""
        return f"|{self.goal_video}" if self.goal_video else ""

    def demonstration(self) -> Demonstration | None:
        """The demonstration given as the goal (``None``: none).

        :raises EvalkitError: malformed, or a folder that does not exist.
        """
        return Demonstration.parse(self.goal_video) if self.goal_video else None

    def series(self) -> str:
        return self.label()

    def command_options(self, model: str, pretrained: str, alphas: Sequence[float]) -> str:
        return f"--reward {shlex.quote(self.canonical)}"

    def own_weights(self) -> tuple[str, str | None] | None:
        return self.model, None

    def source(
        self, values: np.ndarray, resolved: Any, identity: str, goal: str, baseline: str
    ) -> RewardSource:
        """The rewards ``values`` of ``resolved`` (the model), with their identity: the
        model's ``identity`` and the goal and baseline (prompts, or what stands for them)."""
        from evalkit.pipeline.sources import RewardSource, clip_identity

        return RewardSource(
            reward=self,
            values=values,
            alphas=tuple(self.alphas),
            model=self.model,
            pretrained=str(resolved.spec.pretrained or "") if resolved.spec else "",
            model_identity=identity,
            random_weights=resolved.random_weights,
            identity=clip_identity(identity, (goal,), (baseline,)),
        )


@dataclass(frozen=True)
class WindowReward(VideoModelReward):
    """Definition 1 on windows of ``frames`` frames, ``stride`` steps apart, by a video model."""

    frames: int = 1
    stride: int = 1
    model: str = ""
    alphas: tuple[float, ...] = tuple(DEFAULT_ALPHAS)
    goal_video: str | None = None

    name: ClassVar[str] = "window"
    title: ClassVar[str] = "window"
    embeds: ClassVar[bool] = True
    own_model: ClassVar[bool] = True
    trainable: ClassVar[bool] = True
    temporal: ClassVar[bool] = True
    prefix: ClassVar[str] = "window:"
    axis_label: ClassVar[str] = "window reward"
    train_usage: ClassVar[str] = "window:K:S:MODEL"

    @classmethod
    def parse(cls, text: str, context: RewardContext) -> WindowReward:
        body, demo = cls.split_goal(text, context)
        k, _, rest = body.partition(":")
        s, _, model = rest.partition(":")
        if not (k.isdigit() and s.isdigit() and model.strip()):
            raise EvalkitError(
                f"A window reward is window:FRAMES:STRIDE:MODEL (e.g. window:8:2:avg:ViT-B-32), not {text!r}."
            )
        spec = WindowSpec(int(k), int(s))  # refuses 0
        alphas = tuple(float(a) for a in context.alphas)
        return cls(spec.frames, spec.stride, model.strip(), alphas, demo)

    @property
    def canonical(self) -> str:
        return f"{self.prefix}{self.frames}:{self.stride}:{self.model}{self.goal_suffix()}"

    def label(self, model: str = "") -> str:
        goal = f", goal {self.goal_video}" if self.goal_video else ""
        return f"{self.model}, window of {self.frames} (stride {self.stride}){goal}"

    def run_tag(self) -> str:
        return f"window-k{self.frames}s{self.stride}-{self.model.replace(':', '-')}{self.goal_tag()}-a{self.alphas[0]:g}"

    def frame_reward(self, task: str, settings: FrameRewardSettings) -> FrameReward:
        """Training: each environment's window ending at every step
        (:class:`~evalkit.pipeline.reward_windows.WindowFrames`), scored in batches."""
        from evalkit.config import datasets_root
        from evalkit.pipeline.reward_windows import VideoScore, WindowFrames
        from evalkit.vlm.backend import check_window_input

        t = get_task(task)
        demo = self.demonstration()
        goal = None
        if demo is not None:

            def goal(embedder: Any) -> np.ndarray:
                return demo.embedding(embedder, self.frames, datasets_root())

        score = VideoScore(
            self.model, (t.goal_prompt, t.baseline_prompt), self.alphas[0], settings, goal=goal
        )
        check_window_input(score.embedder.resolved, self.frames)  # before the run starts
        return WindowFrames(WindowSpec(self.frames, self.stride), score)

    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> RewardSource:
        t = get_task(task)
        window = WindowSpec(self.frames, self.stride)
        demo = self.demonstration()
        goal = (
            None if demo is None else demo_embedding(demo, self.model, self.frames, dataset, embed)
        )
        values, resolved, identity = window_prompt_rewards(
            dataset, self.model, window, [t.goal_prompt], t.baseline_prompt, self.alphas,
            goal=goal, **embed,
        )  # fmt: skip
        goal_identity = t.goal_prompt if demo is None else demo.identity(goal)
        return self.source(values[:, 0], resolved, identity, goal_identity, t.baseline_prompt)


def window_prompt_rewards(
    dataset: Dataset,
    model: str,
    window: WindowSpec,
    goals: Sequence[str],
    baseline: str,
    alphas: Sequence[float],
    goal: np.ndarray | None = None,
    **embed: Any,
) -> tuple[np.ndarray, Any, str]:
    """Definition 1 of the window ending at every frame of ``dataset`` for each goal prompt
    (with one baseline prompt) and α; window and text embeddings from (and into) the window
    cache.

    :param model: the video model (``avg:…``, ``hf:…``).
    :param goal: a unit goal embedding (a demonstration's) that replaces every goal prompt's.
    :param embed: passed to the embedding engine (``devices``, ``batch_size``, ``progress``).
    :returns: ``(frames, len(goals), len(alphas))`` rewards, the resolved model and the
        identity of the window embeddings (model, precision, ``k`` and ``s``).
    :raises EvalkitError: an image model, or a window longer than every episode.
    """
    from evalkit.vlm.devices import parse_devices
    from evalkit.vlm.embedder import ImageEmbedder
    from evalkit.vlm.engine import embed_dataset
    from evalkit.vlm.models import resolve
    from evalkit.vlm.window_cache import WindowEmbeddingCache, dataset_windows

    resolved = resolve(model)
    run = embed_dataset(dataset, resolved, window=window, **embed)
    cache = WindowEmbeddingCache(dataset, resolved, run.precision, window)

    def compute(todo: list[str]) -> np.ndarray:
        device = parse_devices(embed.get("devices", "auto"))[0]  # one device is enough
        with ImageEmbedder(resolved, device, run.precision, embed.get("batch_size")) as e:
            return e.embed_window_texts(dataset.frames, dataset_windows(dataset, window), todo)

    texts = cache.window_texts([baseline, *goals], compute)
    if goal is not None:  # a demonstration's embedding replaces every goal prompt's
        texts = np.array(texts)
        texts[:, 1:] = np.asarray(goal, dtype=texts.dtype)
    values = np.stack(
        [
            window_rewards(run.values, texts[:, 1 + j], texts[:, 0], alphas)
            for j in range(len(goals))
        ],
        axis=1,
    )
    identity = digest(str(cache.key), str(window.frames), str(window.stride))
    return values, resolved, identity


def demo_embedding(
    demo: Demonstration, model: str, count: int, dataset: Dataset, embed: dict[str, Any]
) -> np.ndarray:
    """``demo``'s unit video embedding by ``model`` (``count`` frames), its dataset looked up
    beside ``dataset``.

    :raises EvalkitError: the demonstration does not exist or is shorter than ``count`` frames.
    """
    from evalkit.vlm.devices import parse_devices
    from evalkit.vlm.embedder import ImageEmbedder
    from evalkit.vlm.models import resolve

    device = parse_devices(embed.get("devices", "auto"))[0]
    precision = embed.get("precision", "fp32")
    with ImageEmbedder(resolve(model), device, precision, embed.get("batch_size")) as e:
        return demo.embedding(e, count, dataset.path.parent)


register_reward_kind(WindowReward)
