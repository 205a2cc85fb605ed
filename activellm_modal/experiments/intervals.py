"""Paired bootstrap intervals: is a selector better than random, draw by draw?

``evaluate``, ``benchmarks/bench_cold_start.py`` and ``benchmarks/bench_classifiers.py``
report every difference to their baseline through :func:`paired_interval`: the
mean of the per-draw differences (strategy minus baseline on the same draw) and
a 95 % bootstrap interval of that mean (``scipy.stats.bootstrap``, BCa, over the
draws). A claim of "better" needs the whole interval above 0. With fewer than
about ten draws the bootstrap has too few distinct resamples to be trusted: the
bench scripts' smoke runs with three draws only show that the plumbing works.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Interval:
    """Mean of paired differences with its bootstrap confidence interval (same units)."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    @property
    def half_width(self) -> float:
        """Half the interval's width (``nan`` with fewer than two draws)."""
        return (self.high - self.low) / 2

    @property
    def above_zero(self) -> bool:
        """The whole interval is above 0: "better" is supported."""
        return self.low > 0

    def draws_for(self, half_width: float) -> int | None:
        """Draws needed for ``half_width`` at this spread (the interval shrinks as 1/sqrt(n))."""
        if not math.isfinite(self.half_width) or self.half_width <= 0:
            return None
        return max(self.n, math.ceil(self.n * (self.half_width / half_width) ** 2))

    def points(self, digits: int = 1) -> str:
        """``"+0.7 [-0.2, +1.6]"``: the differences (accuracies) in percentage points."""
        if self.n < 2 or not math.isfinite(self.low):
            return f"{100 * self.mean:+.{digits}f}"
        return (
            f"{100 * self.mean:+.{digits}f} [{100 * self.low:+.{digits}f}, "
            f"{100 * self.high:+.{digits}f}]"
        )


def paired_interval(
    differences: Any,
    *,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    random_state: int = 0,
) -> Interval:
    """Mean of per-draw differences and its bootstrap interval (BCa; percentile if BCa fails).

    Parameters
    ----------
    differences : array-like of float
        One difference per draw: the strategy's score minus the baseline's on the
        same draw (paired), e.g. accuracy minus the random selection's accuracy.
    confidence : float, default=0.95
    n_resamples : int, default=9999
    random_state : int, default=0
        Seeds the resampling, so a report is reproducible.

    Examples
    --------
    >>> iv = paired_interval([0.01, 0.03, -0.01, 0.02, 0.04, 0.00, 0.02, 0.01])
    >>> round(iv.mean, 4), iv.low < iv.mean < iv.high, iv.above_zero
    (0.015, True, True)
    >>> paired_interval([0.02, 0.02, 0.02]).points()
    '+2.0 [+2.0, +2.0]'
    """
    from scipy.stats import bootstrap

    values = np.asarray(differences, dtype=float).ravel()
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    mean = float(values.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, confidence)
    if np.ptp(values) == 0:
        return Interval(mean, mean, mean, n, confidence)
    low = high = math.nan
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BCa's degenerate-sample warning: fall back
            result = bootstrap(
                (values,),
                np.mean,
                confidence_level=confidence,
                n_resamples=n_resamples,
                method=method,
                random_state=np.random.default_rng(random_state),
                vectorized=True,
            )
        low, high = (float(v) for v in result.confidence_interval)
        if math.isfinite(low) and math.isfinite(high):
            break
    return Interval(mean, low, high, n, confidence)
