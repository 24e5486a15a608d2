"""An evalkit plugin, one file: an environment family with a task, a metric and a model backend.

- **Acrobot** (gymnasium's, drawn with numpy) as the family ``acrobot``, with the task
  ``acrobot_up``;
- the metric ``pearson_progress``: Pearson's r of the reward with the family's progress
  variable, with an interval over episodes;
- the model backend ``pixels:N``: a frame squashed to N×N grey pixels, as an "embedding" (no
  weights; text prompts get a fixed pseudo-random vector), handy for smoke tests.

Load it with ``EVALKIT_PLUGINS=example_plugin`` (its folder on ``PYTHONPATH``), then::

    evalkit collect acrobot --n 200                      # a sweep of the first link's angle
    evalkit embed acrobot-sweep --model pixels:8
    evalkit epic --task acrobot_up --model pixels:8 --metrics epic,pearson_progress
    evalkit landscape acrobot --dark                     # CLIP reward against that angle
    evalkit scaling --task acrobot_up --models pixels:4,pixels:8 --metric pearson_progress

It registers through evalkit's public functions only: :func:`evalkit.envs.register_family`,
:func:`evalkit.tasks.register_task`, :func:`evalkit.metrics.register_metric` and
:func:`evalkit.vlm.register_backend`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium.envs.classic_control.acrobot import AcrobotEnv as GymAcrobot

from evalkit.envs import Family, StateSettable, SweepSpec, Variant, register_family
from evalkit.errors import ModelError
from evalkit.metrics import (
    BootstrapOptions,
    Metric,
    MetricResult,
    ResultRow,
    bootstrap_pearson,
    register_metric,
    weighted_pearson,
)
from evalkit.tasks import Task, register_task
from evalkit.vlm import Backend, Catalogue, ModelSpec, register_backend
from evalkit.vlm.backend import LoadedModel, ResolvedModel

# -- an environment family and its task ---------------------------------------------------------


class AcrobotEnv(StateSettable, GymAcrobot):
    """Gymnasium's Acrobot (its dynamics unchanged), drawn with numpy: two links from a pivot at
    the frame's centre, angle 0 hanging down."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}
    state_columns = ("theta1", "theta2", "dtheta1", "dtheta2")

    def __init__(
        self, render_mode: str | None = None, width: int = 64, height: int = 64, dark: bool = False
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.width, self.height, self.dark = int(width), int(height), bool(dark)

    def render(self) -> np.ndarray:
        """The links as a ``uint8 (height, width, 3)`` frame."""
        background, ink = (0, 255) if self.dark else (255, 40)
        frame = np.full((self.height, self.width, 3), background, dtype=np.uint8)
        theta1, theta2 = float(self.state[0]), float(self.state[1])
        elbow = (0.22 * math.sin(theta1), -0.22 * math.cos(theta1))
        tip = (
            elbow[0] + 0.22 * math.sin(theta1 + theta2),
            elbow[1] - 0.22 * math.cos(theta1 + theta2),
        )
        for start, end in (((0.0, 0.0), elbow), (elbow, tip)):
            t = np.linspace(0.0, 1.0, 2 * max(self.width, self.height))
            x = 0.5 + start[0] + t * (end[0] - start[0])
            y = 0.5 - (start[1] + t * (end[1] - start[1]))  # image rows grow downwards
            cols = np.clip(x * self.width, 0, self.width - 1).astype(int)
            rows = np.clip(y * self.height, 0, self.height - 1).astype(int)
            frame[rows, cols] = ink
        return frame

    def render_settings(self) -> dict[str, Any]:
        """What decides how frames look (stored in dataset manifests)."""
        return {
            "width": self.width,
            "height": self.height,
            "dark": self.dark,
            "renderer": "acrobot-plugin/1",
        }

    def _get_state_vector(self) -> np.ndarray | None:
        return None if self.state is None else np.asarray(self.state, dtype=np.float64)

    def _set_state_vector(self, vector: np.ndarray) -> None:
        self.state = vector


def tip_above_bar(states: Any, height: float = 1.0) -> np.ndarray:
    """Acrobot's goal (gymnasium's termination): the tip is ``height`` above the pivot."""
    theta1 = np.asarray(states["theta1"], dtype=float)
    theta2 = np.asarray(states["theta2"], dtype=float) if "theta2" in states else 0.0
    return -np.cos(theta1) - np.cos(theta1 + theta2) > height


register_family(
    Family(
        name="acrobot",
        env_id="evalkit-plugin/Acrobot-v0",
        entry_point=AcrobotEnv,
        episode_length=500,
        default_dataset="acrobot-sweep",
        sweep=SweepSpec(
            "theta1",
            0.0,
            2 * math.pi,
            {"theta2": 0.0, "dtheta1": 0.0, "dtheta2": 0.0},
            summary="first link angle uniform in [0, 2π], second link straight, at rest",
        ),
        axis_label="first link angle (rad)",
        goal_value=math.pi,
        rules={"tip_above_bar": tip_above_bar},
        default_rule="tip_above_bar",
        variants=(
            Variant(
                "dark",
                default=False,
                on_flag="--dark",
                off_flag="--light",
                help="White links on black, or dark links on white.",
                dataset_suffix=("", "-dark"),
            ),
        ),
        progress="-cos(theta1) - cos(theta1 + theta2)",
        title="Acrobot",
        description="gymnasium's Acrobot: swing the tip above the bar",
    )
)

register_task(
    Task(
        "acrobot_up",
        "acrobot",
        "a double pendulum pointing straight up",
        "a double pendulum",
        criterion="the tip is one link length above the pivot",
        rule="tip_above_bar",
    )
)


# -- a metric -----------------------------------------------------------------------------------


def pearson_progress(metrics, inputs, bootstrap: BootstrapOptions) -> list[MetricResult]:
    """Pearson r of each reward column with the progress variable, with its episode interval."""
    x = np.asarray(inputs.rewards, dtype=float)
    p = np.asarray(inputs.progress, dtype=float)
    w = np.ones(len(p)) if inputs.weights is None else np.asarray(inputs.weights, dtype=float)
    r = weighted_pearson(x, p, w)
    boot = None
    if bootstrap.n_bootstrap > 0:
        boot = bootstrap_pearson(x, p, w, inputs.episodes, bootstrap=bootstrap)
    n_episodes = len(np.unique(inputs.episodes)) if inputs.episodes is not None else len(p)
    return [
        MetricResult(
            metric="pearson_progress",
            estimate=float(r[j]),
            interval=None if boot is None else (float(boot.low[j]), float(boot.high[j])),
            method="Pearson r of reward and progress",
            ci_method=None if boot is None else bootstrap.ci_method,
            confidence=bootstrap.confidence,
            n=len(p),
            n_episodes=n_episodes,
            n_bootstrap=0 if boot is None else bootstrap.n_bootstrap,
            n_degenerate=0 if boot is None else int(boot.n_degenerate[j]),
            seed=bootstrap.seed,
            name=None if inputs.names is None else inputs.names[j],
        )
        for j in range(x.shape[1])
    ]


PEARSON_PROGRESS = Metric(
    name="pearson_progress",
    needs=("progress",),
    description="Pearson r with the progress variable",
    compute=pearson_progress,
    rows=(ResultRow("pearson_progress", "Pearson r with progress", True, 0.0, "uncorrelated (0)"),),
)
register_metric(PEARSON_PROGRESS)


# -- a model backend ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PixelsResolved(ResolvedModel):
    """``pixels:N``: the frame squashed to N×N, grey (the mean of the channels), as a vector."""

    spec: ModelSpec
    n: int
    display_name: str
    preprocess: dict[str, Any]

    backend = "pixels"

    @property
    def label(self) -> str:
        return f"pixels:{self.n}"

    @property
    def identity(self) -> dict[str, Any]:
        return {"backend": "pixels", "n": self.n, "preprocess": self.preprocess}

    @property
    def embed_dim(self) -> int:
        return self.n * self.n

    @property
    def weights_slug(self) -> str:
        return "grey"

    @property
    def parameters(self) -> int | None:
        return 0

    def load(self, device: torch.device) -> PixelsModel:
        return PixelsModel(self, device)


class PixelsModel(LoadedModel):
    """The loaded ``pixels:N`` model (no naive reference path: ``bench embed`` refuses it)."""

    resolved: PixelsResolved
    device: torch.device

    def __init__(self, resolved: PixelsResolved, device: torch.device) -> None:
        self.resolved = resolved
        self.device = device

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels.mean(dim=1).flatten(1)

    def encode_texts(self, prompts: list[str]) -> torch.Tensor:
        return torch.stack([_hashed(p, self.resolved.embed_dim) for p in prompts]).to(self.device)


def _hashed(prompt: str, dim: int) -> torch.Tensor:
    """A fixed pseudo-random vector per prompt (pixels have no text tower)."""
    seed = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "little")
    return torch.from_numpy(np.random.default_rng(seed).random(dim).astype(np.float32))


class PixelsBackend(Backend):
    """Model names ``pixels:N``, N from 1 to 64."""

    name = "pixels"
    prefix = "pixels:"
    usage = "pixels:N — the frame as N×N grey pixels (no weights)"

    def resolve(self, spec: ModelSpec) -> PixelsResolved:
        body = spec.model.strip()[len(self.prefix) :]
        if not body.isdigit() or not 1 <= int(body) <= 64:
            raise ModelError(f"A pixels model is pixels:N with N from 1 to 64, not {spec.model!r}.")
        if spec.pretrained not in (None, "none"):
            raise ModelError("A pixels model has no weights; pass no --pretrained.")
        n = int(body)
        preprocess = {
            "size": [n, n],
            "mean": [0.0, 0.0, 0.0],
            "std": [1.0, 1.0, 1.0],
            "interpolation": "bilinear",
            "resize_mode": "squash",
            "fill_color": 0,
        }
        return PixelsResolved(spec=spec, n=n, display_name=f"pixels-{n}", preprocess=preprocess)

    def catalogue(self, include_all: bool = False) -> Catalogue:
        sizes = (8, 16, 32)
        return Catalogue(
            title="pixel models",
            columns=("model", "parameters"),
            rows=tuple((f"pixels:{n}", "0") for n in sizes),
            cached=tuple(True for _ in sizes),
            footer="No weights: every size is here.",
        )


register_backend(PixelsBackend)
