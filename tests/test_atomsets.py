"""Tests of the vectorized AtomSets ensemble (synthetic sets, CPU, seconds)."""

import numpy as np
import pandas.testing as pd_testing
import pytest
import torch
from sklearn.metrics import average_precision_score

from matmap_utils.screening.atomsets.kernels import segdot, segment_max, segment_sum, segwsum
from matmap_utils.screening.atomsets.model import AtomSetsConfig, AtomSetsEnsemble, pack_sets
from matmap_utils.screening.atomsets.training import train_ensemble, triangular2_lr
from matmap_utils.screening.megnet import model as megnet_model


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
    cfg = AtomSetsConfig(
        input_dim=4,
        n_neurons=(8,),
        n_neurons_final=(8,),
        readout=readout,
        set2set_hidden=6,
        epochs=4,
        batch_size=8,
        init_lr=1e-2,
        max_lr=2e-2,
        optimizer=opt,
        l2_init=1e-3,
        l2_final=1e-3,
        cycle_epochs=1,
    )
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


def test_members_independent_of_stacking_with_dropout():
    """With dropout, each member draws its masks from its own generator: K stacked members equal K
    single-member trainings with the same seeds, in blocks and in worker processes too."""
    mats, y = _toy(30)
    packed = pack_sets(mats)
    cfg = AtomSetsConfig(
        input_dim=4,
        n_neurons=(8, 8),
        n_neurons_final=(8,),
        set2set_hidden=6,
        epochs=3,
        batch_size=8,
        init_lr=1e-2,
        optimizer="lamb_lookahead",
        dropout_init=0.3,
        dropout_final=0.2,
    )
    seeds = [4, 9, 2, 7]
    p_ens = train_ensemble(cfg, packed, y, seeds=seeds, data_seed=5, device="cpu").model.predict_proba(packed)
    for i in (0, 3):
        single = train_ensemble(cfg, packed, y, seeds=[seeds[i]], data_seed=5, device="cpu").model
        np.testing.assert_allclose(single.predict_proba(packed)[0], p_ens[i], atol=2e-5)
    par = train_ensemble(
        cfg, packed, y, seeds=seeds, data_seed=5, device="cpu", member_chunk=3, n_jobs=2, val=packed, eval_every=3
    )
    np.testing.assert_allclose(par.model.predict_proba(packed), p_ens, atol=2e-5)
    np.testing.assert_allclose(par.val_proba[-1], p_ens, atol=2e-5)
    # dropout is active (a different data seed gives other masks and another model)
    other = train_ensemble(cfg, packed, y, seeds=seeds[:1], data_seed=6, device="cpu").model.predict_proba(packed)
    assert np.abs(other[0] - p_ens[0]).max() > 1e-4


@pytest.mark.parametrize("fused", [True, False])
def test_fused_segment_kernels_match_torch_and_gradcheck(fused, monkeypatch):
    from matmap_utils.screening.atomsets import kernels

    if not fused:  # the torch-ops path (used on a GPU, or without numba)
        monkeypatch.setattr(kernels, "_NUMBA", False)
    rng = np.random.default_rng(1)
    idx = torch.tensor([0, 0, 1, 1, 1, 3, 2, 2])  # set 3 before set 2: order-free
    h = torch.tensor(rng.normal(size=(2, 8, 5)), requires_grad=True)
    q = torch.tensor(rng.normal(size=(2, 4, 5)), requires_grad=True)
    c = torch.tensor(rng.normal(size=(2, 8)), requires_grad=True)
    ref_dot = (h * q[:, idx]).sum(-1)
    ref_sum = segment_sum(h * c[..., None], idx, 4)
    torch.testing.assert_close(segdot(h, q, idx), ref_dot)
    torch.testing.assert_close(segwsum(h, c, idx, 4), ref_sum)
    assert torch.autograd.gradcheck(lambda h, q: segdot(h, q, idx), (h, q))
    assert torch.autograd.gradcheck(lambda h, c: segwsum(h, c, idx, 4), (h, c))
    # the set2set attention read against softmax written out per set
    s = torch.tensor(rng.normal(size=(2, 8)), requires_grad=True)
    rh = kernels.attn_read(h, q, s, idx, 4)
    for e in range(2):
        for g in range(4):
            rows = idx == g
            att = torch.softmax((h[e, rows] * q[e, g]).sum(-1) + s[e, rows], 0)
            torch.testing.assert_close(rh[e, g], (att[:, None] * h[e, rows]).sum(0))
    assert torch.autograd.gradcheck(lambda h, q, s: kernels.attn_read(h, q, s, idx, 4), (h, q, s))


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
    cfg = AtomSetsConfig(
        input_dim=4,
        n_neurons=(16,),
        n_neurons_final=(16,),
        set2set_hidden=8,
        epochs=40,
        batch_size=16,
        init_lr=5e-3,
        optimizer="adam",
        dropout_init=0.1,
    )
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
    from matmap_utils.screening.atomsets.features import set_vectors
    from matmap_utils.screening.candidates import novelty_mask, pca_distance

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

    from matmap_utils.screening.atomsets.features import featurize, v0_matrix

    s = Structure(
        Lattice.cubic(4.2),
        ["Li", {"La": 0.5, "Zr": 0.375}, "O", "O"],  # charge-balanced: 1 + 1.5 + 1.5 = 4
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0]],
    )
    ref = megnet_model.load_model("formation_energy", device="cpu").atom_features([s], layers=(0,))[0][0]
    np.testing.assert_allclose(v0_matrix(s), ref, atol=1e-5)
    import pandas as pd

    feats, fails = featurize(pd.Series([s], index=["a"]), modes=["CAMNS"], layers=[0], n_jobs=1)
    assert len(fails) == 0 and feats[("CAMNS", 0)]["a"].shape == (4, 16)


def test_set2set_equals_textbook_form():
    """The readout (computed without forming m = h Wm + bm) equals set2set written out with m."""
    mats, _ = _toy(7)
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(), set2set_hidden=5, set2set_steps=3)
    model = AtomSetsEnsemble(cfg, seeds=[3, 4]).double()
    with torch.no_grad():
        model.params["s2s__bm"].normal_()  # a non-zero memory bias matters in the identity
        b = pack_sets(mats, dtype=torch.float64).all()
        out = model(b)
        P = model.P
        for e in range(2):
            h = torch.relu(b.x @ P("phi0.W")[e] + P("phi0.b")[e])
            m = h @ P("s2s.Wm")[e] + P("s2s.bm")[e]
            q_star = torch.zeros(b.n_sets, 10, dtype=torch.float64)
            c = torch.zeros(b.n_sets, 5, dtype=torch.float64)
            for _ in range(3):
                i, f, g, o = (q_star @ P("s2s.Wr")[e] + P("s2s.br")[e]).split(5, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                q = torch.sigmoid(o) * torch.tanh(c)
                r = torch.zeros(b.n_sets, 5, dtype=torch.float64)
                for s in range(b.n_sets):
                    rows = b.index == s
                    att = torch.softmax((m[rows] * q[s]).sum(-1), 0)
                    r[s] = (att[:, None] * m[rows]).sum(0)
                q_star = torch.cat([q, r], -1)
            ref = q_star @ P("out.W")[e] + P("out.b")[e]
            torch.testing.assert_close(out[e], ref[:, 0])


def test_pretrain_and_init_state():
    from matmap_utils.screening.atomsets.training import pretrain

    mats, y = _toy(60, seed=3)
    cfg = AtomSetsConfig(
        input_dim=4,
        n_neurons=(8,),
        n_neurons_final=(8,),
        set2set_hidden=4,
        epochs=25,
        batch_size=16,
        init_lr=5e-3,
        optimizer="adam",
    )
    state, info = pretrain(cfg, mats, y, seeds=[1, 2], epochs=25, val_fraction=0.25)
    assert state["phi0__W"].shape == (2, 4, 8) and info["n_val"] == 15 and info["val_auc_pr"] > 0.9
    # fine-tuning starts from the pre-trained weights (checked with 0 epochs), except the output layer
    start = train_ensemble(
        AtomSetsConfig(**{**cfg.to_json(), "n_neurons": (8,), "n_neurons_final": (8,), "epochs": 0}),
        pack_sets(mats),
        y,
        seeds=[1, 2],
        init_state=state,
        device="cpu",
    ).model
    for k, v in state.items():
        same = torch.equal(start.params[k].detach(), v)
        assert same == (not k.startswith("out")) or (k == "out__b"), k  # out.b is zero either way
    with pytest.raises(ValueError, match="one class"):
        pretrain(cfg, mats, np.zeros(len(mats)), seeds=[0])


def test_pretraining_effect_runs():
    from matmap_utils.screening.cv import pretraining_effect
    from matmap_utils.screening.splits import stratified_kfold

    mats, y = _toy(40, seed=4)
    pre, ypre = _toy(40, seed=5)
    cfg = AtomSetsConfig(
        input_dim=4,
        n_neurons=(8,),
        n_neurons_final=(8,),
        set2set_hidden=4,
        epochs=4,
        batch_size=16,
        init_lr=5e-3,
        optimizer="adam",
    )
    tab, info = pretraining_effect(
        mats, y, stratified_kfold(y, 2), cfg, pre, ypre, n_repeats=2, pre_epochs=3, eval_every=2, n_shuffles=3
    )
    assert list(tab["variant"]) == ["random init"] * 2 + ["pre-trained"] * 2
    assert tab["auc_pr"].between(0, 1).all() and info["n_train"] == 36
    # pre-training changes the result (same seeds otherwise)
    assert abs(tab["auc_pr"].iloc[1] - tab["auc_pr"].iloc[3]) + abs(tab["mcc"].iloc[1] - tab["mcc"].iloc[3]) > 0


def test_feature_configurations():
    from matmap_utils.screening.atomsets import configs

    assert configs.parse_config("CAMNS:1") == ("CAMNS", 1)
    assert configs.parse_configs(["CAMN:0", "CANS:3"]) == [("CAMN", 0), ("CANS", 3)]
    assert configs.parse_configs([]) == []
    for bad in ("CAMN", "XYZ:0", "CAMN:4", "CAMN:a", "CAMN:-1"):
        with pytest.raises(ValueError, match="MODE:LEVEL"):
            configs.parse_config(bad)
    assert configs.all_configs(["CAMN", "CAN"], [0, 2]) == [("CAMN", 0), ("CAMN", 2), ("CAN", 0), ("CAN", 2)]
    # modes in the paper's order, levels sorted, the final configuration included
    assert configs.needed_features([("CANS", 3), ("CAMN", 1), ("CAMN", 1)], ("CAN", 0)) == (
        ["CAMN", "CAN", "CANS"],
        [0, 1, 3],
    )
    assert [configs.feature_dim(k) for k in range(4)] == [16, 32, 32, 32]
    with pytest.raises(ValueError):
        configs.feature_dim(4)
    assert configs.config_name("CAMNS", 1) == "AS-CAMNS-V1"


def test_paper_config_is_the_kfold_architecture():
    from matmap_utils.screening.atomsets.configs import paper_config

    cfg = paper_config(0, set2set_hidden=8, init_lr=0.02, epochs=7, batch_size=16)
    assert cfg == AtomSetsConfig(
        input_dim=16,
        n_neurons=(64, 64),
        n_neurons_final=(64, 64),
        readout="set2set",
        set2set_hidden=8,
        optimizer="lamb_lookahead",
        init_lr=0.02,
        epochs=7,
        batch_size=16,
    )
    assert cfg.dropout_init == cfg.dropout_final == 0.0 and cfg.max_lr is None
    assert paper_config(2).input_dim == 32 and paper_config(1, epochs=3, dropout_init=0.1).dropout_init == 0.1


def test_member_blocks():
    from matmap_utils.screening.atomsets.training import member_blocks

    assert member_blocks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert member_blocks([1, 2, 3], None) == [[1, 2, 3]]
    assert member_blocks([1, 2, 3], 3) == [[1, 2, 3]]
    assert member_blocks([1, 2, 3], 1, callback=print) == [[1, 2, 3]]  # a callback sees every member


def test_blocks_serial_and_parallel_merge_to_the_stacked_ensemble():
    from matmap_utils.screening.atomsets.training import (
        TrainTask,
        merge_blocks,
        train_blocks_parallel,
        train_blocks_serial,
    )

    mats, y = _toy(24)
    packed = pack_sets(mats)
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), set2set_hidden=5, epochs=3, batch_size=8)
    task = TrainTask(cfg, packed, y, data_seed=2, val=packed, eval_every=2)
    blocks = [[5, 1], [7]]
    dev = torch.device("cpu")
    serial = train_blocks_serial(task, blocks, dev)
    parallel = train_blocks_parallel(task, blocks, n_jobs=2)
    for (ps, hs, vs), (pp, hp, vp) in zip(serial, parallel):
        assert all(torch.equal(ps[k], torch.as_tensor(pp[k])) for k in ps)
        assert hs == hp and all(np.array_equal(a, b) for a, b in zip(vs, vp))
    merged = merge_blocks(cfg, blocks, serial, dev)
    whole = train_ensemble(cfg, packed, y, seeds=[5, 1, 7], data_seed=2, val=packed, eval_every=2, device="cpu")
    np.testing.assert_allclose(merged.model.predict_proba(packed), whole.model.predict_proba(packed), atol=2e-5)
    assert [h["epoch"] for h in merged.history] == [1, 2, 3] and len(merged.val_proba) == 2
    assert merged.val_proba[-1].shape == (3, len(mats))
    # the training loss of the merge is the member-weighted mean of the blocks' losses
    want = (2 * serial[0][1][-1]["train_loss"] + serial[1][1][-1]["train_loss"]) / 3
    assert merged.history[-1]["train_loss"] == pytest.approx(want)


def test_cv_folds_in_parallel_equal_folds_in_turn():
    """k-fold / LOCO folds trained at the same time in worker processes (n_jobs=2) give exactly
    the numbers of one fold after another: same rows, same validation probabilities."""
    from matmap_utils.screening.cv import cv_atomsets
    from matmap_utils.screening.splits import stratified_kfold

    mats, y = _toy(36, seed=7)
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), set2set_hidden=4, epochs=4, batch_size=8)
    folds = stratified_kfold(y, 3)
    runs = {}
    for n_jobs in (1, 2):
        proba: dict = {}
        cv = cv_atomsets(mats, y, folds, cfg, n_repeats=2, eval_every=2, n_shuffles=3, proba_out=proba, n_jobs=n_jobs)
        runs[n_jobs] = (cv, proba)
    (cv1, p1), (cv2, p2) = runs[1], runs[2]
    assert len(cv1) == 3 * 2 * 2  # folds x evaluated epochs x members
    pd_testing.assert_frame_equal(cv1, cv2, check_exact=True)
    assert p1.keys() == p2.keys() and all(np.array_equal(p1[k], p2[k]) for k in p1)


def test_fold_ensembles_in_parallel_equal_serial_with_member_blocks():
    """fold_ensembles with blocks of members spread over workers (every block of every fold in
    one pool) returns, fold by fold, the models of the serial run."""
    from matmap_utils.screening.cv import fold_ensembles
    from matmap_utils.screening.splits import stratified_kfold

    mats, y = _toy(30, seed=8)
    packed = pack_sets(mats)
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), set2set_hidden=4, epochs=3, batch_size=8)
    folds = stratified_kfold(y, 3)
    serial = fold_ensembles(mats, y, folds, cfg, n_members=3, seed=1, member_chunk=2, n_jobs=1)
    parallel = fold_ensembles(mats, y, folds, cfg, n_members=3, seed=1, member_chunk=2, n_jobs=2)
    assert len(serial) == len(parallel) == 3
    for a, b in zip(serial, parallel):
        assert all(torch.equal(a.params[k].cpu(), b.params[k].cpu()) for k in a.params)
        assert np.array_equal(a.predict_proba(packed), b.predict_proba(packed))
    # different folds train different models
    assert not np.array_equal(serial[0].predict_proba(packed), serial[1].predict_proba(packed))


def test_cv_of_several_configurations_in_one_pool_equals_one_by_one():
    """cv_atomsets_many sends the folds of every configuration to one pool; each frame equals
    that configuration's own serial cv_atomsets."""
    from matmap_utils.screening.cv import cv_atomsets, cv_atomsets_many
    from matmap_utils.screening.splits import stratified_kfold

    mats, y = _toy(30, seed=9)
    wide = [np.hstack([m, m[:, :1] ** 2]) for m in mats]
    cfg4 = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), set2set_hidden=4, epochs=3, batch_size=8)
    cfg5 = AtomSetsConfig(input_dim=5, n_neurons=(6,), n_neurons_final=(6,), set2set_hidden=3, epochs=3, batch_size=8)
    folds = stratified_kfold(y, 3)
    kw = dict(n_repeats=2, eval_every=3, n_shuffles=3, seed=2)
    together = cv_atomsets_many([(mats, cfg4), (wide, cfg5)], y, folds, n_jobs=2, **kw)
    alone = [cv_atomsets(mats, y, folds, cfg4, **kw), cv_atomsets(wide, y, folds, cfg5, **kw)]
    for a, b in zip(together, alone):
        pd_testing.assert_frame_equal(a, b, check_exact=True)
    assert not together[0]["auc_pr"].equals(together[1]["auc_pr"])
