"""Validation splits: the paper's k-fold and LOCO folds, stratified k-fold, ElMD leave-one-cluster-out clusters (McHaffie et al. 2025, Sec. 2.5)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN
from sklearn.model_selection import StratifiedKFold

with warnings.catch_warnings():
    # ElMD imports the deprecated setuptools ``pkg_resources`` at import time (its own problem)
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    from ElMD import ElMD


def paper_folds(df: pd.DataFrame, scheme: str = "kfold") -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, val) positional indices from the paper's split columns of ``load_mchaffie`` rows.

    ``scheme``: ``"kfold"`` (column ``kfold``, 5 folds) or ``"loco"`` (column ``loco_cluster``).
    Test-set rows (``split_test``) are never used.
    """
    col = {"kfold": "kfold", "loco": "loco_cluster"}[scheme]
    trval = ~df["split_test"].to_numpy(bool)
    groups = df[col].to_numpy()
    folds = []
    for g in sorted(pd.unique(df.loc[trval, col].dropna())):
        val = np.where(trval & (groups == g))[0]
        tr = np.where(trval & (groups != g))[0]
        if len(val):
            folds.append((tr, val))
    return folds


def stratified_kfold(y: Sequence, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:

    y = np.asarray(y).astype(int)
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in skf.split(np.zeros(len(y)), y)]


def cluster_folds(clusters: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-cluster-out folds; DBSCAN noise (-1) stays in training only."""
    c = np.asarray(clusters)
    return [(np.where(c != g)[0], np.where(c == g)[0]) for g in sorted(set(c.tolist())) if g != -1]


def _petti_vectors(formulas: Sequence[str]) -> np.ndarray:
    """Modified-Pettifor-scale composition vectors of ElMD (one row per formula)."""
    return np.stack([ElMD(f, metric="mod_petti").feature_vector for f in formulas])


def elmd_matrix(formulas: Sequence[str]) -> np.ndarray:
    """All-pairs ElMD (modified Pettifor scale) distance matrix of chemical formulas."""
    cdf = np.cumsum(_petti_vectors(formulas), axis=1)
    n = len(cdf)
    d = np.zeros((n, n))
    for i in range(n):
        d[i] = np.abs(cdf - cdf[i]).sum(1)
    return d


def elmd_distances(query: str, formulas: Sequence[str]) -> np.ndarray:
    """ElMD (modified Pettifor scale) from the formula ``query`` to each of ``formulas``.

    The 1-D earth mover's distance between the two compositions as distributions over the ordered
    Pettifor scale, i.e. the L1 distance of their cumulative distributions (as :func:`elmd_matrix`);
    NaN for a formula ElMD cannot parse.
    """
    cdf_q = np.cumsum(_petti_vectors([query])[0])
    out = np.full(len(formulas), np.nan)
    for i, f in enumerate(formulas):
        try:
            out[i] = np.abs(np.cumsum(ElMD(str(f), metric="mod_petti").feature_vector) - cdf_q).sum()
        except Exception:  # noqa: BLE001 - an unparsable formula has no distance
            continue
    return out


def loco_clusters(
    formulas: Sequence[str],
    *,
    spread: float = 5.0,
    eps: float = 4.0,
    min_samples: int = 5,
    n_neighbors: int = 15,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """ElMD -> UMAP (2-D, spread 5, precomputed distances) -> DBSCAN (eps 4); returns (labels, embedding)."""
    import umap  # lazy: umap-learn (numba, pynndescent) takes seconds to import; only this function needs it

    d = elmd_matrix(formulas)
    with warnings.catch_warnings():
        # UMAP warns that a fixed random_state disables its parallelism and that a precomputed
        # metric has no inverse transform: both expected here
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        # identical formulas are at distance 0, where UMAP's curve 1 / (1 + a x^(2b)) divides by zero harmlessly
        warnings.filterwarnings("ignore", message="divide by zero encountered in power", category=RuntimeWarning)
        emb = umap.UMAP(
            n_components=2, metric="precomputed", spread=spread, n_neighbors=n_neighbors, random_state=seed
        ).fit_transform(d)
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(emb)
    return labels, emb
