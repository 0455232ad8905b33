"""Validation for the superionic classifier (McHaffie et al. 2025): splits, metrics, controls, baseline.

* Metrics: AUC-PR as *average precision* (step-wise area under the precision–recall curve; a
  constant prediction scores the positive fraction, which is what the paper's controls report —
  its Keras ``AUC(curve="PR")`` behaves the same way, whereas a trapezoid through (0, 1) would
  give (1 + positive fraction) / 2), the trapezoidal area ``auc_pr_trapz`` for reference, MCC at
  P = 0.5, ROC-AUC.
* Splits: the paper's own k-fold / LOCO / test assignments (columns of
  :func:`matmap_utils.data.datasets.load_mchaffie`), or recomputed ones — stratified random k-fold, and
  LOCO clusters from ElMD (``mod_petti``) distances -> UMAP (spread 5, precomputed metric) ->
  DBSCAN (eps 4), following Hargreaves et al. as the paper did.  ElMD with the 1-D modified
  Pettifor scale is the L1 distance between cumulative composition vectors on that scale, which we
  compute for all pairs at once (checked against ``ElMD.elmd`` in the tests).
* Controls per fold: the *mean* control predicts the training-set positive fraction for every
  validation entry; the *shuffled* control scores a random permutation of the validation labels
  against the true labels (averaged over repeats).
* Baseline: logistic regression on Sendek et al.'s atomistic features computed from the
  (possibly disordered) structures, occupancy-weighted: LLB (Li–Li bonds per Li), SBI (sublattice
  bond ionicity), AFC (anion–anion coordination), LASD (shortest Li–anion distance), LLSD
  (shortest Li–Li distance).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from matmap_utils.screening.atomsets.model import pack_sets
from matmap_utils.screening.atomsets.training import TrainResult, TrainTask, pretrain, train_ensembles
from matmap_utils.screening.metrics import classification_metrics, control_metrics


def run_cv(
    folds: list[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    fit_predict: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
    *,
    n_shuffles: int = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """Run ``fit_predict(train_idx, val_idx, fold) -> P(val)`` on each fold; one row per fold.

    ``P`` may be (n_val,) or (n_checkpoints, n_val) (then one row per checkpoint, column
    ``checkpoint``).  Rows carry the model's metrics and the fold's controls.
    """
    y = np.asarray(y).astype(int)
    rows = []
    for k, (tr, va) in enumerate(folds):
        p = np.asarray(fit_predict(tr, va, k), dtype=float)
        ctrl = control_metrics(y[tr], y[va], n_shuffles=n_shuffles, seed=seed + k)
        p2 = p[None, :] if p.ndim == 1 else p
        for c, pc in enumerate(p2):
            rows.append({"fold": k, "checkpoint": c, **classification_metrics(y[va], pc), **ctrl})
    return pd.DataFrame(rows)


def best_checkpoint(cv: pd.DataFrame, metric: str = "auc_pr") -> tuple[int, pd.DataFrame]:
    """The checkpoint with the best fold-averaged ``metric`` (the paper's 'best epoch across folds')."""
    mean = cv.groupby("checkpoint")[metric].mean()
    best = int(mean.idxmax())
    return best, cv[cv["checkpoint"] == best]


def summarize(cv: pd.DataFrame, metrics: Iterable[str] = ("auc_pr", "mcc", "roc_auc")) -> dict[str, float]:
    out = {}
    for m in metrics:
        out[m] = float(cv[m].mean())
        out[f"{m}_std"] = float(cv[m].std(ddof=0))
        for c in ("mean", "shuffled"):
            if f"{c}_{m}" in cv:
                out[f"{c}_{m}"] = float(cv[f"{c}_{m}"].mean())
    return out


def _fold_tasks(
    matrices: Sequence[np.ndarray],
    y: np.ndarray,
    folds,
    cfg,
    member_seeds: Callable[[int], list[int]],
    *,
    data_seed: int,
    dedup: bool = True,
    validate: bool = False,
    eval_every: int = 10,
    init_state: dict | None = None,
) -> Iterator[tuple[TrainTask, list[int]]]:
    """Per fold ``k`` (in order) what its AtomSets ensemble is trained on: the fold's training
    entries, members seeded ``member_seeds(k)``, minibatch order ``data_seed + k``, the validation
    entries scored every ``eval_every`` epochs when ``validate`` (else never seen)."""
    for k, (tr, va) in enumerate(folds):
        train = pack_sets([matrices[i] for i in tr], dedup=dedup)
        val = pack_sets([matrices[i] for i in va], dedup=dedup) if validate else None
        yield TrainTask(cfg, train, y[tr], data_seed + k, val, eval_every, init_state), member_seeds(k)


def _fold_runs(
    matrices, y, folds, cfg, member_seeds, *, member_chunk=None, n_jobs=1, device=None, **task_kw
) -> Iterator[tuple[int, np.ndarray, np.ndarray, TrainResult]]:
    """Per fold ``k`` (in order), the ensemble trained on :func:`_fold_tasks`' task (``task_kw``
    go there).  With ``n_jobs`` > 1 (None: all cores) the folds train at the same time in worker
    processes (:func:`~matmap_utils.screening.atomsets.training.train_ensembles`; the same numbers
    as one fold after another, which keeps only one fold's sets in memory).  Yields ``(k, train
    indices, validation indices, TrainResult)``; ``y``: integer labels (0/1)."""
    tasks = _fold_tasks(matrices, y, folds, cfg, member_seeds, **task_kw)
    if n_jobs == 1:
        results = (train_ensembles([t], member_chunk=member_chunk, device=device)[0] for t in tasks)
    else:
        results = iter(train_ensembles(list(tasks), member_chunk=member_chunk, n_jobs=n_jobs, device=device))
    for k, (tr, va) in enumerate(folds):
        yield k, tr, va, next(results)


def _cv_rows(y: np.ndarray, folds, results, n_repeats: int, seed: int, n_shuffles: int, proba_out) -> pd.DataFrame:
    """One row per (fold, evaluated epoch, member): metrics and the fold's controls (see
    :func:`cv_atomsets`); ``results``: the folds' TrainResults in order."""
    rows = []
    for k, ((tr, va), res) in enumerate(zip(folds, results)):
        ctrl = control_metrics(y[tr], y[va], n_shuffles=n_shuffles, seed=seed + k)
        epochs = [h["epoch"] for h in res.history if h.get("evaluated")]
        for ep, proba in zip(epochs, res.val_proba):
            if proba_out is not None:
                proba_out[(k, ep)] = np.asarray(proba, dtype=np.float32)
            for r in range(n_repeats):
                rows.append({"fold": k, "epoch": ep, "member": r, **classification_metrics(y[va], proba[r]), **ctrl})
    return pd.DataFrame(rows)


def cv_atomsets_many(
    jobs: Sequence[tuple[Sequence[np.ndarray], object]],
    y: Sequence,
    folds,
    *,
    n_repeats: int = 3,
    seed: int = 0,
    eval_every: int = 10,
    n_shuffles: int = 100,
    dedup: bool = True,
    device=None,
    init_state: dict | None = None,
    proba_outs: Sequence[dict | None] | None = None,
    n_jobs: int | None = 1,
) -> list[pd.DataFrame]:
    """:func:`cv_atomsets` of several ``(matrices, cfg)`` configurations on the same labels and
    folds, in order.  With ``n_jobs`` > 1 the folds of *all* configurations go to one pool of
    workers (e.g. 16 configurations x 5 folds keep two cores busy to the end); the frames equal
    those of one :func:`cv_atomsets` call per configuration.  ``proba_outs``: one dict (or None)
    per configuration, filled like ``proba_out``."""
    y = np.asarray(y).astype(int)
    seeds = lambda k: [seed * 1000 + k * 100 + r for r in range(n_repeats)]  # noqa: E731
    kw = dict(data_seed=seed * 1000, dedup=dedup, validate=True, eval_every=eval_every, init_state=init_state)
    proba_outs = list(proba_outs) if proba_outs is not None else [None] * len(jobs)
    if n_jobs == 1:
        return [
            _cv_rows(
                y,
                folds,
                [r for *_, r in _fold_runs(m, y, folds, c, seeds, device=device, **kw)],
                n_repeats,
                seed,
                n_shuffles,
                out,
            )  # fmt: skip
            for (m, c), out in zip(jobs, proba_outs)
        ]
    tasks = [t for m, c in jobs for t in _fold_tasks(m, y, folds, c, seeds, **kw)]
    results = train_ensembles(tasks, n_jobs=n_jobs, device=device)
    n = len(folds)
    return [
        _cv_rows(y, folds, results[i * n : (i + 1) * n], n_repeats, seed, n_shuffles, out)
        for i, out in enumerate(proba_outs)
    ]


def cv_atomsets(
    matrices: Sequence[np.ndarray],
    y: Sequence,
    folds,
    cfg,
    *,
    proba_out: dict | None = None,
    **kw,
) -> pd.DataFrame:
    """Cross-validate an AtomSets configuration: per fold, ``n_repeats`` members are trained at once
    (one vectorized ensemble, seeds ``seed*1000 + fold*100 + r``) and the validation set is scored
    every ``eval_every`` epochs.  One row per (fold, epoch, member) with metrics and the fold's
    controls; summarize with :func:`atomsets_summary` (the paper's "best epoch across folds",
    metrics averaged over repeated runs).  ``proba_out`` (a dict, filled when given):
    ``proba_out[(fold, epoch)]`` = the members' validation probabilities (members × validation
    entries), for bootstrap intervals.  ``init_state``: pre-trained weights (``n_repeats``
    members, e.g. from :func:`matmap_utils.screening.atomsets.training.pretrain`); member ``r`` of
    every fold starts from pre-trained member ``r``.  ``n_jobs``: folds trained at the same time
    (1, the default: one after another; None: all cores; the same numbers either way).  Other
    keywords (``n_repeats=3, seed=0, eval_every=10, n_shuffles=100, dedup=True, device=None``)
    as :func:`cv_atomsets_many`."""
    return cv_atomsets_many([(matrices, cfg)], y, folds, proba_outs=[proba_out], **kw)[0]


def atomsets_summary(cv: pd.DataFrame, metric: str = "auc_pr", epoch: int | None = None) -> dict:
    """Metrics at the epoch with the best fold- and repeat-averaged ``metric`` (or at ``epoch``).

    Returns mean and std over folds of the repeat-averaged metrics, the controls, the epoch, and
    ``per_fold`` (a list of dicts)."""
    per = cv.groupby(["epoch", "fold"]).mean(numeric_only=True).reset_index()
    if epoch is None:
        curve = per.groupby("epoch")[metric].mean()
        epoch = int(curve.idxmax())
    at = per[per["epoch"] == epoch]
    out = {"epoch": int(epoch)}
    for m in ("auc_pr", "mcc", "roc_auc"):
        out[m] = float(np.nanmean(at[m]))
        out[f"{m}_std"] = float(np.nanstd(at[m]))
        out[f"mean_{m}"] = float(np.nanmean(at[f"mean_{m}"]))
        out[f"shuffled_{m}"] = float(np.nanmean(at[f"shuffled_{m}"]))
    out["per_fold"] = at.drop(columns=["member", "epoch"], errors="ignore").to_dict("records")
    return out


def pretraining_effect(
    matrices: Sequence[np.ndarray],
    y: Sequence,
    folds,
    cfg,
    pre_matrices: Sequence[np.ndarray],
    pre_labels: Sequence,
    *,
    n_repeats: int = 3,
    seed: int = 0,
    pre_epochs: int = 30,
    eval_every: int = 10,
    n_shuffles: int = 100,
    n_jobs: int | None = 1,
) -> tuple[pd.DataFrame, dict]:
    """Does pre-training on a substitute task help?  Cross-validates ``cfg`` twice with the same
    folds, member seeds and data order: from random weights, and from ``n_repeats`` members
    pre-trained on (``pre_matrices``, ``pre_labels``) (:func:`matmap_utils.screening.atomsets.training.pretrain`; all
    layers but the output layer start from the pre-trained weights, the output layer from the same
    seeded initialisation as the random-init run).  Returns a frame with one row per (variant,
    epoch choice) — the paper's best epoch across folds, and the last epoch — with AUC-PR/MCC mean
    and std over folds, and the pre-training info."""

    seeds = [seed * 1000 + r for r in range(n_repeats)]
    state, info = pretrain(cfg, pre_matrices, pre_labels, seeds=seeds, data_seed=seed, epochs=pre_epochs)
    rows = []
    for name, init in (("random init", None), ("pre-trained", state)):
        cv = cv_atomsets(
            matrices,
            y,
            folds,
            cfg,
            n_repeats=n_repeats,
            seed=seed,
            eval_every=eval_every,
            n_shuffles=n_shuffles,
            init_state=init,
            n_jobs=n_jobs,
        )
        last = int(cv["epoch"].max())
        for how, ep in (("best epoch", None), ("last epoch", last)):
            s = atomsets_summary(cv, epoch=ep)
            rows.append(
                {
                    "variant": name,
                    "epoch_choice": how,
                    "epoch": s["epoch"],
                    "auc_pr": s["auc_pr"],
                    "auc_pr_std": s["auc_pr_std"],
                    "mcc": s["mcc"],
                    "mcc_std": s["mcc_std"],
                    "mean_control_auc_pr": s["mean_auc_pr"],
                }
            )
    return pd.DataFrame(rows), info


def fold_ensembles(
    matrices: Sequence[np.ndarray],
    y: Sequence,
    folds,
    cfg,
    *,
    n_members: int = 3,
    seed: int = 0,
    member_chunk: int | None = None,
    n_jobs: int | None = 1,
) -> list:
    """One AtomSets ensemble per fold, trained on that fold's training entries only (``folds``:
    (train, validation) positional indices, e.g. the paper's LOCO clusters) for ``cfg.epochs``
    epochs, with no validation scoring: the model that never saw the fold's validation entries, to
    score other compounds with (e.g. the screening pool).  Member seeds ``seed*10000 + (fold+1)*1000
    + i`` (distinct from the final ensemble's ``seed*10000 + i`` below 1000 members); minibatch order
    ``seed*1000 + fold``, as :func:`cv_atomsets`.  Returns the fold models in fold order."""
    runs = _fold_runs(
        matrices,
        np.asarray(y).astype(int),
        folds,
        cfg,
        lambda k: [seed * 10_000 + (k + 1) * 1000 + i for i in range(n_members)],
        data_seed=seed * 1000,
        member_chunk=member_chunk,
        n_jobs=n_jobs,
    )
    return [res.model for _k, _tr, _va, res in runs]
