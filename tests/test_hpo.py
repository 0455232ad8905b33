"""The Ray Tune search of chapter 06 end to end, on a private Ray instance (127.0.0.1, 2 CPUs).

The search reuses a finished trial's worker process for the next trial (``reuse_actors``, the
default, several times faster than a fresh process per trial).  That is only sound if a trial keeps
no state between runs: with one trial at a time (reproducible), the trials must be the same with and
without reuse, and the same when the search is run again."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_instance(private_ray):
    pytest.importorskip("ray.tune")
    pytest.importorskip("hyperopt")
    return private_ray


def _sets(n: int = 48, seed: int = 0):
    """Sets of 3-9 sites with 8 features; the label is carried by the mean of feature 0."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    mats = [rng.normal(loc=1.5 * y[i], size=(int(rng.integers(3, 10)), 8)) for i in range(n)]
    return mats, y


def _search(reuse: bool):
    from matmap_utils.screening import hpo

    mats, y = _sets()
    idx = np.arange(len(y))
    return hpo.hpo_search(
        mats,
        y,
        idx[idx % 3 != 0],
        idx[idx % 3 == 0],
        input_dim=8,
        num_samples=4,
        epochs=6,
        grace_period=2,
        max_concurrent=1,
        reuse_actors=reuse,
        seed=3,
        num_cpus=2,
        space={**hpo.HPO_SPACE, "n_neurons": [8, 16], "n_layers": [1, 2]},
    )


def _key(res):
    t = res["trials"].drop(columns=["error"]).sort_values(list(res["trials"].columns[:4])).reset_index(drop=True)
    return t


def test_reused_trial_processes_give_the_same_trials_as_fresh_ones(ray_instance):
    reused = _search(reuse=True)
    fresh = _search(reuse=False)
    assert reused["n_trials"] == fresh["n_trials"] == 4
    a, b = _key(reused), _key(fresh)
    assert a.drop(columns=["val_pr_auc", "val_mcc"]).equals(b.drop(columns=["val_pr_auc", "val_mcc"]))
    np.testing.assert_array_equal(a["val_pr_auc"].to_numpy(), b["val_pr_auc"].to_numpy())
    assert reused["best_config"] == fresh["best_config"]
    assert 0.0 < reused["best_val_auc_pr"] <= 1.0
    assert _key(_search(reuse=True)).equals(a)  # and again: one trial at a time is reproducible
