"""Chapter 08's AtomSets models: MEGNet V0–V3 sets of OBELiX entries and AtomSets *regression*.

:mod:`matmap_utils.screening.atomsets` trains classifiers (BCE on a logit).  The network itself
(:class:`~matmap_utils.screening.atomsets.model.AtomSetsEnsemble`) returns that pre-sigmoid output,
which is a regression head as it is; :class:`AtomSetsRegressor` trains it on standardized log10
sigma with an L1 loss (the benchmark's metric is the MAE) and Adam, and averages the ensemble
members.  Nothing in ``screening/`` changes; a ``loss="l1"`` option of
``screening.atomsets.training.train_block`` would let the room do this itself.  (This module sits
with the chapters because it combines two rooms, :mod:`matmap_utils.benchmark` and
:mod:`matmap_utils.screening`, which never import one another.)

Entries without a CIF (278 of 599) have no structure, so no graph and no V1–V3.  Their V0 set is
built from the composition: one row per element (its MEGNet embedding) weighted by its amount in
the reduced formula — exactly what a structure's V0 set reduces to when every site is fully
occupied, since AtomSets' weighted readouts see a set of identical rows as one row with a weight.

Parallel fits: the cross-validation fits (layers × folds) and the refits are independent; they run
through :func:`matmap_utils.core.parallel.parallel_map` (``n_jobs`` processes).  Every fit trains
and predicts on one torch thread, in a worker or in this process alike, with its own seeds, so the
tables and predictions are bit-identical for every ``n_jobs`` (tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from pymatgen.core import Element

from matmap_utils.benchmark import features as bfeat
from matmap_utils.benchmark import metrics as bmetrics
from matmap_utils.benchmark import models as bmodels
from matmap_utils.benchmark.obelix import split
from matmap_utils.core.parallel import parallel_map, values_or_raise
from matmap_utils.core.runtime import torch_threads
from matmap_utils.screening.atomsets.features import featurize, v0_embedding
from matmap_utils.screening.atomsets.model import AtomSetsConfig, AtomSetsEnsemble, pack_sets

__all__ = [
    "AtomSetsRegressor",
    "SetData",
    "composition_set",
    "cv_atomsets",
    "fit_atomsets",
    "megnet_sets",
]


@dataclass
class SetData:
    """Per-entry AtomSets inputs: site-feature ``matrices`` and site ``weights`` (index = entries)
    and the ``route`` of each entry ("structure" or "composition")."""

    matrices: pd.Series
    weights: pd.Series
    route: pd.Series

    def subset(self, ids) -> SetData:
        return SetData(self.matrices.loc[ids], self.weights.loc[ids], self.route.loc[ids])


def composition_set(formula: str, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """V0 set of a formula: one row per element (its MEGNet embedding, ``table[Z]``), weighted by
    the element's amount.  Raises ``ValueError`` for an element without an embedding."""
    amounts = bfeat.element_amounts(formula)
    rows, weights = [], []
    for el, amt in amounts.items():
        z = Element(el).Z
        if not 1 <= z < len(table):
            raise ValueError(f"{formula}: element {el} has no MEGNet embedding")
        rows.append(table[z])
        weights.append(amt)
    return np.asarray(rows, np.float32), np.asarray(weights, np.float32)


def megnet_sets(
    task: pd.DataFrame, layers: Sequence[int], *, mode: str = "CAMN", n_jobs: int | None = None
) -> tuple[dict[int, SetData], pd.DataFrame]:
    """AtomSets inputs of every entry per MEGNet layer.

    Entries with a CIF: the site features ``V<layer>`` of the structure simplified by ``mode``
    (``CAMN``: as it is; :func:`matmap_utils.screening.atomsets.features.featurize`).  Layer 0 of an
    entry without a CIF (or whose structure failed) comes from its composition
    (:func:`composition_set`); layers 1–3 exist only for structures.  Returns ``(sets, failures)``.
    """
    layers = sorted({0, *(int(k) for k in layers)})
    structs = task.loc[task["cif_subset"] & task["structure"].notna(), "structure"]
    feats, fails = featurize(structs, modes=(mode,), layers=tuple(layers), n_jobs=n_jobs)
    table = v0_embedding()
    out = {}
    for layer in layers:
        got = feats[(mode, layer)]
        mats, wts, route = {}, {}, {}
        for i in task.index:
            if i in got:
                mats[i], wts[i], route[i] = got[i], np.ones(len(got[i]), np.float32), "structure"
            elif layer == 0:
                mats[i], wts[i] = composition_set(task.at[i, "True Composition"], table)
                route[i] = "composition"
        ids = list(mats)
        out[layer] = SetData(pd.Series(mats, index=ids), pd.Series(wts, index=ids), pd.Series(route, index=ids))
    return out, fails


class AtomSetsRegressor:
    """AtomSets ensemble trained as a regressor of standardized log10 sigma (module docstring).

    Site features are standardized with the (site-weighted) training statistics; ``n_members``
    members with their own seeds are trained together (L1 loss, Adam, minibatches of
    ``batch_size`` sets, ``epochs`` epochs) and their predictions averaged.  Training and prediction
    run on one torch thread (:func:`matmap_utils.core.runtime.torch_threads`).
    """

    def __init__(
        self,
        *,
        readout: str = "mean",
        hidden: int = 64,
        n_members: int = 4,
        epochs: int = 100,
        lr: float = 1e-3,
        batch_size: int = 32,
        dropout: float = 0.0,
        seed: int = 0,
    ):
        self.kw = dict(readout=readout, hidden=hidden, n_members=n_members, epochs=epochs, lr=lr)
        self.batch_size, self.dropout, self.seed = batch_size, dropout, seed

    def _pack(self, data: SetData):
        mats = [(np.asarray(m, np.float64) - self.mu_) / self.sd_ for m in data.matrices]
        return pack_sets(mats, list(data.weights))

    def fit(self, data: SetData, y) -> AtomSetsRegressor:
        """Train on the sets of ``data`` and their targets ``y`` (log10 S/cm)."""
        with torch_threads(1):
            return self._fit(data, y)

    def _fit(self, data: SetData, y) -> AtomSetsRegressor:
        rows = np.concatenate([np.asarray(m, np.float64) for m in data.matrices])
        w = np.concatenate([np.asarray(v, np.float64) for v in data.weights])[:, None]
        self.mu_ = (rows * w).sum(0) / w.sum()
        self.sd_ = np.sqrt(((rows - self.mu_) ** 2 * w).sum(0) / w.sum()) + 1e-6
        y = np.asarray(y, np.float64)
        self.y_mu_, self.y_sd_ = float(y.mean()), float(y.std() + 1e-9)
        h, kw = self.kw["hidden"], self.kw
        cfg = AtomSetsConfig(
            input_dim=rows.shape[1],
            n_neurons=(h, h),
            n_neurons_final=(h, h),
            readout=kw["readout"],
            set2set_hidden=h,
            dropout_final=self.dropout,
            epochs=kw["epochs"],
            batch_size=self.batch_size,
        )
        torch.manual_seed(self.seed)
        self.model_ = AtomSetsEnsemble(cfg, [self.seed * 1000 + k for k in range(kw["n_members"])])
        packed = self._pack(data)
        yt = torch.as_tensor((y - self.y_mu_) / self.y_sd_, dtype=torch.float32)
        opt = torch.optim.Adam(self.model_.parameters(), lr=kw["lr"])
        rng = np.random.default_rng(self.seed)
        self.model_.train()
        for _ in range(kw["epochs"]):
            order = rng.permutation(packed.n_sets)
            for s in range(0, packed.n_sets, self.batch_size):
                ids = order[s : s + self.batch_size]
                out = self.model_(packed.subset(ids))
                loss = (out - yt[torch.as_tensor(ids)]).abs().mean(1).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.model_.eval()
        return self

    def predict(self, data: SetData) -> np.ndarray:
        """Ensemble-mean prediction of log10 sigma for every set of ``data``."""
        packed = self._pack(data)
        outs = []
        with torch_threads(1), torch.inference_mode():
            for s in range(0, packed.n_sets, 256):
                outs.append(self.model_(packed.subset(np.arange(s, min(s + 256, packed.n_sets)))))
        return torch.cat(outs, dim=1).mean(0).numpy() * self.y_sd_ + self.y_mu_


def _fit_predict(task: tuple[Mapping, SetData, pd.Series, SetData]) -> np.ndarray:
    """Pool worker: an :class:`AtomSetsRegressor` of ``params`` fitted on ``(train, y)``, its
    predictions (log10 S/cm) for the sets of ``evaluate``."""
    params, train, y, evaluate = task
    return AtomSetsRegressor(**params).fit(train, y).predict(evaluate)


def _run_fits(tasks: Sequence[tuple], labels: Sequence, n_jobs: int | None) -> list[np.ndarray]:
    """:func:`_fit_predict` of every task in ``n_jobs`` processes, in order; a failed fit raises
    ``RuntimeError`` naming its label (model, layer, fold)."""
    return values_or_raise(
        parallel_map(_fit_predict, tasks, keys=labels, n_jobs=n_jobs, progress=False), "AtomSets fit"
    )


def _cv_tasks(sets: Mapping[int, SetData], y: pd.Series, folds: Sequence, params: Mapping):
    """One fit per (layer, fold): tasks for :func:`_fit_predict` and their ``(layer, fold)`` labels."""
    tasks, labels = [], []
    for layer, data in sets.items():
        d = data.subset(y.index)
        for k, (tr, va) in enumerate(folds):
            tasks.append((dict(params), d.subset(y.index[tr]), y.iloc[tr], d.subset(y.index[va])))
            labels.append((int(layer), k))
    return tasks, labels


def _cv_frame(y: pd.Series, folds: Sequence, labels: Sequence, preds: Sequence[np.ndarray]) -> pd.DataFrame:
    """Mean and SD over folds of the validation MAE (log10 S/cm) per layer, layers in input order."""
    maes: dict[int, list[float]] = {}
    for (layer, k), p in zip(labels, preds):
        maes.setdefault(layer, []).append(bmetrics.mae(y.iloc[folds[k][1]], p))
    rows = [{"layer": layer, "cv_mae": float(np.mean(m)), "cv_std": float(np.std(m))} for layer, m in maes.items()]
    return pd.DataFrame(rows, columns=["layer", "cv_mae", "cv_std"])


def cv_atomsets(
    sets: Mapping[int, SetData], y: pd.Series, folds, params: Mapping, *, n_jobs: int | None = None
) -> pd.DataFrame:
    """Validation MAE (log10 S/cm; mean ``cv_mae`` and SD ``cv_std`` over the folds) of an
    :class:`AtomSetsRegressor` per layer of ``sets`` (rows of ``y`` only).  The layers × folds fits
    run in ``n_jobs`` processes (None/0: every core); the table is the same for every ``n_jobs``."""
    folds = list(folds)
    tasks, labels = _cv_tasks(sets, y, folds, params)
    return _cv_frame(y, folds, labels, _run_fits(tasks, labels, n_jobs))


def fit_atomsets(
    task: pd.DataFrame,
    sets: Mapping[int, SetData],
    params: Mapping,
    *,
    n_folds: int,
    seed: int,
    n_jobs: int | None = None,
) -> tuple[dict[str, pd.Series], pd.DataFrame, int]:
    """The two AtomSets models, each selected on the training split and scored once on the test set.

    ``atomsets_v0``: V0 sets of all training entries (structure or composition).
    ``atomsets_struct``: the layer with the lowest CV MAE among ``sets`` on the training entries
    with a CIF, refitted there; test entries without a CIF get ``atomsets_v0``'s prediction.
    The ``atomsets_v0`` refit and every CV fit of both models run together in ``n_jobs``
    processes (None/0: every core), the refit of the chosen layer after them; the results are the
    same for every ``n_jobs``.  Returns ``(predictions, cv_table, best_layer)``.
    """
    train, test = split(task)
    y = train["target"]
    folds = bmodels.group_folds(train["group"], n_folds, seed)
    ys = y[train["cif_subset"] & train.index.isin(sets[max(sets)].matrices.index)]
    folds_s = bmodels.group_folds(train.loc[ys.index, "group"], n_folds, seed)
    refit0 = (dict(params), sets[0].subset(y.index), y, sets[0].subset(test.index))
    t0, l0 = _cv_tasks({0: sets[0]}, y, folds, params)
    ts, ls = _cv_tasks(sets, ys, folds_s, params)
    labels = [("atomsets_v0", "refit")] + [("atomsets_v0", *v) for v in l0] + [("atomsets_struct", *v) for v in ls]
    preds = _run_fits([refit0, *t0, *ts], labels, n_jobs)  # the largest fit first: the pool ends sooner
    p0 = pd.Series(preds[0], index=test.index)
    cv0 = _cv_frame(y, folds, l0, preds[1 : 1 + len(t0)]).assign(model="atomsets_v0")
    cvs = _cv_frame(ys, folds_s, ls, preds[1 + len(t0) :]).assign(model="atomsets_struct")
    best = int(cvs.sort_values("cv_mae").iloc[0]["layer"])
    ms = AtomSetsRegressor(**params).fit(sets[best].subset(ys.index), ys)
    test_s = [i for i in test.index if test.at[i, "cif_subset"] and i in sets[best].matrices.index]
    ps = p0.copy()
    ps.loc[test_s] = ms.predict(sets[best].subset(test_s))
    return {"atomsets_v0": p0, "atomsets_struct": ps}, pd.concat([cv0, cvs], ignore_index=True), best
