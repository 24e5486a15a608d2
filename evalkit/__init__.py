"""evalkit: evaluate vision-language models as zero-shot reward models for reinforcement learning.

The library is usable without the CLI. Main entry points:

- :mod:`evalkit.tasks` — the task registry (prompts, environments, goal rules).
- :mod:`evalkit.data.store` — datasets of rendered states with labels.
- :mod:`evalkit.vlm` — open_clip models and the cached embedding engine.
- :mod:`evalkit.rewards` — CLIP rewards with goal-baseline regularisation.
- :mod:`evalkit.metrics` — EPIC distances with bootstrap confidence intervals.
"""

__version__ = "0.1.0"
