"""Tests of the vectorized AtomSets ensemble (synthetic sets, CPU, seconds)."""

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from matmap_utils.atomsets import (AtomSetsConfig, AtomSetsEnsemble, pack_sets, segment_max, segment_sum,
                                   train_ensemble, triangular2_lr)


def _toy(n=60, nf=4, seed=0):
    """Sets whose label is whether the mean of feature 0 is positive (separable)."""
    rng = np.random.default_rng(seed)
    mats, y = [], []
    for i in range(n):
        k = rng.integers(2, 7)
        lab = i % 2
        m = rng.normal(size=(k, nf))
        m[:, 0] = np.abs(m[:, 0]) + 0.5 if lab else -np.abs(m[:, 0]) - 0.5
        mats.append(m)
        y.append(lab)
    return mats, np.array(y)


@pytest.mark.parametrize("readout", ["set2set", "mean"])
@pytest.mark.parametrize("opt", ["adam", "lamb_lookahead"])
def test_ensemble_equals_separate_models(readout, opt):
    mats, y = _toy(30)
    packed = pack_sets(mats)
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), readout=readout,
                         set2set_hidden=6, epochs=4, batch_size=8, init_lr=1e-2, max_lr=2e-2,
                         optimizer=opt, l2_init=1e-3, l2_final=1e-3, cycle_epochs=1)
    seeds = [3, 11, 5]
    ens = train_ensemble(cfg, packed, y, seeds=seeds, data_seed=1, device="cpu").model
    p_ens = ens.predict_proba(packed)
    for i, s in enumerate(seeds):
        single = train_ensemble(cfg, packed, y, seeds=[s], data_seed=1, device="cpu").model
        np.testing.assert_allclose(single.predict_proba(packed)[0], p_ens[i], atol=2e-5)
    # members differ from each other (different seeds)
    assert np.abs(p_ens[0] - p_ens[1]).max() > 1e-4
    chunked = train_ensemble(cfg, packed, y, seeds=seeds, data_seed=1, device="cpu", member_chunk=2).model
    np.testing.assert_allclose(chunked.predict_proba(packed), p_ens, atol=2e-5)


@pytest.mark.parametrize("readout", ["set2set", "mean"])
def test_permutation_invariance_and_dedup(readout):
    mats, _ = _toy(10)
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), readout=readout, set2set_hidden=5)
    model = AtomSetsEnsemble(cfg, seeds=[0, 1])
    p = model.predict_proba(pack_sets(mats))
    rng = np.random.default_rng(0)
    p_perm = model.predict_proba(pack_sets([m[rng.permutation(len(m))] for m in mats]))
    np.testing.assert_allclose(p, p_perm, atol=1e-6)
    # duplicated rows merged into weighted rows give the same output as the full sets
    dup = [np.concatenate([m, m[:1], m[:1], m[1:2]]) for m in mats]
    full = model.predict_proba(pack_sets(dup))
    merged = pack_sets(dup, dedup=True)
    assert merged.x.shape[0] < sum(len(d) for d in dup)
    np.testing.assert_allclose(full, model.predict_proba(merged), atol=1e-6)
    # and it is not trivially invariant to adding rows
    assert np.abs(full - p).max() > 1e-6


def test_learns_separable_task():
    mats, y = _toy(80)
    tr, te = np.arange(60), np.arange(60, 80)
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(16,), n_neurons_final=(16,), set2set_hidden=8,
                         epochs=40, batch_size=16, init_lr=5e-3, optimizer="adam", dropout_init=0.1)
    res = train_ensemble(cfg, pack_sets([mats[i] for i in tr]), y[tr], seeds=[0, 1], device="cpu")
    p = res.model.predict_proba(pack_sets([mats[i] for i in te])).mean(0)
    assert average_precision_score(y[te], p) > 0.95
    assert ((p > 0.5) == y[te]).mean() > 0.9


def test_save_load_roundtrip(tmp_path):
    mats, _ = _toy(6)
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), set2set_hidden=4)
    model = AtomSetsEnsemble(cfg, seeds=[7, 8, 9])
    model.save(tmp_path / "m", extra={"feature": "V0"})
    back = AtomSetsEnsemble.load(tmp_path / "m")
    assert back.extra == {"feature": "V0"} and back.seeds == [7, 8, 9]
    np.testing.assert_array_equal(model.predict_proba(pack_sets(mats)), back.predict_proba(pack_sets(mats)))
    with pytest.raises(FileNotFoundError):
        AtomSetsEnsemble.load(tmp_path / "nothing")


def test_segment_ops_and_errors():
    v = torch.tensor([[1.0, 5.0, 2.0, -1.0]])
    idx = torch.tensor([0, 0, 1, 1])
    assert segment_sum(v, idx, 2).tolist() == [[6.0, 1.0]]
    assert segment_max(v, idx, 2).tolist() == [[5.0, 2.0]]
    with pytest.raises(ValueError, match="set 1"):
        pack_sets([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="set 0"):
        pack_sets([np.zeros((0, 3))])


def test_triangular2_schedule():
    lrs = [triangular2_lr(s, 1.0, 3.0, 2) for s in range(9)]
    assert lrs[0] == 1.0 and lrs[2] == 3.0 and lrs[4] == 1.0 and lrs[6] == 2.0 and lrs[8] == 1.0
    assert triangular2_lr(5, 0.1, None, 2) == 0.1


def test_pca_distance_and_novelty():
    from matmap_utils.atomsets import novelty_mask, pca_distance, set_vectors

    rng = np.random.default_rng(0)
    train = rng.normal(size=(50, 3)) * [1.0, 10.0, 0.1]
    d = pca_distance(train, train[:5])
    np.testing.assert_allclose(d, 0, atol=1e-6)
    # whitening: a step along the low-variance axis counts as much as a (100x) larger step along the high one
    far = pca_distance(train, np.array([[0, 0, 5.0], [0, 500.0, 0]]))
    assert far[0] > 10 and far[1] > 10
    assert set_vectors([np.array([[1.0, 2.0], [3.0, 4.0]])]).tolist() == [[2.0, 3.0]]
    m = novelty_mask(["Li3PS4", "Li7La3Zr2O12"], ["Li3PS4", "Li3.1PS4", "Li2S", "LiCoO2", "Li7La3Zr2O12"])
    assert m.tolist() == [False, False, True, True, False]


@pytest.mark.mirror
def test_v0_fast_path_equals_megnet_layer0():
    from pymatgen.core import Lattice, Structure

    from matmap_utils import megnet
    from matmap_utils.atomsets import featurize, v0_matrix

    s = Structure(Lattice.cubic(4.2), ["Li", {"La": 0.5, "Zr": 0.25}, "O", "O"],
                  [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0]])
    ref = megnet.load_model("formation_energy", device="cpu").atom_features([s], layers=(0,))[0][0]
    np.testing.assert_allclose(v0_matrix(s), ref, atol=1e-5)
    import pandas as pd

    feats, fails = featurize(pd.Series([s], index=["a"]), modes=["CAMNS"], layers=[0], n_jobs=1)
    assert len(fails) == 0 and feats[("CAMNS", 0)]["a"].shape == (4, 16)
