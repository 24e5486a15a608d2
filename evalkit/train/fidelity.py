"""Reward fidelity on the agent's own states, reward-hacking frames and training success.

EPIC depends on the state distribution, and the offline dataset a reward was judged on is not
the distribution the policy visits. So during a run with a model reward (CLIP, frame prototype,
reward head) on a task with a goal rule:

- :class:`RecordState` (a gymnasium wrapper) puts the physical state of the state every step
  reaches into ``info["state"]`` (beside the frame of :class:`~evalkit.train.clip_reward.RenderFrame`);
- :class:`VisitedFrames` receives every step's states and, when the reward wrapper has scored
  them, their frames and rewards; it keeps a window of the most recent visited frames (reward,
  rule label, progress, episode) and :meth:`VisitedFrames.measure` computes the metric panel's
  goal EPIC (with its episode-bootstrap interval), AUC and Spearman ρ with the family's
  progress variable on it (:class:`Fidelity`), plus the share of goal states;
- a :class:`ContactSheetReservoir` keeps the highest-rewarded non-goal frames and the
  lowest-rewarded goal frames between checkpoints (bounded: a few frames each), drawn at every
  checkpoint by :func:`evalkit.plots.contact_sheet.plot_contact_sheet`;
- :class:`EpisodeSuccess` judges every finished training episode with the family's success
  criterion on its rule labels (any run, the ground truth included).

Rule labels are computed in batches (one state table per reward batch, or per
:data:`STAGE_FRAMES` frames when rewards come a step at a time): a table per step would cost
more than the reward itself.
"""

from __future__ import annotations

import functools
import math
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

import gymnasium as gym
import numpy as np
import pandas as pd

from evalkit.data.store import Dataset, iter_datasets
from evalkit.errors import DegenerateError, EvalkitError
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.panel import metric_panel
from evalkit.metrics.registry import needing
from evalkit.pipeline.figures import saved_clip_results
from evalkit.plots.contact_sheet import plot_contact_sheet
from evalkit.plots.style import save_figure
from evalkit.tasks import Task

MONITORED = ("epic", "auc", "spearman")
"""The registered metrics the monitor measures (the :class:`Fidelity` figures, in its order):
the first with its episode-bootstrap interval, the others as point estimates. The progress
variable is computed only when one of them needs it."""
STATE_KEY = "state"
"""Where :class:`RecordState` puts a step's physical state in ``info``."""
WINDOW_FRAMES = 10_000
"""Visited frames the fidelity figures are computed on: the most recent ones."""
SHEET_FRAMES = 8
"""Frames per row of a contact sheet (non-goal frames the reward likes, goal frames it does not)."""
STAGE_FRAMES = 256
"""Frames scored a few at a time are labelled once this many have gathered (kept meanwhile,
copied only when the caller reuses its array)."""
N_BOOTSTRAP = 1000
"""Episode-bootstrap resamples of the fidelity EPIC interval."""
SHEETS_DIR = "fidelity"
"""The contact sheets' folder inside a run."""


def state_row(env: Any) -> dict[str, float]:
    """The physical state of an evalkit environment as named columns (for goal rules)."""
    inner = env.unwrapped
    if hasattr(inner, "state_row"):
        return dict(inner.state_row())
    state = inner.get_state() if hasattr(inner, "get_state") else None
    return dict(state) if isinstance(state, Mapping) else {}


def state_table(states: Sequence[Mapping[str, float]]) -> pd.DataFrame:
    """Rows of state columns (all with the same columns) as a table, faster than pandas' own
    reading of a list of dicts."""
    if not states:
        return pd.DataFrame()
    columns = list(states[0])
    values = np.array([list(s.values()) for s in states], dtype=np.float64)
    return pd.DataFrame(values.reshape(len(states), len(columns)), columns=columns)


class RecordState(gym.Wrapper):
    """Put the physical state reached by every step into ``info["state"]`` (a dict of columns).

    It records inside the environment, before a vector environment auto-resets, so the last
    step of an episode carries its own state, as :class:`~evalkit.train.clip_reward.RenderFrame`
    does with its frame.
    """

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info[STATE_KEY] = state_row(self.env)
        return obs, reward, terminated, truncated, info


# -- the figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fidelity:
    """How well the training reward matches the goal rule on recently visited frames.

    :param frames: visited frames the figures are computed on.
    :param goal_share: share of them that the rule calls goal states.
    :param epic: goal EPIC distance of the reward to the rule labels (0 best, 1 inverted;
        ``None`` while the window holds one class only).
    :param epic_interval: its episode-bootstrap interval.
    :param auc: ROC-AUC of the reward as a goal detector.
    :param progress_rank: Spearman ρ of the reward with the family's progress variable
        (``None`` when the family has none).
    """

    frames: int
    goal_share: float
    epic: float | None = None
    epic_interval: tuple[float, float] | None = None
    auc: float | None = None
    progress_rank: float | None = None

    def columns(self) -> dict[str, float | int | None]:
        """The figures under their ``metrics.csv`` column names."""
        low, high = self.epic_interval or (None, None)
        return {
            "fidelity_epic": self.epic,
            "fidelity_epic_low": low,
            "fidelity_epic_high": high,
            "fidelity_auc": self.auc,
            "fidelity_progress_rank": self.progress_rank,
            "goal_share": self.goal_share,
            "fidelity_frames": self.frames,
        }

    def epic_text(self) -> str | None:
        """``0.64 (0.58–0.70)``, or ``None`` without an EPIC figure."""
        if self.epic is None:
            return None
        if self.epic_interval is None:
            return f"{self.epic:.2f}"
        return f"{self.epic:.2f} ({self.epic_interval[0]:.2f}–{self.epic_interval[1]:.2f})"


def measure_fidelity(
    rewards: np.ndarray,
    labels: np.ndarray,
    episodes: np.ndarray,
    progress: np.ndarray | None = None,
    *,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> Fidelity:
    """The metric panel's goal EPIC with its episode-bootstrap interval, and the point estimates
    of AUC and Spearman ρ (with ``progress``), of ``rewards`` against 0/1 ``labels``; a metric
    undefined on these frames (one class only, a constant reward) is ``None``.

    Only EPIC gets an interval: the others' bootstraps would cost more than the rest of the
    measurement together."""
    labels = np.asarray(labels, dtype=bool)
    inputs = dict(labels=labels, progress=progress, episodes=np.asarray(episodes))
    rewards = np.asarray(rewards, dtype=np.float64)
    bootstrap = BootstrapOptions(n_bootstrap=n_bootstrap, seed=seed)
    with_interval, point = MONITORED[0], MONITORED[1:]
    epic = _panel_result(rewards, with_interval, bootstrap, inputs)
    auc, rank = (_panel_result(rewards, m, bootstrap.without_interval(), inputs) for m in point)
    return Fidelity(
        frames=len(labels),
        goal_share=float(labels.mean()) if len(labels) else math.nan,
        epic=_finite(epic.estimate) if epic else None,
        epic_interval=tuple(map(float, epic.interval)) if epic and epic.interval else None,  # type: ignore[arg-type]
        auc=_finite(auc.estimate) if auc else None,
        progress_rank=_finite(rank.estimate) if rank else None,
    )


def _panel_result(
    rewards: np.ndarray, metric: str, bootstrap: BootstrapOptions, inputs: dict[str, Any]
) -> MetricResult | None:
    """One registered metric; without its interval when the bootstrap is not defined (goal
    frames in one episode only), ``None`` when the metric is not (one class, a constant reward,
    an input it needs missing, such as the progress variable of a family without one): a
    measurement never stops a training run."""
    tries = [bootstrap] if bootstrap.n_bootstrap == 0 else [bootstrap, bootstrap.without_interval()]
    for options in tries:
        try:
            results = metric_panel(
                rewards, metrics=(metric,), bootstrap=options, skip_unavailable=True, **inputs
            )
        except DegenerateError:
            continue
        return next((r for r in results if isinstance(r, MetricResult)), None)
    return None


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# -- the contact sheet's candidates --------------------------------------------------------------


class ContactSheetReservoir:
    """The ``size`` highest-rewarded non-goal frames and the ``size`` lowest-rewarded goal frames
    offered since the last :meth:`clear` (copies; at most ``2 * size`` frames in memory)."""

    def __init__(self, size: int = SHEET_FRAMES) -> None:
        self.size = size
        self._kept: dict[bool, tuple[np.ndarray, list[np.ndarray]]] = {}
        self.clear()

    def clear(self) -> None:
        self._kept = {False: (np.empty(0), []), True: (np.empty(0), [])}

    def offer(self, frames: Sequence[np.ndarray], rewards: np.ndarray, labels: np.ndarray) -> None:
        """Consider a batch of scored frames (``frames`` may be reused afterwards: the kept ones
        are copied)."""
        for goal in (False, True):
            idx = np.flatnonzero(labels == goal)
            if not len(idx):
                continue
            order = np.argsort(rewards[idx] if goal else -rewards[idx], kind="stable")
            idx = idx[order[: self.size]]
            kept_r, kept_f = self._kept[goal]
            merged_r = np.concatenate([kept_r, rewards[idx]])
            sign = 1.0 if goal else -1.0
            best = np.argsort(sign * merged_r, kind="stable")[: self.size]
            n_old = len(kept_r)
            new_frames = [
                kept_f[i] if i < n_old else np.array(frames[idx[i - n_old]]) for i in best
            ]
            self._kept[goal] = (merged_r[best], new_frames)

    def candidates(self, goal: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        """The kept rewards (best first: highest for non-goal, lowest for goal) and frames."""
        return self._kept[goal]

    def __len__(self) -> int:
        return sum(len(r) for r, _ in self._kept.values())


# -- the window of visited frames ----------------------------------------------------------------

Method = TypeVar("Method", bound=Callable[..., Any])


def _timed(method: Method) -> Method:
    """Add the time a method takes to its object's ``seconds``."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0

    return wrapper  # type: ignore[return-value]


class VisitedFrames:
    """The visited frames of a run with their rewards, rule labels and episodes.

    The reward wrapper calls :meth:`on_step` with every vector step's infos and done flags,
    and :meth:`on_scored` with the frames it scored, oldest step first (they may be scored
    several steps later, in a batch).

    :param task: the run's task (it must have a goal rule).
    :param n_envs: frames per vector step.
    :param window: how many of the most recent frames :meth:`measure` uses.
    :param sheet_size: frames per row of a contact sheet.

    ``seconds`` counts the time spent in :meth:`on_step`, :meth:`on_scored` and :meth:`measure`
    (what fidelity costs the training loop; contact sheets are drawn at checkpoints).
    """

    def __init__(
        self,
        task: Task,
        n_envs: int,
        window: int = WINDOW_FRAMES,
        sheet_size: int = SHEET_FRAMES,
        n_bootstrap: int = N_BOOTSTRAP,
    ) -> None:
        self.task, self.n_envs, self.window, self.n_bootstrap = task, n_envs, window, n_bootstrap
        self.progress = task.env.progress
        self._wants_progress = self.progress is not None and bool(needing("progress", MONITORED))
        self.reservoir = ContactSheetReservoir(sheet_size)
        self._episode = np.arange(n_envs)  # the running episode id of every environment
        self._pending: deque[tuple[list[dict[str, float]], np.ndarray]] = deque()
        self._staged: list[tuple[list[dict[str, float]], np.ndarray, np.ndarray, np.ndarray]] = []
        self._n_staged = 0
        self._chunks: deque[pd.DataFrame] = deque()
        self._rows = 0
        self.seconds = 0.0

    @_timed
    def on_step(self, infos: Sequence[dict[str, Any]], dones: np.ndarray) -> None:
        """One vector step: the states reached and which episodes ended there."""
        self._pending.append(([info[STATE_KEY] for info in infos], self._episode.copy()))
        self._episode = np.where(dones, self._episode + self.n_envs, self._episode)

    @_timed
    def on_scored(self, frames: np.ndarray, rewards: np.ndarray, owned: bool = False) -> None:
        """The frames of the oldest pending steps and their rewards (step by step).

        :param owned: the caller will not reuse ``frames`` (a fresh array): a few frames at a
            time are then kept as they are until :data:`STAGE_FRAMES` have gathered and are
            labelled together; otherwise they are copied first.
        """
        steps = len(rewards) // self.n_envs
        states: list[dict[str, float]] = []
        episodes = []
        for _ in range(steps):
            step_states, step_episodes = self._pending.popleft()
            states += step_states
            episodes.append(step_episodes)
        rewards = np.asarray(rewards, dtype=np.float64)
        batch = (states, np.concatenate(episodes), rewards)
        if len(rewards) >= STAGE_FRAMES:
            self.flush()
            self._label(*batch, frames)
            return
        self._staged.append((*batch, frames if owned else np.array(frames)))
        self._n_staged += len(rewards)
        if self._n_staged >= STAGE_FRAMES:
            self.flush()

    def discard_pending(self) -> None:
        """Forget the steps whose frames will never be scored."""
        self._pending.clear()

    def flush(self) -> None:
        """Label the frames staged so far."""
        if not self._staged:
            return
        staged, self._staged, self._n_staged = self._staged, [], 0
        self._label(
            [s for part in staged for s in part[0]],
            np.concatenate([p[1] for p in staged]),
            np.concatenate([p[2] for p in staged]),
            [frame for part in staged for frame in part[3]],
        )

    def _label(
        self,
        states: list[dict[str, float]],
        episodes: np.ndarray,
        rewards: np.ndarray,
        frames: Sequence[np.ndarray],
    ) -> None:
        """Label a batch of rows, add it to the window and offer its frames to the sheet."""
        table = state_table(states)
        labels = np.asarray(self.task.rule_labels(table), dtype=bool)
        table["reward"], table["goal"], table["episode"] = rewards, labels, episodes
        self._chunks.append(table)
        self._rows += len(table)
        while self._chunks and self._rows - len(self._chunks[0]) >= self.window:
            self._rows -= len(self._chunks.popleft())
        self.reservoir.offer(frames, rewards, labels)

    def table(self) -> pd.DataFrame:
        """The window: the most recent labelled frames' states, ``reward``, ``goal`` and
        ``episode``, oldest first."""
        self.flush()
        if not self._chunks:
            return pd.DataFrame(columns=["reward", "goal", "episode"])
        return pd.concat(self._chunks, ignore_index=True).tail(self.window)

    @_timed
    def measure(self) -> Fidelity | None:
        """The fidelity figures of the window (``None`` before any frame was scored)."""
        table = self.table()
        if table.empty:
            return None
        return measure_fidelity(
            table["reward"].to_numpy(),
            table["goal"].to_numpy(dtype=bool),
            table["episode"].to_numpy(),
            self.task.env.progress_values(table) if self._wants_progress else None,
            n_bootstrap=self.n_bootstrap,
        )

    def write_sheet(self, path: Path, title: str) -> Path | None:
        """Draw the reservoir into a PNG at ``path`` and empty it (``None``: nothing to draw)."""
        self.flush()
        if not len(self.reservoir):
            return None
        fig = plot_contact_sheet(
            self.reservoir.candidates(False), self.reservoir.candidates(True), title
        )
        self.reservoir.clear()
        return save_figure(fig, path)[0]


# -- success of training episodes ----------------------------------------------------------------


class EpisodeSuccess:
    """Success of the recent finished training episodes, by the family's criterion on the
    rule labels of each episode's steps.

    :param task: the run's task (with a goal rule; its family with a success criterion).
    :param n_envs: environments per vector step.
    :param window: how many recent episodes :meth:`rate` averages (as SB3's ``ep_rew_mean``).
    """

    def __init__(self, task: Task, n_envs: int, window: int = 100) -> None:
        self.task, self.n_envs = task, n_envs
        self.judge = task.env.require_success().judge
        self.recent: deque[bool] = deque(maxlen=window)
        self._states: list[dict[str, float]] = []
        self._dones: list[np.ndarray] = []
        self._running: list[list[np.ndarray]] = [[] for _ in range(n_envs)]

    def on_step(self, infos: Sequence[dict[str, Any]], dones: np.ndarray) -> None:
        self._states += [info[STATE_KEY] for info in infos]
        self._dones.append(np.asarray(dones, dtype=bool))

    def rate(self) -> float | None:
        """Share of successes among the recent finished episodes (``None`` before one ended)."""
        if self._dones:
            labels = np.asarray(self.task.rule_labels(state_table(self._states)), dtype=bool)
            labels = labels.reshape(len(self._dones), self.n_envs)
            dones = np.stack(self._dones)
            self._states, self._dones = [], []
            for env in range(self.n_envs):
                start = 0
                for end in np.flatnonzero(dones[:, env]) + 1:
                    self._running[env].append(labels[start:end, env])
                    self.recent.append(bool(self.judge(np.concatenate(self._running[env]))))
                    self._running[env], start = [], end
                if start < len(labels):
                    self._running[env].append(labels[start:, env])
        return float(np.mean(self.recent)) if self.recent else None


# -- the summary ---------------------------------------------------------------------------------


def offline_epic(
    task: Task, model: str | None, pretrained: str | None, alpha: float, root: Any = None
) -> tuple[str, float] | None:
    """The saved, current goal EPIC of this CLIP reward on a dataset of the task's family:
    ``(dataset name, distance)``, the task's default dataset first; ``None`` if none is saved."""
    found = []
    for path in iter_datasets(root):
        try:
            ds = Dataset(path)
            if ds.family != task.family:
                continue
            rows = saved_clip_results(ds, task.name)
        except EvalkitError:
            continue
        rows = rows[
            (rows["model"].str.lower() == str(model).lower())
            & np.isclose(rows["alpha"].to_numpy(dtype=float), alpha)
        ]
        if pretrained is not None:
            rows = rows[rows["pretrained"].astype(str).str.lower() == str(pretrained).lower()]
        elif rows["pretrained"].nunique() > 1:
            continue  # the run used the default weights, and the table has several
        if not rows.empty:
            found.append((ds.name != task.dataset, ds.name, float(rows["estimate"].iloc[-1])))
    return min(found)[1:] if found else None


def fidelity_sentence(fidelity: Fidelity, offline: tuple[str, float] | None) -> str | None:
    """``on the agent's states the reward's EPIC is 0.64 (0.58–0.70); offline on cartpole-sweep
    it was 0.31: the agent visits states the reward misjudges`` (``None`` without an EPIC)."""
    text = fidelity.epic_text()
    if text is None:
        return None
    sentence = f"on the agent's states the reward's EPIC is {text}"
    if offline is None:
        return sentence
    name, before = offline
    low, high = fidelity.epic_interval or (fidelity.epic, fidelity.epic)
    if low is not None and low > before:
        verdict = "the agent visits states the reward misjudges"
    elif high is not None and high < before:
        verdict = "the reward judges the agent's states better than the offline dataset's"
    else:
        verdict = "the reward judges the agent's states as it judged the dataset's"
    return f"{sentence}; offline on {name} it was {before:.2f}: {verdict}"
