"""Training and evaluation with stable-baselines3: the CLIP reward as an RL reward (Algorithm 1).

- :mod:`evalkit.train.hyperparams` — the paper's hyperparameters, in one table.
- :mod:`evalkit.train.config` — :class:`TrainConfig`: defaults, TOML/YAML files, flags.
- :mod:`evalkit.train.clip_reward` — batched CLIP rewards: a VecEnv wrapper, and for off-policy
  algorithms a replay buffer whose newest rows wait for their rewards (Algorithm 1) with the
  callback that writes them.
- :mod:`evalkit.train.runner` — :func:`train`: one run, start to end; its parts are
  :mod:`evalkit.train.env_factory` (environments, model), :mod:`evalkit.train.checkpoints`
  (checkpoints, resume), :mod:`evalkit.train.callbacks` (checkpoint, metrics and progress
  callbacks), :mod:`evalkit.train.run_lock` and :mod:`evalkit.train.interrupts` (Ctrl-C).
- :mod:`evalkit.train.evaluate` — :func:`evaluate`: returns, success rates, videos, rollout datasets;
  :mod:`evalkit.train.rollout_metrics` — the training reward's metric panel on those rollouts.
- :mod:`evalkit.train.metrics_log` — a run's ``metrics.csv``; :mod:`evalkit.train.run_index` —
  the runs in a folder (``evalkit runs``); :mod:`evalkit.train.learning_curves` — a run's figure.
- ``evalkit bench train`` is :mod:`evalkit.bench.train`.

Heavy imports (torch, stable-baselines3) happen when these modules are imported, not here.
"""
