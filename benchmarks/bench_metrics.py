"""Benchmark: the classification metrics in numpy (:mod:`matmap_utils.core.metrics`) against scikit-learn's.

Two workloads, each timed with sklearn's functions and with the project's, alternately:

1. ``classification_metrics`` (AUC-PR, trapezoidal PR area, ROC-AUC, MCC, accuracy) of ``--calls``
   prediction vectors of a 120-entry validation set — what chapter 06 computes at every evaluation
   of every cross-validation fold, for the 100 shuffled-label controls of each fold, and at every
   epoch of every hyperparameter-search trial;
2. chapter 08's score table (MAE, AUC-PR and MCC with ``--n-boot`` bootstrap resamples, the paired
   ΔMAE) of 6 models on a 121-entry test set and its 67-entry subset (the OBELiX test split's sizes).

Reported: median wall time of each path over ``--repeats``, their ratio, and the largest difference
between the two paths' numbers.

    .venv/bin/python benchmarks/bench_metrics.py [--calls 2000] [--n-boot 2000] [--repeats 3]

Writes ``benchmarks/results/metrics.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from _paired import write
from sklearn.metrics import auc, average_precision_score, matthews_corrcoef, precision_recall_curve, roc_auc_score

from matmap_utils.benchmark import metrics as bmetrics
from matmap_utils.core import metrics as core_metrics
from matmap_utils.screening.metrics import classification_metrics


def _sk_pr_area(y, p):
    if not 0 < np.sum(y) < len(y):
        return float("nan")
    prec, rec, _ = precision_recall_curve(y, p)
    return float(auc(rec, prec))


def _sk_ap(y, p):
    return float(average_precision_score(y, p)) if 0 < np.sum(y) < len(y) else float("nan")


def _sk_roc(y, p):
    return float(roc_auc_score(y, p)) if 0 < np.sum(y) < len(y) else float("nan")


def _sk_mcc(y, p, threshold=0.5):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(matthews_corrcoef(np.asarray(y, bool), np.asarray(p) >= threshold))


SKLEARN = {"average_precision": _sk_ap, "pr_curve_area": _sk_pr_area, "roc_auc": _sk_roc, "mcc": _sk_mcc}


@contextmanager
def metric_functions(which: str):
    """core.metrics' functions replaced by sklearn's (``"sklearn"``) or left alone (``"numpy"``)."""
    saved = {k: getattr(core_metrics, k) for k in SKLEARN}
    if which == "sklearn":
        for k, f in SKLEARN.items():
            setattr(core_metrics, k, f)
    try:
        yield
    finally:
        for k, f in saved.items():
            setattr(core_metrics, k, f)


def _cv_workload(calls: int, seed: int):
    rng = np.random.default_rng(seed)
    y = (rng.random(120) < 0.3).astype(int)
    ps = [np.clip(0.5 * y + rng.random(120) * 0.7, 0, 1) for _ in range(calls)]
    return lambda: [classification_metrics(y, p) for p in ps]


def _obelix_workload(n_boot: int, seed: int):
    rng = np.random.default_rng(seed)
    idx = [f"e{i}" for i in range(121)]
    y = pd.Series(rng.normal(-6, 2.5, 121), index=idx)
    preds = {f"m{k}": y + pd.Series(rng.normal(0, 1 + 0.2 * k, 121), index=idx) for k in range(6)}
    subsets = {"whole": pd.Series(True, index=idx), "cif": pd.Series(np.arange(121) < 67, index=idx)}
    return lambda: bmetrics.score_table(y, preds, subsets, reference="m0", n_boot=n_boot, seed=seed)


def _numbers(out) -> np.ndarray:
    if isinstance(out, pd.DataFrame):
        return out.select_dtypes("number").to_numpy(float).ravel()
    return np.array([[m[k] for k in ("auc_pr", "auc_pr_trapz", "roc_auc", "mcc")] for m in out], float).ravel()


def _time(workload, repeats: int) -> dict:
    walls = {"sklearn": [], "numpy": []}
    outs = {}
    for _ in range(repeats):
        for which in walls:
            with metric_functions(which):
                t0 = time.perf_counter()
                outs[which] = workload()
                walls[which].append(time.perf_counter() - t0)
    a, b = _numbers(outs["sklearn"]), _numbers(outs["numpy"])
    both = np.isfinite(a) & np.isfinite(b)
    s, n = statistics.median(walls["sklearn"]), statistics.median(walls["numpy"])
    return {
        "sklearn_wall_s": s,
        "numpy_wall_s": n,
        "speedup": s / n,
        "walls": walls,
        "max_abs_difference": float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0,
        "same_nan_pattern": bool(np.array_equal(np.isfinite(a), np.isfinite(b))),
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    res = {
        "classification_metrics": {"calls": a.calls, **_time(_cv_workload(a.calls, a.seed), a.repeats)},
        "obelix_score_table": {"n_boot": a.n_boot, **_time(_obelix_workload(a.n_boot, a.seed), a.repeats)},
        "load_average_1min_start": load0,
        "load_average_1min_end": os.getloadavg()[0],
    }
    c, o = res["classification_metrics"], res["obelix_score_table"]
    md = (
        "| workload | sklearn (s) | numpy, core.metrics (s) | speed-up | largest difference |\n|---|---|---|---|---|\n"
        f"| `classification_metrics` × {a.calls} (120 entries) | {c['sklearn_wall_s']:.2f} | {c['numpy_wall_s']:.2f} "
        f"| {c['speedup']:.1f}× | {c['max_abs_difference']:.1e} |\n"
        f"| chapter 08 score table, 6 models × 2 subsets, {a.n_boot} resamples | {o['sklearn_wall_s']:.2f} "
        f"| {o['numpy_wall_s']:.2f} | {o['speedup']:.1f}× | {o['max_abs_difference']:.1e} |\n\n"
        f"Medians of {a.repeats} alternating runs in one process; load average {load0:.1f} at the start, "
        f"{res['load_average_1min_end']:.1f} at the end.  Same NaN pattern in both paths: "
        f"{c['same_nan_pattern'] and o['same_nan_pattern']}.\n"
    )
    write("metrics", res, md)
    return res


if __name__ == "__main__":
    main()
