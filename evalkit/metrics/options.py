"""How a metric's interval is bootstrapped: :class:`BootstrapOptions`, one spelling everywhere.

``n_bootstrap`` (resamples; ``--bootstrap`` on the command line), ``ci_method`` (``"bca"`` or
``"percentile"``; ``--ci``), ``confidence`` and ``seed``. Every metric function takes one
``bootstrap=BootstrapOptions(...)`` argument, checked up front by :func:`bootstrap_iv` (as
scipy's ``_*_iv`` functions validate every input before any work).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from numbers import Integral, Real
from typing import Any

from evalkit.errors import DegenerateError

CI_METHODS = ("bca", "percentile")
"""Interval methods: bias-corrected and accelerated (Efron 1987), and plain percentile."""


@dataclass(frozen=True)
class BootstrapOptions:
    """How a metric's interval is bootstrapped over episodes.

    :ivar n_bootstrap: resamples (0: point estimate only, no interval).
    :ivar ci_method: ``"bca"`` or ``"percentile"``.
    :ivar confidence: nominal coverage, in (0, 1).
    :ivar seed: seed of the resampling (same seed, same data: same interval).
    :ivar resamples: ``(n_bootstrap, n_episodes)`` counts from
        :func:`evalkit.metrics.cluster.draw_resamples`, to share one draw between metrics.
    """

    n_bootstrap: int = 2000
    ci_method: str = "bca"
    confidence: float = 0.95
    seed: int = 0
    resamples: Any = None

    def __post_init__(self) -> None:
        bootstrap_iv(self.n_bootstrap, self.ci_method, self.confidence, self.seed)

    def wanted(self, n_episodes: int) -> bool:
        """Whether to bootstrap (``n_bootstrap > 0``), which needs at least 2 episodes."""
        if self.n_bootstrap > 0 and n_episodes < 2:
            raise DegenerateError(
                f"There is {n_episodes} episode; a bootstrap over episodes needs at least 2 (or ask "
                "for the point estimate only: n_bootstrap=0, --bootstrap 0 on the command line)."
            )
        return self.n_bootstrap > 0

    def without_interval(self) -> BootstrapOptions:
        """The same options with ``n_bootstrap=0`` (point estimates only)."""
        return replace(self, n_bootstrap=0, resamples=None)

    @property
    def label(self) -> str:
        """``"BCa"`` or ``"percentile"``, for a method description."""
        return "BCa" if self.ci_method == "bca" else "percentile"


def bootstrap_iv(n_bootstrap: Any, ci_method: Any, confidence: Any, seed: Any) -> None:
    """Validate the bootstrap settings up front, one sentence per bad input.

    :raises DegenerateError: resamples that are not a whole number ≥ 0, an unknown interval
        method, a confidence outside (0, 1), a seed that is not a whole number ≥ 0.
    """
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, Integral) or n_bootstrap < 0:
        raise DegenerateError(
            f"The number of bootstrap resamples must be a whole number ≥ 0, not {n_bootstrap!r}."
        )
    if ci_method not in CI_METHODS:
        raise DegenerateError(
            f"Unknown interval method {ci_method!r}; use one of {', '.join(CI_METHODS)}."
        )
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, Real)
        or not (math.isfinite(confidence) and 0 < confidence < 1)
    ):
        raise DegenerateError(
            f"The confidence level must lie strictly between 0 and 1, not {confidence!r}."
        )
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise DegenerateError(f"The seed must be a whole number ≥ 0, not {seed!r}.")


NO_INTERVAL = BootstrapOptions(n_bootstrap=0)
"""Point estimates only."""
