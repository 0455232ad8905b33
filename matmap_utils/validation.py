"""Validation for the superionic classifier (McHaffie et al. 2025): splits, metrics, controls, baseline.

* Metrics: AUC-PR as *average precision* (step-wise area under the precision–recall curve; a
  constant prediction scores the positive fraction, which is what the paper's controls report —
  its Keras ``AUC(curve="PR")`` behaves the same way, whereas a trapezoid through (0, 1) would
  give (1 + positive fraction) / 2), the trapezoidal area ``auc_pr_trapz`` for reference, MCC at
  P = 0.5, ROC-AUC.
* Splits: the paper's own k-fold / LOCO / test assignments (columns of
  :func:`matmap_utils.data.load_mchaffie`), or recomputed ones — stratified random k-fold, and
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

import warnings
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import auc, average_precision_score, matthews_corrcoef, precision_recall_curve, roc_auc_score

# --------------------------------------------------------------------------- metrics


def classification_metrics(y_true: Sequence, p: Sequence, threshold: float = 0.5) -> dict[str, float]:
    """AUC-PR (= average precision), trapezoidal PR area, MCC (at ``threshold``), ROC-AUC, accuracy; NaN where undefined."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and predictions {p.shape} differ in shape")
    out = {"n": int(len(y)), "n_pos": int(y.sum())}
    both = 0 < y.sum() < len(y)
    if both:
        prec, rec, _ = precision_recall_curve(y, p)
        out["auc_pr"] = float(average_precision_score(y, p))
        out["auc_pr_trapz"] = float(auc(rec, prec))
        out["roc_auc"] = float(roc_auc_score(y, p))
    else:
        out["auc_pr"] = out["auc_pr_trapz"] = out["roc_auc"] = float("nan")
    pred = (p >= threshold).astype(int)
    out["mcc"] = float(matthews_corrcoef(y, pred)) if len(y) else float("nan")
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
        out[f"shuffled_{k}"] = float(np.nanmean([r[k] for r in rows]))
    return out


# --------------------------------------------------------------------------- splits


def paper_folds(df: pd.DataFrame, scheme: str = "kfold") -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, val) positional indices from the paper's split columns of ``load_mchaffie`` rows.

    ``scheme``: ``"kfold"`` (column ``kfold``, 5 folds) or ``"loco"`` (column ``loco_cluster``).
    Test-set rows (``split_test``) are never used.
    """
    col = {"kfold": "kfold", "loco": "loco_cluster"}[scheme]
    trval = ~df["split_test"].to_numpy(bool)
    groups = df[col].to_numpy()
    folds = []
    for g in sorted(pd.unique(df.loc[trval, col].dropna())):
        val = np.where(trval & (groups == g))[0]
        tr = np.where(trval & (groups != g))[0]
        if len(val):
            folds.append((tr, val))
    return folds


def stratified_kfold(y: Sequence, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).astype(int)
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in skf.split(np.zeros(len(y)), y)]


def cluster_folds(clusters: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-cluster-out folds; DBSCAN noise (-1) stays in training only."""
    c = np.asarray(clusters)
    return [(np.where(c != g)[0], np.where(c == g)[0]) for g in sorted(set(c.tolist())) if g != -1]


def _petti_vectors(formulas: Sequence[str]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ElMD import ElMD

        return np.stack([ElMD(f, metric="mod_petti").feature_vector for f in formulas])


def elmd_matrix(formulas: Sequence[str]) -> np.ndarray:
    """All-pairs ElMD (modified Pettifor scale) distance matrix of chemical formulas."""
    cdf = np.cumsum(_petti_vectors(formulas), axis=1)
    n = len(cdf)
    d = np.zeros((n, n))
    for i in range(n):
        d[i] = np.abs(cdf - cdf[i]).sum(1)
    return d


def loco_clusters(formulas: Sequence[str], *, spread: float = 5.0, eps: float = 4.0, min_samples: int = 5,
                  n_neighbors: int = 15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """ElMD -> UMAP (2-D, spread 5, precomputed distances) -> DBSCAN (eps 4); returns (labels, embedding)."""
    import umap
    from sklearn.cluster import DBSCAN

    d = elmd_matrix(formulas)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emb = umap.UMAP(n_components=2, metric="precomputed", spread=spread, n_neighbors=n_neighbors,
                        random_state=seed).fit_transform(d)
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(emb)
    return labels, emb


# --------------------------------------------------------------------------- cross-validation driver


def run_cv(folds: list[tuple[np.ndarray, np.ndarray]], y: np.ndarray,
           fit_predict: Callable[[np.ndarray, np.ndarray, int], np.ndarray], *,
           n_shuffles: int = 100, seed: int = 0) -> pd.DataFrame:
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


# --------------------------------------------------------------------------- Sendek et al. features

SENDEK_FEATURES = ("LLB", "SBI", "AFC", "LASD", "LLSD")


def _radius(el: str, kind: str) -> float:
    from pymatgen.core import Element

    e = Element(el)
    if kind == "anion":
        r = e.average_anionic_radius
        if r and float(r) > 0:
            return float(r)
        r = e.average_ionic_radius
        return float(r) if r and float(r) > 0 else float(e.atomic_radius or 1.5)
    r = e.atomic_radius or e.atomic_radius_calculated
    return float(r) if r else 1.5


def sendek_features(structure, signs: dict[str, int] | None = None, *, r_max: float = 6.0,
                    bond_tol: float = 1.2, li_li_cutoff: float = 3.0) -> dict[str, float]:
    """Occupancy-weighted Sendek et al. (2017) features of a (possibly disordered) structure.

    Bonds: Li–Li within ``li_li_cutoff`` (Å); framework bonds: distance ≤ ``bond_tol`` × (sum of
    atomic radii).  Anion–anion neighbours (AFC): distance ≤
    1.1 × (sum of anionic radii).  Site weights are occupancies, so a half-occupied Li site counts
    half a Li.  Ionicity of a bond: 1 − exp(−(Δχ)²/4) (Pauling).  LASD/LLSD: occupancy-weighted
    mean over Li sites of the shortest distance to an anion / to another Li site.
    """
    from pymatgen.core import Element

    from .simplify import ion_signs

    if signs is None:
        signs, _ = ion_signs(structure)
    anions = {e for e, s in signs.items() if s < 0 and e != "Li"}
    n = len(structure)
    occ = [{(sp.symbol if hasattr(sp, "symbol") else str(sp)): float(x) for sp, x in site.species.items()}
           for site in structure]
    li = np.array([o.get("Li", 0.0) for o in occ])
    an = np.array([sum(v for k, v in o.items() if k in anions) for o in occ])
    fw = np.array([sum(v for k, v in o.items() if k != "Li") for o in occ])
    if li.sum() == 0:
        raise ValueError(f"{structure.composition.reduced_formula}: no Li")
    i_idx, j_idx, _, dist = structure.get_neighbor_list(r_max)
    keep = dist > 0.3  # ignore split/overlapping partial sites
    i_idx, j_idx, dist = i_idx[keep], j_idx[keep], dist[keep]
    # dominant element per site, for radii and electronegativity
    main = [max(o, key=o.get) for o in occ]
    fw_el = [max(((k, v) for k, v in o.items() if k != "Li"), key=lambda kv: kv[1])[0] if fw[s] > 0 else None
             for s, o in enumerate(occ)]
    rad = np.array([_radius(m, "atom") for m in main])
    r_an = np.array([_radius(fw_el[s], "anion") if an[s] > 0 else 0.0 for s in range(n)])
    chi = np.array([Element(fw_el[s]).X if fw_el[s] else np.nan for s in range(n)])
    # LLB: Li-Li bonds per Li
    ll_bond = dist <= li_li_cutoff
    llb_num = np.sum(li[i_idx] * li[j_idx] * ll_bond)
    llb = float(llb_num / li.sum())
    # SBI: framework bonds (non-Li) ionicity
    fb = (fw[i_idx] > 0) & (fw[j_idx] > 0) & (dist <= bond_tol * (rad[i_idx] + rad[j_idx]))
    dchi = np.abs(chi[i_idx] - chi[j_idx])
    w = fw[i_idx] * fw[j_idx] * fb
    ion = 1 - np.exp(-np.nan_to_num(dchi) ** 2 / 4)
    sbi = float((w * ion).sum() / w.sum()) if w.sum() > 0 else 0.0
    # AFC: anion neighbours per anion
    aa = (an[i_idx] > 0) & (an[j_idx] > 0) & (dist <= 1.1 * (r_an[i_idx] + r_an[j_idx]))
    afc = float(np.sum(an[i_idx] * an[j_idx] * aa) / an.sum()) if an.sum() > 0 else 0.0
    # shortest distances from Li sites
    lasd_s, llsd_s = np.full(n, np.nan), np.full(n, np.nan)
    for s in np.where(li > 0)[0]:
        m = i_idx == s
        d_an = dist[m & (an[j_idx] > 0)]
        d_li = dist[m & (li[j_idx] > 0)]
        if len(d_an):
            lasd_s[s] = d_an.min()
        if len(d_li):
            llsd_s[s] = d_li.min()
    wli = li / li.sum()
    lasd = float(np.nansum(wli * lasd_s) / np.sum(wli[~np.isnan(lasd_s)])) if np.any(~np.isnan(lasd_s)) else r_max
    llsd = float(np.nansum(wli * llsd_s) / np.sum(wli[~np.isnan(llsd_s)])) if np.any(~np.isnan(llsd_s)) else r_max
    return {"LLB": llb, "SBI": sbi, "AFC": afc, "LASD": lasd, "LLSD": llsd}


def _sendek_one(structure):
    return sendek_features(structure)


def sendek_frame(structures: Sequence, keys: Sequence[str], n_jobs: int | None = 1) -> pd.DataFrame:
    """Sendek features for many structures (``parallel_map``); failures become NaN rows + ``error``."""
    from .parallel import parallel_map

    outs = parallel_map(_sendek_one, list(structures), keys=list(keys), n_jobs=n_jobs, progress=False)
    rows = []
    for o in outs:
        rows.append({"key": o.key, **(o.value or {k: np.nan for k in SENDEK_FEATURES}),
                     "error": None if o.error is None else str(o.error)})
    return pd.DataFrame(rows).set_index("key")


def logistic_baseline(X: np.ndarray, y: np.ndarray, folds, *, Cs=(0.01, 0.1, 1.0, 10.0, 100.0),
                      seed: int = 0, n_shuffles: int = 100) -> tuple[float, pd.DataFrame]:
    """Logistic regression (MinMax-scaled features) per fold for each C; return (best C, its CV frame)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X = np.asarray(X, float)
    best = None
    for C in Cs:
        def fp(tr, va, k, C=C):
            m = make_pipeline(MinMaxScaler(), LogisticRegression(C=C, max_iter=2000))
            m.fit(X[tr], y[tr])
            return m.predict_proba(X[va])[:, 1]

        cv = run_cv(folds, y, fp, n_shuffles=n_shuffles, seed=seed)
        score = cv["auc_pr"].mean()
        if best is None or score > best[0]:
            best = (score, C, cv)
    return best[1], best[2]


# --------------------------------------------------------------------------- AtomSets cross-validation


def cv_atomsets(matrices: Sequence[np.ndarray], y: Sequence, folds, cfg, *, n_repeats: int = 3, seed: int = 0,
                eval_every: int = 10, n_shuffles: int = 100, dedup: bool = True, device=None,
                init_state: dict | None = None) -> pd.DataFrame:
    """Cross-validate an AtomSets configuration: per fold, ``n_repeats`` members are trained at once
    (one vectorized ensemble, seeds ``seed*1000 + fold*100 + r``) and the validation set is scored
    every ``eval_every`` epochs.  One row per (fold, epoch, member) with metrics and the fold's
    controls; summarize with :func:`atomsets_summary` (the paper's "best epoch across folds",
    metrics averaged over repeated runs).  ``init_state``: pre-trained weights (``n_repeats``
    members, e.g. from :func:`matmap_utils.atomsets.pretrain`); member ``r`` of every fold starts
    from pre-trained member ``r``."""
    from .atomsets import pack_sets, train_ensemble

    y = np.asarray(y).astype(int)
    rows = []
    for k, (tr, va) in enumerate(folds):
        ptr = pack_sets([matrices[i] for i in tr], dedup=dedup)
        pva = pack_sets([matrices[i] for i in va], dedup=dedup)
        seeds = [seed * 1000 + k * 100 + r for r in range(n_repeats)]
        res = train_ensemble(cfg, ptr, y[tr], seeds=seeds, data_seed=seed * 1000 + k, val=pva,
                             eval_every=eval_every, device=device, init_state=init_state)
        ctrl = control_metrics(y[tr], y[va], n_shuffles=n_shuffles, seed=seed + k)
        epochs = [h["epoch"] for h in res.history if h.get("evaluated")]
        for ep, proba in zip(epochs, res.val_proba):
            for r in range(len(seeds)):
                rows.append({"fold": k, "epoch": ep, "member": r, **classification_metrics(y[va], proba[r]), **ctrl})
    return pd.DataFrame(rows)


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


def pretraining_effect(matrices: Sequence[np.ndarray], y: Sequence, folds, cfg, pre_matrices: Sequence[np.ndarray],
                       pre_labels: Sequence, *, n_repeats: int = 3, seed: int = 0, pre_epochs: int = 30,
                       eval_every: int = 10, n_shuffles: int = 100) -> tuple[pd.DataFrame, dict]:
    """Does pre-training on a substitute task help?  Cross-validates ``cfg`` twice with the same
    folds, member seeds and data order: from random weights, and from ``n_repeats`` members
    pre-trained on (``pre_matrices``, ``pre_labels``) (:func:`matmap_utils.atomsets.pretrain`; all
    layers but the output layer start from the pre-trained weights, the output layer from the same
    seeded initialisation as the random-init run).  Returns a frame with one row per (variant,
    epoch choice) — the paper's best epoch across folds, and the last epoch — with AUC-PR/MCC mean
    and std over folds, and the pre-training info."""
    from .atomsets import pretrain

    seeds = [seed * 1000 + r for r in range(n_repeats)]
    state, info = pretrain(cfg, pre_matrices, pre_labels, seeds=seeds, data_seed=seed, epochs=pre_epochs)
    rows = []
    for name, init in (("random init", None), ("pre-trained", state)):
        cv = cv_atomsets(matrices, y, folds, cfg, n_repeats=n_repeats, seed=seed, eval_every=eval_every,
                         n_shuffles=n_shuffles, init_state=init)
        last = int(cv["epoch"].max())
        for how, ep in (("best epoch", None), ("last epoch", last)):
            s = atomsets_summary(cv, epoch=ep)
            rows.append({"variant": name, "epoch_choice": how, "epoch": s["epoch"], "auc_pr": s["auc_pr"],
                         "auc_pr_std": s["auc_pr_std"], "mcc": s["mcc"], "mcc_std": s["mcc_std"],
                         "mean_control_auc_pr": s["mean_auc_pr"]})
    return pd.DataFrame(rows), info


# --------------------------------------------------------------------------- hyperparameter search (Ray Tune)

#: McHaffie et al.'s search space (``scripts/hpo_classification.py`` of their code archive).
HPO_SPACE = {
    "init_lr": [2e-5, 4e-5, 6e-5, 8e-5, 1e-4],
    "max_lr": [1e-4, 1e-3, 3e-3, 5e-3, 7e-3],
    "batch_size": [32, 64, 128],
    "dropout_prob_init": [0.1, 0.15, 0.2, 0.25, 0.3],
    "dropout_prob_final": [0.1, 0.15, 0.2, 0.25, 0.3],
    "kernel_reg_value_init": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
    "kernel_reg_value_final": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
    "n_layers": [2, 3, 4],
    "n_neurons": [32, 64, 128, 256],
}


def config_from_trial(trial: dict, input_dim: int, epochs: int = 500, **kw):
    """An :class:`~matmap_utils.atomsets.AtomSetsConfig` from one point of :data:`HPO_SPACE`
    (LAMB + Lookahead, triangular-2 cyclical learning rate with a 10-epoch half cycle, as the paper)."""
    from .atomsets import AtomSetsConfig

    layers = tuple([int(trial["n_neurons"])] * int(trial["n_layers"]))
    return AtomSetsConfig(input_dim=input_dim, n_neurons=layers, n_neurons_final=layers,
                          dropout_init=float(trial["dropout_prob_init"]), dropout_final=float(trial["dropout_prob_final"]),
                          l2_init=float(trial["kernel_reg_value_init"]), l2_final=float(trial["kernel_reg_value_final"]),
                          optimizer="lamb_lookahead", init_lr=float(trial["init_lr"]), max_lr=float(trial["max_lr"]),
                          cycle_epochs=10, epochs=epochs, batch_size=int(trial["batch_size"]), **kw)


def _hpo_trainable(trial: dict, data: dict) -> None:
    """One Ray Tune trial: train one AtomSets model with ``trial``'s hyperparameters and report the
    validation metrics after every evaluation (ASHA stops poor trials early)."""
    import torch
    from ray import tune

    from .atomsets import PackedSets, train_ensemble

    torch.set_num_threads(1)
    ptr = PackedSets(torch.from_numpy(data["xtr"]), torch.from_numpy(data["wtr"]), data["otr"])
    pva = PackedSets(torch.from_numpy(data["xva"]), torch.from_numpy(data["wva"]), data["ova"])
    yva = data["yva"]
    cfg = config_from_trial(trial, data["input_dim"], epochs=data["epochs"])

    def cb(epoch, proba):
        m = classification_metrics(yva, proba[0])
        tune.report({"val_pr_auc": m["auc_pr"], "val_mcc": m["mcc"], "val_roc_auc": m["roc_auc"], "epoch": epoch})

    train_ensemble(cfg, ptr, data["ytr"], seeds=[data["seed"]], data_seed=data["seed"], val=pva,
                   eval_every=data["eval_every"], device="cpu", callback=cb)


class ray_session:
    """Context manager: a Ray instance for hyperparameter search.

    Connects to the cluster at ``address`` or ``$MATMAP_RAY_ADDRESS`` when given (the cluster's
    workers need matmap installed); otherwise starts a local instance with ``num_cpus`` CPUs, no
    dashboard, a small object store and its session files in a fresh temporary directory, and shuts
    it down on exit.  An instance that is already running (``ray.is_initialized()``) is reused and
    left running.  Usage statistics are off."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, object_store_mb: int = 256,
                 start_timeout_s: float = 120.0, retries: int = 3):
        import os

        self.address = address or os.environ.get("MATMAP_RAY_ADDRESS") or None
        self.num_cpus = num_cpus
        self.object_store_mb = object_store_mb
        self.start_timeout_s = start_timeout_s
        self.retries = int(retries)
        self.started = False
        self.tmp = None

    def __enter__(self):
        import logging
        import os
        import tempfile

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")   # verbose=0 then really prints nothing
        os.environ.setdefault("RAY_gcs_server_request_timeout_seconds", str(int(self.start_timeout_s)))
        import ray

        if ray.is_initialized():
            return self
        kw = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                  configure_logging=True)
        # Ray gives its local node a fixed 30 s to come up; on a loaded machine that can fail, so retry
        err = None
        for _ in range(max(1, self.retries)):
            try:
                if self.address:
                    ray.init(address=self.address, **kw)
                else:
                    from .parallel import default_n_jobs

                    self.tmp = tempfile.mkdtemp(prefix="mmray")  # short: Ray's socket paths must stay < 108 chars
                    ray.init(num_cpus=self.num_cpus or default_n_jobs(), _temp_dir=self.tmp,
                             object_store_memory=int(self.object_store_mb) << 20, **kw)
                err = None
                break
            except Exception as exc:  # noqa: BLE001
                err = exc
                ray.shutdown()
        if err is not None:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise RuntimeError(f"could not start/connect to {where} ({self.retries} tries): "
                               f"{type(err).__name__}: {err}") from err
        self.started = True
        return self

    def __exit__(self, *exc):
        import shutil

        import ray

        if self.started:
            ray.shutdown()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def hpo_search(matrices: Sequence[np.ndarray], y: Sequence, train_idx, val_idx, *, input_dim: int,
               num_samples: int = 250, epochs: int = 500, grace_period: int = 40, max_concurrent: int | None = None,
               seed: int = 42, eval_every: int = 1, address: str | None = None, num_cpus: int | None = None,
               space: dict | None = None) -> dict:
    """Ray Tune search for one validation fold/cluster, as McHaffie et al.'s ``hpo_classification.py``:
    HyperOpt (TPE, seeded) proposes points of :data:`HPO_SPACE`, the ASHA scheduler stops trials
    whose validation AUC-PR lags after ``grace_period`` epochs (``max_t`` = ``epochs``), at most
    ``max_concurrent`` trials run at once (default: the CPUs of the Ray instance), one CPU each.

    Every trial trains from the same seed (as the paper fixed its seed).  Each trial's score is its
    best validation AUC-PR over the evaluated epochs (the paper's early stopping restores the best
    weights).  With more than one concurrent trial the order in which results arrive — and so the
    points HyperOpt proposes next — can vary between runs; ``max_concurrent=1`` is reproducible.

    Returns ``{"best_config", "best_val_auc_pr", "best_val_mcc", "best_epoch", "trials" (DataFrame, one
    row per trial), "wall_s", "n_trials"}``.  Ray (see :class:`ray_session`) is started if needed.
    """
    import time

    try:
        from ray import tune
        from ray.tune.schedulers import AsyncHyperBandScheduler
        from ray.tune.search import ConcurrencyLimiter
        from ray.tune.search.hyperopt import HyperOptSearch
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise ImportError("hyperparameter search needs Ray Tune and HyperOpt: pip install 'ray[tune]' hyperopt "
                          f"(the project's `hpo` extra); {exc}") from None
    import tempfile

    from .atomsets import pack_sets

    y = np.asarray(y).astype(int)
    train_idx, val_idx = np.asarray(train_idx), np.asarray(val_idx)
    yva = y[val_idx]
    if yva.min() == yva.max():
        raise ValueError(f"hpo_search: the validation set ({len(yva)} entries) has only one class; AUC-PR is undefined")
    ptr = pack_sets([matrices[i] for i in train_idx], dedup=True)
    pva = pack_sets([matrices[i] for i in val_idx], dedup=True)
    data = {"xtr": ptr.x.numpy(), "wtr": ptr.w.numpy(), "otr": ptr.offsets, "ytr": y[train_idx].astype(np.float32),
            "xva": pva.x.numpy(), "wva": pva.w.numpy(), "ova": pva.offsets, "yva": yva,
            "input_dim": int(input_dim), "epochs": int(epochs), "seed": int(seed), "eval_every": int(eval_every)}
    space = space or HPO_SPACE
    param_space = {k: tune.choice(list(v)) for k, v in space.items()}
    t0 = time.perf_counter()
    with ray_session(address, num_cpus):
        import ray

        n_conc = max_concurrent or max(1, int(ray.cluster_resources().get("CPU", 1)))
        search = ConcurrencyLimiter(HyperOptSearch(random_state_seed=int(seed)), max_concurrent=n_conc)
        sched = AsyncHyperBandScheduler(time_attr="epoch", grace_period=int(grace_period), max_t=int(epochs))
        storage = tempfile.mkdtemp(prefix="matmap_tune_")
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(_hpo_trainable, data=data), {"cpu": 1}),
            param_space=param_space,
            tune_config=tune.TuneConfig(metric="val_pr_auc", mode="max", search_alg=search, scheduler=sched,
                                        num_samples=int(num_samples)),
            run_config=tune.RunConfig(name="atomsets_hpo", storage_path=storage, verbose=0,
                                      failure_config=tune.FailureConfig(max_failures=0)),
        )
        grid = tuner.fit()
    wall = time.perf_counter() - t0
    rows = []
    for r in grid:
        if r.error is not None or r.metrics_dataframe is None or "val_pr_auc" not in r.metrics_dataframe:
            rows.append({**{k: r.config.get(k) for k in space}, "val_pr_auc": np.nan, "val_mcc": np.nan,
                         "best_epoch": np.nan, "epochs_run": 0, "error": str(r.error)[:200] if r.error else "no result"})
            continue
        h = r.metrics_dataframe
        b = h.loc[h["val_pr_auc"].idxmax()]
        rows.append({**{k: r.config.get(k) for k in space}, "val_pr_auc": float(b["val_pr_auc"]),
                     "val_mcc": float(b["val_mcc"]), "best_epoch": int(b["epoch"]),
                     "epochs_run": int(h["epoch"].max()), "error": None})
    trials = pd.DataFrame(rows).sort_values("val_pr_auc", ascending=False, na_position="last").reset_index(drop=True)
    import shutil

    shutil.rmtree(storage, ignore_errors=True)
    ok = trials.dropna(subset=["val_pr_auc"])
    if not len(ok):
        raise RuntimeError(f"hpo_search: all {len(trials)} trials failed; first error: {trials['error'].iloc[0]}")
    best = ok.iloc[0]
    return {"best_config": {k: (best[k].item() if hasattr(best[k], "item") else best[k]) for k in space},
            "best_val_auc_pr": float(best["val_pr_auc"]), "best_val_mcc": float(best["val_mcc"]),
            "best_epoch": int(best["best_epoch"]), "trials": trials, "wall_s": wall, "n_trials": int(len(trials))}


def hpo_per_fold(matrices: Sequence[np.ndarray], y: Sequence, folds, *, fold_ids: Sequence[int] | None = None,
                 address: str | None = None, num_cpus: int | None = None, **kw) -> pd.DataFrame:
    """:func:`hpo_search` on each fold (e.g. each LOCO cluster) in one Ray session; one row per fold
    with the best configuration, its validation AUC-PR / MCC / epoch, trials and wall time.  Folds
    whose validation set has one class only get a row with the reason."""
    fold_ids = list(range(len(folds))) if fold_ids is None else list(fold_ids)
    rows = []
    with ray_session(address, num_cpus):
        for k in fold_ids:
            tr, va = folds[k]
            try:
                r = hpo_search(matrices, y, tr, va, address=address, num_cpus=num_cpus, **kw)
            except ValueError as exc:
                rows.append({"fold": k, "n_val": len(va), "skipped": str(exc)})
                continue
            rows.append({"fold": k, "n_val": len(va), **r["best_config"], "val_pr_auc": r["best_val_auc_pr"],
                         "val_mcc": r["best_val_mcc"], "best_epoch": r["best_epoch"], "n_trials": r["n_trials"],
                         "wall_s": r["wall_s"], "skipped": None})
    return pd.DataFrame(rows)
