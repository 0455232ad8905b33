"""PCA and k-means classes of solid electrolytes (López et al. 2023, Figs. 4–5).

* :func:`prepare_matrix` — numeric descriptor matrix: drops constant columns, imputes the few
  missing values by the column median (reported), z-scores every column (mean 0, sd 1).
* :func:`pca` — principal components, explained variance, loadings; :func:`loadings_by_category`
  aggregates the squared loadings of each PC by descriptor category (each PC's shares sum to 1,
  since a component is a unit vector) — the Fig. 4 question "which categories carry the variance".
* :func:`kmeans_scan` — inertia and silhouette for a range of k; :func:`knee_point` locates the
  elbow objectively (Kneedle: the point of the normalised inertia curve farthest below the chord);
  :func:`stability` — adjusted Rand index across seeds and bootstrap resamples;
  :func:`choose_k` — a documented rule combining the three.
* :func:`fit_kmeans` numbers the clusters 1…k by their centroid's PC1 coordinate (deterministic),
  :func:`composition_table` gives the population of each cluster by a label.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, silhouette_score
from threadpoolctl import threadpool_limits

#: k-means on a few hundred points is far faster single-threaded: OpenMP thread start-up and
#: spin-waiting dominate (measured ~20× on a busy 2-core machine), so every k-means call runs in
#: ``threadpool_limits(1)``.
_ONE_THREAD = {"limits": 1}


def _single_thread(func):

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(**_ONE_THREAD):
            return func(*args, **kwargs)

    return wrapper


@dataclass
class Prepared:
    """Standardized matrix and what was done to get it."""

    X: pd.DataFrame  # z-scores, rows = materials, columns = descriptors
    dropped_constant: list[str] = field(default_factory=list)
    imputed: dict[str, int] = field(default_factory=dict)  # column → number of imputed values
    mean: pd.Series | None = None
    std: pd.Series | None = None


def _is_constant(col: pd.Series) -> bool:
    """No spread beyond floating-point noise (sd ≤ 1e-9 × scale)."""
    v = col.dropna().to_numpy(dtype=float)
    if len(v) == 0:
        return True
    return bool(np.ptp(v) <= 1e-9 * max(1.0, float(np.abs(v).max())))


def standardize(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Z-scores (population sd, as scikit-learn's StandardScaler). Constant columns raise."""
    mean = df.mean()
    std = df.std(ddof=0)
    const = [c for c in df.columns if _is_constant(df[c])]
    if const:
        raise ValueError(f"cannot standardize constant columns: {const}")
    return (df - mean) / std, mean, std


def prepare_matrix(df: pd.DataFrame, columns: Sequence[str] | None = None, *, max_missing: float = 0.5) -> Prepared:
    """Numeric matrix for PCA/k-means: drop constant or mostly-missing columns, median-impute, z-score.

    Columns with more than ``max_missing`` missing values are dropped (listed in ``imputed`` with
    value -1); other missing values are replaced by the column median.
    """
    cols = list(df.columns if columns is None else columns)
    X = df[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    imputed: dict[str, int] = {}
    keep = []
    for c in cols:
        miss = int(X[c].isna().sum())
        if miss > max_missing * len(X):
            imputed[c] = -1
            continue
        if miss:
            X[c] = X[c].fillna(X[c].median())
            imputed[c] = miss
        keep.append(c)
    X = X[keep]
    const = [c for c in X.columns if _is_constant(X[c])]
    X = X.drop(columns=const)
    Z, mean, std = standardize(X)
    return Prepared(Z, const, imputed, mean, std)


@dataclass
class PCAResult:
    scores: pd.DataFrame  # rows = materials, columns PC1..PCk
    explained_variance_ratio: np.ndarray
    loadings: pd.DataFrame  # rows = PCs, columns = descriptors (unit vectors)


def pca(X: pd.DataFrame, n_components: int | None = None, *, seed: int = 0) -> PCAResult:
    """PCA of a standardized matrix. Signs are fixed so that each PC's largest ``|loading|`` is positive."""
    n = min(X.shape) if n_components is None else min(n_components, min(X.shape))
    model = PCA(n_components=n, random_state=seed, svd_solver="full").fit(X.to_numpy())
    comps = model.components_.copy()
    sign = np.sign(comps[np.arange(n), np.abs(comps).argmax(axis=1)])
    sign[sign == 0] = 1
    comps *= sign[:, None]
    names = [f"PC{i + 1}" for i in range(n)]
    scores = (X.to_numpy() - model.mean_) @ comps.T
    return PCAResult(
        pd.DataFrame(scores, index=X.index, columns=names),
        model.explained_variance_ratio_,
        pd.DataFrame(comps, index=names, columns=X.columns),
    )


def loadings_by_category(
    loadings: pd.DataFrame, categories: Mapping[str, str], *, all_categories: Iterable[str] = ()
) -> pd.DataFrame:
    """Share of each PC carried by each descriptor category: sum of squared loadings per category.

    Rows = PCs, columns = categories (``all_categories`` adds empty ones with share 0); each row sums
    to 1 when the loadings are unit vectors over all columns. Unknown columns go to ``"other"``.
    """
    sq = loadings**2
    cats = pd.Series({c: categories.get(c, "other") for c in loadings.columns})
    out = sq.T.groupby(cats).sum().T
    for c in all_categories:
        if c not in out.columns:
            out[c] = 0.0
    return out


@_single_thread
def kmeans_labels(X, k: int, seed: int = 0, n_init: int = 10) -> np.ndarray:
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(np.asarray(X))


@_single_thread
def kmeans_scan(X, ks: Iterable[int] = range(2, 13), *, seed: int = 0, n_init: int = 10) -> pd.DataFrame:
    """Inertia and silhouette score of k-means for every k (rows indexed by k)."""
    X = np.asarray(X, dtype=float)
    rows = []
    for k in ks:
        if k >= len(X):
            break
        km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
        sil = silhouette_score(X, km.labels_) if 1 < k < len(X) else np.nan
        rows.append({"k": k, "inertia": float(km.inertia_), "silhouette": float(sil)})
    return pd.DataFrame(rows).set_index("k")


def knee_point(x: Sequence[float], y: Sequence[float]) -> int | float:
    """Kneedle elbow of a decreasing convex curve (Satopää et al. 2011).

    Normalise x and y to [0, 1]; the knee is the x where the normalised curve lies farthest below
    the straight line joining its end points (maximum of ``(1 - x_n) - y_n``).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 3:
        raise ValueError("need at least 3 points to locate a knee")
    xn = (x - x.min()) / (x.max() - x.min())
    yn = (y - y.min()) / (y.max() - y.min()) if y.max() > y.min() else np.zeros_like(y)
    diff = (1 - xn) - yn
    out = x[int(np.argmax(diff))]
    return int(out) if float(out).is_integer() else float(out)


@_single_thread
def stability(X, k: int, *, seed: int = 0, n_seeds: int = 10, n_boot: int = 20) -> dict[str, float]:
    """Adjusted Rand index of k-means labelings: across seeds and across bootstrap resamples.

    * seeds: ``n_seeds`` single-initialisation runs (``n_init=1``) with different seeds, mean ARI
      over all pairs;
    * bootstrap: k-means (``n_init=10``) on ``n_boot`` resamples of the rows, each predicting the
      labels of all rows, ARI against the reference labeling fitted on all rows.
    """
    X = np.asarray(X, dtype=float)
    rng = np.random.default_rng(seed)
    runs = [
        KMeans(n_clusters=k, n_init=1, random_state=int(s)).fit_predict(X)
        for s in rng.integers(0, 2**31 - 1, size=n_seeds)
    ]
    ari_seed = [adjusted_rand_score(a, b) for a, b in combinations(runs, 2)]
    ref = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(X)
    ari_boot = []
    for s in rng.integers(0, 2**31 - 1, size=n_boot):
        idx = np.random.default_rng(int(s)).integers(0, len(X), size=len(X))
        km = KMeans(n_clusters=k, n_init=10, random_state=int(s)).fit(X[idx])
        ari_boot.append(adjusted_rand_score(ref, km.predict(X)))
    return {
        "ari_seeds": float(np.mean(ari_seed)) if ari_seed else np.nan,
        "ari_seeds_min": float(np.min(ari_seed)) if ari_seed else np.nan,
        "ari_bootstrap": float(np.mean(ari_boot)) if ari_boot else np.nan,
        "ari_bootstrap_sd": float(np.std(ari_boot)) if ari_boot else np.nan,
    }


def stability_scan(X, ks: Iterable[int], *, seed: int = 0, n_seeds: int = 10, n_boot: int = 20) -> pd.DataFrame:
    """:func:`stability` for every k: columns ``ari_seeds``, ``ari_bootstrap``, index ``k``."""
    return pd.DataFrame({k: stability(X, k, seed=seed, n_seeds=n_seeds, n_boot=n_boot) for k in ks}).T.rename_axis("k")


def scan_k(
    X, ks: Iterable[int], *, seed: int = 0, n_init: int = 10, n_seeds: int = 10, n_boot: int = 20
) -> pd.DataFrame:
    """Everything the choice of k needs (López et al. ESI Figs. S4–S5, plus stability), one row per k:
    inertia and silhouette (:func:`kmeans_scan`) joined with the seed and bootstrap ARI
    (:func:`stability_scan`)."""
    ks = list(ks)
    scan = kmeans_scan(X, ks, seed=seed, n_init=n_init)
    return scan.join(stability_scan(X, ks, seed=seed, n_seeds=n_seeds, n_boot=n_boot))


def choose_k(scan: pd.DataFrame, *, window: int = 2, min_ari: float = 0.6) -> tuple[int, str]:
    """The number of clusters backed by the elbow, the silhouette and stability.

    Rule: candidates are the k within ``window`` of the Kneedle elbow of the inertia curve; among
    them, keep those whose bootstrap ARI (column ``ari_bootstrap``, when present) is at least
    ``min_ari``, and take the one with the highest silhouette. If no candidate is stable enough, the
    most stable candidate is taken. Returns ``(k, explanation)``.
    """
    ks = scan.index.to_numpy()
    knee = knee_point(ks, scan["inertia"].to_numpy())
    cand = scan[(scan.index >= knee - window) & (scan.index <= knee + window)]
    stable = cand
    if "ari_bootstrap" in cand:
        stable = cand[cand["ari_bootstrap"] >= min_ari]
    if len(stable):
        k = int(stable["silhouette"].idxmax())
        why = (
            f"elbow (Kneedle) at k={knee}; among k={int(cand.index.min())}…{int(cand.index.max())} "
            f"with bootstrap ARI ≥ {min_ari}, k={k} has the highest silhouette "
            f"({scan.loc[k, 'silhouette']:.3f})"
        )
    else:
        k = int(cand["ari_bootstrap"].idxmax())
        why = f"elbow (Kneedle) at k={knee}; no k near it reaches bootstrap ARI {min_ari}; k={k} is the most stable one"
    return k, why


@dataclass
class KMeansResult:
    labels: pd.Series  # cluster number 1..k per material
    centroids: pd.DataFrame  # cluster number → centroid in the input space
    inertia: float
    silhouette: float


@_single_thread
def fit_kmeans(
    X: pd.DataFrame, k: int, *, seed: int = 0, n_init: int = 20, order_by: str | None = None
) -> KMeansResult:
    """k-means with clusters numbered 1…k by the centroid's ``order_by`` column (default: first)."""
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X.to_numpy())
    cent = pd.DataFrame(km.cluster_centers_, columns=X.columns)
    col = order_by or X.columns[0]
    order = np.argsort(cent[col].to_numpy(), kind="stable")
    relabel = {int(old): new + 1 for new, old in enumerate(order)}
    labels = pd.Series([relabel[int(c)] for c in km.labels_], index=X.index, name="cluster")
    cent.index = [relabel[i] for i in range(k)]
    cent = cent.sort_index()
    cent.index.name = "cluster"
    sil = silhouette_score(X.to_numpy(), km.labels_) if 1 < k < len(X) else np.nan
    return KMeansResult(labels, cent, float(km.inertia_), float(sil))


def composition_table(labels: pd.Series, groups: pd.Series, *, normalize: bool = False) -> pd.DataFrame:
    """Population of each cluster (rows) by group label (columns); fractions per cluster if ``normalize``."""
    tab = pd.crosstab(labels.rename("cluster"), groups.reindex(labels.index).fillna("unknown").rename("group"))
    if normalize:
        tab = tab.div(tab.sum(axis=1), axis=0)
    return tab


def cluster_summary(
    labels: pd.Series, table: pd.DataFrame, *, flag: str = "superionic", target: str = "log10_sigma"
) -> pd.DataFrame:
    """Per cluster: size, fraction of ``flag`` (True) materials, median and IQR of ``target``."""
    df = table.reindex(labels.index)
    g = df.groupby(labels)
    out = pd.DataFrame({"n": g.size()})
    if flag in df:
        out[f"fraction_{flag}"] = g[flag].apply(lambda s: float(pd.Series(s, dtype="boolean").mean()))
    if target in df:
        out[f"median_{target}"] = g[target].median()
        out[f"q25_{target}"] = g[target].quantile(0.25)
        out[f"q75_{target}"] = g[target].quantile(0.75)
    out.index.name = "cluster"
    return out


def cluster_profiles(Z: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Mean z-score of every descriptor in every cluster (rows = clusters): what sets a class apart."""
    return Z.groupby(labels.reindex(Z.index)).mean()


def label_agreement(labels: pd.Series, groups: pd.Series) -> dict[str, float]:
    """How well a grouping (e.g. anion class, family) explains the clusters: ARI and adjusted MI."""

    g = groups.reindex(labels.index).fillna("unknown").astype(str)
    return {"ari": float(adjusted_rand_score(g, labels)), "ami": float(adjusted_mutual_info_score(g, labels))}
