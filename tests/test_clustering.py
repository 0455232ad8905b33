"""matmap_utils.transport.clustering: blobs recover k, ARI, loadings by category, determinism."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from matmap_utils.transport import clustering as cl


def _blobs(k=4, seed=0):
    X, y = make_blobs(n_samples=160, centers=k, n_features=5, cluster_std=0.6, random_state=seed, center_box=(-12, 12))
    return pd.DataFrame(X, columns=[f"d{i}" for i in range(5)]), y


def test_blobs_recover_k_by_elbow_silhouette_and_stability():
    X, y = _blobs(4)
    Z = cl.prepare_matrix(X).X
    scan = cl.kmeans_scan(Z, range(2, 9), seed=0)
    assert int(scan["silhouette"].idxmax()) == 4
    assert cl.knee_point(scan.index, scan["inertia"]) == 4
    stab = cl.stability_scan(Z, range(2, 9), seed=0, n_seeds=4, n_boot=4)
    k, why = cl.choose_k(scan.join(stab))
    assert k == 4, why
    res = cl.fit_kmeans(Z, 4, seed=0)
    assert adjusted_rand_score(y, res.labels) == pytest.approx(1.0)
    assert stab.loc[4, "ari_bootstrap"] > 0.95


def test_knee_point_of_a_known_curve():
    x = np.arange(1, 11)
    y = np.where(x <= 3, 100 - 30 * (x - 1), 40 - 2 * (x - 3))  # sharp bend at x = 3
    assert cl.knee_point(x, y) == 3
    with pytest.raises(ValueError):
        cl.knee_point([1, 2], [2, 1])


def test_ari_identical_and_permuted_labelings():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert adjusted_rand_score(a, a) == 1.0
    assert adjusted_rand_score(a, (a + 1) % 3) == 1.0  # label names do not matter
    X, _ = _blobs(3, seed=1)
    s = cl.stability(cl.prepare_matrix(X).X, 3, seed=0, n_seeds=3, n_boot=3)
    assert s["ari_seeds"] == pytest.approx(1.0) and s["ari_bootstrap"] == pytest.approx(1.0)


def test_loadings_aggregation_sums_to_one_per_pc():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(50, 6)), columns=list("abcdef"))
    X["b"] += 2 * X["a"]
    res = cl.pca(cl.prepare_matrix(X).X)
    cats = {"a": "S-C", "b": "S-C", "c": "D-V", "d": "D-V", "e": "D-V"}  # f -> "other"
    agg = cl.loadings_by_category(res.loadings, cats, all_categories=["M-E"])
    assert np.allclose(agg.sum(axis=1), 1.0)
    assert set(agg.columns) == {"S-C", "D-V", "other", "M-E"} and (agg["M-E"] == 0).all()
    # by hand for PC1
    l1 = res.loadings.loc["PC1"]
    assert agg.loc["PC1", "S-C"] == pytest.approx(l1["a"] ** 2 + l1["b"] ** 2)
    assert np.all(np.diff(res.explained_variance_ratio) <= 1e-12)
    assert res.explained_variance_ratio.sum() == pytest.approx(1.0)


def test_determinism_by_seed_and_cluster_numbering():
    X, _ = _blobs(5, seed=2)
    Z = cl.prepare_matrix(X).X
    r1 = cl.fit_kmeans(Z, 5, seed=7)
    r2 = cl.fit_kmeans(Z, 5, seed=7)
    assert (r1.labels == r2.labels).all()
    assert sorted(r1.labels.unique()) == [1, 2, 3, 4, 5]
    assert np.all(np.diff(r1.centroids.iloc[:, 0].to_numpy()) >= 0)  # numbered along the first column
    s1 = cl.kmeans_scan(Z, range(2, 5), seed=3)
    s2 = cl.kmeans_scan(Z, range(2, 5), seed=3)
    pd.testing.assert_frame_equal(s1, s2)


def test_prepare_matrix_drops_constant_and_imputes():
    df = pd.DataFrame(
        {
            "a": [1.0, 2.0, np.nan, 4.0],
            "b": [1.0, 1.0, 1.0, 1.0],
            "c": [np.nan, np.nan, np.nan, 1.0],
            "d": [3.0, 1.0, 2.0, 5.0],
        }
    )
    p = cl.prepare_matrix(df)
    assert list(p.X.columns) == ["a", "d"]
    assert p.dropped_constant == ["b"] and p.imputed == {"a": 1, "c": -1}
    assert np.allclose(p.X.mean(), 0) and np.allclose(p.X.std(ddof=0), 1)
    with pytest.raises(ValueError, match="constant"):
        cl.standardize(df[["b"]])


def test_composition_table_counts():
    labels = pd.Series([1, 1, 2, 2, 2], index=list("vwxyz"))
    groups = pd.Series(["oxide", "sulfide", "oxide", "oxide", None], index=list("vwxyz"))
    tab = cl.composition_table(labels, groups)
    assert tab.loc[2, "oxide"] == 2 and tab.loc[2, "unknown"] == 1 and tab.loc[1, "sulfide"] == 1
    frac = cl.composition_table(labels, groups, normalize=True)
    assert np.allclose(frac.sum(axis=1), 1.0)


def test_scan_k_joins_the_elbow_silhouette_and_stability_scans():
    X, _ = make_blobs(n_samples=90, centers=3, cluster_std=0.4, random_state=2)
    ks = [2, 3, 4]
    scan = cl.scan_k(X, ks, seed=0, n_init=2, n_seeds=2, n_boot=2)
    ref = cl.kmeans_scan(X, ks, seed=0, n_init=2).join(cl.stability_scan(X, ks, seed=0, n_seeds=2, n_boot=2))
    pd.testing.assert_frame_equal(scan, ref)
    assert {"inertia", "silhouette", "ari_seeds", "ari_bootstrap"} <= set(scan.columns)
    assert list(scan.index) == ks and scan.loc[3, "ari_bootstrap"] == pytest.approx(1.0)
