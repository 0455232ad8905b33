"""López et al.'s MLP regressor of conductivity (Sec. 2.5): pipeline, grouped CV, mean-normalised MAPE."""

from __future__ import annotations

import warnings as _w
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from matmap_utils.core.parallel import parallel_map


def mape_mean_normalized(y_true, y_pred) -> float:
    """López et al. Eq. (8): ``mean(|x0 - x|) / |mean(x0)|`` (a fraction; ×100 for percent).

    The denominator is the mean of the true values (not each x0), so zeros in ``y_true`` are fine.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape ({y_true.shape} vs {y_pred.shape})")
    if y_true.size == 0:
        raise ValueError("MAPE of an empty set")
    mean = float(np.mean(y_true))
    if mean == 0:
        raise ValueError("MAPE (Eq. 8) is undefined when the mean of the true values is 0")
    return float(np.mean(np.abs(y_true - y_pred)) / abs(mean))


#: López et al.'s MLPRegressor (Methods): 6 hidden layers, ReLU, Adam, constant lr 5e-4, L2 alpha 0.05
PAPER_MLP = {
    "hidden_layer_sizes": (200, 500, 50, 150, 70, 100),
    "activation": "relu",
    "solver": "adam",
    "learning_rate": "constant",
    "learning_rate_init": 5e-4,
    "alpha": 0.05,
}


def mlp_pipeline(numeric: Sequence[str], categorical: Sequence[str] = (), *, max_iter: int = 500, seed: int = 0):
    """Median-impute + standard-scale the numeric inputs, one-hot the categorical ones, then the
    paper's MLP; the target is standardized too (predictions are transformed back)."""

    parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(numeric))]
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), list(categorical)))
    pre = ColumnTransformer(parts)
    mlp = MLPRegressor(**PAPER_MLP, max_iter=max_iter, random_state=seed)
    return TransformedTargetRegressor(regressor=make_pipeline(pre, mlp), transformer=StandardScaler())


def _fit_predict(task: tuple) -> np.ndarray:
    """One leave-one-group-out fit (a :func:`parallel_map` worker): train :func:`mlp_pipeline` on
    ``(x_train, y_train)`` and return its predictions for ``x_test`` (target units, float64).

    ``task`` is ``(x_train, y_train, x_test, numeric, categorical, max_iter, seed)``.  One BLAS
    thread: these matrices are small, and thread start-up/spin-waiting dominated (~17x slower with
    the default threads on a busy 2-core machine); it also makes every fit bit-for-bit the same
    wherever it runs (this process or a worker)."""
    x_train, y_train, x_test, numeric, categorical, max_iter, seed = task
    model = mlp_pipeline(numeric, categorical, max_iter=max_iter, seed=seed)
    with _w.catch_warnings(), threadpool_limits(1):
        _w.simplefilter("ignore", ConvergenceWarning)
        _w.filterwarnings("ignore", message="Skipping features without any observed values")
        model.fit(x_train, y_train)
    with _w.catch_warnings(), threadpool_limits(1):
        _w.filterwarnings("ignore", message="Skipping features without any observed values")
        return np.asarray(model.predict(x_test), dtype=float)


def _held_out_plan(spec: Mapping[str, Any], max_groups: int | None):
    """``(data, held, masks)`` of one CV: the rows with a target, the held-out groups (largest
    first) and, per group that is held out and not the whole table, its boolean row mask."""
    target, groups = spec["target"], spec.get("groups", "family")
    data = spec["df"].dropna(subset=[target])
    g = data[groups].astype(str)
    order = g.value_counts()
    held = list(order.index if max_groups is None else order.index[:max_groups])
    masks = {grp: (g == grp).to_numpy() for grp in held}
    return data, held, {grp: m for grp, m in masks.items() if not m.all()}


def _metrics(data: pd.DataFrame, target: str, pred: pd.Series, n_groups: int) -> dict:
    ok = pred.notna()
    y = data.loc[ok, target].to_numpy(float)
    return {
        "mape": mape_mean_normalized(y, pred[ok].to_numpy()) if ok.any() else np.nan,
        "mae": float(np.mean(np.abs(y - pred[ok].to_numpy()))) if ok.any() else np.nan,
        "n": int(ok.sum()),
        "n_groups": n_groups,
    }


def mlp_group_cv_batch(
    specs: Sequence[Mapping[str, Any]],
    *,
    max_iter: int = 500,
    seed: int = 0,
    max_groups: int | None = None,
    n_jobs: int | None = None,
) -> list[tuple[pd.Series, dict]]:
    """:func:`mlp_group_cv` for several models at once: every (model, held-out group) fit of all
    ``specs`` goes to :func:`~matmap_utils.core.parallel.parallel_map` as one batch, so all cores
    stay busy until the last fit.

    Each spec is a mapping with ``df``, ``target``, ``numeric`` and optionally ``categorical``
    (default none) and ``groups`` (default ``"family"``).  ``n_jobs``: worker processes (None: all
    cores; 1, or inside a worker: this process).  Each fit is seeded and uses one BLAS thread, so
    the result does not depend on ``n_jobs``.  Returns one ``(predictions, metrics)`` per spec, in
    order.  Raises ``RuntimeError`` naming every held-out group whose fit failed (after all fits
    ran): a MAPE over fewer groups than asked for is never returned.
    """
    plans, items, keys = [], [], []
    for i, spec in enumerate(specs):
        data, held, masks = _held_out_plan(spec, max_groups)
        plans.append((data, held, masks))
        num, cat = list(spec["numeric"]), list(spec.get("categorical", ()))
        cols = num + cat
        for grp, test in masks.items():
            items.append(
                (data.loc[~test, cols], data.loc[~test, spec["target"]], data.loc[test, cols], num, cat, max_iter, seed)
            )
            keys.append((i, grp))
    outcomes = parallel_map(_fit_predict, items, keys=keys, n_jobs=n_jobs, chunksize=1, progress=False)
    bad = [o for o in outcomes if not o.ok]
    if bad:
        what = "; ".join(
            f"{specs[o.key[0]]['target']} with {specs[o.key[0]].get('groups', 'family')} {o.key[1]!r} held out: {o.error}"
            for o in bad
        )
        raise RuntimeError(f"MLP leave-one-group-out: {len(bad)} of {len(outcomes)} fits failed — {what}")
    preds = [
        pd.Series(np.nan, index=data.index, name=f"{spec['target']}_pred") for spec, (data, _, _) in zip(specs, plans)
    ]
    for o in outcomes:
        i, grp = o.key
        preds[i][plans[i][2][grp]] = o.value
    return [
        (pred, _metrics(data, spec["target"], pred, len(held)))
        for spec, pred, (data, held, _) in zip(specs, preds, plans)
    ]


def mlp_group_cv(
    df: pd.DataFrame,
    target: str,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    groups: str = "family",
    *,
    max_iter: int = 500,
    seed: int = 0,
    max_groups: int | None = None,
    n_jobs: int | None = None,
) -> tuple[pd.Series, dict]:
    """Leave-one-group-out predictions of ``target`` with the paper's MLP, and the MAPE (Eq. 8).

    Every group (e.g. OBELiX family) is held out in turn and predicted by a model trained on all the
    others — the paper's "predict one element from the rest". ``max_groups`` holds out only the
    largest groups (a cheaper profile; the others always stay in training). Predictions of all
    held-out rows are pooled and scored together, which weights each group by its size as the paper
    does. Returns ``(predictions, metrics)`` with ``mape`` (fraction), ``mae`` (target units),
    ``n``, ``n_groups``.  The per-group fits run on ``n_jobs`` processes (None: all cores; see
    :func:`mlp_group_cv_batch`, which also says what happens when a fit fails).
    """
    spec = {"df": df, "target": target, "numeric": numeric, "categorical": categorical, "groups": groups}
    return mlp_group_cv_batch([spec], max_iter=max_iter, seed=seed, max_groups=max_groups, n_jobs=n_jobs)[0]


def harmonic_vs_anharmonic(
    frame: pd.DataFrame,
    vibrational: Sequence[str],
    targets: Sequence[str] = ("log10_D", "omega_mean_meV", "Cv_kB_atom"),
    *,
    group: str = "material",
    categorical: Sequence[str] = ("specie",),
    static: Sequence[str] = (),
    max_iter: int = 500,
    seed: int = 0,
    n_jobs: int | None = None,
) -> tuple[dict[str, float], list[str]]:
    """Leave-one-``group``-out MAPE (Eq. 8) of the paper's MLP for each target of an MD table, with
    the other vibrational descriptors and log10 D as inputs (``"<target>_anharmonic"``) and without
    them (``"<target>_harmonic"``: temperature and the ``static`` zero-temperature descriptors, every
    other input kept) — the with/without comparison of López et al. Sec. 2.3.

    Targets missing from ``frame`` are skipped; a target known for fewer than 3 groups gets a note
    instead of a model. All fits run as one batch on ``n_jobs`` processes (None: all cores).
    Returns ``({"<target>_<inputs>": MAPE}, notes)``.
    """
    names: list[str] = []
    specs: list[dict[str, Any]] = []
    notes: list[str] = []
    for tgt in [t for t in targets if t in frame]:
        sub = frame.dropna(subset=[tgt])
        if sub[group].nunique() < 3:
            notes.append(f"{tgt}: values for {sub[group].nunique()} material(s) only — no MLP.")
            continue
        harm = ["temperature_K"] + list(static)
        anh = harm + [c for c in list(vibrational) + ["log10_D"] if c != tgt]
        for name, inputs in (("anharmonic", anh), ("harmonic", harm)):
            names.append(f"{tgt}_{name}")
            specs.append({"df": sub, "target": tgt, "numeric": inputs, "categorical": categorical, "groups": group})
    res = mlp_group_cv_batch(specs, max_iter=max_iter, seed=seed, n_jobs=n_jobs)
    return {name: m["mape"] for name, (_, m) in zip(names, res)}, notes
