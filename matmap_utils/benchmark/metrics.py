"""Scores of the OBELiX benchmark, each with a bootstrap 95 % interval (:func:`core.bootstrap.bootstrap_ci`).

* Regression: mean absolute error of log10 sigma (log10 S/cm), the OBELiX paper's metric.
* Classification at sigma >= 1e-4 S/cm (McHaffie et al. 2025's "superionic"): the predicted
  log10 sigma is the score — AUC-PR (average precision) ranks it, MCC thresholds it at -4.
* Paired differences: MAE(model) - MAE(reference) on the same resampled test rows, so the interval
  says whether two models differ on this test set (the test set is small: 121 entries, 67 with CIF).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from matmap_utils.benchmark.obelix import SUPERIONIC_LOG10
from matmap_utils.core import metrics as core_metrics
from matmap_utils.core.bootstrap import bootstrap_ci


def mae(y, pred) -> float:
    """Mean absolute error (same units as ``y``)."""
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(pred, float))))


def auc_pr(y, pred, threshold: float = SUPERIONIC_LOG10) -> float:
    """Average precision of the score ``pred`` for the label ``y >= threshold`` (NaN with one class)."""
    lab = np.asarray(y, float) >= threshold
    if lab.all() or not lab.any():
        return float("nan")
    return core_metrics.average_precision(lab, np.asarray(pred, float))


def mcc(y, pred, threshold: float = SUPERIONIC_LOG10) -> float:
    """Matthews correlation of ``pred >= threshold`` with ``y >= threshold`` (NaN with one class)."""
    lab = np.asarray(y, float) >= threshold
    if lab.all() or not lab.any():
        return float("nan")
    return core_metrics.mcc(lab, np.asarray(pred, float), threshold)


def score(y, pred, *, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """MAE, AUC-PR and MCC of one model on one set of rows, each with its 95 % interval."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    if len(y) != len(pred):
        raise ValueError(f"score: {len(y)} targets but {len(pred)} predictions")
    if not np.all(np.isfinite(pred)):
        raise ValueError("score: predictions contain NaN or infinity")
    out: dict[str, float] = {"n": int(len(y))}
    for name, fn in (("mae", mae), ("auc_pr", auc_pr), ("mcc", mcc)):
        iv = bootstrap_ci(fn, y, pred, n_boot=n_boot, seed=seed)
        out.update({name: iv.value, f"{name}_lo": iv.lo, f"{name}_hi": iv.hi})
    return out


def paired_mae_difference(y, pred, ref, *, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """MAE(pred) - MAE(ref) on the same rows with its 95 % interval (negative: ``pred`` better)."""
    iv = bootstrap_ci(lambda a, b, c: mae(a, b) - mae(a, c), y, pred, ref, n_boot=n_boot, seed=seed)
    return {"d_mae": iv.value, "d_mae_lo": iv.lo, "d_mae_hi": iv.hi}


def score_table(
    y: pd.Series,
    predictions: Mapping[str, pd.Series],
    subsets: Mapping[str, pd.Series],
    *,
    reference: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (model, subset): n, MAE, AUC-PR, MCC with intervals, and the paired MAE
    difference to ``reference`` (a key of ``predictions``) where given.

    ``y`` and every prediction are Series indexed by entry; a model without a prediction for some
    rows of a subset (e.g. a structure-only model on entries without CIF) is scored on the rows it
    covers, and ``coverage`` says how many of the subset's rows that is.
    """
    rows = []
    for subset, mask in subsets.items():
        ids = y.index[mask.reindex(y.index).fillna(False).astype(bool)]
        for model, pred in predictions.items():
            p = pred.reindex(ids)
            ok = p.notna()
            row = {"model": model, "subset": subset, "coverage": f"{int(ok.sum())}/{len(ids)}"}
            if ok.sum() == 0:
                rows.append(row)
                continue
            row.update(score(y[ids][ok], p[ok], n_boot=n_boot, seed=seed))
            if reference is not None and model != reference:
                r = predictions[reference].reindex(ids)[ok]
                if r.notna().all():
                    row.update(paired_mae_difference(y[ids][ok], p[ok], r, n_boot=n_boot, seed=seed))
            rows.append(row)
    return pd.DataFrame(rows)
