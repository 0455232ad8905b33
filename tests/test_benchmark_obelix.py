"""matmap_utils.benchmark: the OBELiX target and split, composition features, baselines, scores."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, ParameterGrid, RandomizedSearchCV

from matmap_utils.benchmark import features, metrics, models, obelix
from matmap_utils.core import backends

# ----------------------------------------------------------------------------- target and split


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("<1E-10", 1e-15), ("< 1E-10", 1e-15), ("<1e-8", 1e-15), ("3.2e-4", 3.2e-4), (1.5e-6, 1.5e-6)],
)
def test_obelix_sigma_follows_the_dataset_code(raw, expected):
    assert obelix.obelix_sigma(raw) == pytest.approx(expected)


@pytest.mark.parametrize("raw", ["about 1e-4", "0", "-1e-5", None, "nan"])
def test_obelix_sigma_rejects_what_is_not_a_conductivity(raw):
    with pytest.raises(ValueError, match="OBELiX conductivity"):
        obelix.obelix_sigma(raw)


def test_cif_class():
    assert obelix.cif_class(True, np.nan) == "Match"
    assert obelix.cif_class(True, "Yes ") == "Close Match"
    assert obelix.cif_class(False, "yes") == "Close Match"
    assert obelix.cif_class(False, None) == "No Match"


def _toy_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            obelix.SIGMA_COLUMN: ["1e-3", "<1E-10", "2e-5", "1e-4", "5e-7"],
            "split": ["train", "train", "test", "test", "train"],
            "has_cif": [True, False, True, False, False],
            "close match": [np.nan, np.nan, "Yes", np.nan, np.nan],
            "DOI": ["10.1/a", "10.1/a", "10.1/b", np.nan, "10.1/c"],
            "True Composition": ["Li2.0O1.0", "Li1.0Cl1.0", "Li3.0P1.0S4.0", "Li1.0F1.0", "Li2.0S1.0"],
        },
        index=pd.Index(["e1", "e2", "e3", "e4", "e5"], name="ID"),
    )


def test_task_frame_target_and_subsets():
    t = obelix.task_frame(_toy_table())
    assert t["target"].tolist() == pytest.approx([-3.0, -15.0, np.log10(2e-5), -4.0, np.log10(5e-7)])
    assert t["censored"].tolist() == [False, True, False, False, False]
    assert t["superionic"].tolist() == [True, False, False, True, False]  # >= 1e-4 inclusive
    assert t["cif_subset"].tolist() == [True, False, True, False, False]
    assert t.at["e4", "group"] == "no-doi:e4"
    train, test = obelix.split(t)
    assert list(train.index) == ["e1", "e2", "e5"] and list(test.index) == ["e3", "e4"]
    assert obelix.shared_groups(t) == set()
    s = obelix.task_summary(t)
    assert (s["n_train"], s["n_test"], s["n_train_censored"], s["n_test_cif"]) == (3, 2, 1, 1)


def test_task_frame_refuses_entries_without_split_or_value():
    bad = _toy_table()
    bad.loc["e3", "split"] = None
    with pytest.raises(ValueError, match="neither train.csv nor test.csv"):
        obelix.task_frame(bad)
    bad = _toy_table()
    bad.loc["e2", obelix.SIGMA_COLUMN] = "n/a"
    with pytest.raises(ValueError, match="e2"):
        obelix.task_frame(bad)


@pytest.mark.mirror
def test_official_split_as_released():
    t = obelix.task_frame()
    s = obelix.task_summary(t)
    assert (s["n_train"], s["n_test"]) == (478, 121)
    assert (s["n_train_cif"], s["n_test_cif"]) == (254, 67)
    assert s["n_train_censored"] + s["n_test_censored"] == 37
    assert s["n_shared_dois"] == 0  # the split keeps publications apart
    assert (t.loc[t["censored"], "target"] == -15).all()
    # every close match has its CIF in this release: the CIF subset is the entries with a CIF
    assert (t["cif_subset"] == t["has_cif"]).all()


# ----------------------------------------------------------------------------- features


def test_element_amounts_and_bad_formula():
    assert features.element_amounts("Li6.4La3Zr1.4Ta0.6O12") == pytest.approx(
        {"Li": 6.4, "La": 3.0, "Zr": 1.4, "Ta": 0.6, "O": 12.0}
    )
    with pytest.raises(ValueError, match="Li3Xx"):
        features.element_amounts("Li3Xx(")


def test_element_columns_in_atomic_number_order():
    assert features.element_columns(["Li2O", "LiCl", "Li3PS4"]) == ["Li", "O", "P", "S", "Cl"]


def _frame():
    return pd.DataFrame(
        {
            "True Composition": ["Li4.0O2.0", "Li2.0O1.0", "Li1.0Cs1.0"],
            "Space group #": [225, 225, 221],
            "a": [4.6, 4.6, 4.0],
            "b": [4.6, 4.6, 4.0],
            "c": [4.6, 4.6, 4.0],
            "alpha": [90, 90, 90],
            "beta": [90, 90, 90],
            "gamma": [90, 90, 90],
        },
        index=["x", "y", "z"],
    )


def test_obelix_features_are_cell_amounts_and_fractions_are_normalized():
    fr = _frame()
    ob = features.obelix_features(fr, ["Li", "O"])
    assert ob.loc["x", ["n_Li", "n_O"]].tolist() == [4.0, 2.0]  # unit cell, not normalized
    assert ob.loc["z", ["n_Li", "n_O"]].tolist() == [1.0, 0.0]  # Cs unseen in training: dropped
    assert ob.loc["x", "spacegroup"] == 225 and ob.loc["z", "a"] == 4.0
    fx = features.fraction_features(fr, ["Li", "O"])
    assert fx.loc["x", ["x_Li", "x_O"]].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert fx.loc["x"].equals(fx.loc["y"])  # a doubled cell has the same fractions
    with pytest.raises(ValueError, match="unknown feature set"):
        features.feature_matrix("magpie", fr, ["Li"])
    with pytest.raises(ValueError, match="missing"):
        features.obelix_features(fr.drop(columns=["gamma"]), ["Li"])


# ----------------------------------------------------------------------------- models


def test_group_folds_keep_groups_together_and_cover_every_row():
    groups = np.repeat(np.arange(23), np.arange(1, 24) % 5 + 1)
    folds = models.group_folds(groups, n_splits=5, seed=3)
    val = np.concatenate([v for _, v in folds])
    assert sorted(val) == list(range(len(groups)))
    for tr, va in folds:
        assert not set(groups[tr]) & set(groups[va])
        assert len(tr) + len(va) == len(groups)
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 5
    again = models.group_folds(groups, n_splits=5, seed=3)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again))
    with pytest.raises(ValueError, match="cannot fill"):
        models.group_folds(["a", "b"], n_splits=3)


def test_median_regressor():
    m = models.MedianRegressor().fit(np.zeros((4, 1)), [1.0, 2.0, 10.0, -15.0])
    assert m.predict(np.zeros((3, 2))).tolist() == [1.5, 1.5, 1.5]


def test_grids_and_unknown_kinds():
    assert len(models.grid("rf", "paper")["max_depth"]) == 7  # the OBELiX paper's grid
    with pytest.raises(ValueError, match="unknown model kind"):
        models.make_estimator("svm")
    with pytest.raises(ValueError, match="grid size"):
        models.grid("rf", "huge")


def test_select_prefers_the_feature_set_that_carries_the_signal():
    rng = np.random.default_rng(0)
    n = 120
    signal = rng.normal(size=(n, 3))
    y = 2 * signal[:, 0] + 0.1 * rng.normal(size=n)
    noise = pd.DataFrame(rng.normal(size=(n, 3)))
    folds = models.group_folds(np.arange(n) // 4, 4, seed=0)
    sel = models.select("rf", {"noise": noise, "signal": signal}, y, folds, size="small", seed=0, n_jobs=1)
    assert sel.feature_set == "signal"
    assert sel.cv_mae < 0.6 * np.mean(np.abs(y - np.median(y)))
    assert set(sel.table["feature_set"]) == {"noise", "signal"}
    assert sel.table["cv_mae"].is_monotonic_increasing
    assert sel.model.predict(signal[:5]).shape == (5,)


# ----------------------------------------------------------------------------- metrics


def test_mae_aucpr_mcc_known_values():
    y = np.array([-2.0, -3.0, -6.0, -8.0])
    assert metrics.mae(y, y + 1) == 1.0
    assert metrics.auc_pr(y, y) == 1.0  # perfect ranking
    assert metrics.mcc(y, y) == 1.0
    assert metrics.mcc(y, -y - 10) == -1.0
    assert np.isnan(metrics.auc_pr([-5.0, -6.0], [0.0, 1.0]))  # one class only
    # threshold inclusive: -4 is superionic
    assert metrics.mcc([-4.0, -5.0], [-4.0, -5.0]) == 1.0


def test_score_intervals_and_paired_difference():
    rng = np.random.default_rng(1)
    y = rng.normal(-5, 2, size=80)
    p = y + rng.normal(0, 1, size=80)
    s = metrics.score(y, p, n_boot=300, seed=0)
    assert s["mae_lo"] <= s["mae"] <= s["mae_hi"] and s["n"] == 80
    d = metrics.paired_mae_difference(y, p, p, n_boot=100)
    assert d["d_mae"] == d["d_mae_lo"] == d["d_mae_hi"] == 0.0
    worse = metrics.paired_mae_difference(y, p + 3, p, n_boot=300)
    assert worse["d_mae_lo"] > 0
    with pytest.raises(ValueError, match="NaN"):
        metrics.score(y, np.full(80, np.nan))


def test_score_table_coverage_and_reference():
    idx = pd.Index(list("abcdef"))
    y = pd.Series([-2.0, -3.0, -5.0, -7.0, -3.5, -9.0], index=idx)
    preds = {
        "ref": pd.Series([-3.0, -3.0, -4.0, -6.0, -4.0, -8.0], index=idx),
        "struct": pd.Series([-2.5, np.nan, -5.5, np.nan, -3.0, -8.5], index=idx),
    }
    subsets = {"whole": pd.Series(True, index=idx), "cif": pd.Series([1, 0, 1, 0, 1, 1], index=idx).astype(bool)}
    t = metrics.score_table(y, preds, subsets, reference="ref", n_boot=50)
    row = t[(t["model"] == "struct") & (t["subset"] == "whole")].iloc[0]
    assert row["coverage"] == "4/6" and row["n"] == 4
    assert row["mae"] == pytest.approx(0.5)
    assert row["d_mae"] == pytest.approx(0.5 - np.mean([1.0, 1.0, 0.5, 1.0]))
    assert np.isnan(t[(t["model"] == "ref") & (t["subset"] == "cif")].iloc[0]["d_mae"])


# ----------------------------------------------------------------------------- search budget


def _budget_data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = 2 * X[:, 0] - X[:, 1] + 0.2 * rng.normal(size=n)
    return X, y, models.group_folds(np.arange(n) // 3, 3, seed=0)


def _point(params) -> frozenset:
    """A grid point as a hashable set of (name, value) pairs, whatever the order of its keys."""
    params = ast.literal_eval(params) if isinstance(params, str) else params
    return frozenset(params.items())


def _points(sel: models.Selection) -> list[frozenset]:
    return [_point(p) for p in sel.table["params"]]


def test_select_without_budget_is_the_full_grid_search():
    """budget None/0 reproduces GridSearchCV over the whole grid exactly (scores, choice, model)."""
    X, y, folds = _budget_data()
    ref = GridSearchCV(
        models.make_estimator("rf", 0),
        models.grid("rf", "small"),
        cv=folds,
        scoring="neg_mean_absolute_error",
        n_jobs=1,
        refit=True,
    ).fit(X, y)
    for budget in (None, 0):
        sel = models.select("rf", {"x": X}, y, folds, size="small", seed=0, n_jobs=1, budget=budget)
        assert not sel.sampled and sel.n_points == sel.grid_points == 4
        assert sel.params == ref.best_params_
        assert sel.cv_mae == -ref.best_score_
        want = sorted(-ref.cv_results_["mean_test_score"])
        assert sel.table["cv_mae"].tolist() == want
        assert np.array_equal(sel.model.predict(X), ref.best_estimator_.predict(X))


def test_budget_samples_n_distinct_grid_points_reproducibly():
    X, y, folds = _budget_data()
    everything = {_point(p) for p in ParameterGrid(models.grid("rf", "paper"))}
    assert models.grid_points("rf", "paper") == len(everything) == 4 * 7 * 3 * 5

    def run(seed, n_jobs=1):
        return models.select("rf", {"x": X}, y, folds, size="paper", seed=seed, n_jobs=n_jobs, budget=5)

    a = run(3)
    assert a.sampled and (a.n_points, a.grid_points, a.sample_seed) == (5, 420, 3)
    assert len(set(_points(a))) == 5 and set(_points(a)) <= everything
    again = run(3, n_jobs=2)  # same seed, two processes: the same points and the same scores
    assert sorted(_points(again)) == sorted(_points(a))
    pd.testing.assert_frame_equal(again.table, a.table)
    other = run(4)
    assert set(_points(other)) != set(_points(a))


def test_same_points_for_every_feature_set():
    X, y, folds = _budget_data()
    sel = models.select("rf", {"a": X, "b": X[:, ::-1]}, y, folds, size="paper", seed=1, n_jobs=1, budget=4)
    by_set = sel.table.groupby("feature_set")["params"].apply(set)
    assert len(by_set["a"]) == 4 and by_set["a"] == by_set["b"]


def test_budget_at_or_above_the_grid_size_runs_the_full_grid():
    X, y, folds = _budget_data()
    for budget in (72, 500):
        assert isinstance(models.make_search("hgb", "paper", folds, budget=budget), GridSearchCV)
    assert isinstance(models.make_search("hgb", "paper", folds, budget=71), RandomizedSearchCV)
    full = models.select("rf", {"x": X}, y, folds, size="small", seed=0, n_jobs=1, budget=None)
    capped = models.select("rf", {"x": X}, y, folds, size="small", seed=0, n_jobs=1, budget=4)
    assert not capped.sampled and capped.n_points == 4
    pd.testing.assert_frame_equal(capped.table, full.table)
    with pytest.raises(ValueError, match="search budget"):
        models.make_search("rf", "small", folds, budget=-1)


def test_search_uses_every_core_by_default_and_one_in_workers(monkeypatch):
    """The CV searches follow parallel_map's rule (core.backends.effective_n_jobs): n_jobs as
    given, None/0 every core the project may use, 1 inside a worker."""
    folds = models.group_folds(np.arange(30) // 3, 3, seed=0)
    monkeypatch.setenv("MATMAP_N_JOBS", "3")
    assert models.make_search("rf", "small", folds, n_jobs=2).n_jobs == 2
    assert models.make_search("rf", "small", folds, n_jobs=None).n_jobs == 3
    assert models.make_search("rf", "small", folds, n_jobs=0).n_jobs == 3
    monkeypatch.setitem(backends._WORKER, "is", True)
    assert models.make_search("rf", "small", folds, n_jobs=None).n_jobs == 1
    assert models.make_search("rf", "small", folds, n_jobs=4).n_jobs == 1
