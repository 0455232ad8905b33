"""Bootstrap confidence intervals: one helper for every comparison with a paper.

:func:`bootstrap_ci` resamples *rows* (all arrays together, so paired quantities stay paired),
recomputes a statistic and returns its percentile interval (Efron & Tibshirani, An Introduction
to the Bootstrap, 1993, ch. 13).  ``strata`` resamples within each stratum (e.g. keep the number
of superionic compounds fixed when the positives are rare); ``groups`` resamples whole groups
(e.g. chemical systems or material families, when rows of one group are not independent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A statistic with its bootstrap percentile interval (``lo``, ``hi``) at ``level``."""

    value: float
    lo: float
    hi: float
    n: int
    n_boot: int
    level: float = 0.95

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {
            f"{prefix}value": self.value,
            f"{prefix}ci_lo": self.lo,
            f"{prefix}ci_hi": self.hi,
            f"{prefix}n": self.n,
        }

    def __str__(self) -> str:
        return f"{self.value:.3g} [{self.lo:.3g}, {self.hi:.3g}]"


def _resample_index(rng: np.random.Generator, n: int, strata, groups) -> np.ndarray:
    if groups is not None:
        labels = np.unique(groups)
        chosen = rng.choice(labels, size=len(labels), replace=True)
        members = {g: np.flatnonzero(groups == g) for g in labels}
        return np.concatenate([members[g] for g in chosen])
    if strata is not None:
        parts = [
            rng.choice(idx, size=len(idx), replace=True)
            for idx in (np.flatnonzero(strata == s) for s in np.unique(strata))
        ]
        return np.concatenate(parts)
    return rng.integers(0, n, size=n)


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    strata=None,
    groups=None,
) -> Interval:
    """``statistic(*arrays)`` with a percentile bootstrap interval at ``level``.

    Every array is indexed by the same resampled rows.  Resamples on which the statistic is not
    finite (e.g. a correlation of a constant column, a metric of one class only) are dropped;
    the interval is NaN when fewer than half of them remain.
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("bootstrap_ci: the arrays differ in length")
    value = float(statistic(*arrays))
    strata = None if strata is None else np.asarray(strata)
    groups = None if groups is None else np.asarray(groups)
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        idx = _resample_index(rng, n, strata, groups)
        with np.errstate(all="ignore"):
            stats[b] = statistic(*(a[idx] for a in arrays))
    finite = stats[np.isfinite(stats)]
    if len(finite) < n_boot / 2:
        return Interval(value, np.nan, np.nan, n, n_boot, level)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return Interval(value, float(lo), float(hi), n, n_boot, level)
