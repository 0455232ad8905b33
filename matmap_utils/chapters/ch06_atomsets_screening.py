"""Chapter 06 (McHaffie et al., Digital Discovery 4, 1518 (2025)): the chapter's tables, figures
and text, assembled from :mod:`matmap_utils.screening`.

The science (simplification, MEGNet features, AtomSets training, cross-validation, controls,
baselines, screening) lives in the study package; this module only arranges its results as the
notebook shows them: the label counts against the paper's Table 1, the k-fold comparison with
the paper's Fig. 3, the LOCO table of Figs. 4/5, the test-set metrics of Fig. 6, the screening
table of Fig. 7 and Table 2, and the chapter's ``metrics.json`` entries.  AUC-PR, MCC and ROC-AUC
are dimensionless; band gaps in eV; conductivities in S/cm; times in s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from matmap_utils import viz
from matmap_utils.screening import baselines, candidates, splits
from matmap_utils.screening import cv as screening_cv
from matmap_utils.screening import hpo as screening_hpo
from matmap_utils.screening.atomsets import features, model, training
from matmap_utils.screening.atomsets.configs import config_name, feature_dim, paper_config
from matmap_utils.screening.megnet import pool as megnet_pool
from matmap_utils.screening.metrics import classification_metrics

#: The paper's Table 1: entries, superionic, not superionic, test set, train + validation.
PAPER_TABLE1 = [548, 211, 337, 55, 493]
#: Columns of a CV comparison.
SUMMARY_COLUMNS = ["auc_pr", "auc_pr_std", "mcc", "mcc_std"]


# ---- labelled data and features ---------------------------------------------------------------
def labelled_entries(mc: pd.DataFrame, label_limit: int = 0, seed: int = 0) -> pd.DataFrame:
    """The paper's entries that have a public structure (a seeded subset of ``label_limit`` when
    set), with ``key`` (the index as text) and ``disordered`` (partial occupancies) columns."""
    lab = mc[mc["structure"].notna()].copy()
    if label_limit:
        lab = lab.sample(n=min(label_limit, len(lab)), random_state=seed).sort_index()
    lab["key"] = [str(i) for i in lab.index]
    lab["disordered"] = [not s.is_ordered for s in lab["structure"]]
    return lab


def _counts(df: pd.DataFrame) -> list[int]:
    return [
        len(df),
        int(df.superionic.sum()),
        int((~df.superionic).sum()),
        int(df.split_test.sum()),
        int((~df.split_test).sum()),
    ]


def label_counts(mc: pd.DataFrame, lab: pd.DataFrame) -> pd.DataFrame:
    """Entries, superionic, not superionic, test and train + validation entries: the paper's
    Table 1, the entries with a public (OBELiX) CIF and the entries used here."""
    return pd.DataFrame(
        {
            "paper (Table 1)": PAPER_TABLE1,
            "with a public (OBELiX) CIF": _counts(mc[mc.structure.notna()]),
            "used here": _counts(lab),
        },
        index=["entries", "superionic", "not superionic", "test set", "train + validation"],
    )


def labels_text(mc: pd.DataFrame, lab: pd.DataFrame, label_limit: int) -> str:
    """How much of the paper's data set is public and used here, and the sizes of its splits
    (548 entries, 211 superionic: McHaffie et al. 2025, Table 1)."""
    n_cif = int(mc["structure"].notna().sum())
    n_kfold = mc["kfold"].nunique() if "kfold" in mc else 0
    n_loco = mc["loco_cluster"].nunique() if "loco_cluster" in mc else 0
    return (
        f"{n_cif} of the paper's 548 entries have a public structure ({100 * n_cif / 548:.0f} %); "
        f"{len(lab)} are used here{' (a CI subset)' if label_limit else ''}, {int(lab.disordered.sum())} of them "
        f"disordered. The positive fraction is {lab.superionic.mean():.2f} here against 211/548 = 0.39 in the "
        f"paper. The paper's split files: a {int(mc['split_test'].sum())}-entry test set "
        f"({int(lab['split_test'].sum())} here), {n_kfold} k-fold folds and {n_loco} LOCO clusters. "
        "All metrics below are computed on a data set less than half the size of the paper's, with the "
        "same fold and cluster assignments. The other OBELiX CIFs (entries without a McHaffie label) are not "
        "used for training, so that the paper's splits stay intact."
    )


def featurized_only(lab: pd.DataFrame, feats: dict) -> pd.DataFrame:
    """The entries featurized under every (mode, level) of ``feats``."""
    ok_keys = set.intersection(*[set(v) for v in feats.values()])
    return lab[lab["key"].isin(ok_keys)].copy()


def mats(feats: dict, config: tuple[str, int], frame: pd.DataFrame) -> list[np.ndarray]:
    """The site-feature matrices of ``config`` = (mode, level) for the entries of ``frame``, in order."""
    return [feats[config][k] for k in frame["key"]]


# ---- k-fold cross-validation and baselines (Fig. 3) -------------------------------------------
@dataclass
class CVSetup:
    """What every cross-validation of the chapter shares: features, the train + validation frame,
    its labels, the AtomSets settings (:func:`paper_config` keywords) and the repeat protocol."""

    feats: dict
    trval: pd.DataFrame
    y: np.ndarray
    cfg_kw: dict
    n_repeats: int
    seed: int
    eval_every: int
    records: dict = field(default_factory=dict)
    n_jobs: int | None = 1  # folds trained at the same time (None: all cores; same numbers)

    def cv(self, config: tuple[str, int], folds, scheme: str | None = None) -> pd.DataFrame:
        """:func:`matmap_utils.screening.cv.cv_atomsets` of ``config`` on ``folds``; with ``scheme``
        the CV frame, validation probabilities and folds are kept in ``records[(config, scheme)]``."""
        return self.cv_many([config], folds, scheme)[config]

    def cv_many(self, configs, folds, scheme: str | None = None) -> dict:
        """:meth:`cv` of every configuration, their folds trained in one pool of ``n_jobs``
        workers (:func:`matmap_utils.screening.cv.cv_atomsets_many`); {config: CV frame}."""
        configs = list(configs)
        probas: list[dict] = [{} for _ in configs]
        frames = screening_cv.cv_atomsets_many(
            [(mats(self.feats, c, self.trval), paper_config(c[1], **self.cfg_kw)) for c in configs],
            self.y,
            folds,
            n_repeats=self.n_repeats,
            seed=self.seed,
            eval_every=self.eval_every,
            proba_outs=probas,
            n_jobs=self.n_jobs,
        )
        if scheme is not None:
            for c, cv, proba in zip(configs, frames, probas):
                self.records[(c, scheme)] = (cv, proba, folds)
        return dict(zip(configs, frames))


def kfold_table(setup: CVSetup, configs, folds, scheme: str = "kfold") -> tuple[pd.DataFrame, dict, float]:
    """k-fold summary (:func:`~matmap_utils.screening.cv.atomsets_summary`) of each configuration, one
    row per ``AS-<mode>-V<level>``; the per-configuration CV frames; the wall time (s)."""
    t0 = time.perf_counter()
    rows, cvs = [], setup.cv_many(configs, folds, scheme)
    for config, cv in cvs.items():
        s = screening_cv.atomsets_summary(cv)
        rows.append({"model_feature": config_name(*config), **{k: v for k, v in s.items() if k != "per_fold"}})
    return pd.DataFrame(rows).set_index("model_feature"), cvs, time.perf_counter() - t0


def sendek_matrix(lab: pd.DataFrame, n_jobs: int | None) -> np.ndarray:
    """Sendek et al.'s five features of every entry (rows in ``lab`` order); NaN where a feature
    could not be computed — imputed inside each fold by :func:`baselines.logistic_model`, never here
    (a median over all rows would let the test rows leak into training)."""
    sendek = baselines.sendek_frame(lab["structure"].tolist(), lab["key"].tolist(), n_jobs=n_jobs)
    X = sendek.loc[lab["key"], list(baselines.SENDEK_FEATURES)].to_numpy(float)
    return np.where(np.isfinite(X), X, np.nan)


def with_baseline_rows(kfold: pd.DataFrame, lr_sum: dict, lr_cv: pd.DataFrame) -> pd.DataFrame:
    """The k-fold table with the rows ``LR-Atomistic`` (logistic regression), ``Mean Control`` and
    ``Shuffled Control`` (mean and std over folds of the controls of the logistic-regression CV)."""
    kfold = kfold.copy()
    ctrl = lr_cv[["mean_auc_pr", "mean_mcc", "shuffled_auc_pr", "shuffled_mcc"]].agg(["mean", "std"])
    kfold.loc["LR-Atomistic", SUMMARY_COLUMNS] = [lr_sum[c] for c in SUMMARY_COLUMNS]
    kfold.loc["Mean Control", SUMMARY_COLUMNS] = [
        ctrl.loc["mean", "mean_auc_pr"],
        ctrl.loc["std", "mean_auc_pr"],
        ctrl.loc["mean", "mean_mcc"],
        0.0,
    ]
    kfold.loc["Shuffled Control", SUMMARY_COLUMNS] = [
        ctrl.loc["mean", "shuffled_auc_pr"],
        ctrl.loc["std", "shuffled_auc_pr"],
        ctrl.loc["mean", "shuffled_mcc"],
        ctrl.loc["std", "shuffled_mcc"],
    ]
    return kfold


def compare_with_paper(kfold: pd.DataFrame, paper_kfold: pd.DataFrame) -> pd.DataFrame:
    """Our AUC-PR / MCC (mean and std) next to the paper's (``paper_`` columns) per row."""
    return kfold[SUMMARY_COLUMNS].join(paper_kfold.add_prefix("paper_"), how="left")


def kfold_figure(cmp: pd.DataFrame):
    """Fig. 3 counterpart: AUC-PR and MCC per configuration, ours and the paper's, with our controls."""
    fig, axes = plt.subplots(2, 1, figsize=(viz.FIG_WIDTH_IN, 7.0), sharex=True)
    order = [i for i in cmp.index if i.startswith("AS-")] + ["LR-Atomistic"]
    xpos = np.arange(len(order))
    for ax, m, label in zip(axes, ["auc_pr", "mcc"], ["AUC-PR", "MCC"]):
        ax.errorbar(xpos - 0.15, cmp.loc[order, m], yerr=cmp.loc[order, f"{m}_std"], fmt="o", label="this work")
        ax.errorbar(
            xpos + 0.15,
            cmp.loc[order, f"paper_{m}"],
            yerr=cmp.loc[order, f"paper_{m}_std"],
            fmt="s",
            mfc="none",
            label="McHaffie et al.",
        )
        for c, ls in [("Mean Control", "--"), ("Shuffled Control", ":")]:
            ax.axhline(cmp.loc[c, m], color="grey", ls=ls, label=f"{c.lower()} (ours)")
        ax.set_xticks(xpos, [o.replace("AS-", "") for o in order], rotation=70)
        ax.set_ylabel(label)
    axes[1].set_xlabel("configuration (simplification–MEGNet layer)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    fig.suptitle("Fig. 3 (McHaffie et al.): k-fold CV, this work vs the paper")
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def best_kfold(kfold: pd.DataFrame) -> tuple[pd.DataFrame, str, bool]:
    """The AtomSets rows, the name of the best by AUC-PR, and whether every AtomSets configuration
    beats both controls in AUC-PR and in MCC."""
    as_rows = kfold.loc[[i for i in kfold.index if i.startswith("AS-")]]
    controls = kfold.loc[["Mean Control", "Shuffled Control"]]
    beats = bool(
        (as_rows["auc_pr"] > controls["auc_pr"].max()).all() and (as_rows["mcc"] > controls["mcc"].max()).all()
    )
    return as_rows, as_rows["auc_pr"].idxmax(), beats


def kfold_text(kfold, as_rows, best_name, beats, paper_kfold, lr_sum, best_C, y_tv) -> str:
    """The k-fold result against the paper, the logistic regression and the controls."""
    best = as_rows.loc[best_name]
    return (
        f"Best configuration by k-fold AUC-PR: **{best_name}**, AUC-PR {best['auc_pr']:.3f} ± "
        f"{best['auc_pr_std']:.3f}, MCC {best['mcc']:.3f} (paper's best: "
        f"AS-CAN-V0 0.895 / AS-CAMN-V0 0.893; the paper's value for {best_name}: "
        f"{paper_kfold['auc_pr'].get(best_name, float('nan')):.3f}). Logistic regression: AUC-PR "
        f"{lr_sum['auc_pr']:.3f}, MCC {lr_sum['mcc']:.3f} (C = {best_C}). Controls: mean "
        f"{kfold.loc['Mean Control', 'auc_pr']:.3f}, shuffled {kfold.loc['Shuffled Control', 'auc_pr']:.3f}. "
        f"Every AtomSets configuration beats both controls in AUC-PR and MCC: **{beats}**. The controls' AUC-PR "
        f"equals the positive fraction of the validation folds ({y_tv.mean():.2f} here, 0.38 in the paper), so "
        "absolute AUC-PR values are comparable between the two data sets only up to that shift."
    )


# ---- LOCO cross-validation (Figs. 4 and 5) -----------------------------------------------------
def loco_table(setup: CVSetup, configs, folds, clusters, X_tv: np.ndarray) -> tuple[pd.DataFrame, float]:
    """One row per (configuration, LOCO cluster) with the validation metrics and controls at the
    best epoch, then the logistic regression (``LR-Atomistic``) on the Sendek features ``X_tv`` of
    the train + validation entries; and the wall time (s)."""
    t0 = time.perf_counter()
    rows = []
    for config, cv in setup.cv_many(configs, folds, "loco").items():
        s = screening_cv.atomsets_summary(cv)
        for rec, cl in zip(s["per_fold"], clusters):
            rows.append({"model_feature": config_name(*config), "cluster": int(cl), **rec})
    _, lr_loco = baselines.logistic_baseline(X_tv, setup.y, folds, seed=setup.seed)
    for _i, rec in lr_loco.iterrows():
        rows.append({"model_feature": "LR-Atomistic", "cluster": int(clusters[int(rec["fold"])]), **rec.to_dict()})
    return pd.DataFrame(rows), time.perf_counter() - t0


def loco_means(loco: pd.DataFrame) -> pd.DataFrame:
    """Per configuration the NaN-mean over clusters of AUC-PR, MCC and their controls."""
    cols = ["auc_pr", "mcc", "mean_auc_pr", "shuffled_auc_pr", "mean_mcc", "shuffled_mcc"]
    return loco.groupby("model_feature")[cols].agg(lambda s: np.nanmean(s))


def loco_figure(loco: pd.DataFrame):
    """Figs. 4/5 counterpart: AUC-PR and MCC per LOCO cluster and configuration, with the controls."""
    fig, axes = plt.subplots(2, 1, figsize=(viz.FIG_WIDTH_IN, 7.0), sharex=True)
    for ax, m in zip(axes, ["auc_pr", "mcc"]):
        piv = loco.pivot_table(index="cluster", columns="model_feature", values=m)
        for j, col in enumerate(piv.columns):
            ax.plot(piv.index + (j - len(piv.columns) / 2) * 0.05, piv[col], "o", ms=4, label=col)
        ctl = loco.groupby("cluster")[[f"mean_{m}", f"shuffled_{m}"]].mean()
        ax.plot(ctl.index, ctl[f"mean_{m}"], "k_", ms=14, label="mean control")
        ax.plot(ctl.index, ctl[f"shuffled_{m}"], "kx", label="shuffled control")
        ax.set_ylabel(m.upper().replace("_", "-"))
    axes[1].set_xlabel("validation cluster (paper's LOCO clusters)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.suptitle("Figs. 4/5 (McHaffie et al.): LOCO CV per cluster")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def loco_for_table(loco: pd.DataFrame) -> pd.DataFrame:
    """The LOCO table as saved: object columns other than ``model_feature`` dropped."""
    return loco.drop(columns=[c for c in loco.columns if loco[c].dtype == object and c != "model_feature"])


# ---- hyperparameter search per LOCO cluster ----------------------------------------------------
def hpo_fold_ids(hpo_clusters, clusters: list) -> list[int]:
    """Fold numbers of the LOCO clusters to search: every fold for ``"all"``, else those of the
    listed cluster labels."""
    return list(range(len(clusters))) if hpo_clusters == "all" else [clusters.index(c) for c in hpo_clusters]


def hpo_per_cluster(setup: CVSetup, folds, config, hpo_clusters, clusters: list, loco: pd.DataFrame, **kw):
    """:func:`matmap_utils.screening.hpo.hpo_per_fold` of ``config`` on the LOCO clusters
    ``hpo_clusters`` (``"all"`` or cluster labels; ``kw``: ``num_samples``, ``epochs``,
    ``grace_period``), with each cluster's label and untuned LOCO AUC-PR (:func:`with_untuned`)."""
    hpo = screening_hpo.hpo_per_fold(
        mats(setup.feats, config, setup.trval),
        setup.y,
        folds,
        fold_ids=hpo_fold_ids(hpo_clusters, clusters),
        input_dim=feature_dim(config[1]),
        seed=setup.seed,
        **kw,
    )
    return with_untuned(hpo, loco, clusters, config)


def with_untuned(hpo: pd.DataFrame, loco: pd.DataFrame, clusters: list, config: tuple[str, int]) -> pd.DataFrame:
    """The per-fold search table with its ``cluster`` label and the untuned LOCO AUC-PR of the same
    configuration on that cluster (``untuned_auc_pr``; NaN when it was not cross-validated)."""
    hpo = hpo.copy()
    hpo["cluster"] = [int(clusters[f]) for f in hpo["fold"]]
    untuned = loco[loco["model_feature"] == config_name(*config)].set_index("cluster")["auc_pr"]
    hpo["untuned_auc_pr"] = hpo["cluster"].map(untuned)
    return hpo


def hpo_text(hpo: pd.DataFrame, config: tuple[str, int]) -> str:
    """The search's trials, time and best validation AUC-PR against the untuned settings."""
    ok = hpo[hpo["skipped"].isna()]
    name = config_name(*config)
    vs = (
        f"against {ok['untuned_auc_pr'].mean():.3f} with the untuned k-fold settings (same clusters)"
        if ok["untuned_auc_pr"].notna().all()
        else f"({name} is not among the LOCO configurations above, so there is no untuned number to compare with)"
    )
    return (
        f"Search on {len(ok)} cluster(s) with {name} features ({len(hpo) - len(ok)} skipped: one class in "
        f"the validation cluster): {int(ok['n_trials'].sum())} trials in {ok['wall_s'].sum():.0f} s; best validation "
        f"AUC-PR {ok['val_pr_auc'].mean():.3f} on average {vs}."
    )


def recompute_clusters(mc: pd.DataFrame, seed: int) -> tuple[float, str]:
    """The ElMD → UMAP → DBSCAN clustering (:func:`matmap_utils.screening.splits.loco_clusters`) of
    all the paper's entries, recomputed: its adjusted Rand index with the paper's clusters, and a
    sentence (NaN and the reason when the recomputation fails)."""
    formulas = mc["normalized_formula"].str.replace(" ", "").fillna(mc["compound"]).tolist()
    try:
        ours, _ = splits.loco_clusters(formulas, seed=seed)
        ari = adjusted_rand_score(mc["loco_cluster"].astype(int), ours)
    except Exception as exc:  # noqa: BLE001 - UMAP/ElMD problems must not stop the chapter
        return float("nan"), f"Cluster recomputation failed: {exc}"
    return ari, (
        f"Recomputed ElMD → UMAP (spread 5) → DBSCAN (eps 4) clustering of all 548 entries: "
        f"{len(set(ours) - {-1})} clusters and {int((ours == -1).sum())} noise points, against "
        f"the paper's 10; adjusted Rand index with the paper's clusters = {ari:.2f}. UMAP is stochastic and "
        "version-dependent, so the paper's exact clusters are used for the comparison above."
    )


# ---- final ensemble and the test set (Fig. 6) --------------------------------------------------
def final_epochs(kfold_cv: dict, config: tuple[str, int]) -> int:
    """The best k-fold epoch of the final configuration (it must have been cross-validated)."""
    if config not in kfold_cv:
        raise ValueError(f"final configuration {config[0]}-V{config[1]} must be among the k-fold configurations")
    return screening_cv.atomsets_summary(kfold_cv[config])["epoch"]


def train_final(setup: CVSetup, config, epochs: int, n_ensemble: int, member_chunk: int, n_jobs):
    """The final ensemble: ``n_ensemble`` members (seeds ``seed * 10000 + i``) of ``config`` trained on
    every train + validation entry for ``epochs`` epochs, in blocks of ``member_chunk`` stacked members
    in parallel processes (the fastest layout on a CPU, ``benchmarks/bench_atomsets.py``); and the
    wall time (s)."""
    t0 = time.perf_counter()
    final = training.train_ensemble(
        paper_config(config[1], **{**setup.cfg_kw, "epochs": int(epochs)}),
        model.pack_sets(mats(setup.feats, config, setup.trval), dedup=True),
        setup.y,
        seeds=[setup.seed * 10_000 + i for i in range(n_ensemble)],
        data_seed=setup.seed,
        member_chunk=member_chunk,
        n_jobs=n_jobs,
    ).model
    return final, time.perf_counter() - t0


def ensemble_test(final, feats: dict, config, test: pd.DataFrame) -> tuple[np.ndarray, dict]:
    """Member probabilities (members × test entries) and the metrics of the ensemble mean."""
    p_test = final.predict_proba(model.pack_sets(mats(feats, config, test), dedup=True))
    return p_test, classification_metrics(test["superionic"].to_numpy(int), p_test.mean(0))


def logistic_test(X: np.ndarray, lab: pd.DataFrame, best_C: float) -> dict:
    """Logistic regression (:func:`baselines.logistic_model`, C = ``best_C``; imputation and scaling
    fitted with it) on the train + validation entries of ``lab``, scored on its test entries."""
    test_mask = lab["split_test"].to_numpy()
    tv_pos, test_pos = np.where(~test_mask)[0], np.where(test_mask)[0]
    y = lab["superionic"].to_numpy(int)
    lr_model = baselines.logistic_model(best_C).fit(X[tv_pos], y[tv_pos])
    return classification_metrics(y[test_pos], lr_model.predict_proba(X[test_pos])[:, 1])


def save_final(final, setup: CVSetup, config, profile: str, epochs: int, reference=None):
    """Save the ensemble where ``matmap screen`` finds it, with the mean feature vectors and formulas of
    its training entries, the domain threshold and the labelled ``reference`` compositions of the
    novelty filter; returns (folder, training vectors, domain threshold)."""
    train_vecs = features.set_vectors(mats(setup.feats, config, setup.trval))
    dom_thr = candidates.domain_threshold(train_vecs)
    model_dir = candidates.save_screening_model(
        final,
        candidates.default_model_dir(),
        mode=config[0],
        layer=config[1],
        train_vectors=train_vecs,
        train_formulas=setup.trval["compound"].tolist(),
        extra={"profile": profile, "epochs": int(epochs)},
        reference_formulas=[str(c.formula) for c in reference] if reference is not None else None,
        out_of_domain_above=dom_thr,
    )
    return model_dir, train_vecs, dom_thr


def fig6_figure(test: pd.DataFrame, p_test: np.ndarray, config, test_metrics: dict):
    """Fig. 6 counterpart: ensemble P_SI (mean ± SD) against the measured log10 σ of the test entries."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.errorbar(test["log10_sigma"], p_test.mean(0), yerr=p_test.std(0), fmt="o", ms=4, alpha=0.8)
    ax.axvline(-4, ls="--", color="grey")
    ax.axhline(0.5, ls="--", color="grey")
    ax.set_xlabel("log10 σ_exp (S/cm)")
    ax.set_ylabel("P_SI (ensemble mean ± SD)")
    ax.set_title(
        f"Fig. 6: test set, {config[0]}-V{config[1]} ensemble "
        f"(AUC-PR {test_metrics['auc_pr']:.2f}, MCC {test_metrics['mcc']:.2f})"
    )
    return fig


def fig6_text(
    n_test: int, n_paper_test: int, n_ensemble: int, t_final: float, epochs: int, test_metrics: dict, lr_test: dict,
    mcc_step: float,
) -> str:  # fmt: skip
    """The test-set metrics of the ensemble and the logistic regression against the paper's (its
    Sec. 2.3 and Fig. 6: ensemble AUC-PR 0.86, MCC 0.60; logistic regression 0.80 and 0.26);
    ``mcc_step``: the mean ``|ΔMCC|`` of one misclassification (:func:`ch06_validation.mcc_one_flip`)."""
    return (
        f"Test set: {n_test} of the paper's {n_paper_test} entries have a structure. Ensemble of {n_ensemble} "
        f"(trained in {t_final:.0f} s, {epochs} epochs): AUC-PR {test_metrics['auc_pr']:.2f}, MCC "
        f"{test_metrics['mcc']:.2f}, ROC-AUC {test_metrics['roc_auc']:.2f} (paper: 0.86 and 0.60). Logistic "
        f"regression: AUC-PR {lr_test['auc_pr']:.2f}, MCC {lr_test['mcc']:.2f} (paper: 0.80 and 0.26). With so few "
        f"test entries one misclassification moves the ensemble's MCC by {mcc_step:.2f} on average."
    )


# ---- band gaps and pre-training --------------------------------------------------------------
def band_gap_predictions(pool, mp_gaps, megnet_gap_for_unknown: bool, check_limit: int, seed: int, n_jobs):
    """MEGNet predictions (formation energy, band gap) for the whole pool, or — without
    ``megnet_gap_for_unknown`` — for a seeded sample of ``check_limit`` pool compounds that have an MP
    band gap (the parity check only); returns ``(predictions, failures)``."""
    if megnet_gap_for_unknown:
        return megnet_pool.pool_predictions(pool, n_jobs=n_jobs)
    chk = [i for i in pool.index if i in mp_gaps.index]
    chk = list(pd.Series(chk).sample(n=min(check_limit or len(chk), len(chk)), random_state=seed))
    return megnet_pool.pool_predictions(pool.loc[chk], n_jobs=n_jobs)


def bandgap_figure(bg_join: pd.DataFrame, bg_metrics: dict):
    """Parity plot of our MEGNet band gaps against the MP band gaps (eV)."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(bg_join["mp_band_gap_eV"], bg_join["megnet_band_gap_eV"], s=4, alpha=0.4)
    lim = [0, max(1.0, float(bg_join[["mp_band_gap_eV", "megnet_band_gap_eV"]].max().max()))]
    ax.plot(lim, lim, "k--", lw=1)
    ax.set_xlabel("MP band gap (eV)")
    ax.set_ylabel("MEGNet band gap (eV)")
    ax.set_title(f"MEGNet vs MP: MAE {bg_metrics['mae_eV']:.2f} eV (n = {bg_metrics['n']})")
    return fig


def pretraining_sets(pool, p_nonmetal: pd.Series, config, n_compounds: int, seed: int, n_jobs):
    """The substitute pre-training task, closest to MatBench ``is_metal``: a seeded sample of
    ``n_compounds`` pool compounds with a MEGNet metal-classifier output, featurized as ``config``,
    labelled non-metal (P(non-metal) ≥ 0.5) or metal; returns (matrices, labels)."""
    pnm = p_nonmetal.dropna()
    ids = list(pnm.sample(n=min(int(n_compounds), len(pnm)), random_state=seed).index)
    pre_feats, _ = features.featurize(pool.loc[ids, "structure"], modes=[config[0]], layers=[config[1]], n_jobs=n_jobs)
    ids = [i for i in ids if i in pre_feats[config]]
    return [pre_feats[config][i] for i in ids], (pnm.loc[ids] >= 0.5).to_numpy(int)


def pretraining_comparison(setup: CVSetup, folds, config, pre_mats, pre_y, pre_epochs: int):
    """:func:`matmap_utils.screening.cv.pretraining_effect` of ``config``: k-fold CV from random and
    from pre-trained weights (same folds, seeds and data order); returns (table, info)."""
    return screening_cv.pretraining_effect(
        mats(setup.feats, config, setup.trval),
        setup.y,
        folds,
        paper_config(config[1], **setup.cfg_kw),
        pre_mats,
        pre_y,
        n_repeats=setup.n_repeats,
        seed=setup.seed,
        pre_epochs=pre_epochs,
        eval_every=setup.eval_every,
        n_jobs=setup.n_jobs,
    )


def pretraining_text(tab: pd.DataFrame, info: dict, config) -> str:
    """How pre-training changes the k-fold AUC-PR and MCC, against the fold-to-fold spread."""
    pt = tab.set_index(["variant", "epoch_choice"])
    d_best = pt.loc[("pre-trained", "best epoch"), "auc_pr"] - pt.loc[("random init", "best epoch"), "auc_pr"]
    d_last = pt.loc[("pre-trained", "last epoch"), "auc_pr"] - pt.loc[("random init", "last epoch"), "auc_pr"]
    d_mcc = pt.loc[("pre-trained", "best epoch"), "mcc"] - pt.loc[("random init", "best epoch"), "mcc"]
    toy = " This is a toy-sized run of the CI profile; its numbers say nothing about pre-training."
    return (
        f"Pre-training on {info['n_train']} MP Li compounds ({100 * info['positive_fraction']:.0f} % "
        f"called non-metals by the MEGNet metal classifier; held-out AUC-PR of the substitute task "
        f"{info.get('val_auc_pr', float('nan')):.2f}) changes the k-fold AUC-PR of {config_name(*config)} by "
        f"{d_best:+.3f} at the best epoch and {d_last:+.3f} at the last epoch (MCC {d_mcc:+.3f}); "
        f"the fold-to-fold standard deviation is {pt.loc[('random init', 'best epoch'), 'auc_pr_std']:.3f}."
        + (toy if info["n_train"] < 1000 else "")
    )


# ---- metrics.json ---------------------------------------------------------------------------------
def kfold_metrics(kfold, as_rows, best_name: str, beats: bool, lr_sum: dict, paper_kfold) -> dict:
    """k-fold entries of ``metrics.json``: the best configuration, its AUC-PR / MCC (and the
    paper's AUC-PR), the controls and the logistic regression."""
    return {
        "kfold_best_config": best_name,
        "kfold_auc_pr": float(as_rows.loc[best_name, "auc_pr"]),
        "kfold_mcc": float(as_rows.loc[best_name, "mcc"]),
        "kfold_auc_pr_paper": float(paper_kfold["auc_pr"].get(best_name, np.nan)),
        "kfold_all_beat_controls": beats,
        "kfold_mean_control_auc_pr": float(kfold.loc["Mean Control", "auc_pr"]),
        "kfold_shuffled_control_auc_pr": float(kfold.loc["Shuffled Control", "auc_pr"]),
        "kfold_shuffled_control_mcc": float(kfold.loc["Shuffled Control", "mcc"]),
        "kfold_lr_auc_pr": float(lr_sum["auc_pr"]),
        "kfold_lr_mcc": float(lr_sum["mcc"]),
    }


def loco_metrics(loco: pd.DataFrame, best_name: str, final_name: str) -> dict:
    """LOCO entries of ``metrics.json``: cluster means of the best k-fold configuration (or, when it
    was not run under LOCO, of the final configuration); None when neither was."""
    names = set(loco["model_feature"])
    sel = loco[loco["model_feature"] == (best_name if best_name in names else final_name)]
    if not len(sel):
        keys = ("loco_config", "loco_auc_pr", "loco_mcc", "loco_mean_control_auc_pr", "loco_shuffled_control_mcc")
        return dict.fromkeys(keys)
    return {
        "loco_config": str(sel["model_feature"].iloc[0]),
        "loco_auc_pr": float(np.nanmean(sel["auc_pr"])),
        "loco_mcc": float(np.nanmean(sel["mcc"])),
        "loco_mean_control_auc_pr": float(np.nanmean(sel["mean_auc_pr"])),
        "loco_shuffled_control_mcc": float(np.nanmean(sel["shuffled_mcc"])),
    }


def hpo_metrics(hpo: pd.DataFrame | None, hpo_config: str) -> dict:
    """Search entries of ``metrics.json`` (none without a search or without a searched cluster)."""
    if hpo is None or not len(hpo[hpo["skipped"].isna()]):
        return {}
    ok = hpo[hpo["skipped"].isna()]
    return {
        "hpo_config": hpo_config,
        "hpo_n_clusters": int(len(ok)),
        "hpo_trials": int(ok["n_trials"].sum()),
        "hpo_best_val_auc_pr_mean": float(ok["val_pr_auc"].mean()),
        "hpo_untuned_auc_pr_mean": float(ok["untuned_auc_pr"].mean()),
        "time_hpo_s": float(ok["wall_s"].sum()),
    }


def pretrain_metrics(tab: pd.DataFrame | None, info: dict, pretrain_config: str) -> dict:
    """Pre-training entries of ``metrics.json``: AUC-PR and MCC of each variant at the best and the
    last epoch (``pretrain_<random|pretrained>_<best|last>_<metric>``)."""
    if tab is None:
        return {}
    pt = tab.set_index(["variant", "epoch_choice"])
    return {
        "pretrain_config": pretrain_config,
        "pretrain_n": info["n_train"],
        "pretrain_task_val_auc_pr": info.get("val_auc_pr"),
        **{
            f"pretrain_{v.split()[0].replace('-', '')}_{e.split()[0]}_{m}": float(pt.loc[(v, e), m])
            for v in ("random init", "pre-trained")
            for e in ("best epoch", "last epoch")
            for m in ("auc_pr", "mcc")
        },
    }


def final_metrics(config, n_ensemble: int, epochs: int, test_metrics: dict, lr_test: dict) -> dict:
    """Final-ensemble entries of ``metrics.json``: configuration, size, epochs and the test-set
    AUC-PR / MCC / ROC-AUC of the ensemble and AUC-PR / MCC of the logistic regression."""
    return {
        "final_config": config_name(*config),
        "n_ensemble": int(n_ensemble),
        "final_epochs": int(epochs),
        **{f"test_{k}": test_metrics[k] for k in ("auc_pr", "mcc", "roc_auc")},
        **{f"test_lr_{k}": lr_test[k] for k in ("auc_pr", "mcc")},
    }


def timing_metrics(**seconds: float) -> dict:
    """``time_<step>_s`` entries of ``metrics.json`` (wall times in s)."""
    return {f"time_{k}_s": v for k, v in seconds.items()}
