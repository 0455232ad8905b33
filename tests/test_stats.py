"""matmap_utils.transport.correlations against scipy on small inputs: ties, missing values, constant columns."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

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
