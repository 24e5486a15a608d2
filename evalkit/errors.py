"""Errors a user can cause.

:class:`EvalkitError` carries one sentence that says what went wrong and what to do; the CLI
prints it without a traceback and exits with status 2. Anything else is an internal bug and
keeps its traceback.
"""

from __future__ import annotations


class EvalkitError(Exception):
    """A problem caused by the user's input or environment, with advice on how to fix it."""


class DatasetError(EvalkitError):
    """A dataset is missing, corrupt, or does not match what was asked for."""


class ModelError(EvalkitError):
    """A model or its weights cannot be loaded."""


class DegenerateError(EvalkitError):
    """A statistic is undefined for the given data (e.g. every frame has the same label)."""


class RewardError(EvalkitError, ValueError):
    """Rewards cannot be computed from these embeddings or prompts (e.g. a goal equal to its baseline)."""
