"""The episode reward kind: RoboCLIP's sparse reward, Definition 1 on a whole episode.

``--reward episode:MODEL`` (e.g. ``episode:hf:microsoft/xclip-base-patch32``,
``episode:avg:ViT-B-32:laion2b_s34b_b79k``): every step's reward is 0 except the episode's
last stored step, whose reward is Definition 1 with the video model's embedding of the whole
episode — subsampled to the model's frame count by
:func:`~evalkit.vlm.windows.episode_sample` (``n`` evenly spaced frames, the first and the last
included) — against the task's goal and baseline prompts, for each α. The frame count is the
model's own window length (X-CLIP: ``vision_config.num_frames``); a model that takes windows of
any length (frame averaging) gets :data:`DEFAULT_EPISODE_FRAMES`. An episode shorter than the
frame count is refused.

**A demonstration as the goal**: ``episode:MODEL|DEMO`` with ``DEMO`` either
``DATASET@episode:N`` (episode ``N`` of a stored dataset) or a folder of frames (sorted by file
name, all of one size). The demonstration, subsampled by the same rule, is embedded by the same
model; its video embedding replaces the goal prompt's text embedding. The baseline stays the
task's baseline prompt, α as usual. A model that conditions its text on the video (X-CLIP)
gives a goal and a baseline per scored episode (its own conditioned embeddings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.fileio import digest
from evalkit.pipeline.reward_kinds import (
    FrameReward,
    FrameRewardSettings,
    RewardContext,
    register_reward_kind,
)
from evalkit.pipeline.window_reward import VideoModelReward, window_rewards
from evalkit.rewards import DEFAULT_ALPHAS
from evalkit.tasks import get_task

if TYPE_CHECKING:
    from evalkit.pipeline.sources import RewardSource
    from evalkit.vlm.backend import ResolvedModel
    from evalkit.vlm.embedder import ImageEmbedder

DEFAULT_EPISODE_FRAMES = 8
"""Frames of an episode given to a model that takes windows of any length (frame averaging)."""


def episode_frame_count(resolved: "ResolvedModel") -> int:
    """Frames an episode is subsampled to for ``resolved``: its window length, or
    :data:`DEFAULT_EPISODE_FRAMES` for a model that takes any.

    :raises EvalkitError: an image model (it embeds single frames, not episodes).
    """
    if not resolved.embeds_windows:
        raise EvalkitError(
            f"An episode reward needs a video model, and {resolved.label} embeds single frames; "
            f"average its frames with avg:{resolved.spec}."
        )
    return int(resolved.frames_per_window or DEFAULT_EPISODE_FRAMES)


def episode_rows(
    episodes: np.ndarray, steps: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every episode's subsampled rows and last row.

    :param episodes: episode id of every row (rows in any order).
    :param steps: step of every row within its episode (consecutive in each episode).
    :param count: frames per episode (:func:`~evalkit.vlm.windows.episode_sample`).
    :returns: ``(ids, rows, last)``: episode ids sorted, int64 ``(episodes, count)`` rows oldest
        first, and the row of each episode's last stored step.
    :raises EvalkitError: non-consecutive steps, or an episode shorter than ``count`` frames.
    """
    from evalkit.vlm.windows import episode_positions, episode_sample

    episodes, steps = np.asarray(episodes), np.asarray(steps)
    episode_positions(episodes, steps)  # refuses gaps and repeats
    order = np.lexsort((steps, episodes))
    ids, starts, lengths = np.unique(episodes[order], return_index=True, return_counts=True)
    rows = np.empty((len(ids), count), np.int64)
    for i, (episode, start, length) in enumerate(zip(ids, starts, lengths)):
        try:
            rows[i] = order[start + episode_sample(int(length), count)]
        except EvalkitError as exc:
            raise EvalkitError(f"Episode {episode}: {exc}") from None
    last = order[starts + lengths - 1]
    return ids, rows, last.astype(np.int64)


@dataclass(frozen=True)
class EpisodeReward(VideoModelReward):
    """RoboCLIP's sparse reward: Definition 1 of the whole episode at its last step, 0 before."""

    model: str = ""
    goal_video: str | None = None
    alphas: tuple[float, ...] = tuple(DEFAULT_ALPHAS)

    name: ClassVar[str] = "episode"
    title: ClassVar[str] = "episode"
    embeds: ClassVar[bool] = True
    own_model: ClassVar[bool] = True
    episodic: ClassVar[bool] = True
    trainable: ClassVar[bool] = True
    temporal: ClassVar[bool] = True
    prefix: ClassVar[str] = "episode:"
    axis_label: ClassVar[str] = "episode reward"
    train_usage: ClassVar[str] = "episode:MODEL"

    @classmethod
    def parse(cls, text: str, context: RewardContext) -> EpisodeReward:
        model, bar, goal = text[len(cls.prefix) :].partition("|")
        if not model.strip() or (bar and not goal.strip()):
            raise EvalkitError(
                "An episode reward is episode:MODEL or episode:MODEL|DEMONSTRATION (e.g. "
                f"episode:avg:ViT-B-32, episode:avg:ViT-B-32|DATASET@episode:0), not {text!r}."
            )
        _, demo = cls.split_goal(text, context)
        alphas = tuple(float(a) for a in context.alphas)
        return cls(model.strip(), demo, alphas)

    @property
    def canonical(self) -> str:
        return f"{self.prefix}{self.model}{self.goal_suffix()}"

    def label(self, model: str = "") -> str:
        goal = f", goal {self.goal_video}" if self.goal_video else ""
        return f"{self.model}, whole episode{goal}"

    def run_tag(self) -> str:
        return f"episode-{self.model.replace(':', '-')}{self.goal_tag()}-a{self.alphas[0]:g}"

    def frame_reward(self, task: str, settings: FrameRewardSettings) -> FrameReward:
        """Training: 0 at every step, the whole episode's reward at its last
        (:class:`~evalkit.pipeline.reward_windows.EpisodeFrames`)."""
        from evalkit.config import datasets_root
        from evalkit.pipeline.reward_windows import EpisodeFrames, VideoScore

        t = get_task(task)
        demo = self.demonstration()

        def goal(embedder: "ImageEmbedder") -> np.ndarray:
            count = episode_frame_count(embedder.resolved)
            return demo.embedding(embedder, count, datasets_root())  # type: ignore[union-attr]

        score = VideoScore(
            self.model,
            (t.goal_prompt, t.baseline_prompt),
            self.alphas[0],
            settings,
            goal=goal if demo is not None else None,
        )
        count = episode_frame_count(score.embedder.resolved)
        return EpisodeFrames(count, score, on_message=settings.on_message)

    def dataset_rewards(self, dataset: Dataset, task: str, **embed: Any) -> RewardSource:
        from evalkit.vlm.devices import parse_devices
        from evalkit.vlm.embedder import ImageEmbedder
        from evalkit.vlm.models import resolve

        t = get_task(task)
        demo = self.demonstration()
        resolved = resolve(self.model)
        count = episode_frame_count(resolved)
        states = dataset.states
        _, rows, last = episode_rows(states["episode"].to_numpy(), states["step"].to_numpy(), count)
        device = parse_devices(embed.get("devices", "auto"))[0]
        precision = embed.get("precision", "fp32")
        with ImageEmbedder(resolved, device, precision, embed.get("batch_size")) as e:
            video = e.embed_windows(dataset.frames, rows)
            texts = e.embed_window_texts(dataset.frames, rows, [t.goal_prompt, t.baseline_prompt])
            goal = texts[:, 0]
            goal_identity = t.goal_prompt
            if demo is not None:
                demo_embedding = demo.embedding(e, count, dataset.path.parent)
                goal = np.tile(demo_embedding, (len(rows), 1))
                goal_identity = demo.identity(demo_embedding)
        values = np.zeros((len(dataset), len(self.alphas)))
        values[last] = window_rewards(video, goal, texts[:, 1], self.alphas)
        identity = digest(str(resolved.identity), precision, str(count))
        return self.source(values, resolved, identity, goal_identity, t.baseline_prompt)


register_reward_kind(EpisodeReward)
