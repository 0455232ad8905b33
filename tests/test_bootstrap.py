"""The bootstrap helper: coverage of a known mean, paired resampling, strata and groups."""

from __future__ import annotations

import numpy as np
import pytest

from matmap_utils.core.bootstrap import bootstrap_ci


def test_interval_of_a_mean_matches_the_normal_theory():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, 400)
    ci = bootstrap_ci(np.mean, x, n_boot=2000, seed=0)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert ci.value == pytest.approx(x.mean())
    assert ci.lo == pytest.approx(x.mean() - half, abs=0.05) and ci.hi == pytest.approx(x.mean() + half, abs=0.05)
    assert ci.n == 400 and "[" in str(ci)


def test_rows_stay_paired_and_seeds_repeat():
    x = np.arange(50.0)
    same = bootstrap_ci(lambda a, b: float(np.max(np.abs(a - b))), x, x.copy(), n_boot=200)
    assert same.lo == same.hi == 0.0  # a pair never splits
    a = bootstrap_ci(np.mean, x, n_boot=300, seed=4)
    b = bootstrap_ci(np.mean, x, n_boot=300, seed=4)
    assert (a.lo, a.hi) == (b.lo, b.hi)


def test_strata_keep_the_class_balance_and_groups_move_together():
    y = np.array([1] * 5 + [0] * 95)
    ci = bootstrap_ci(np.mean, y, n_boot=200, strata=y)
    assert ci.lo == ci.hi == 0.05  # five positives in every resample
    g = np.repeat(np.arange(10), 10)
    v = g.astype(float)  # constant within a group
    ci_g = bootstrap_ci(lambda v, g: float(np.var([v[g == k].std() for k in np.unique(g)])), v, g, groups=g)
    assert ci_g.hi == 0.0


def test_degenerate_statistic_gives_nan_interval():
    ci = bootstrap_ci(lambda a: np.nan, np.arange(10.0), n_boot=50)
    assert np.isnan(ci.lo) and np.isnan(ci.hi)
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_ci(np.mean, np.arange(3), np.arange(4))
