"""Baseline regressors for OBELiX, tuned by cross-validation inside the training split only.

* ``median``: the training median of log10 sigma (the trivial baseline).
* ``rf``: random forest (scikit-learn) — the OBELiX paper's baseline, with its hyperparameter grid
  (``benchmark/tuning.py`` of ``NRC-Mila/OBELiX``: n_estimators 50–200, max_depth 12–64 or none,
  max_features log2/sqrt/all, min_samples_leaf 1–5; 5-fold CV on the training split, MAE).
* ``mlp``: the paper's MLP baseline (ReLU, Adam, early stopping; its grid of depths 2–5 × widths
  16–256, learning rates and batch sizes), on standardized inputs.
* ``hgb``: histogram gradient boosting, which accepts missing descriptor values (NaN) as they are;
  used on the SSE descriptor table.

Folds: :func:`group_folds` keeps every publication (DOI) in one fold, as the official split keeps
train and test papers disjoint — a random K-fold would let near-duplicate compositions of one paper
leak between training and validation folds and reward memorization.  The grids come in two sizes:
``"paper"`` (the paper's full grids) and ``"small"`` (a few points of each, for the CI profile).

Search budget: :func:`select` runs the full grid (``GridSearchCV``) by default; with ``budget=n``
it evaluates ``n`` distinct points of the same grid drawn at random without replacement
(``RandomizedSearchCV`` seeded with ``seed``) with the same folds, scoring and refit.  A budget at
or above the grid's size runs the full grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.model_selection import GridSearchCV, ParameterGrid, RandomizedSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from matmap_utils.core.backends import effective_n_jobs


class MedianRegressor(RegressorMixin, BaseEstimator):
    """Predicts the training median for every entry (the trivial baseline)."""

    def fit(self, X, y):
        self.median_ = float(np.median(np.asarray(y, dtype=float)))
        return self

    def predict(self, X):
        return np.full(len(X), self.median_)


_MLP_SIZES = [[w] * d for d in (2, 3, 4) for w in (16, 32, 64, 128, 256)] + [[64] * 5]

GRIDS: dict[str, dict[str, dict[str, list]]] = {
    "rf": {
        "paper": {
            "n_estimators": [50, 100, 150, 200],
            "max_depth": [12, 24, 36, 48, 56, 64, None],
            "max_features": ["log2", "sqrt", None],
            "min_samples_leaf": [1, 2, 3, 4, 5],
        },
        "small": {
            "n_estimators": [100],
            "max_depth": [None],
            "max_features": ["sqrt", None],
            "min_samples_leaf": [1, 3],
        },
    },
    "mlp": {
        "paper": {
            "mlpregressor__hidden_layer_sizes": _MLP_SIZES,
            "mlpregressor__learning_rate_init": [0.003, 0.01, 0.03, 0.1, 0.3],
            "mlpregressor__batch_size": [16, 32, 64],
        },
        "small": {"mlpregressor__hidden_layer_sizes": [[64, 64]], "mlpregressor__learning_rate_init": [0.003, 0.01]},
    },
    "hgb": {
        "paper": {
            "learning_rate": [0.03, 0.1],
            "max_depth": [3, 6, None],
            "max_iter": [100, 300],
            "min_samples_leaf": [5, 10, 20],
            "l2_regularization": [0.0, 1.0],
        },
        "small": {"learning_rate": [0.1], "max_depth": [3], "max_iter": [100], "min_samples_leaf": [10, 20]},
    },
    "median": {"paper": {}, "small": {}},
}


def make_estimator(kind: str, seed: int = 0):
    """An untuned estimator of ``kind`` ("median", "rf", "mlp", "hgb") seeded with ``seed``."""
    if kind == "median":
        return MedianRegressor()
    if kind == "rf":
        return RandomForestRegressor(random_state=seed, n_jobs=1)
    if kind == "mlp":
        mlp = MLPRegressor(
            activation="relu",
            solver="adam",
            early_stopping=True,
            learning_rate="adaptive",
            max_iter=1000,
            n_iter_no_change=100,
            batch_size=32,
            random_state=seed,
        )
        return make_pipeline(StandardScaler(), mlp)
    if kind == "hgb":
        return HistGradientBoostingRegressor(random_state=seed)
    raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(GRIDS)}")


def grid(kind: str, size: str) -> dict[str, list]:
    """The hyperparameter grid of ``kind`` at ``size`` ("paper" or "small")."""
    if kind not in GRIDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(GRIDS)}")
    if size not in GRIDS[kind]:
        raise ValueError(f"unknown grid size {size!r}; choose 'paper' or 'small'")
    return GRIDS[kind][size]


def group_folds(groups: Sequence, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` (train, validation) index pairs in which no group is split across folds.

    Groups are shuffled with ``seed`` and each is put in the fold with the fewest rows so far
    (largest groups first), so folds are about equally large and the assignment is reproducible.
    """
    groups = np.asarray(groups)
    labels, counts = np.unique(groups, return_counts=True)
    if len(labels) < n_splits:
        raise ValueError(f"group_folds: {len(labels)} groups cannot fill {n_splits} folds")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(labels))
    order = perm[np.argsort(-counts[perm], kind="stable")]
    sizes = np.zeros(n_splits, dtype=int)
    fold_of = {}
    for g in order:
        k = int(np.argmin(sizes))
        fold_of[labels[g]] = k
        sizes[k] += counts[g]
    fold = np.array([fold_of[g] for g in groups])
    idx = np.arange(len(groups))
    return [(idx[fold != k], idx[fold == k]) for k in range(n_splits)]


@dataclass
class Selection:
    """Outcome of a CV search: the refitted best ``model``, its ``feature_set`` and ``params``,
    the mean validation MAE ``cv_mae`` (and its spread over folds ``cv_std``) and every candidate
    in ``table``."""

    kind: str
    feature_set: str
    params: dict
    cv_mae: float
    cv_std: float
    model: object
    table: pd.DataFrame
    #: grid points evaluated per feature set, and the size of the grid they were drawn from
    n_points: int = 0
    grid_points: int = 0
    #: the seed of the random draw (``None``: the full grid ran)
    sample_seed: int | None = None

    @property
    def sampled(self) -> bool:
        """True when a random subset of the grid was searched (a budget below the grid's size)."""
        return self.sample_seed is not None


def grid_points(kind: str, size: str) -> int:
    """Number of points of the hyperparameter grid of ``kind`` at ``size`` (1 for an empty grid)."""
    return len(ParameterGrid(grid(kind, size) or {}))


def make_search(kind: str, size: str, folds, *, budget: int | None = None, seed: int = 0, n_jobs: int | None = None):
    """The unfitted CV search of ``kind`` over the ``size`` grid: ``GridSearchCV`` for a ``budget``
    of None/0 or at least the grid's size, else ``RandomizedSearchCV`` drawing ``budget`` distinct
    grid points (without replacement, seeded with ``seed``).  MAE scoring, refit on all rows."""
    if budget is not None and int(budget) < 0:
        raise ValueError(f"search budget must be >= 0 (0 or None: the full grid), got {budget}")
    g = grid(kind, size) or {}
    common = dict(
        cv=list(folds),
        scoring="neg_mean_absolute_error",
        n_jobs=effective_n_jobs(n_jobs),
        refit=True,
        error_score="raise",
    )
    if not budget or int(budget) >= grid_points(kind, size):
        return GridSearchCV(make_estimator(kind, seed), g, **common)
    return RandomizedSearchCV(make_estimator(kind, seed), g, n_iter=int(budget), random_state=seed, **common)


def select(
    kind: str,
    X_by_set: Mapping[str, pd.DataFrame | np.ndarray],
    y,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    size: str = "paper",
    seed: int = 0,
    n_jobs: int | None = None,
    budget: int | None = None,
) -> Selection:
    """CV search of ``kind`` over every feature set of ``X_by_set`` (training rows only) with the
    given folds and MAE; the best (feature set, hyperparameters) is refitted on all rows.

    ``budget``: None/0 searches the full grid; ``n`` evaluates ``n`` grid points drawn at random
    with ``seed`` (the same points for every feature set), see :func:`make_search`.  ``n_jobs``:
    processes for the search (:func:`~matmap_utils.core.backends.effective_n_jobs`: None/0 uses every
    available core, 1 inside a ``parallel_map`` worker)."""
    y = np.asarray(y, dtype=float)
    rows, best = [], None
    for name, X in X_by_set.items():
        gs = make_search(kind, size, folds, budget=budget, seed=seed, n_jobs=n_jobs)
        gs.fit(np.asarray(X, dtype=float), y)
        res = pd.DataFrame(gs.cv_results_)
        for _, r in res.iterrows():
            rows.append(
                {
                    "feature_set": name,
                    "params": str(r["params"]),
                    "cv_mae": -r["mean_test_score"],
                    "cv_std": r["std_test_score"],
                }
            )
        mae = -float(gs.best_score_)
        if best is None or mae < best.cv_mae:
            std = float(res.loc[gs.best_index_, "std_test_score"])
            best = Selection(kind, name, dict(gs.best_params_), mae, std, gs.best_estimator_, pd.DataFrame())
    best.table = pd.DataFrame(rows).sort_values("cv_mae").reset_index(drop=True)
    best.n_points, best.grid_points = len(res), grid_points(kind, size)
    best.sample_seed = seed if isinstance(gs, RandomizedSearchCV) else None
    return best
