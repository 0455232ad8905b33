"""Chapter 06: uncertainty of every comparison with McHaffie et al. (2025) and the pool-level
validation of the screening.

* Bootstrap 95 % intervals (:func:`matmap_utils.core.bootstrap.bootstrap_ci`) of the k-fold and
  LOCO AUC-PR / MCC — validation entries resampled within their fold or cluster, the statistic
  recomputed exactly as the point value (per fold: metric of each repeat, averaged over repeats;
  then averaged over folds) — and of the test-set metrics of the ensemble mean.
* Enrichment of held-out superionic compounds among the top 1/5/10 % of the pool screening: the
  test set under the final ensemble, and each LOCO cluster under an ensemble trained without it.
* The effect of the paper's oxidation-state simplification on CAMNS/CANS k-fold scores.

AUC-PR (average precision) and MCC are dimensionless.
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pymatgen.core import Composition
from scipy.stats import binom

from matmap_utils.core.bootstrap import bootstrap_ci
from matmap_utils.core.metrics import average_precision, mcc
from matmap_utils.screening import cv as screening_cv
from matmap_utils.screening import filters
from matmap_utils.screening.atomsets.configs import config_name, paper_config
from matmap_utils.screening.atomsets.model import pack_sets
from matmap_utils.screening.hpo import HPO_SPACE
from matmap_utils.screening.metrics import classification_metrics

# ---- the interval metrics (numpy, equal to sklearn's; core.metrics) ------------------------------
METRICS = {"auc_pr": average_precision, "mcc": mcc}


# ---- intervals of cross-validation and test metrics --------------------------------------------
def cv_interval(proba: dict, folds, y: np.ndarray, epoch: int, metric: str, n_boot: int = 1000, seed: int = 0):
    """Bootstrap interval of a CV score at ``epoch``: entries resampled within each fold; per fold the
    metric of each repeat (``proba[(fold, epoch)]``: repeats × entries) averaged, then NaN-averaged
    over folds (one-class resamples count as NaN, as one-class LOCO clusters do in the point value)."""
    fn = METRICS[metric]
    P = np.concatenate([proba[(k, epoch)] for k in range(len(folds))], axis=1)
    yy = np.concatenate([np.asarray(y)[va] for _, va in folds])
    fold = np.concatenate([np.full(len(va), k) for k, (_, va) in enumerate(folds)])

    def stat(ix):
        vals = []
        for k in range(len(folds)):
            sel = ix[fold[ix] == k]
            vals.append(np.mean([fn(yy[sel], P[r, sel]) for r in range(len(P))]) if len(sel) else np.nan)
        return np.nanmean(vals) if np.isfinite(vals).any() else np.nan

    return bootstrap_ci(stat, np.arange(len(yy)), n_boot=n_boot, seed=seed, strata=fold)


def cv_intervals(records: dict, y: np.ndarray, n_boot: int, seed: int) -> pd.DataFrame:
    """AUC-PR / MCC with 95 % intervals for every cross-validated configuration; ``records``:
    ``{(config, scheme): (cv frame, proba dict, folds)}`` (:class:`~ch06_atomsets_screening.CVSetup`)."""
    rows = []
    for (config, scheme), (cv, proba, folds) in records.items():
        epoch = screening_cv.atomsets_summary(cv)["epoch"]
        row = {"scheme": scheme, "model_feature": config_name(*config), "epoch": epoch}
        for m in METRICS:
            iv = cv_interval(proba, folds, y, epoch, m, n_boot=n_boot, seed=seed)
            row.update({m: iv.value, f"{m}_lo": iv.lo, f"{m}_hi": iv.hi})
        rows.append(row)
    return pd.DataFrame(rows)


def test_intervals(y_test, p_mean, n_boot: int, seed: int) -> dict:
    """AUC-PR and MCC of the ensemble mean on the test entries with bootstrap 95 % intervals."""
    out = {}
    for m, fn in METRICS.items():
        iv = bootstrap_ci(fn, np.asarray(y_test, int), np.asarray(p_mean), n_boot=n_boot, seed=seed)
        out.update({m: iv.value, f"{m}_lo": iv.lo, f"{m}_hi": iv.hi})
    return out


def paper_comparison(ci: pd.DataFrame, paper: dict) -> pd.DataFrame:
    """Our interval next to the paper's value (``paper``: {(scheme, model_feature, metric): value}),
    with ``paper_in_ci``; the protocol column says what differs from the paper."""
    rows = []
    for _, r in ci.iterrows():
        for m in METRICS:
            pv = paper.get((r["scheme"], r["model_feature"], m), np.nan)
            rows.append(
                {
                    "scheme": r["scheme"],
                    "model_feature": r["model_feature"],
                    "metric": m,
                    "ours": r[m],
                    "ci_lo": r[f"{m}_lo"],
                    "ci_hi": r[f"{m}_hi"],
                    "paper": pv,
                    "paper_in_ci": bool(r[f"{m}_lo"] <= pv <= r[f"{m}_hi"]) if np.isfinite(pv) else None,
                }
            )
    return pd.DataFrame(rows)


def paper_values(paper_kfold: pd.DataFrame, paper_loco: pd.DataFrame | None = None) -> dict:
    """{(scheme, model_feature, metric): value} from the paper's k-fold table (and LOCO means, when
    given as a frame indexed by model_feature with ``auc_pr`` / ``mcc``), plus its test set (Fig. 6)."""
    out = {("kfold", i, m): float(paper_kfold.at[i, m]) for i in paper_kfold.index for m in METRICS}
    if paper_loco is not None:
        out.update({("loco", i, m): float(paper_loco.at[i, m]) for i in paper_loco.index for m in METRICS})
    out.update({("test", "ensemble", "auc_pr"): 0.86, ("test", "ensemble", "mcc"): 0.60})
    return out


def comparison_metrics(cmp: pd.DataFrame) -> dict:
    """``metrics.json`` entries ``ci_<scheme>_<config>_<metric>_{value,lo,hi,paper}``."""
    out = {}
    for _, r in cmp.iterrows():
        k = f"ci_{r['scheme']}_{r['model_feature']}_{r['metric']}"
        out.update({f"{k}_value": r["ours"], f"{k}_lo": r["ci_lo"], f"{k}_hi": r["ci_hi"], f"{k}_paper": r["paper"]})
    return out


# ---- enrichment of held-out compounds in the pool screening ------------------------------------
def _reduced_formula(f) -> str | None:
    try:
        return Composition(str(f)).reduced_formula
    except Exception:  # noqa: BLE001 - an unparsable formula cannot be matched
        return None


def held_out_in_pool(test: pd.DataFrame, pool_formulas: pd.Series) -> pd.DataFrame:
    """Held-out labelled entries (``test``: ``compound``, ``superionic``) whose reduced formula is in
    the pool (``pool_formulas``: material id → reduced formula); one row per (entry, MP id)."""
    red = {i: r for i, r in ((i, _reduced_formula(f)) for i, f in test["compound"].items()) if r is not None}
    by_formula = pd.Series(pool_formulas).groupby(pool_formulas).groups
    rows = [
        {"entry": i, "material_id": mid, "formula": f, "superionic": bool(test.at[i, "superionic"])}
        for i, f in red.items()
        for mid in by_formula.get(f, [])
    ]
    return pd.DataFrame(rows, columns=["entry", "material_id", "formula", "superionic"])


def pool_ranks(scores: pd.Series) -> pd.Series:
    """Rank of every pool compound by ``scores`` (P_SI), 1 = highest, ties at their average rank;
    the rank fraction of the enrichment is (rank − 1) / pool size (0 = best)."""
    return scores.rank(ascending=False, method="average")


def _best_match(held: pd.DataFrame, by=("entry",)) -> pd.DataFrame:
    """The best-ranked MP match of each held-out entry (an entry may match several polymorphs)."""
    return held.sort_values(["rank", "material_id"]).groupby(list(by)).head(1)


def _enrichment_intervals(held: pd.DataFrame, fractions, n_boot: int, seed: int) -> dict:
    """{fraction: Interval} of :func:`filters.enrichment` with compounds resampled (bootstrap)."""
    return {
        f: bootstrap_ci(
            lambda rf, pos, f=f: filters.enrichment(rf, pos, [f])[f],
            held["rank_fraction"].to_numpy(float),
            held["superionic"].to_numpy(bool),
            n_boot=n_boot,
            seed=seed,
        )
        for f in fractions
    }


def enrichment_table(screen: pd.DataFrame, held: pd.DataFrame, fractions, n_boot: int, seed: int):
    """Rank of each held-out compound (best MP match per entry) by P_SI in the pool screening, and the
    enrichment of superionic ones in the top ``fractions`` with bootstrap 95 % intervals (entries
    resampled).  Returns (ranked held-out frame, {fraction: Interval})."""
    rank = pool_ranks(screen["P_SI"])
    held = held[held["material_id"].isin(screen.index)].copy()
    held["rank"] = held["material_id"].map(rank)
    held = _best_match(held)
    held["rank_fraction"] = (held["rank"] - 1) / len(screen)
    return held, _enrichment_intervals(held, fractions, n_boot, seed)


def enrichment_metrics(held: pd.DataFrame, enr: dict, prefix: str = "", n_pool: int | None = None) -> dict:
    """``metrics.json`` entries of the enrichment (NaN when no superionic held-out compound is in the
    pool), with the quartiles of the rank fractions (0 = top of the pool) and, given the pool size,
    the two-sided binomial p-value against random (:func:`random_tail_p`); keys ``<prefix>enrichment_*``."""
    k0 = f"{prefix}enrichment"
    rf, si = held["rank_fraction"], held["superionic"].astype(bool)
    out = {
        f"{k0}_n_held_out_in_pool": int(len(held)),
        f"{k0}_n_superionic": int(si.sum()),
        f"{k0}_rank_fraction_median": float(rf.median()) if len(rf) else float("nan"),
        f"{k0}_rank_fraction_q25": float(rf.quantile(0.25)) if len(rf) else float("nan"),
        f"{k0}_rank_fraction_q75": float(rf.quantile(0.75)) if len(rf) else float("nan"),
        f"{k0}_rank_fraction_median_superionic": float(rf[si].median()) if si.any() else float("nan"),
    }
    pv = random_tail_p(held, list(enr), n_pool) if n_pool else {}
    for f, iv in enr.items():
        k = f"{k0}_top{round(100 * f)}pct"
        out.update({k: iv.value, f"{k}_lo": iv.lo, f"{k}_hi": iv.hi})
        if n_pool:
            out[f"{k}_p_random"] = pv[f]
    return out


def n_formula_in_training(held: pd.DataFrame, trval: pd.DataFrame) -> int:
    """Held-out rows whose reduced formula is also that of a training entry (``trval``:
    ``compound``): a different measurement or polymorph of a composition the model was trained on."""
    trained = {_reduced_formula(f) for f in trval["compound"]}
    return int(held["formula"].isin(trained).sum())


def random_tail_p(held: pd.DataFrame, fractions, n_pool: int) -> dict:
    """Two-sided binomial p-value of the number of superionic compounds in the top ``f`` against a
    random ranking, per fraction: under random ranks each lands there with probability
    ceil(f · n_pool) / n_pool (the share of pool positions with rank fraction < f).  Unlike the
    percentile bootstrap, it does not collapse to [0, 0] or [1/f, 1/f] when the count is small."""
    si = held["superionic"].astype(bool).to_numpy()
    n_si, rf = int(si.sum()), held["rank_fraction"].to_numpy(float)[si]
    out = {}
    for f in fractions:
        if not n_si or not n_pool:
            out[f] = float("nan")
            continue
        p0, x = min(1.0, np.ceil(f * n_pool) / n_pool), int((rf < f).sum())
        out[f] = float(min(1.0, 2 * min(binom.sf(x - 1, n_si, p0), binom.cdf(x, n_si, p0))))
    return out


def enrichment_verdict(held: pd.DataFrame, enr: dict, n_pool: int) -> str:
    """Whether the compounds suffice to tell the enrichment from random (1), cut by cut: better or
    worse than random where the two-sided binomial test (:func:`random_tail_p`) gives p < 0.05,
    otherwise too few to conclude; and the cuts where a random ranking would put fewer than one
    superionic compound in the top (the enrichment there is 0 or large)."""
    n_si = int(held["superionic"].sum())
    pv = random_tail_p(held, list(enr), n_pool)
    sig = [f for f in enr if np.isfinite(pv[f]) and pv[f] < 0.05]
    above = [f for f in sig if enr[f].value > 1]
    below = [f for f in sig if f not in above]
    open_ = [f for f in enr if f not in sig]
    pct = lambda fs: ", ".join(f"{100 * f:g} %" for f in fs)  # noqa: E731
    parts = []
    if above:
        parts.append(f"better than random at the top {pct(above)}")
    if below:
        parts.append(f"worse than random at the top {pct(below)}")
    if open_:
        parts.append(f"not distinguishable from random at the top {pct(open_)} (too few compounds to conclude there)")
    thin = [f for f in enr if n_si * f < 1]
    tail = (
        f" A random ranking would put fewer than one of the {n_si} superionic compounds in the top {pct(thin)}, so "
        f"the enrichment there is either 0 or at least {', '.join(f'{1 / (n_si * f):.0f}' for f in thin)}."
        if thin
        else ""
    )
    ps = ", ".join(f"{100 * f:g} %: {pv[f]:.2g}" for f in enr)
    return f"Binomial test against a random ranking (two-sided p: {ps}): {'; '.join(parts)}.{tail}"


def enrichment_text(held: pd.DataFrame, enr: dict, n_pool: int, n_seen: int | None = None) -> str:
    """The enrichment sentence, from computed values; ``n_seen``: :func:`n_formula_in_training`."""
    seen = (
        f" {n_seen} of these compounds share their reduced formula with an entry the ensemble was trained on "
        "(another measurement or polymorph of that composition)."
        if n_seen
        else ""
    )
    if not held["superionic"].any():
        return (
            f"{len(held)} held-out labelled compounds are in the screened pool of {n_pool}, none superionic: "
            "the enrichment is undefined in this run."
        )
    parts = [f"top {100 * f:g} %: {iv.value:.1f} [{iv.lo:.1f}, {iv.hi:.1f}]" for f, iv in enr.items()]
    return (
        f"{len(held)} held-out test compounds (never seen by the ensemble) are in the screened pool of {n_pool} "
        f"({int(held['superionic'].sum())} superionic); their median rank fraction is "
        f"{held['rank_fraction'].median():.2f} (superionic: "
        f"{held.loc[held.superionic, 'rank_fraction'].median():.2f}). Enrichment of the superionic ones "
        f"against random (1 = random; bootstrap 95 % CI over compounds): {'; '.join(parts)}. "
        + enrichment_verdict(held, enr, n_pool)
        + seen
    )


# ---- the same for LOCO: each held-out cluster scored by the model trained without it -------------
def pool_include(held: pd.DataFrame, loco_held: pd.DataFrame, screen_limit: int, seed: int) -> list[str]:
    """MP ids a subset pool (``screen_limit`` > 0, the CI profile) must keep: every test-set match
    and a seeded sample of ``screen_limit // 4`` LOCO-held-out matches not seen by their fold model,
    so that both enrichments have compounds to rank; the full pool (``screen_limit`` 0) holds all."""
    ids = list(dict.fromkeys(held["material_id"]))
    loco_ids = sorted(set(loco_held.loc[~loco_held["seen"], "material_id"]) - set(ids))
    n = min(len(loco_ids), int(screen_limit) // 4) if screen_limit else 0
    pick = np.random.default_rng(seed).choice(len(loco_ids), size=n, replace=False) if n else []
    return ids + [loco_ids[i] for i in sorted(pick)]


def loco_held_out(mc: pd.DataFrame, trval: pd.DataFrame, folds, clusters, pool_formulas: pd.Series) -> pd.DataFrame:
    """Per LOCO fold ``k`` (cluster ``clusters[k]``; ``folds``: positional (train, validation) indices
    into ``trval``): the paper's entries of that cluster outside the test set, with or without a
    structure, whose reduced formula is in the pool (:func:`held_out_in_pool`).  ``seen`` marks a
    match whose reduced formula is also among fold ``k``'s training entries (that composition was
    not held out; left out of the enrichment)."""
    cols = ["fold", "cluster", "entry", "material_id", "formula", "superionic", "seen"]
    frames = []
    not_test = ~mc["split_test"].astype(bool)
    for k, ((tr, _va), c) in enumerate(zip(folds, clusters)):
        in_cluster = (mc["loco_cluster"] == c).fillna(False).astype(bool)
        h = held_out_in_pool(mc[in_cluster & not_test], pool_formulas)
        trained = {_reduced_formula(f) for f in trval["compound"].iloc[tr]}
        frames.append(h.assign(fold=k, cluster=c, seen=h["formula"].isin(trained)))
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def loco_fold_models(setup, config, folds, epochs: int, member_chunk: int, n_jobs):
    """One ensemble of ``setup.n_repeats`` members per LOCO fold, with the final ensemble's recipe
    (``config``, ``epochs``, settings ``setup.cfg_kw``) trained on the fold's training entries only
    (:func:`matmap_utils.screening.cv.fold_ensembles`); returns (models, wall time in s)."""
    t0 = time.perf_counter()
    models = screening_cv.fold_ensembles(
        [setup.feats[config][k] for k in setup.trval["key"]],
        setup.y,
        folds,
        paper_config(config[1], **{**setup.cfg_kw, "epochs": int(epochs)}),
        n_members=setup.n_repeats,
        seed=setup.seed,
        member_chunk=member_chunk,
        n_jobs=n_jobs,
    )
    return models, time.perf_counter() - t0


def fold_pool_scores(models, matrices: dict, ids, chunk: int = 8192) -> pd.DataFrame:
    """Ensemble-mean P_SI of the pool compounds ``ids`` (site-feature matrices ``matrices[id]``, as
    cached by the screening) under each fold model: one forward pass per chunk and model; rows =
    ``ids``, columns = fold numbers."""
    ids = list(ids)
    out = np.empty((len(ids), len(models)))
    for s in range(0, len(ids), chunk):
        packed = pack_sets([matrices[i] for i in ids[s : s + chunk]], dedup=True)
        for k, m in enumerate(models):
            out[s : s + chunk, k] = m.predict_proba(packed).mean(0)
    return pd.DataFrame(out, index=pd.Index(ids, name="material_id"), columns=range(len(models)))


def loco_enrichment_table(scores: pd.DataFrame, held: pd.DataFrame, fractions, n_boot: int, seed: int):
    """Rank of each LOCO-held-out compound among the whole pool scored by *its own fold's* model
    (``scores``: :func:`fold_pool_scores`; ``held``: :func:`loco_held_out`, ``seen`` rows left out),
    best MP match per entry; pooled over folds, the enrichment of superionic ones in the top
    ``fractions`` with bootstrap 95 % intervals (compounds resampled, as for the test set).
    Returns (ranked frame, {fraction: Interval})."""
    ranks = scores.apply(pool_ranks)
    h = held[~held["seen"].astype(bool) & held["material_id"].isin(scores.index)].copy()
    h["P_SI_fold"] = [float(scores.at[m, k]) for m, k in zip(h["material_id"], h["fold"])]
    h["rank"] = [float(ranks.at[m, k]) for m, k in zip(h["material_id"], h["fold"])]
    h = _best_match(h, by=("fold", "entry"))
    h["rank_fraction"] = (h["rank"] - 1) / len(scores)
    return h.drop(columns="seen"), _enrichment_intervals(h, fractions, n_boot, seed)


def loco_enrichment_text(ranked: pd.DataFrame, enr: dict, held: pd.DataFrame, n_folds: int, n_pool: int,
                         n_members: int, epochs: int) -> str:  # fmt: skip
    """The LOCO enrichment sentence: how many compounds and folds it rests on, the rank distribution,
    the enrichment with intervals and whether that is enough to conclude; all computed."""
    n_seen = int(held["seen"].sum())
    base = (
        f"LOCO: {len(ranked)} labelled compounds of {ranked['fold'].nunique()} of the {n_folds} held-out clusters "
        f"(outside the test set, with or without a structure) are in the screened pool of {n_pool}, each ranked "
        f"among the pool scored by an ensemble of {n_members} members trained without its cluster (the final "
        f"configuration, {epochs} epochs); {n_seen} formula matches were left out because the fold's training set "
        "holds the same reduced formula"
    )
    si = ranked["superionic"].astype(bool)
    if not si.any():
        return base + ". None of them is superionic: the LOCO enrichment is undefined in this run."
    parts = [f"top {100 * f:g} %: {iv.value:.1f} [{iv.lo:.1f}, {iv.hi:.1f}]" for f, iv in enr.items()]
    rf = ranked["rank_fraction"]
    return (
        f"{base}. {int(si.sum())} of them are superionic, from {ranked.loc[si, 'fold'].nunique()} clusters. Rank "
        f"fraction (0 = top of the pool): median {rf.median():.2f}, quartiles {rf.quantile(0.25):.2f}–"
        f"{rf.quantile(0.75):.2f}; superionic median {rf[si].median():.2f}. Enrichment of the superionic ones against "
        f"random (bootstrap 95 % CI over compounds; the spread between fold models is not in it): {'; '.join(parts)}. "
        + enrichment_verdict(ranked, enr, n_pool)
    )


def loco_enrichment_metrics(ranked: pd.DataFrame, enr: dict, held: pd.DataFrame, n_folds: int, n_members: int,
                            n_pool: int | None = None) -> dict:  # fmt: skip
    """``metrics.json`` entries ``loco_enrichment_*``: those of :func:`enrichment_metrics`, the folds
    with compounds (all and superionic), the folds in all, matches left out as seen, members per fold."""
    si = ranked["superionic"].astype(bool)
    return {
        **enrichment_metrics(ranked, enr, prefix="loco_", n_pool=n_pool),
        "loco_enrichment_n_folds_with_compounds": int(ranked["fold"].nunique()),
        "loco_enrichment_n_folds_with_superionic": int(ranked.loc[si, "fold"].nunique()),
        "loco_enrichment_n_folds": int(n_folds),
        "loco_enrichment_n_matches_seen_formula": int(held["seen"].sum()),
        "loco_enrichment_members_per_fold": int(n_members),
    }


def enrichment_figure(ranked: dict):
    """The share of held-out superionic compounds found in the top fraction f of the pool, against f
    (``ranked``: {label: ranked frame}); the diagonal is a random ranking, the enrichment at f is
    the curve's height over f."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    f = np.linspace(0, 1, 201)
    for label, r in ranked.items():
        rf = np.sort(r.loc[r["superionic"].astype(bool), "rank_fraction"].to_numpy(float))
        if len(rf):
            ax.step(f, np.searchsorted(rf, f, side="left") / len(rf), where="post", label=f"{label} (n = {len(rf)})")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="random")
    ax.set_xlabel("top fraction of the screened pool (by P_SI)")
    ax.set_ylabel("share of held-out superionic compounds found")
    ax.set_title("Held-out superionic compounds in the pool screening")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---- the paper's simplification against the earlier rule --------------------------------------
def simplification_effect(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """k-fold AUC-PR / MCC of the same configurations with the paper's oxidation states (``new``) and
    with the earlier composition rule (``old``), and the differences (new − old)."""
    cols = ["auc_pr", "auc_pr_std", "mcc", "mcc_std"]
    both = new[cols].add_suffix("_paper_ox").join(old[cols].add_suffix("_rule"), how="inner")
    both["d_auc_pr"] = both["auc_pr_paper_ox"] - both["auc_pr_rule"]
    both["d_mcc"] = both["mcc_paper_ox"] - both["mcc_rule"]
    return both


def n_changed(feats: dict, other: dict, config) -> tuple[int, int]:
    """Entries whose ``config`` features differ between two featurizations, and entries in both."""
    keys = sorted(set(feats[config]) & set(other[config]))
    diff = sum(
        feats[config][k].shape != other[config][k].shape or not np.allclose(feats[config][k], other[config][k])
        for k in keys
    )
    return int(diff), len(keys)


def simplification_text(eff: pd.DataFrame, paper_kfold: pd.DataFrame) -> str:
    """The change of k-fold AUC-PR / MCC from the earlier rule to the paper's oxidation states."""
    parts = [
        f"{i}: AUC-PR {r['auc_pr_rule']:.3f} → {r['auc_pr_paper_ox']:.3f} ({r['d_auc_pr']:+.3f}; paper "
        f"{paper_kfold['auc_pr'].get(i, float('nan')):.3f}), MCC {r['mcc_rule']:.3f} → {r['mcc_paper_ox']:.3f}"
        for i, r in eff.iterrows()
    ]
    return (
        "k-fold scores with the earlier composition rule → with the paper's oxidation-state assignment (same "
        f"entries, folds and seeds): {'; '.join(parts)}. The fold-to-fold SD of these scores is "
        f"{eff['auc_pr_std_paper_ox'].mean():.3f} (AUC-PR) on average."
    )


def simplification_metrics(eff: pd.DataFrame | None) -> dict:
    """``simplification_<config>_{auc_pr,mcc}_{rule,paper_ox}`` entries of ``metrics.json``."""
    if eff is None:
        return {}
    return {
        f"simplification_{i}_{m}_{v}": float(r[f"{m}_{v}"])
        for i, r in eff.iterrows()
        for m in ("auc_pr", "mcc")
        for v in ("rule", "paper_ox")
    }


def enlarged_text(chosen: pd.DataFrame, big: pd.DataFrame, kfold_big: pd.DataFrame) -> str:
    """How many entries gained an MP structure, how many are ambiguous, and the enlarged k-fold."""
    n = chosen["status"].value_counts()
    res = "; ".join(
        f"{i}: AUC-PR {r['auc_pr']:.3f} ± {r['auc_pr_std']:.3f}, MCC {r['mcc']:.3f}" for i, r in kfold_big.iterrows()
    )
    return (
        f"Of {len(chosen)} McHaffie entries without an OBELiX CIF, {int(n.get('matched', 0))} gain an MP structure "
        f"(one formula match, or one with the OBELiX space group), {int(n.get('ambiguous', 0))} are ambiguous "
        f"(several MP structures remain) and {int(n.get('none', 0))} have no match. Enlarged set used here: "
        f"{len(big)} entries ({int((big['structure_source'] == 'MP').sum())} with an MP structure). k-fold on the "
        f"enlarged set (a separate variant, not comparable with the paper's numbers): {res}."
    )


def enlarged_metrics(chosen: pd.DataFrame, big: pd.DataFrame, kfold_big: pd.DataFrame) -> dict:
    """``metrics.json`` entries of the enlarged-set variant."""
    n = chosen["status"].value_counts()
    out = {
        "enlarged_n_matched": int(n.get("matched", 0)),
        "enlarged_n_ambiguous": int(n.get("ambiguous", 0)),
        "enlarged_n_unmatched": int(n.get("none", 0)),
        "enlarged_n_used": int(len(big)),
    }
    for i, r in kfold_big.iterrows():
        out.update({f"enlarged_kfold_{i}_auc_pr": float(r["auc_pr"]), f"enlarged_kfold_{i}_mcc": float(r["mcc"])})
    return out


def comparison_text(cmp: pd.DataFrame) -> str:
    """How many of the paper's values fall inside our 95 % intervals, from computed values."""
    have = cmp[cmp["paper"].notna()]
    inside = int(have["paper_in_ci"].sum())
    widths = (cmp["ci_hi"] - cmp["ci_lo"]).dropna()
    return (
        f"{inside} of {len(have)} paper values lie inside our bootstrap 95 % intervals; the intervals are "
        f"{widths.median():.2f} wide on average (median), so differences smaller than that are not resolved "
        f"by this data set. Rows without a paper value: {len(cmp) - len(have)} (LOCO, and configurations the "
        "paper does not list)."
    )


def pool_reduced_formulas(index: pd.DataFrame) -> pd.Series:
    """Reduced formula of every MP pool compound (``index``: :func:`mp_li_index`), by material id."""
    return index["formula"].dropna().map(lambda f: Composition(f).reduced_formula)


def featurize_text(n_ok: int, n_modes: int, seconds: float, fails: pd.DataFrame, feats: dict | None = None) -> str:
    """The featurization sentence: structures featurized, failures, and those without a valid
    oxidation-state assignment (left out of every configuration, so all compare the same entries);
    with ``feats`` also the site-feature width of each MEGNet level, read from the matrices."""
    n_ox = fails.loc[fails["reason"].str.contains("oxidation states"), "id"].nunique()
    widths = ""
    if feats:
        w = {lvl: next(iter(m.values())).shape[1] for (_, lvl), m in sorted(feats.items()) if len(m)}
        widths = " Site features per level: " + ", ".join(f"V{k} {v} numbers" for k, v in sorted(w.items())) + "."
    return (
        f"Featurized {n_ok} structures × {n_modes} simplifications in {seconds:.0f} s; {len(fails)} failures, "
        f"{n_ox} of them structures with no valid oxidation-state assignment (left out of every configuration)."
        + widths
    )


#: maml's AtomSets set2set hidden size (its default, as recorded at ``AtomSetsConfig.set2set_hidden``).
MAML_SET2SET_HIDDEN = 512


def kfold_settings_text(cfg_kw: dict, n_repeats: int, n_folds: int, eval_every: int) -> str:
    """The k-fold settings actually used, read from :func:`configs.paper_config` (maml's defaults
    but the set2set size) and the notebook's parameters — nothing typed."""
    cfg = paper_config(0, **cfg_kw)
    return (
        f"Settings: {n_folds} folds × {n_repeats} repeats; dense layers of {list(cfg.n_neurons)} neurons before and "
        f"{list(cfg.n_neurons_final)} after the readout; set2set hidden size {cfg.set2set_hidden} (maml's default "
        f"{MAML_SET2SET_HIDDEN}, {MAML_SET2SET_HIDDEN / cfg.set2set_hidden:g} times larger); constant learning "
        f"rate {cfg.init_lr:g}; batch size {cfg.batch_size}; {cfg.epochs} epochs, validation scored every "
        f"{eval_every}. The paper's main text states neither the learning rate nor the set2set size of its k-fold runs."
    )


def hpo_space_text() -> str:
    """The search space of :data:`screening.hpo.HPO_SPACE` (the paper's code archive), as ranges."""

    def rng(k):
        v = HPO_SPACE[k]
        return f"{min(v):g}–{max(v):g}"

    return (
        f"Search space: {rng('n_layers')} layers of {rng('n_neurons')} neurons; initial learning rate "
        f"{rng('init_lr')}, maximal {rng('max_lr')}; batch size {rng('batch_size')}; dropout "
        f"{rng('dropout_prob_init')}; L2 {rng('kernel_reg_value_init')} (before and after the readout)."
    )


def band_gap_table_text(mp_gaps: pd.DataFrame) -> str:
    """Size and ranges of the IonNet MP band-gap table (``datasets.load_mp_band_gaps``)."""
    gap = mp_gaps["mp_band_gap_eV"]
    hull = mp_gaps["e_above_hull_eV"] if "e_above_hull_eV" in mp_gaps else pd.Series(dtype=float)
    return (
        f"IonNet MP band-gap table: {len(mp_gaps)} Li compounds, band gaps {gap.min():.2f}–{gap.max():.2f} eV, "
        f"energies above hull up to {hull.max():.3f} eV/atom."
    )


def mcc_one_flip(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
    """Mean ``|ΔMCC|`` when the prediction of one entry is flipped across ``threshold`` (every entry in
    turn): how much a single misclassification moves the MCC of a small test set."""
    y, p = np.asarray(y, int), np.asarray(p, float)
    base = classification_metrics(y, p, threshold=threshold)["mcc"]
    steps = []
    for i in range(len(y)):
        q = p.copy()
        q[i] = 0.0 if p[i] >= threshold else 1.0
        steps.append(abs(classification_metrics(y, q, threshold=threshold)["mcc"] - base))
    return float(np.nanmean(steps)) if steps else float("nan")


def validation_metrics(held, enr, paper_cmp, simp_effect, enlarged, n_pool: int | None = None) -> dict:
    """The ``metrics.json`` entries of enrichment, paper-comparison intervals, the simplification
    effect and the enlarged-set variant (``enlarged``: (choices, set, k-fold table))."""
    return {
        **enrichment_metrics(held, enr, n_pool=n_pool),
        **comparison_metrics(paper_cmp),
        **simplification_metrics(simp_effect),
        **enlarged_metrics(*enlarged),
    }
