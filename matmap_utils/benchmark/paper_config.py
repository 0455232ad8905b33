"""The OBELiX paper's own random forest and MLP, rerun over seeds (Therrien et al. 2026, benchmark).

The paper's code (``NRC-Mila/OBELiX`` at commit 4eaac88, ``benchmark/RF.py`` and
``benchmark/MLP.py``) records after each grid search, as comments, the hyperparameters that its
5-fold cross-validation on the training split chose for each setting.  :data:`PAPER_HYPERPARAMETERS`
quotes the setting "Drop CIF = False", which we read as the scripts' ``cif_only = False``: the
model trained on every training entry, which the paper's ``test`` function then scores on the whole
test set and on its CIF subset ("Drop CIF = True", trained on the entries with a CIF only, is not
rerun here).  Those choices were made
on ``train.csv`` by the paper's authors, so rerunning them here spends nothing of the test set.

Inputs as in the paper (``benchmark/parse.py``): unit-cell element amounts of ``True Composition``,
the space-group number and the six lattice parameters (:func:`~matmap_utils.benchmark.features.obelix_features`);
the MLP sees the lattice parameters standardized with the training statistics and every other column
as it is (``process_data`` of ``benchmark/tuning.py``).  One difference: the paper's element columns
cover the whole release, ours the training split (an element seen only in the test set has no
column; in this release that is Ag, in 3 test entries).

Neither script fixes the model's random state, so each published number is one draw from a seed
distribution.  :func:`rerun` draws ``len(seeds)`` of them and :func:`seed_summary` describes the
spread of the test MAE (log10 S/cm) that one run can land on.  :func:`paper_cv` repeats the
scripts' cross-validation on the training split (:func:`paper_folds`), whose mean ± SD the paper's
parity figure prints as "Cross-Val. MAE".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from matmap_utils.benchmark.metrics import mae
from matmap_utils.benchmark.obelix import LATTICE
from matmap_utils.core.parallel import parallel_map, values_or_raise

#: the hyperparameters the OBELiX code records as chosen for the whole training split
#: ("Drop CIF = False" in ``benchmark/RF.py`` and ``benchmark/MLP.py``); the MLP's fixed settings
#: are those of its grid (``benchmark/tuning.py``)
PAPER_HYPERPARAMETERS: dict[str, dict] = {
    "rf": {"n_estimators": 50, "max_depth": 36, "max_features": "sqrt", "min_samples_leaf": 1},
    "mlp": {
        "hidden_layer_sizes": (64, 64, 64, 64),
        "activation": "relu",
        "solver": "adam",
        "learning_rate_init": 0.003,
        "batch_size": 16,
        "early_stopping": True,
        "max_iter": 1000,
        "learning_rate": "adaptive",
        "n_iter_no_change": 100,
    },
}


#: the scripts' cross-validation (``benchmark/RF.py``; ``process_data`` of ``benchmark/tuning.py``):
#: ``np.random.seed(0)`` and one ``np.random.shuffle`` of the training rows, then
#: ``GridSearchCV(cv=5)``, i.e. five consecutive, unshuffled folds of the shuffled rows
PAPER_CV = {"shuffle_seed": 0, "n_folds": 5}


def paper_estimator(kind: str, seed: int):
    """The paper's ``kind`` ("rf" or "mlp") with :data:`PAPER_HYPERPARAMETERS` and ``random_state=seed``.

    The MLP is a pipeline that standardizes the lattice columns (``a`` … ``gamma``) only, so it must
    be fitted on a DataFrame with those column names."""
    if kind == "rf":
        return RandomForestRegressor(**PAPER_HYPERPARAMETERS["rf"], random_state=seed, n_jobs=1)
    if kind == "mlp":
        scale = ColumnTransformer([("lattice", StandardScaler(), list(LATTICE))], remainder="passthrough")
        return make_pipeline(scale, MLPRegressor(**PAPER_HYPERPARAMETERS["mlp"], random_state=seed))
    raise ValueError(
        f"no OBELiX paper configuration for model kind {kind!r}; choose one of {sorted(PAPER_HYPERPARAMETERS)}"
    )


def _fit_predict(job: tuple[str, int, pd.DataFrame, np.ndarray, pd.DataFrame]) -> np.ndarray:
    """Pool worker: the paper's ``kind`` with ``seed`` fitted on ``(X, y)``, its predictions for ``X_test``."""
    kind, seed, X, y, X_test = job
    return paper_estimator(kind, seed).fit(X, y).predict(X_test)


def rerun(
    kind: str,
    X_train: pd.DataFrame,
    y_train,
    X_test: pd.DataFrame,
    seeds: Sequence[int],
    *,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Test-set predictions (log10 S/cm) of the paper's ``kind`` trained once per seed.

    Returns a frame indexed like ``X_test`` with one column per seed.  The fits are independent and
    run in ``n_jobs`` processes (:func:`~matmap_utils.core.parallel.parallel_map`); each is seeded,
    so the table does not depend on ``n_jobs``.  A failed fit raises ``RuntimeError`` naming its seed."""
    if not len(seeds):
        raise ValueError("rerun needs at least one seed")
    y, seeds = np.asarray(y_train, dtype=float), [int(s) for s in seeds]
    jobs = [(kind, s, X_train, y, X_test) for s in seeds]
    outs = parallel_map(_fit_predict, jobs, keys=seeds, n_jobs=n_jobs, progress=False)
    return pd.DataFrame(dict(zip(seeds, values_or_raise(outs, f"OBELiX {kind} with seed"))), index=X_test.index)


def seed_summary(preds: pd.DataFrame, y_true: pd.Series, subsets: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Per subset (a boolean mask over ``preds.index``; entries it lacks are outside): the test MAE of every seed's predictions,
    summarized as mean, sample SD (ddof 1; NaN for one seed), min, median, max and the 2.5 and 97.5 %
    percentiles (``q025``, ``q975``: where 95 % of single runs land), with the number of seeds and of entries."""
    y = y_true.reindex(preds.index).to_numpy(dtype=float)
    rows = []
    for name, mask in subsets.items():
        m = mask.reindex(preds.index, fill_value=False).to_numpy(dtype=bool)  # an entry missing from a mask is out
        maes = np.abs(preds.to_numpy(dtype=float)[m] - y[m, None]).mean(axis=0)
        rows.append(
            {
                "subset": name,
                "n": int(m.sum()),
                "n_seeds": preds.shape[1],
                "mean": float(maes.mean()),
                "sd": float(maes.std(ddof=1)) if len(maes) > 1 else float("nan"),
                "min": float(maes.min()),
                "median": float(np.median(maes)),
                "max": float(maes.max()),
                "q025": float(np.percentile(maes, 2.5)),
                "q975": float(np.percentile(maes, 97.5)),
            }
        )
    return pd.DataFrame(rows).set_index("subset")


def paper_folds(n: int, shuffle_seed: int = PAPER_CV["shuffle_seed"]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (training, validation) row positions of the paper's cross-validation on ``n`` training rows.

    The rows are permuted as ``np.random.seed(shuffle_seed); np.random.shuffle(idx)`` does (the
    legacy generator; the scripts use seed 0, :data:`PAPER_CV`), and ``KFold(5)`` without shuffling
    cuts the permuted rows into five consecutive blocks; positions are into the original rows, in the
    permuted order the scripts fit in.  Which rows share a fold also depends on the order the rows
    come in (the scripts read ``train_idx.csv``)."""
    if n < PAPER_CV["n_folds"]:
        raise ValueError(f"paper_folds needs at least {PAPER_CV['n_folds']} training rows, got {n}")
    order = np.arange(n)
    np.random.RandomState(int(shuffle_seed)).shuffle(order)
    return [(order[tr], order[va]) for tr, va in KFold(PAPER_CV["n_folds"]).split(order)]


def _cv_job(job: tuple[str, int, pd.DataFrame, np.ndarray, int]) -> np.ndarray:
    """Pool worker: the validation MAE of every fold of :func:`paper_folds` (``shuffle_seed``) for the
    paper's ``kind`` with ``seed``."""
    kind, seed, X, y, shuffle_seed = job
    maes = []
    for tr, va in paper_folds(len(X), shuffle_seed):
        model = paper_estimator(kind, seed).fit(X.iloc[tr], y[tr])
        maes.append(mae(y[va], model.predict(X.iloc[va])))
    return np.array(maes)


def paper_cv(
    kind: str,
    X_train: pd.DataFrame,
    y_train,
    seeds: Sequence[int],
    *,
    vary_folds: bool = True,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """The paper's cross-validation MAE (log10 S/cm) of its ``kind`` on the training rows, once per seed.

    Returns a frame indexed by seed with the ``mean`` and ``sd`` of the fold MAEs of
    :func:`paper_folds` (SD with ddof 0, as scikit-learn's ``std_test_score``, which the scripts print
    after "±").  With ``vary_folds`` each seed also draws the folds (``shuffle_seed = seed``), so the
    spread over seeds covers the fold draw as well as the model's randomness: the folds of another
    row order than the scripts' are one more such draw.  Otherwise every seed uses the scripts' folds.
    Seeds run in ``n_jobs`` processes; a failed fit raises ``RuntimeError``."""
    if not len(seeds):
        raise ValueError("paper_cv needs at least one seed")
    y, seeds = np.asarray(y_train, dtype=float), [int(s) for s in seeds]
    fold_seed = PAPER_CV["shuffle_seed"]
    jobs = [(kind, s, X_train, y, s if vary_folds else fold_seed) for s in seeds]
    outs = parallel_map(_cv_job, jobs, keys=seeds, n_jobs=n_jobs, progress=False)
    folds = values_or_raise(outs, f"OBELiX {kind} cross-validation with seed")
    return pd.DataFrame(
        {"mean": [f.mean() for f in folds], "sd": [f.std() for f in folds]}, index=pd.Index(seeds, name="seed")
    )
