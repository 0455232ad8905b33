"""López et al.'s MLP regressor of conductivity (Sec. 2.5): pipeline, grouped CV, mean-normalised MAPE."""

from __future__ import annotations

import warnings as _w
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits


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
) -> tuple[pd.Series, dict]:
    """Leave-one-group-out predictions of ``target`` with the paper's MLP, and the MAPE (Eq. 8).

    Every group (e.g. OBELiX family) is held out in turn and predicted by a model trained on all the
    others — the paper's "predict one element from the rest". ``max_groups`` holds out only the
    largest groups (a cheaper profile; the others always stay in training). Predictions of all
    held-out rows are pooled and scored together, which weights each group by its size as the paper
    does. Returns ``(predictions, metrics)`` with ``mape`` (fraction), ``mae``, ``n``, ``n_groups``.
    """

    data = df.dropna(subset=[target])
    g = data[groups].astype(str)
    order = g.value_counts()
    held = list(order.index if max_groups is None else order.index[:max_groups])
    pred = pd.Series(np.nan, index=data.index, name=f"{target}_pred")
    for grp in held:
        test = g == grp
        if test.all():
            continue
        model = mlp_pipeline(numeric, categorical, max_iter=max_iter, seed=seed)
        # one BLAS thread: these matrices are small, and thread start-up/spin-waiting dominated
        # (~17x slower with the default threads on a busy 2-core machine)
        with _w.catch_warnings(), threadpool_limits(1):
            _w.simplefilter("ignore", ConvergenceWarning)
            _w.filterwarnings("ignore", message="Skipping features without any observed values")
            model.fit(data.loc[~test, list(numeric) + list(categorical)], data.loc[~test, target])
        with _w.catch_warnings(), threadpool_limits(1):
            _w.filterwarnings("ignore", message="Skipping features without any observed values")
            pred[test] = model.predict(data.loc[test, list(numeric) + list(categorical)])
    ok = pred.notna()
    y = data.loc[ok, target].to_numpy(float)
    metrics = {
        "mape": mape_mean_normalized(y, pred[ok].to_numpy()) if ok.any() else np.nan,
        "mae": float(np.mean(np.abs(y - pred[ok].to_numpy()))) if ok.any() else np.nan,
        "n": int(ok.sum()),
        "n_groups": len(held),
    }
    return pred, metrics


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
) -> tuple[dict[str, float], list[str]]:
    """Leave-one-``group``-out MAPE (Eq. 8) of the paper's MLP for each target of an MD table, with
    the other vibrational descriptors and log10 D as inputs (``"<target>_anharmonic"``) and without
    them (``"<target>_harmonic"``: temperature and the ``static`` zero-temperature descriptors, every
    other input kept) — the with/without comparison of López et al. Sec. 2.3.

    Targets missing from ``frame`` are skipped; a target known for fewer than 3 groups gets a note
    instead of a model. Returns ``({"<target>_<inputs>": MAPE}, notes)``.
    """
    out: dict[str, float] = {}
    notes: list[str] = []
    for tgt in [t for t in targets if t in frame]:
        sub = frame.dropna(subset=[tgt])
        if sub[group].nunique() < 3:
            notes.append(f"{tgt}: values for {sub[group].nunique()} material(s) only — no MLP.")
            continue
        harm = ["temperature_K"] + list(static)
        anh = harm + [c for c in list(vibrational) + ["log10_D"] if c != tgt]
        for name, inputs in (("anharmonic", anh), ("harmonic", harm)):
            _, m = mlp_group_cv(sub, tgt, inputs, list(categorical), group, max_iter=max_iter, seed=seed)
            out[f"{tgt}_{name}"] = m["mape"]
    return out, notes
