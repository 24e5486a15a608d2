"""The settings of a training run, each with the command-line flag and help that set it:
:class:`TrainSettings`, the fields of :class:`evalkit.train.config.TrainConfig`.

The standard library only: ``evalkit train``'s options are made from these fields when the
command line starts, without importing the training code.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Mapping


def option(default: Any, flag: str, help: str | None = None) -> Any:
    """A :class:`TrainConfig` field that the command-line flag ``flag`` sets.

    :param default: the field's default (``MISSING``: required).
    :param flag: the flag of ``evalkit train`` (``--x`` on a bool field gives ``--x/--no-x``).
    :param help: the flag's help (``None``: the command takes the option of that flag shared with
        other commands).
    """
    return field(default=default, metadata={"flag": flag, "help": help})


@dataclass(frozen=True)
class TrainSettings:
    """Every setting of a training run. ``None`` means "the paper's default".

    :param task: task name from :mod:`evalkit.tasks` (``cartpole``, ``kneeling``...).
    :param reward: ``clip`` (the VLM reward) or ``ground-truth`` (the environment's reward).
    :param model: open_clip model name for the CLIP reward (``ViT-B-32``).
    :param pretrained: weights tag or checkpoint path; ``none`` for random weights.
    :param alpha: goal-baseline regularisation strength α (Definition 1); 0 is plain CLIP.
    :param goal_frames: the goal as example frames instead of the task's sentence (a frame set of
        :mod:`evalkit.pipeline.prototypes` that names its dataset, ``DATASET@labels:rule``, or a
        folder of images): their mean embedding is the goal of Definition 1.
    :param baseline_frames: with ``goal_frames``, the baseline as example frames too (default:
        the task's baseline sentence).
    :param goal_video: a demonstration as the goal of a window or episode reward
        (``DATASET@episode:N`` or a folder of frames; :mod:`evalkit.pipeline.demonstration`);
        a resolved config keeps it in ``reward`` (``…|DEMO``).
    :param algo: ``dqn``, ``sac`` or ``ppo``; default the paper's for the task's family.
    :param steps: total environment steps (all environments together).
    :param n_envs: parallel environments; their frames are embedded together.
    :param seed: seed of the environments, the networks and the action sampling.
    :param device: torch device for the learner and the CLIP model (``auto``, ``cpu``, ``cuda:0``).
    :param render_size: side of the square frames rendered for CLIP, in pixels.
    :param reward_batch_size: most frames in one CLIP forward pass (backs off if memory runs out).
    :param precision: CLIP inference precision, ``fp32``, ``bf16`` or ``fp16`` (autocast).
    :param reward_labelling: how CLIP rewards reach the learner (see
        :mod:`evalkit.train.clip_reward`): ``batch`` (the paper's Algorithm 1: frames wait until
        ``reward_batch_size`` of them are pending and are scored together; updates sample the
        labelled part of the replay buffer; off-policy algorithms), ``rollout`` (each rollout's
        frames scored before its updates; off-policy), ``step`` (all environments' frames every
        step; any algorithm), or ``auto`` (``batch`` when off-policy, else ``step``).
    :param reward_worker: with ``batch`` or ``rollout`` labelling, score the full batches of
        frames on a thread beside the learner (:mod:`evalkit.train.reward_worker`) instead of
        between its steps; the rewards are the same. ``None``: on when the reward runs on a GPU or the
        process has at least 2 CPU cores.
    :param reward_threads: torch CPU threads of the reward worker (``None``: the cores the
        learner's ``torch_threads`` leave, at least 1; with the worker the learner's default is 1).
    :param checkpoint_every: environment steps between checkpoints.
    :param save_replay_buffer: keep the replay buffer with the newest checkpoint (for ``--resume``).
    :param metrics_every: environment steps between rows of ``metrics.csv`` (written at the
        first rollout end past each multiple) and reward-fidelity measurements.
    :param fidelity: measure the reward's fidelity on the visited states (model rewards on a
        task with a goal rule; see :mod:`evalkit.train.fidelity`).
    :param vec_env: ``dummy`` (one process) or ``subproc`` (one process per environment).
    :param torch_threads: CPU threads of torch (``None``: torch's default); small networks on a
        busy machine often train fastest on 1.
    :param env_id: gymnasium id; default the task family's.
    :param env_kwargs: keyword arguments for ``gym.make``; default the family's.
    :param algo_kwargs: stable-baselines3 constructor arguments on top of the paper's.
    """

    task: str = option(MISSING, "--task", "Task to learn (see 'evalkit tasks').")
    reward: str = option(
        "clip",
        "--reward",
        "clip (default), ground-truth, head:PATH (a reward head fitted by 'evalkit align'; its own model embeds the frames), "
        "window:K:S:MODEL (a video model's window of K frames, stride S, ending at each step) or episode:MODEL "
        "(one reward per episode, at its last step).",
    )
    model: str | None = option(
        None, "--model", "open_clip model of the CLIP reward, e.g. ViT-B-32."
    )
    pretrained: str | None = option(
        None, "--pretrained", "Weights: a tag, a checkpoint file, or 'none' (random; smoke tests)."
    )
    alpha: float = option(
        0.0, "--alpha", "Goal-baseline regularisation α in [0, 1] (0: plain CLIP reward)."
    )
    goal_frames: str | None = option(
        None,
        "--goal-frames",
        "The CLIP reward's goal as example frames instead of the task's sentence: DATASET@labels:rule, DATASET@ids:3,17,... or a folder of images (their mean embedding is the goal).",
    )
    baseline_frames: str | None = option(None, "--baseline-frames")
    goal_video: str | None = option(None, "--goal-video")
    algo: str | None = option(
        None, "--algo", "dqn, sac or ppo (default: the paper's, DQN for cartpole, SAC otherwise)."
    )
    steps: int | None = option(None, "--steps", "Total environment steps (default: the paper's).")
    n_envs: int = option(
        1, "--envs", "Parallel environments; their frames are embedded together (default 1)."
    )
    seed: int = option(0, "--seed", "Seed (default 0).")
    device: str = option("auto", "--device", "auto (default), cpu, cuda, cuda:1...")
    render_size: int = option(
        224, "--render-size", "Side of the frames rendered for CLIP (default 224)."
    )
    reward_batch_size: int | None = option(
        None,
        "--reward-batch-size",
        "Most frames per CLIP forward pass (default 3200, backs off if memory runs out).",
    )
    precision: str = option(
        "fp32", "--precision", "CLIP inference precision: fp32 (default), bf16 or fp16."
    )
    reward_labelling: str = option(
        "auto",
        "--labelling",
        "How CLIP rewards reach the learner: batch (Algorithm 1: scored once --reward-batch-size frames wait; off-policy), rollout (each rollout before its updates; off-policy), step (every step, all envs at once; any algorithm), or auto (batch when off-policy, else step).",
    )
    reward_worker: bool | None = option(
        None,
        "--reward-worker",
        "With batch or rollout labelling, compute the model's rewards on a thread beside the learner while the environments step and the learner updates; the rewards are the same bit for bit, and no update uses a transition before its reward is written (default: on when the reward runs on a GPU or when this process may use at least 2 CPU cores; it helps only where a core is free, so --no-reward-worker when every core is busy).",
    )
    reward_threads: int | None = option(
        None,
        "--reward-threads",
        "torch CPU threads of the reward worker (default: the cores --threads leaves to it, at least 1; with the worker, --threads defaults to 1: on 2 cores one each).",
    )
    checkpoint_every: int | None = None
    save_replay_buffer: bool = True
    metrics_every: int | None = option(
        None,
        "--metrics-every",
        "Environment steps between rows of the run's metrics.csv and measurements of the reward's fidelity (default 3200).",
    )
    fidelity: bool = option(
        True,
        "--fidelity",
        "Measure the reward's goal EPIC, AUC and progress rank on the states the agent visits, and draw the frames it misjudges at every checkpoint (default: on for model rewards on tasks with a goal rule).",
    )
    vec_env: str = option(
        "dummy", "--vec-env", "dummy (one process, default) or subproc (a process per environment)."
    )
    torch_threads: int | None = option(
        None,
        "--threads",
        "torch CPU threads (default: torch's; 1 is often fastest for small networks).",
    )
    env_id: str | None = None
    env_kwargs: Mapping[str, Any] | None = None
    algo_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def flag(cls, name: str) -> str:
        """The command-line flag that sets field ``name`` (the file key for one without a flag)."""
        return next(f.metadata.get("flag", name) for f in fields(cls) if f.name == name)
