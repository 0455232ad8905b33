"""Classification metrics of the screening (AUC-PR, MCC, ROC-AUC) and the shuffled-label controls (McHaffie et al. 2025, Sec. 2.5)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matmap_utils.core import metrics as core_metrics


def classification_metrics(y_true: Sequence, p: Sequence, threshold: float = 0.5) -> dict[str, float]:
    """AUC-PR (= average precision), trapezoidal PR area, MCC (at ``threshold``), ROC-AUC, accuracy; NaN where undefined.

    The values are sklearn's (``average_precision_score``, ``auc`` of ``precision_recall_curve``,
    ``matthews_corrcoef``, ``roc_auc_score``), computed by :mod:`matmap_utils.core.metrics` in a
    fraction of the time: this runs at every evaluation of every cross-validation fold, every
    hyperparameter-search epoch and 100 times per fold for the shuffled-label controls."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and predictions {p.shape} differ in shape")
    out = {"n": int(len(y)), "n_pos": int(y.sum())}
    both = 0 < y.sum() < len(y)
    if both:
        out["auc_pr"] = core_metrics.average_precision(y, p)
        out["auc_pr_trapz"] = core_metrics.pr_curve_area(y, p)
        out["roc_auc"] = core_metrics.roc_auc(y, p)
    else:
        out["auc_pr"] = out["auc_pr_trapz"] = out["roc_auc"] = float("nan")
    pred = (p >= threshold).astype(int)
    # one class in both labels and predictions (a one-class LOCO cluster): 0, as sklearn
    out["mcc"] = core_metrics.mcc(y, p, threshold) if len(y) else float("nan")
    out["accuracy"] = float((pred == y).mean()) if len(y) else float("nan")
    return out


def control_metrics(y_train: Sequence, y_val: Sequence, *, n_shuffles: int = 100, seed: int = 0) -> dict[str, float]:
    """Mean and shuffled controls for one fold (keys prefixed ``mean_`` and ``shuffled_``)."""
    y_train = np.asarray(y_train).astype(int)
    y_val = np.asarray(y_val).astype(int)
    out = {}
    mean_pred = np.full(len(y_val), y_train.mean())
    for k, v in classification_metrics(y_val, mean_pred).items():
        if k not in ("n", "n_pos"):
            out[f"mean_{k}"] = v
    rng = np.random.default_rng(seed)
    rows = [classification_metrics(y_val, rng.permutation(y_val).astype(float)) for _ in range(n_shuffles)]
    for k in ("auc_pr", "auc_pr_trapz", "mcc", "roc_auc", "accuracy"):
        out[f"shuffled_{k}"] = _nanmean([r[k] for r in rows])
    return out


def _nanmean(values: Sequence[float]) -> float:
    """Mean of the finite values; NaN (without numpy's empty-slice warning) when there are none,
    e.g. AUC-PR of the shuffles of a one-class validation set."""
    a = np.asarray(values, dtype=float)
    return float(np.nanmean(a)) if (~np.isnan(a)).any() else float("nan")
