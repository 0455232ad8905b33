"""matmap_utils.transport.correlations against scipy on small inputs: ties, missing values, constant columns."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from matmap_utils.chapters import ch04_claims
from matmap_utils.transport import correlations, mlp


def _frame():
    rng = np.random.default_rng(3)
    x = rng.normal(size=25)
    df = pd.DataFrame(
        {
            "x": x,
            "y": x**3 + rng.normal(scale=0.3, size=25),  # monotonic, not linear
            "ties": np.round(x * 1.5),  # heavy ties
            "z": rng.normal(size=25),
        }
    )
    df.loc[[1, 4, 9], "y"] = np.nan  # missing values
    df.loc[[4, 7], "z"] = np.nan
    return df


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_matrix_matches_scipy_pairwise_complete(method):
    df = _frame()
    res = correlations.corr_matrix(df, method)
    f = sps.spearmanr if method == "spearman" else sps.pearsonr
    for a in df.columns:
        for b in df.columns:
            if a == b:
                continue
            ok = df[a].notna() & df[b].notna()
            ref = f(df.loc[ok, a], df.loc[ok, b])
            assert res.r.loc[a, b] == pytest.approx(ref[0], rel=1e-12, abs=1e-12)
            assert res.p.loc[a, b] == pytest.approx(ref[1], rel=1e-9, abs=1e-15)
            assert res.n.loc[a, b] == ok.sum()
    assert np.allclose(res.r.to_numpy(), res.r.to_numpy().T, equal_nan=True)


def test_spearman_ties_use_average_ranks():
    x = np.array([1, 2, 2, 2, 3, 4, 4, 5], float)
    y = np.array([2, 1, 3, 3, 5, 4, 6, 7], float)
    r, p, n = correlations.pair_corr(x, y, "spearman")
    rx, ry = sps.rankdata(x), sps.rankdata(y)  # average ranks for ties
    assert r == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert p == pytest.approx(sps.spearmanr(x, y).pvalue)
    assert n == 8


def test_too_few_pairs_and_constant_column_give_nan():
    df = pd.DataFrame(
        {"a": [1.0, 2.0, np.nan, np.nan, 5.0], "b": [np.nan, 1.0, 2.0, 3.0, 4.0], "c": [7.0, 7.0, 7.0, 7.0, 7.0]}
    )
    res = correlations.corr_matrix(df, "spearman")
    assert res.n.loc["a", "b"] == 2
    assert np.isnan(res.r.loc["a", "b"]) and np.isnan(res.p.loc["a", "b"])
    assert np.isnan(res.r.loc["a", "c"]) and np.isnan(res.r.loc["c", "c"])
    assert not res.mask(0.2).loc["a", "b"]


def test_significance_masks():
    p = pd.DataFrame([[0.0, 0.1], [0.1, np.nan]], columns=["a", "b"], index=["a", "b"])
    m02 = correlations.significance_mask(p, correlations.PAPER_ALPHA)
    m005 = correlations.significance_mask(p, correlations.CONVENTIONAL_ALPHA)
    assert m02.loc["a", "b"] and not m005.loc["a", "b"] and not m02.loc["b", "b"]


def test_correlations_with_target():
    df = _frame()
    out = correlations.correlations_with(df, "x")
    assert "x" not in out.index
    ok = df["x"].notna() & df["y"].notna()
    assert out.loc["y", "spearman"] == pytest.approx(sps.spearmanr(df.loc[ok, "x"], df.loc[ok, "y"])[0])
    assert out.loc["y", "pearson"] == pytest.approx(sps.pearsonr(df.loc[ok, "x"], df.loc[ok, "y"])[0])
    assert out.loc["y", "n"] == ok.sum()
    # sorted by |spearman|, descending
    s = out["spearman"].abs().to_numpy()
    assert np.all(np.diff(s[np.isfinite(s)]) <= 0)
    with pytest.raises(ValueError, match="not in the table"):
        correlations.correlations_with(df, "missing")


def test_mape_eq8():
    y = np.array([0.0, 2.0, 4.0])
    yp = np.array([1.0, 2.0, 2.0])
    # mean |err| = 1, mean(y) = 2 -> 0.5; zeros in y are allowed
    assert mlp.mape_mean_normalized(y, yp) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        mlp.mape_mean_normalized([1.0, -1.0], [0.0, 0.0])


def test_bad_method_and_non_numeric():
    with pytest.raises(ValueError, match="unknown correlation method"):
        correlations.corr_matrix(_frame(), "kendall")
    with pytest.raises(ValueError, match="non-numeric"):
        correlations.corr_matrix(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}))


def test_mlp_group_cv_predicts_only_held_out_groups():
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "cat": rng.choice(["x", "y"], size=n),
            "g": np.repeat(["g1", "g2", "g3"], [30, 20, 10]),
        }
    )
    df["t"] = 2 * df["a"] + 5 + 0.1 * rng.normal(size=n)
    pred, m = mlp.mlp_group_cv(df, "t", ["a", "b"], ["cat"], "g", max_iter=30, seed=0, max_groups=1)
    assert m["n_groups"] == 1 and m["n"] == 30
    assert pred[df["g"] == "g1"].notna().all() and pred[df["g"] != "g1"].isna().all()
    ok = pred.notna()
    assert m["mape"] == pytest.approx(mlp.mape_mean_normalized(df.loc[ok, "t"], pred[ok]))
    assert mlp.PAPER_MLP["hidden_layer_sizes"] == (200, 500, 50, 150, 70, 100)


def test_harmonic_vs_anharmonic_fits_each_target_with_and_without_vibrations():
    rng = np.random.default_rng(1)
    n = 24
    mf = pd.DataFrame(
        {
            "material": np.repeat(["m1", "m2", "m3", "m4"], 6),
            "specie": "Li",
            "temperature_K": np.tile([500.0, 600.0, 700.0], 8),
            "omega_mean_meV": rng.normal(10, 1, size=n),
        }
    )
    mf["log10_D"] = -5 + 0.3 * mf["omega_mean_meV"] - 3 + 0.05 * rng.normal(size=n)
    mf["Cv_kB_atom"] = np.nan  # known for no material: a note, no model
    out, notes = mlp.harmonic_vs_anharmonic(mf, ["omega_mean_meV"], max_iter=20, seed=0)
    assert set(out) == {
        "log10_D_anharmonic",
        "log10_D_harmonic",
        "omega_mean_meV_anharmonic",
        "omega_mean_meV_harmonic",
    }
    assert notes == ["Cv_kB_atom: values for 0 material(s) only — no MLP."]
    # the "harmonic" model of log10 D is mlp_group_cv on temperature alone, grouped by material
    _, ref = mlp.mlp_group_cv(mf, "log10_D", ["temperature_K"], ["specie"], "material", max_iter=20, seed=0)
    assert out["log10_D_harmonic"] == pytest.approx(ref["mape"])
    assert all(np.isfinite(v) and v >= 0 for v in out.values())


def _cv_table(n: int = 48, seed: int = 3) -> pd.DataFrame:
    """Four groups of unequal size, a gap in one input, a categorical input and a linear target."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "cat": rng.choice(["x", "y", "z"], size=n),
            "g": np.repeat(["g1", "g2", "g3", "g4"], [18, 14, 10, 6]),
        }
    )
    df.loc[df.index[::7], "b"] = np.nan  # median-imputed
    df["t"] = 2 * df["a"] - df["b"].fillna(0) + 5 + 0.1 * rng.normal(size=n)
    return df


def test_mlp_group_cv_parallel_equals_serial_exactly():
    df = _cv_table()
    specs = [
        {"df": df, "target": "t", "numeric": ["a", "b"], "categorical": ["cat"], "groups": "g"},
        {"df": df, "target": "t", "numeric": ["a"], "groups": "g"},
    ]
    serial = mlp.mlp_group_cv_batch(specs, max_iter=25, seed=4, n_jobs=1)
    par = mlp.mlp_group_cv_batch(specs, max_iter=25, seed=4, n_jobs=2)
    for (ps, ms), (pp, mp) in zip(serial, par):
        pd.testing.assert_series_equal(ps, pp, check_exact=True)
        assert ms == mp and ms["n_groups"] == 4 and ms["n"] == len(df)
    # the batch is the same as each model on its own, and each group's prediction is that of a model
    # trained on the other groups only
    one, _ = mlp.mlp_group_cv(df, "t", ["a", "b"], ["cat"], "g", max_iter=25, seed=4, n_jobs=2)
    pd.testing.assert_series_equal(one, serial[0][0], check_exact=True)
    test = (df["g"] == "g3").to_numpy()
    model = mlp.mlp_pipeline(["a", "b"], ["cat"], max_iter=25, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df.loc[~test, ["a", "b", "cat"]], df.loc[~test, "t"])
    np.testing.assert_allclose(one[test].to_numpy(), model.predict(df.loc[test, ["a", "b", "cat"]]), rtol=1e-10)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_mlp_group_cv_failed_fit_raises_naming_the_groups(n_jobs):
    df = _cv_table()
    df.loc[df["g"] == "g3", "t"] = np.inf  # a training set with g3 in it cannot be scaled
    with pytest.raises(RuntimeError) as err:
        mlp.mlp_group_cv(df, "t", ["a", "b"], ["cat"], "g", max_iter=10, seed=0, n_jobs=n_jobs)
    msg = str(err.value)
    assert "3 of 4 fits failed" in msg and "\n" not in msg
    for grp in ("g1", "g2", "g4"):
        assert f"t with g '{grp}' held out: ValueError" in msg
    assert "'g3' held out" not in msg


def test_mlp_variants_batch_reuses_known_and_identical_input_sets():
    df = _cv_table().rename(columns={"g": "family"})
    pred_ab, _ = mlp.mlp_group_cv(df, "t", ["a", "b"], ["cat"], max_iter=20, seed=1, n_jobs=1)
    variants = {"both": ["a", "b"], "a only": ["a"], "both again": ["b", "a"]}
    tab, preds = ch04_claims.mlp_variants(
        df, "t", variants, ["cat"], max_iter=20, seed=1, max_groups=None, n_boot=50, known={("a", "b"): pred_ab}
    )
    assert preds["both"] is pred_ab and preds["both again"] is pred_ab  # the same set: first one's fits
    ref_a, m_a = mlp.mlp_group_cv(df, "t", ["a"], ["cat"], max_iter=20, seed=1, n_jobs=1)
    pd.testing.assert_series_equal(preds["a only"], ref_a, check_exact=True)
    assert tab.loc["a only", "mape"] == m_a["mape"]
    # without ``known`` the variants are fitted, and identically
    tab2, preds2 = ch04_claims.mlp_variants(df, "t", variants, ["cat"], max_iter=20, seed=1, max_groups=None, n_boot=50)
    pd.testing.assert_series_equal(preds2["both"], pred_ab, check_exact=True)
    pd.testing.assert_frame_equal(tab, tab2, check_exact=True)
