"""``evalkit bench e2e``: the proof that a reward which knows the task trains a policy.

On this CPU, with random-weight image towers only, one command runs every step of the claim
and keeps each step's artefacts in one folder:

1. ``collect``: a CartPole dataset of states drawn uniformly over the family's state box
   (``evalkit collect cartpole --spacing box``: the cart anywhere in the frame, the pole all the
   way round, any velocities), rendered at the model's input size; rule labels on publish.
   ``full_track`` (``--full-track``) renders every stage with CartPole's whole-track view and
   draws the cart over the track and past its ends, where it leaves the frame (not the goal);
2. ``model``: a small ViT (open_clip config, :data:`VISION`) with seeded random weights, saved
   as a local checkpoint. Two choices make a random tower's embedding carry the picture: white
   is the normalisation mean (the empty background is zero input), and the tower's biases,
   position and class embeddings are zero (the background adds nothing; tokens are averaged);
3. ``embed``: the dataset's image embeddings (cached in the dataset);
4. ``align``: a logistic head on the rule labels (:func:`evalkit.pipeline.align`, nested
   episode-grouped cross-validation), its held-out EPIC, and the EPIC of the same model's text
   prompts (Definition 1, nothing fitted) on the same frames;
5. ``train-head``: DQN with ``--reward head:…`` through the batched path (Algorithm 1: frames
   rendered during training, embedded by the head's model in batches, scored by the head);
6. ``evaluate-head``: :func:`evalkit.train.evaluate.evaluate` on the best checkpoint (the highest
   training reward, as in the paper), and the head's EPIC on those rollouts (states the policy
   visits);
7. ``train-text`` and ``evaluate-text``: the same with the same model's text-prompt reward (the
   control; random text and image towers do not know the task);
8. ``summary``: the learning curves (ground-truth return against steps, from the checkpoint
   indexes) as a PNG, and ``summary.md`` + ``summary.json`` with every figure and one line per
   stage with its wall time.

Every stage records its wall time in ``stages.json`` when it finishes; a second run with the
same ``--out`` reuses finished stages and resumes an interrupted training from its newest
checkpoint, so Ctrl-C loses at most the stage in progress. The DQN settings are rl-zoo's for
CartPole (:data:`DQN_KWARGS`), not the paper's 3 M steps.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from safetensors.torch import save_file

from evalkit.bench.stages import Stage, StageLog, jsonable, run_stages
from evalkit.data.store import Dataset, open_dataset
from evalkit.data.sweeps import collect_sweep
from evalkit.envs.family import BOX
from evalkit.errors import DegenerateError
from evalkit.fileio import atomic_path, atomic_write_text
from evalkit.heads import load_head
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline import align
from evalkit.pipeline.heads import head_reward_source
from evalkit.pipeline.reward_kinds import HeadReward
from evalkit.pipeline.rewards import task_rewards
from evalkit.plots.style import new_figure, paper_style, save_figure, series_style
from evalkit.tasks import get_task
from evalkit.train.config import TrainConfig
from evalkit.train.evaluate import EVAL_DIR, REPORT_FILE, evaluate
from evalkit.train.runner import read_checkpoints, train
from evalkit.vlm import ModelSpec, embed_dataset, load_model, resolve
from evalkit.vlm.open_clip_backend import CONFIG_DIR

TASK = "cartpole"
DATASET = "cartpole-box"
MODEL_NAME = "e2e-vit"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
CURVE_PNG = "learning_curve.png"
EPIC_FILE = "text_epic.json"
EPISODE_RETURN = 200
"""The largest CartPole return (+1 in each of 200 steps); −200: the pole down throughout."""
ISSUE_SUCCESS = 0.5
"""The issue's success criterion: the pole upright in at least this fraction of an episode's steps."""

VISION: dict[str, Any] = {"patch_size": 8, "width": 256, "layers": 1, "head_width": 32}
"""The image tower (besides its input size and ``pool_type = avg``, token average pooling):
8-pixel patches, one block, 256 channels (a wider random tower gives the head more features)."""
EMBED_DIM = 256
L2_GRID: tuple[float, ...] = (1e-10, 1e-9, 1e-8)
"""λ tried by the head's cross-validation: a random tower's unit embeddings vary little around
their mean (every frame shows the track and the cart), so the useful weights are large and λ
small; align's default grid (1e-6 to 1) stops where these heads start."""
DQN_KWARGS: dict[str, Any] = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}
"""rl-zoo's DQN hyperparameters for CartPole (50 000 steps there)."""

Say = Callable[[str], None]
"""Where progress lines go."""


@dataclass(frozen=True)
class E2ESettings:
    """What one ``evalkit bench e2e`` runs (:data:`FULL` or :data:`QUICK`, with overrides).

    :param states: frames of the box dataset.
    :param size: frame side and the model's input size, in pixels.
    :param steps: environment steps of each training run.
    :param episodes: evaluation episodes of each run.
    :param checkpoint_every: steps between checkpoints (the points of the learning curve).
    :param reward_batch_size: frames embedded together in training (Algorithm 1's batch).
    :param folds: folds of the head's nested cross-validation.
    :param l2_grid: the λ it tries.
    :param bootstrap: bootstrap resamples of the EPIC intervals.
    :param seed: seed of the dataset, the folds and both training runs.
    :param threads: torch CPU threads (one is fastest on a busy 2-core machine).
    :param vision: the image tower's config besides ``image_size`` (open_clip ``vision_cfg``).
    :param embed_dim: the embedding's dimension.
    :param dqn: DQN constructor arguments (``learning_starts``... as in a ``--config`` file).
    :param full_track: frames show the whole track (the cartpole family's ``full_track``
        variant) in collect, training and evaluation, and the box spans it (``|x| <= 3``: off the track, the cart leaves the frame).
    """

    states: int = 4000
    size: int = 64
    steps: int = 50_000
    episodes: int = 20
    checkpoint_every: int = 5000
    reward_batch_size: int = 1024
    folds: int = 5
    l2_grid: tuple[float, ...] = L2_GRID
    bootstrap: int = 1000
    seed: int = 0
    threads: int = 1
    vision: Mapping[str, Any] = field(default_factory=lambda: dict(VISION))
    embed_dim: int = EMBED_DIM
    dqn: Mapping[str, Any] = field(default_factory=lambda: dict(DQN_KWARGS))
    full_track: bool = False


FULL = E2ESettings()
FULL_TRACK_SIZE = 80
"""Frame side of ``--full-track``: the whole track at 64 pixels leaves the pole 10 pixels long."""
QUICK = E2ESettings(
    states=400,
    size=32,
    steps=600,
    episodes=2,
    checkpoint_every=200,
    reward_batch_size=128,
    folds=3,
    l2_grid=(1e-4, 1e-2),
    bootstrap=0,
    vision={"patch_size": 8, "width": 32, "layers": 1, "head_width": 16},
    embed_dim=32,
    dqn={**DQN_KWARGS, "learning_starts": 100, "train_freq": 50, "gradient_steps": 10},
)
"""Seconds-long: the same stages on a tiny dataset and model (tests; nothing learns)."""


def _identity(settings: E2ESettings) -> dict[str, Any]:
    """The settings that decide the results (not ``threads``)."""
    values = asdict(settings)
    values.pop("threads")
    if not values["full_track"]:  # so that runs made before the option keep their identity
        values.pop("full_track")
    return values


def dataset_name(settings: E2ESettings) -> str:
    """The box dataset's name (``cartpole-box``, ``cartpole-track-box`` with the whole track)."""
    return f"{TASK}-track-box" if settings.full_track else DATASET


# -- the pieces ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where each artefact of a bench e2e run lives under ``out``."""

    out: Path

    @property
    def datasets(self) -> Path:
        return self.out / "datasets"

    @property
    def model_config(self) -> Path:
        return self.out / "model" / f"{MODEL_NAME}.json"

    @property
    def model_weights(self) -> Path:
        return self.out / "model" / f"{MODEL_NAME}.safetensors"

    @property
    def head(self) -> Path:
        return self.out / "head" / f"{TASK}-{MODEL_NAME}.json"

    def run(self, reward: str) -> Path:
        return self.out / "runs" / reward


def model_config(settings: E2ESettings) -> dict[str, Any]:
    """The open_clip config (hub style, with the preprocessing) of the bench's image tower."""
    text = json.loads((CONFIG_DIR / "evalkit-tiny-vit.json").read_text())["text_cfg"]
    vision = {**settings.vision, "image_size": settings.size, "pool_type": "avg"}
    return {
        "model_cfg": {"embed_dim": settings.embed_dim, "vision_cfg": vision, "text_cfg": text},
        "preprocess_cfg": {"mean": [1.0, 1.0, 1.0], "std": [0.5, 0.5, 0.5]},
    }


def save_random_model(settings: E2ESettings, config_path: Path, weights_path: Path) -> str:
    """Write the tower's config and a seeded random-weight checkpoint of it (see the module
    docstring for the two choices); returns the checkpoint's label."""
    config_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(json.dumps(model_config(settings), indent=2) + "\n", config_path)
    state = load_model(ModelSpec(str(config_path), "none")).model.state_dict()
    weights = {}
    for key, value in state.items():
        value = value.detach().clone().contiguous()
        if _zeroed(key):
            value = torch.zeros_like(value)
        weights[key] = value
    with atomic_path(weights_path, suffix=".safetensors") as tmp:
        save_file(weights, str(tmp))
    return resolve(ModelSpec(str(config_path), str(weights_path))).label


def _zeroed(key: str) -> bool:
    """Whether a parameter of the image tower is set to zero: biases (not LayerNorm's, which are
    zero already), the position and class embeddings."""
    if not key.startswith("visual."):
        return False
    name = key.rsplit(".", 1)[-1]
    is_norm = ".ln_" in key or key.split(".")[1].startswith("ln_")
    return (name.endswith("bias") and not is_norm) or name in (
        "positional_embedding",
        "class_embedding",
    )


def text_epic(
    dataset: Dataset, config_path: Path, weights_path: Path, settings: E2ESettings
) -> dict[str, Any]:
    """EPIC of the model's text-prompt reward (α = 0, the control's) on the dataset's rule labels."""
    spec = ModelSpec(str(config_path), str(weights_path))
    table = task_rewards(dataset, TASK, spec, alphas=(0.0,), devices="cpu", progress=False)
    labels = dataset.labels(TASK)
    result = epic_goal(
        table.for_alpha(0.0),
        labels,
        episodes=dataset.episodes,
        bootstrap=BootstrapOptions(settings.bootstrap, seed=settings.seed),
    )
    task = get_task(TASK)
    return {
        "distance": result.distance,
        "interval": result.interval,
        "goal": task.goal_prompt,
        "baseline": task.baseline_prompt,
        "alpha": 0.0,
    }


def train_config(settings: E2ESettings, reward: str, layout: Layout) -> TrainConfig:
    """The DQN run of the head (``reward="head"``) or of the text prompts (``"text"``)."""
    common = {
        "task": TASK,
        "steps": settings.steps,
        "seed": settings.seed,
        "device": "cpu",
        "render_size": settings.size,
        "reward_batch_size": settings.reward_batch_size,
        "checkpoint_every": settings.checkpoint_every,
        "save_replay_buffer": False,
        "torch_threads": settings.threads,
        "algo": "dqn",
        "algo_kwargs": dict(settings.dqn),
    }
    if settings.full_track:
        common["env_kwargs"] = {"full_track": True}
    if reward == "head":
        return TrainConfig(reward=HeadReward(str(layout.head)).canonical, **common)
    return TrainConfig(
        reward="clip",
        model=str(layout.model_config),
        pretrained=str(layout.model_weights),
        alpha=0.0,
        **common,
    )


def train_stage(settings: E2ESettings, reward: str, layout: Layout, say: Say) -> dict[str, Any]:
    """Train (or resume) one run; an interrupted run stops the bench with its checkpoint kept."""
    run_dir = layout.run(reward)
    done = [c.step for c in read_checkpoints(run_dir)] if run_dir.exists() else []
    if done and max(done) >= settings.steps:
        return {"run": str(run_dir), "steps": max(done), "resumed": True}
    resume = (run_dir / "config.json").is_file()
    result = train(
        train_config(settings, reward, layout),
        run_dir,
        resume=resume,
        progress=True,
        report=say,
    )
    if result.interrupted:
        raise KeyboardInterrupt
    return {
        "run": str(run_dir),
        "steps": result.steps,
        "learn_seconds": result.learn_seconds,
        "steps_per_second": result.steps_per_second,
        "reward_seconds": result.reward_seconds,
        "resumed": resume,
    }


def evaluate_stage(settings: E2ESettings, reward: str, layout: Layout) -> dict[str, Any]:
    """Evaluate a run's best checkpoint; the head's EPIC on those rollouts."""
    result = evaluate(layout.run(reward), "best", settings.episodes, device="cpu")
    report = Path(result.run_dir) / EVAL_DIR / Path(result.checkpoint).stem / REPORT_FILE
    out: dict[str, Any] = {"report": str(report), "dataset": result.dataset}
    out["head_epic_on_rollouts"] = rollout_head_epic(Path(str(result.dataset)), layout, settings)
    return out


def rollout_head_epic(dataset_path: Path, layout: Layout, settings: E2ESettings) -> Any:
    """The head's EPIC on a rollout dataset (``None`` with the reason when it is undefined,
    e.g. every frame upright)."""
    ds = open_dataset(dataset_path)
    values = head_reward_source(ds, layout.head, devices="cpu", progress=False).values[:, 0]
    try:
        r = epic_goal(
            values,
            ds.labels(TASK),
            episodes=ds.episodes,
            bootstrap=BootstrapOptions(settings.bootstrap, seed=settings.seed),
        )
    except DegenerateError as exc:
        return {"distance": None, "reason": str(exc)}
    return {
        "distance": r.distance,
        "interval": r.interval,
        "goal_fraction": float(ds.labels(TASK).mean()),
    }


# -- the summary --------------------------------------------------------------------------------


def run_summary(
    report_path: Path, run_dir: Path, train_record: Mapping[str, Any]
) -> dict[str, Any]:
    """One run's figures, read from its evaluation report and checkpoint index."""
    report = json.loads(report_path.read_text())
    fractions = np.asarray(report["goal_fraction"], dtype=float)
    return {
        "steps": int(train_record["steps"]),
        "checkpoint": Path(report["checkpoint"]).name,
        "checkpoint_step": report["checkpoint_step"],
        "episodes": report["episodes"],
        "success_rate": report["success_rate"],
        "success_criterion": report["criterion"],
        "upright_half_rate": float(np.mean(fractions >= ISSUE_SUCCESS)),
        "goal_fraction_mean": float(fractions.mean()),
        "gt_return_mean": report["gt_return_mean"],
        "gt_return_std": report["gt_return_std"],
        "train_reward_return_mean": report["clip_return_mean"],
        "curve": [
            {"step": c.step, "gt_return": c.gt_return, "train_reward": c.train_reward}
            for c in read_checkpoints(run_dir)
        ],
    }


def plot_curves(runs: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """Ground-truth return of the recent training episodes against steps, one line per run."""
    with paper_style():
        fig, ax = new_figure()
        for i, (name, run) in enumerate(runs.items()):
            points = [
                (p["step"], p["gt_return"]) for p in run["curve"] if p["gt_return"] is not None
            ]
            if points:
                steps, returns = zip(*points)
                ax.plot(steps, returns, markersize=3, label=LABELS[name], **series_style(i))
        ax.axhline(EPISODE_RETURN, color="grey", lw=0.8, ls=":")
        ax.axhline(-EPISODE_RETURN, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("ground-truth return")
        ax.set_title("CartPole DQN on a random-weight ViT's rewards")
        ax.legend()
    save_figure(fig, path)


LABELS = {"head": "reward head (rule labels)", "text": "text prompts (control)"}


def summarise(
    stages: Mapping[str, Mapping[str, Any]],
    layout: Layout,
    settings: E2ESettings,
    load: Mapping[str, Any],
) -> dict[str, Any]:
    """The summary of a finished run, every figure read from the artefacts."""
    head = load_head(layout.head)
    held = head.meta["heldout_epic"]
    runs = {
        name: run_summary(
            Path(stages[f"evaluate-{name}"]["report"]), layout.run(name), stages[f"train-{name}"]
        )
        for name in ("head", "text")
    }
    for name in runs:
        runs[name]["head_epic_on_rollouts"] = stages[f"evaluate-{name}"]["head_epic_on_rollouts"]
    return {
        "task": TASK,
        "dataset": stages["collect"],
        "model": stages["model"],
        "head": {
            "path": str(layout.head),
            "heldout_epic": held["distance"],
            "heldout_interval": held["interval"],
            "in_sample_epic": stages["align"]["in_sample_epic"],
            "l2": head.l2,
            "n_goal": head.meta["n_goal"],
            "n_nongoal": head.meta["n_nongoal"],
        },
        "text": json.loads((layout.out / EPIC_FILE).read_text()),
        "runs": runs,
        "stages": {name: record["seconds"] for name, record in stages.items()},
        "total_seconds": float(sum(record["seconds"] for record in stages.values())),
        "machine": load,
        "settings": jsonable(asdict(settings)),
        "curve_png": str(layout.out / CURVE_PNG),
    }


def _fmt(value: Any, digits: int = 3) -> str:
    return (
        "—" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)
    )


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """``summary.md``: the figures of :func:`summarise` as a short note."""
    head, text, runs = summary["head"], summary["text"], summary["runs"]
    lines = [
        "# evalkit bench e2e: a reward head trains CartPole DQN",
        "",
        f"Dataset: {summary['dataset']['frames']} frames {summary['dataset']['size']}×"
        f"{summary['dataset']['size']} drawn uniformly over the CartPole state box "
        f"({summary['dataset']['goal_frames']} upright). Model: {summary['model']['label']} "
        "(random weights, saved as a local checkpoint).",
        "",
        "| reward | EPIC on the box dataset | success (upright ≥ 50 % of steps) | success "
        "(family: upright in every step) | GT return | steps | evaluated checkpoint |",
        "|---|---|---|---|---|---|---|",
    ]
    epic = {
        "head": f"{head['heldout_epic']:.3f} held-out (in-sample {head['in_sample_epic']:.3f})",
        "text": f"{text['distance']:.3f} (nothing fitted)",
    }
    for name, run in runs.items():
        lines.append(
            f"| {LABELS[name]} | {epic[name]} | {run['upright_half_rate']:.0%} of {run['episodes']} | "
            f"{run['success_rate']:.0%} | {run['gt_return_mean']:.1f} ± {run['gt_return_std']:.1f} | "
            f"{run['steps']} | step {run['checkpoint_step']} (highest training reward) |"
        )
    lines += ["", "Head EPIC on each run's evaluation rollouts (the states its policy visits):"]
    for name, run in runs.items():
        r = run["head_epic_on_rollouts"]
        lines.append(
            f"- {LABELS[name]}: {_fmt(r.get('distance'))}"
            + (f" ({r['reason']})" if r.get("reason") else "")
        )
    lines += ["", f"Learning curves: {CURVE_PNG}", "", "Wall time per stage:", ""]
    for name, seconds in summary["stages"].items():
        lines.append(f"- {name}: {seconds:.1f} s")
    lines.append(f"- total: {summary['total_seconds']:.1f} s")
    m = summary["machine"]
    lines += [
        "",
        f"Machine: {m['cpus']} CPUs; load average {m['load_start']} at the start, {m['load_end']} at the end.",
    ]
    return "\n".join(lines) + "\n"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- the command's entry point ------------------------------------------------------------------


def bench_e2e(out: str | Path, settings: E2ESettings = FULL, say: Say = print) -> dict[str, Any]:
    """Run (or finish) the proof into ``out``; the summary (also written as JSON and markdown).

    :raises KeyboardInterrupt: Ctrl-C; finished stages (and an interrupted run's checkpoints) stay.
    """
    torch.set_num_threads(settings.threads)
    layout = Layout(Path(out).absolute())  # runs and heads record these paths
    layout.out.mkdir(parents=True, exist_ok=True)
    log = StageLog(layout.out, _identity(settings), what="bench e2e run")
    load_start = log.stages.get("collect", {}).get("load", _load())

    def collect() -> dict[str, Any]:
        result = collect_sweep(
            TASK,
            settings.states,
            settings.size,
            seed=settings.seed,
            spacing=BOX,
            name=dataset_name(settings),
            variants={"full_track": settings.full_track},
            root=layout.datasets,
            progress=True,
        )
        ds = result.dataset
        return {
            "path": str(ds.path),
            "frames": len(ds),
            "size": settings.size,
            "goal_frames": int(ds.labels(TASK).sum()),
            "load": load_start,
        }

    def model() -> dict[str, Any]:
        label = save_random_model(settings, layout.model_config, layout.model_weights)
        return {
            "config": str(layout.model_config),
            "weights": str(layout.model_weights),
            "label": label,
        }

    def embed() -> dict[str, Any]:
        spec = ModelSpec(str(layout.model_config), str(layout.model_weights))
        emb = embed_dataset(
            open_dataset(dataset_name(settings), layout.datasets), spec, devices="cpu"
        )
        return {"frames": int(emb.values.shape[0]), "dim": int(emb.values.shape[1])}

    def fit() -> dict[str, Any]:
        ds = open_dataset(dataset_name(settings), layout.datasets)
        spec = ModelSpec(str(layout.model_config), str(layout.model_weights))
        result = align(
            ds,
            TASK,
            spec,
            folds=settings.folds,
            grid=settings.l2_grid,
            seed=settings.seed,
            n_bootstrap=settings.bootstrap,
            save_to=layout.head,
            devices="cpu",
            progress=False,
        )
        epic = text_epic(ds, layout.model_config, layout.model_weights, settings)
        atomic_write_text(json.dumps(epic, indent=2) + "\n", layout.out / EPIC_FILE)
        say(
            f"  head: held-out EPIC {result.heldout.distance:.3f} (in-sample "
            f"{result.in_sample.distance:.3f}, λ = {result.head.l2:g}); text prompts: EPIC "
            f"{epic['distance']:.3f}"
        )
        return {
            "head": str(result.path),
            "heldout_epic": result.heldout.distance,
            "in_sample_epic": result.in_sample.distance,
            "text_epic": epic["distance"],
        }

    def evaluated(name: str) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            result = evaluate_stage(settings, name, layout)
            report = json.loads(Path(result["report"]).read_text())
            fractions = np.asarray(report["goal_fraction"])
            say(
                f"  {LABELS[name]}: success {np.mean(fractions >= ISSUE_SUCCESS):.0%} (upright ≥ 50 % "
                f"of steps), {report['success_rate']:.0%} (upright throughout), GT return "
                f"{report['gt_return_mean']:.1f} over {report['episodes']} episodes"
            )
            return result

        return run

    stages = [
        Stage(
            "collect",
            f"{settings.states} CartPole states over the state box"
            + (" (whole-track frames)" if settings.full_track else ""),
            collect,
        ),
        Stage("model", "a random-weight ViT saved as a local checkpoint", model),
        Stage("embed", "embedding the dataset", embed),
        Stage("align", "fitting the head; EPIC of the head and of the text prompts", fit),
        Stage(
            "train-head",
            f"DQN on the head reward, {settings.steps} steps",
            lambda: train_stage(settings, "head", layout, say),
        ),
        Stage("evaluate-head", f"{settings.episodes} evaluation episodes", evaluated("head")),
        Stage(
            "train-text",
            f"DQN on the text-prompt reward (control), {settings.steps} steps",
            lambda: train_stage(settings, "text", layout, say),
        ),
        Stage("evaluate-text", f"{settings.episodes} evaluation episodes", evaluated("text")),
    ]
    records = run_stages(stages, log, say)
    load = {
        "cpus": os.cpu_count(),
        "load_start": load_start,
        "load_end": _load(),
        "platform": platform.platform(),
    }
    summary = summarise(records, layout, settings, load)
    plot_curves(summary["runs"], layout.out / CURVE_PNG)
    atomic_write_text(json.dumps(summary, indent=2) + "\n", layout.out / SUMMARY_JSON)
    atomic_write_text(summary_markdown(summary), layout.out / SUMMARY_MD)
    say(f"summary: {layout.out / SUMMARY_MD}")
    return summary
