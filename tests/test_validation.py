"""Tests of metrics, controls, split logic, ElMD clustering inputs and the Sendek features."""

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from sklearn.metrics import average_precision_score, matthews_corrcoef, roc_auc_score

from matmap_utils.screening import baselines
from matmap_utils.screening.baselines import logistic_baseline, logistic_model, sendek_features
from matmap_utils.screening.cv import best_checkpoint, run_cv, summarize
from matmap_utils.screening.metrics import classification_metrics, control_metrics
from matmap_utils.screening.splits import cluster_folds, elmd_matrix, paper_folds, stratified_kfold


def test_metrics_against_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    m = classification_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["mcc"] == pytest.approx(matthews_corrcoef(y, p >= 0.5))
    assert m["auc_pr"] == pytest.approx(average_precision_score(y, p))
    assert 0.5 < m["auc_pr"] <= 1 and abs(m["auc_pr"] - m["auc_pr_trapz"]) < 0.05
    perfect = classification_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert perfect["auc_pr"] == 1 and perfect["mcc"] == 1
    assert np.isnan(classification_metrics([1, 1], [0.3, 0.9])["auc_pr"])
    with pytest.raises(ValueError):
        classification_metrics([0, 1], [0.5])


def test_controls():
    y_tr = np.array([1] * 30 + [0] * 70)
    y_va = np.array([1] * 40 + [0] * 60)
    c = control_metrics(y_tr, y_va, n_shuffles=200, seed=0)
    # a constant prediction: AUC-PR (average precision) = positive fraction, as the paper's controls
    assert c["mean_mcc"] == 0.0 and c["mean_roc_auc"] == 0.5
    assert c["mean_auc_pr"] == pytest.approx(0.4)
    assert c["mean_auc_pr_trapz"] == pytest.approx(0.7)
    assert abs(c["shuffled_auc_pr"] - 0.4) < 0.1
    assert abs(c["shuffled_mcc"]) < 0.05 and abs(c["shuffled_roc_auc"] - 0.5) < 0.05


def test_split_logic():
    df = pd.DataFrame(
        {
            "split_test": [True, False, False, False, False, False],
            "kfold": pd.array([pd.NA, 0, 1, 0, 1, 1], dtype="Int64"),
            "loco_cluster": pd.array([3, 0, 0, 2, 2, 5], dtype="Int64"),
        }
    )
    kf = paper_folds(df, "kfold")
    assert [list(v) for _, v in kf] == [[1, 3], [2, 4, 5]]
    assert all(0 not in np.concatenate(f) for f in kf)  # test row never used
    lo = paper_folds(df, "loco")
    assert [list(v) for _, v in lo] == [[1, 2], [3, 4], [5]]
    for tr, va in lo:
        assert not set(tr) & set(va)
    y = np.array([0, 1] * 25)
    sk = stratified_kfold(y, 5, seed=1)
    allv = np.sort(np.concatenate([v for _, v in sk]))
    assert (allv == np.arange(50)).all()
    assert all(y[v].sum() == 5 for _, v in sk)
    cf = cluster_folds([0, 0, -1, 1, 1, 2])
    assert len(cf) == 3 and all(2 in tr for tr, _ in cf)


def test_elmd_matrix_matches_elmd():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ElMD import ElMD
    fs = ["Li7La3Zr2O12", "Li6PS5Cl", "Li0.33La0.56TiO3"]
    d = elmd_matrix(fs)
    assert d[0, 1] == pytest.approx(ElMD(fs[0], metric="mod_petti").elmd(ElMD(fs[1], metric="mod_petti")))
    assert d[1, 2] == pytest.approx(ElMD(fs[1], metric="mod_petti").elmd(ElMD(fs[2], metric="mod_petti")))
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)


def test_run_cv_and_best_checkpoint():
    y = np.array([0, 1] * 20)
    folds = stratified_kfold(y, 4)

    def fp(tr, va, k):  # checkpoint 0 random, checkpoint 1 perfect
        return np.stack([np.full(len(va), 0.4), y[va] * 0.8 + 0.1])

    cv = run_cv(folds, y, fp, n_shuffles=5)
    best, rows = best_checkpoint(cv)
    assert best == 1 and len(rows) == 4
    s = summarize(rows)
    assert s["auc_pr"] == 1 and s["mcc"] == 1 and s["mean_mcc"] == 0


def test_sendek_features_simple_and_disordered():
    # rock-salt-like LiCl, a = 5.14 A: Li-Cl 2.57, Li-Li 3.63
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.14), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    f = sendek_features(s)
    assert f["LASD"] == pytest.approx(2.57, abs=0.01)
    assert f["LLSD"] == pytest.approx(5.14 / np.sqrt(2), abs=0.01)
    assert f["LLB"] == 0.0
    assert f["SBI"] == 0.0  # no framework-framework bonds
    f_close = sendek_features(s, li_li_cutoff=3.7)
    assert f_close["LLB"] == pytest.approx(12.0)
    # half-occupied Li: LLB per Li counts neighbours by occupancy
    d = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.14), [{"Li": 0.5}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert sendek_features(d, li_li_cutoff=3.7)["LLB"] == pytest.approx(6.0)
    with pytest.raises(ValueError, match="no Li"):
        sendek_features(Structure(Lattice.cubic(4), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]))


def test_logistic_baseline_learns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    C, cv = logistic_baseline(X, y, stratified_kfold(y, 4), n_shuffles=5)
    assert cv["auc_pr"].mean() > 0.9 and C in (0.01, 0.1, 1.0, 10.0, 100.0)


def _with_gaps(seed: int = 1):
    """120 rows, feature 0 informative; a third of the rows miss feature 0 (NaN)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    X[rng.random(120) < 0.33, 0] = np.nan
    return X, y


def test_logistic_imputation_is_fitted_on_training_rows_only():
    """Issue 17 (no leakage): the median imputation of missing Sendek features is learned from the
    training rows; moving the held-out rows' values cannot change a held-out prediction that
    needs imputing (a median over all rows would)."""
    X, y = _with_gaps()
    tr, te = np.arange(80), np.arange(80, 120)
    m = logistic_model(1.0).fit(X[tr], y[tr])
    assert np.allclose(m[0].statistics_, np.nanmedian(X[tr], axis=0))
    p = m.predict_proba(X[te])[:, 1]
    X2 = X.copy()
    X2[te, 0] = np.where(np.isnan(X[te, 0]), np.nan, X[te, 0] + 50.0)  # the test rows' known values move
    p2 = logistic_model(1.0).fit(X2[tr], y[tr]).predict_proba(X2[te])[:, 1]
    gap = np.isnan(X[te, 0])
    assert gap.any() and np.array_equal(p[gap], p2[gap])
    # an all-rows median (the leak this guards against) would have moved them
    leaky = np.where(np.isnan(X2), np.nanmedian(X2, axis=0), X2)
    p3 = logistic_model(1.0).fit(leaky[tr], y[tr]).predict_proba(leaky[te])[:, 1]
    assert not np.allclose(p3[gap], p[gap])


def test_logistic_baseline_fits_every_fold_on_its_training_rows(monkeypatch):
    X, y = _with_gaps()
    folds = stratified_kfold(y, 4)
    seen = []

    class Recorder:
        def __init__(self, C):
            self.model = logistic_model(C)

        def fit(self, Xf, yf):
            seen.append(np.asarray(Xf).copy())
            self.model.fit(Xf, yf)
            return self

        def predict_proba(self, Xv):
            return self.model.predict_proba(Xv)

    monkeypatch.setattr(baselines, "logistic_model", Recorder)
    C, cv = logistic_baseline(X, y, folds, n_shuffles=5, Cs=(1.0,))
    assert len(seen) == len(folds) and cv["auc_pr"].mean() > 0.8
    for (tr, _), fitted in zip(folds, seen):
        assert np.array_equal(fitted, X[tr], equal_nan=True)  # the training rows, nothing else


def test_hpo_space_maps_to_config():
    from matmap_utils.screening.hpo import HPO_SPACE, config_from_trial

    trial = {k: v[-1] for k, v in HPO_SPACE.items()}
    cfg = config_from_trial(trial, input_dim=32, epochs=7)
    assert cfg.n_neurons == (256,) * 4 and cfg.n_neurons_final == (256,) * 4
    assert cfg.max_lr == 7e-3 and cfg.init_lr == 1e-4 and cfg.l2_init == 1.0 and cfg.dropout_final == 0.3
    assert cfg.batch_size == 128 and cfg.epochs == 7 and cfg.optimizer == "lamb_lookahead"


@pytest.mark.slow
def test_hpo_search_runs_and_returns_a_point_of_the_space():
    """Two Ray Tune trials (local Ray, ASHA + HyperOpt) on tiny random sets."""
    pytest.importorskip("ray.tune")
    pytest.importorskip("hyperopt")
    from matmap_utils.screening.hpo import HPO_SPACE, hpo_search

    rng = np.random.default_rng(0)
    mats = [rng.normal(size=(int(rng.integers(2, 6)), 4)) for _ in range(24)]
    y = np.array([0, 1] * 12)
    small = {**HPO_SPACE, "n_neurons": [8, 16], "n_layers": [1, 2]}
    r = hpo_search(
        mats,
        y,
        np.arange(16),
        np.arange(16, 24),
        input_dim=4,
        num_samples=2,
        epochs=3,
        grace_period=1,
        num_cpus=1,
        seed=0,
        space=small,
    )
    assert r["n_trials"] == 2 and len(r["trials"]) == 2
    for k, v in r["best_config"].items():
        assert v in small[k], k
    assert 0 <= r["best_val_auc_pr"] <= 1 and 1 <= r["best_epoch"] <= 3
    with pytest.raises(ValueError, match="one class"):
        hpo_search(mats, np.zeros(24, int), np.arange(16), np.arange(16, 24), input_dim=4, num_samples=1, epochs=1)


def test_hpo_trial_rows_and_best_trial():
    from matmap_utils.screening.hpo import best_of_trials, trial_row

    space = {"batch_size": [32, 64], "n_layers": [2, 3]}
    hist = pd.DataFrame({"epoch": [1, 2, 3], "val_pr_auc": [0.5, 0.8, 0.7], "val_mcc": [0.1, 0.4, 0.3]})
    row = trial_row({"batch_size": 64, "n_layers": 2, "other": 1}, hist, None, space)
    assert row == {
        "batch_size": 64,
        "n_layers": 2,
        "val_pr_auc": 0.8,
        "val_mcc": 0.4,
        "best_epoch": 2,
        "epochs_run": 3,
        "error": None,
    }
    failed = trial_row({"batch_size": 32}, None, RuntimeError("boom"), space)
    assert np.isnan(failed["val_pr_auc"]) and failed["error"] == "boom" and failed["n_layers"] is None
    assert trial_row({}, hist.drop(columns=["val_pr_auc"]), None, space)["error"] == "no result"
    trials = pd.DataFrame([failed, row]).sort_values("val_pr_auc", ascending=False, na_position="last")
    best = best_of_trials(trials, space)
    assert best == {
        "best_config": {"batch_size": 64, "n_layers": 2},
        "best_val_auc_pr": 0.8,
        "best_val_mcc": 0.4,
        "best_epoch": 2,
    }
    assert not any(isinstance(v, np.generic) for v in best["best_config"].values())  # plain Python values
    with pytest.raises(RuntimeError, match="all 1 trials failed; first error: boom"):
        best_of_trials(pd.DataFrame([failed]), space)


def test_one_class_validation_sets_give_defined_metrics_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither sklearn's single-label nor numpy's empty-slice warning
        m = classification_metrics([1, 1, 1], [0.9, 0.8, 0.7])
        c = control_metrics([0, 1, 1], [1, 1, 1], n_shuffles=3)
    assert m["mcc"] == 0.0 and m["accuracy"] == 1.0 and np.isnan(m["auc_pr"])
    assert np.isnan(c["shuffled_auc_pr"]) and c["shuffled_mcc"] == 0.0 and c["mean_accuracy"] == 1.0


def test_fold_ensembles_never_train_on_the_held_out_entries():
    """Each fold model equals an ensemble trained on that fold's training entries alone (same seeds
    and minibatch order) and differs from one that also saw the held-out entries."""
    from matmap_utils.screening.atomsets.model import AtomSetsConfig, pack_sets
    from matmap_utils.screening.atomsets.training import train_ensemble
    from matmap_utils.screening.cv import fold_ensembles

    rng = np.random.default_rng(3)
    mats = [rng.normal(size=(int(rng.integers(1, 5)), 4)).astype(np.float32) for _ in range(24)]
    y = np.array([0, 1, 1] * 8)
    folds = [(np.arange(8, 24), np.arange(8)), (np.arange(16), np.arange(16, 24))]
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), set2set_hidden=4, epochs=3, batch_size=8)
    models = fold_ensembles(mats, y, folds, cfg, n_members=2, seed=1)
    probe = pack_sets(mats)
    for k, (tr, _va) in enumerate(folds):
        seeds = [10_000 + (k + 1) * 1000 + i for i in range(2)]
        alone = train_ensemble(cfg, pack_sets([mats[i] for i in tr]), y[tr], seeds=seeds, data_seed=1000 + k).model
        seen = train_ensemble(cfg, pack_sets(mats), y, seeds=seeds, data_seed=1000 + k).model
        np.testing.assert_allclose(models[k].predict_proba(probe), alone.predict_proba(probe), rtol=1e-5, atol=1e-6)
        assert not np.allclose(models[k].predict_proba(probe), seen.predict_proba(probe), atol=1e-4)
