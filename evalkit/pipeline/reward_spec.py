"""What ``--reward SPEC`` names, in one place for every command that takes it.

- ``head:PATH`` — a reward head fitted by ``evalkit align`` (:func:`evalkit.pipeline.heads.head_reward_source`);
- ``MODULE:FUNCTION`` or ``FILE.py:FUNCTION`` — a Python function of the states and frames
  (:func:`evalkit.pipeline.sources.function_reward_source`).
"""

from __future__ import annotations

from typing import Any

from evalkit.data.store import Dataset
from evalkit.pipeline.heads import head_reward_source
from evalkit.pipeline.sources import RewardSource, function_reward_source

HEAD_PREFIX = "head:"


def reward_source(dataset: Dataset, spec: str, **embed: Any) -> RewardSource:
    """The reward source that ``--reward spec`` names, on ``dataset``.

    :param embed: passed to the embedding engine for heads (``devices``, ``batch_size``, ``progress``).
    """
    if spec.startswith(HEAD_PREFIX):
        return head_reward_source(dataset, spec[len(HEAD_PREFIX) :], **embed)
    return function_reward_source(dataset, spec)
