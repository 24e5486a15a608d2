"""What ``evalkit epic`` asks for, and running it: :class:`EpicRequest` → :class:`EpicOutcome`.

The request holds the command's inputs, already parsed; :meth:`EpicRequest.run` chooses the
reward (CLIP with the task's prompts or frame goals, a head or function, or a column), checks
the options that only some rewards read, opens the dataset and evaluates the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.envs.family import get_family
from evalkit.errors import EvalkitError
from evalkit.fileio import is_writable
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.registry import get_metric, metric_names
from evalkit.pipeline.evaluate import DatasetEpic, evaluate_rewards
from evalkit.pipeline.inputs import (
    EmbedSettings,
    check_frame_options,
    task_dataset,
    warn_few_episodes,
)
from evalkit.pipeline.reward_kinds import (
    ColumnReward,
    RewardContext,
    RewardKind,
    model_rewards,
    parse_reward,
)
from evalkit.pipeline.sources import RewardSource
from evalkit.rewards import DEFAULT_ALPHAS


@dataclass(frozen=True)
class RewardChoice:
    """The reward a command evaluates: exactly one of ``model`` (CLIP), ``reward`` (``head:PATH``
    or ``MODULE:FUNCTION``) and ``column`` (``FILE[:COLUMN]``), with CLIP's settings.

    :param alphas: α of the CLIP reward (``None``: not given, the defaults).
    """

    model: str | None = None
    pretrained: str | None = None
    alphas: tuple[float, ...] | None = None
    goal_frames: str | None = None
    baseline_frames: str | None = None
    reward: str | None = None
    column: str | None = None
    goal_video: str | None = None

    def given(self) -> list[str]:
        """The options that name a reward, as the user typed them."""
        named = (
            ("--model", self.model),
            ("--reward", self.reward),
            ("--reward-column", self.column),
        )
        return [flag for flag, value in named if value]

    def kind(self, task: str) -> RewardKind:
        """The reward kind chosen, for ``task``.

        :raises EvalkitError: none or several rewards named.
        """
        given = self.given()
        if len(given) != 1:
            got = " (got " + " and ".join(given) + ")" if given else ""
            raise EvalkitError(
                "Say which reward to evaluate with exactly one of --model (CLIP), --reward "
                f"MODULE:FUNCTION or --reward-column FILE[:COLUMN]{got}."
            )
        check_frame_options(self.goal_frames, self.baseline_frames, self.model)
        if self.model is not None:
            alphas = tuple(DEFAULT_ALPHAS) if self.alphas is None else self.alphas
            context = RewardContext(
                self.model,
                self.pretrained,
                alphas,
                self.goal_frames,
                self.baseline_frames,
                task,
                self.goal_video,
            )
            return model_rewards(context)
        if self.reward is not None:
            return parse_reward(self.reward, RewardContext(goal_video=self.goal_video))
        if self.goal_video is not None:
            raise EvalkitError(
                "--goal-video gives a video reward its goal; it does not apply to --reward-column."
            )
        assert self.column is not None
        return ColumnReward.from_option(self.column)


def uses_progress(metrics: str | Sequence[str]) -> bool:
    """Whether ``metrics`` names a metric that reads the progress variable.

    :raises EvalkitError: an unknown metric name.
    """
    return any("progress" in get_metric(m).needs for m in metric_names(metrics))


@dataclass(frozen=True)
class EpicOutcome:
    """What :meth:`EpicRequest.run` computed: the results, the reward source they are of, and
    how their intervals were bootstrapped."""

    run: DatasetEpic
    source: RewardSource
    bootstrap: BootstrapOptions


@dataclass(frozen=True)
class EpicRequest:
    """EPIC (and the metric panel) of one reward against a dataset's goal labels.

    :param task: task whose goal labels score the reward.
    :param choice: the reward.
    :param dataset: dataset name or path (``None``: the task's default dataset).
    :param labels: label set.
    :param metrics: comma-separated metric names, or ``all``.
    :param progress: progress variable of the metrics that need one (``None``: the family's).
    :param bootstrap: how intervals are bootstrapped.
    :param save: save the results next to the dataset (skipped, with a note, when read-only).
    :param embed: how frames not cached are embedded.
    :param on_note: where notes go (a dataset that cannot be saved to).
    """

    task: str
    choice: RewardChoice
    dataset: str | None = None
    labels: str = RULE_LABELS
    metrics: str = "epic"
    progress: str | None = None
    bootstrap: BootstrapOptions = field(default_factory=BootstrapOptions)
    save: bool = True
    root: Path | None = None
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    on_note: Callable[[str], None] = print

    def reward(self) -> RewardKind:
        """The reward to evaluate, with the options only CLIP reads refused for any other.

        :raises EvalkitError: no reward or several, or a CLIP option given with another reward.
        """
        chosen = self.choice.kind(self.task)
        if self.choice.model is None:
            embeds = chosen.embeds  # CLIP and heads embed
            for option, value in (
                ("--alpha", self.choice.alphas),
                ("--pretrained", self.choice.pretrained),
                ("--devices", None if embeds else self.embed.devices),
                ("--batch-size", None if embeds else self.embed.batch_size),
            ):
                if value is not None:
                    raise EvalkitError(
                        f"{option} only applies to CLIP rewards (--model); drop it with "
                        f"{self.choice.given()[0]}."
                    )
        return chosen

    def check_progress(self) -> None:
        """``progress`` is read by a metric asked for (an unknown metric: one sentence).

        :raises EvalkitError: a progress variable and no metric that reads it.
        """
        if not uses_progress(self.metrics) and self.progress is not None:
            raise EvalkitError(
                "--progress is the progress variable of spearman and kendall, and --metrics "
                "names neither; add one of them to --metrics (or all) or drop --progress."
            )

    def open(self) -> Dataset:
        """The dataset, checked (and the progress expression evaluated once on it)."""
        ds = task_dataset(self.task, self.dataset, self.root)
        warn_few_episodes(ds.manifest.n_episodes, self.bootstrap.n_bootstrap)
        if self.progress and uses_progress(self.metrics):  # a bad expression: before any work
            get_family(ds.family).progress_values(ds.states, self.progress)
        return ds

    def run(self) -> EpicOutcome:
        """Check everything, then embed what is missing and compute the metrics.

        :raises EvalkitError: a bad combination of inputs, a dataset or reward that is not there.
        """
        chosen = self.reward()
        self.check_progress()
        ds = self.open()
        save = self.save
        if save and not is_writable(ds.path):
            save = False
            self.on_note(
                f"Dataset {ds.name!r} at {ds.path} is read-only: the result is printed but not "
                "saved (pass --no-save to skip this check)."
            )
        source = chosen.dataset_rewards(ds, self.task, **self.embed.options())
        b = self.bootstrap
        run = evaluate_rewards(
            ds,
            self.task,
            source,
            label_set=self.labels,
            n_bootstrap=b.n_bootstrap,
            ci_method=b.ci_method,
            confidence=b.confidence,
            seed=b.seed,
            save=save,
            metrics=self.metrics,
            progress=self.progress,
        )
        return EpicOutcome(run, source, b)
