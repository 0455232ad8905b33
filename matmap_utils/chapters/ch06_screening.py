"""Chapter 06: the screening of the MP Li pool (McHaffie et al. 2025, Fig. 7 and Table 2) —
P_SI, the two-stage band-gap filter, novelty against every labelled composition, the domain
flag, a verdict per compound — and the enlarged labelled set.  Band gaps in eV; d_training in
PCA-whitened units (dimensionless)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pymatgen.core import Composition
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from matmap_utils import viz
from matmap_utils.screening import filters, score
from matmap_utils.screening.atomsets import features

#: Candidates the paper highlights (its Table 2 and text).
PAPER_CANDIDATES = ["Li9B19S33", "LiP5", "LiP7", "Li5B7S13", "LiBSi2", "LiCaAs", "LiNdS2", "Li2Zr6MnCl15"]


def novelty_reference(mc: pd.DataFrame, obelix: pd.DataFrame) -> tuple[list[Composition], list[tuple[str, str]]]:
    """Every labelled composition: the 548 McHaffie entries (``compound``) and every OBELiX entry
    (``Reduced Composition`` / ``True Composition``), with or without a structure; and the formulas
    that do not parse, with the reason."""
    formulas = list(mc["compound"]) + list(obelix["True Composition"].fillna(obelix["Reduced Composition"]))
    return filters.reference_compositions(formulas)


def pool_features(pool, config, n_jobs) -> tuple[dict, pd.DataFrame]:
    """Site-feature matrices of ``config`` = (mode, level) for every featurizable pool compound
    ({material id: matrix}; MEGNet levels cached on disk by content hash) and the failures (id,
    mode, reason — e.g. no valid oxidation states under CAMNS)."""
    pool_feats, fails = features.featurize(pool["structure"], modes=[config[0]], layers=[config[1]], n_jobs=n_jobs)
    return pool_feats[config], fails


def screening_table(
    final, pool, config, train_vecs, mp_gap, megnet_gap, p_nonmetal, reference, n_jobs, dom_thr, feats=None
):  # fmt: skip
    """One row per featurizable pool compound (index = material id): ``P_SI`` (ensemble mean) and
    ``P_SI_std``, ``d_train`` and ``out_of_domain`` (d_train > ``dom_thr``), the two-stage band-gap
    filter (:func:`matmap_utils.screening.filters.band_gap_filter`: ``Eg``, ``Eg_source``,
    ``P_nonmetal``, ``metal``, ``gap_reason``), ``novel`` (against ``reference`` compositions),
    ``verdict`` and ``candidate``; and the featurization failures (id, mode, reason — e.g. no valid
    oxidation states under CAMNS).  ``feats``: :func:`pool_features` of ``pool``, when already computed."""
    fm, fails = feats if feats is not None else pool_features(pool, config, n_jobs)
    ids = [i for i in pool.index if i in fm]
    structures = pool.loc[ids, "structure"].rename_axis("material_id")
    matrices = [fm[i] for i in ids]
    screen = score.screening_frame(
        final, train_vecs, dom_thr, reference, structures, matrices, mp_gap, megnet_gap, p_nonmetal
    )  # fmt: skip
    return screen, fails


def screening_counts(screen: pd.DataFrame) -> dict[str, int]:
    """The funnel (:func:`matmap_utils.screening.filters.filter_counts`) and the compounds with
    Eg > 1 eV, of those with P_SI ≥ 0.5, and those out of domain among the candidates."""
    c = filters.filter_counts(screen)
    g = screen[screen["passes_gap"]]
    return {
        **c,
        "n_eg_gt_1": int(len(g)),
        "n_psi_ge_05_eg_gt_1": int((g["P_SI"] >= 0.5).sum()),
        "n_candidates_out_of_domain": int((screen["candidate"] & screen["out_of_domain"]).sum()),
    }


def screening_text(screen: pd.DataFrame, n_pool: int, t_screen: float, n_fail_oxidation: int, dom_thr: float) -> str:
    """The screening funnel against the paper's, from computed values."""
    c = screening_counts(screen)
    return (
        f"Screened {len(screen)} MP Li compounds of {n_pool} ({n_pool - len(screen)} not featurized, "
        f"{n_fail_oxidation} of them for want of a valid oxidation-state assignment) in {t_screen:.0f} s. "
        f"Band-gap filter (MP gap for {int((screen.Eg_source == 'MP').sum())}; otherwise MEGNet P(non-metal) ≥ 0.5 "
        f"and MEGNet Eg > 1 eV): {c['removed_metal']} removed as metals by the classifier, {c['removed_low_gap']} "
        f"for Eg ≤ 1 eV, {c['removed_no_gap']} without a band gap; {c['n_eg_gt_1']} pass. Of those, "
        f"{c['removed_p_si']} have P_SI < 0.5 and {c['removed_not_novel']} of the rest have a labelled composition "
        f"(every McHaffie and OBELiX entry) within 5 % in every element, leaving **{c['n_candidates']} candidates** "
        f"({c['n_candidates_out_of_domain']} of them out of domain: d_training > {dom_thr:.2f}, the 95th percentile "
        "of the training set's own nearest-neighbour distances). Paper (ICSD + MP, 6,863 with Eg > 1 eV): 428 with "
        "P_SI ≥ 0.5, 241 novel."
    )


def screening_figure(screen: pd.DataFrame):
    """Fig. 7 counterpart: P_SI histogram and P_SI against d_training (coloured by the ensemble SD)
    for the compounds that pass the band-gap filter; the domain threshold as a dashed line."""
    fig, axes = plt.subplots(1, 2, figsize=(viz.FIG_WIDTH_IN, 3.6))
    g = screen[screen["passes_gap"]]
    axes[0].hist([g.loc[~g.disordered, "P_SI"], g.loc[g.disordered, "P_SI"]], bins=40, stacked=True,
                 label=["ordered", "disordered"])  # fmt: skip
    axes[0].set_xlabel("P_SI")
    axes[0].set_ylabel("compounds")
    axes[0].set_yscale("log")
    axes[0].legend()
    sc = axes[1].scatter(g["d_train"], g["P_SI"], c=g["P_SI_std"], s=4, cmap="viridis")
    plt.colorbar(sc, ax=axes[1], label="ensemble SD of P_SI")
    axes[1].set_xlabel("d_training (PCA-normalized)")
    axes[1].set_ylabel("P_SI")
    fig.suptitle("Fig. 7: MP Li compounds that pass the band-gap filter")
    fig.tight_layout()
    return fig


def table2(screen: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """Table 2 counterpart: the ``n`` candidates with the highest P_SI, with both band-gap numbers,
    the gap source and the domain flag."""
    top = screen[screen["candidate"]].sort_values("P_SI", ascending=False).head(n)
    return pd.DataFrame(
        {
            "formula": top["formula"],
            "P_SI (SD)": [f"{p:.2f} ({s:.2f})" for p, s in zip(top.P_SI, top.P_SI_std)],
            "P(non-metal)": top["P_nonmetal"].round(2),
            "Eg (eV)": top["Eg"].round(2),
            "Eg source": top["Eg_source"],
            "d_training": top["d_train"].round(2),
            "domain": np.where(top["out_of_domain"], "out of domain", "in"),
        }
    )


def table2_text(tab: pd.DataFrame, screen: pd.DataFrame, previous: list[str]) -> str:
    """How the top 20 differs from the previous paper-profile top 20, whose metals / intermetallics
    ``previous`` (formulas) passed "Eg > 1 eV" through the band-gap regressor alone."""
    prev = screen[screen["formula"].isin(previous)]
    in_top = sorted(set(tab["formula"]) & set(previous))
    called = sorted(prev.loc[prev["metal"], "formula"].unique())
    return (
        f"The top {len(tab)} holds {int((tab['P(non-metal)'] < 0.5).sum())} compounds the classifier calls metals "
        f"and {int((tab['domain'] != 'in').sum())} out of domain. Of the {len(previous)} intermetallics named from "
        f"the previous paper-profile top 20 ({', '.join(previous)}), {len(in_top)} remain in it "
        f"({', '.join(in_top) or 'none'}); {prev['formula'].nunique()} are in this run's screened pool, and the "
        f"classifier calls {len(called)} of those metals ({', '.join(called) or 'none'}); "
        f"{int((~prev['candidate']).sum())} of their {len(prev)} pool entries are no candidates."
    )


def paper_candidates_ranking(screen: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Where the paper's candidates rank by P_SI among the screened compounds, with their verdicts."""
    ranked = screen.sort_values("P_SI", ascending=False)
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    cols = ["formula", "P_SI", "P_SI_std", "P_nonmetal", "Eg", "Eg_source", "d_train", "novel", "verdict", "rank"]
    where = ranked[ranked["formula"].isin(PAPER_CANDIDATES)][cols]
    absent = sorted(set(PAPER_CANDIDATES) - set(where["formula"])) or "none"
    return where, (
        f"Where the paper's candidates land (rank among {len(ranked)} screened; absent from the screened pool: {absent}):"
    )


# ---- more labelled structures from the MP pool -------------------------------------------------
def spacegroup_number(structure) -> int | None:
    """International space-group number (symprec 0.1 Å), None when the analysis fails."""
    try:
        return int(SpacegroupAnalyzer(structure, symprec=0.1).get_space_group_number())
    except Exception:  # noqa: BLE001 - reported as "no space group"
        return None


def mp_matches(mc: pd.DataFrame, obelix: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """For each McHaffie entry without a structure: the MP pool ids (``index``: :func:`mp_li_index`)
    with the same reduced formula, and the OBELiX space group of its ICSD code when there is one.
    Columns: ``entry``, ``formula``, ``spacegroup`` (or NaN), ``mp_ids`` (list)."""
    red = index["formula"].dropna().map(lambda f: Composition(f).reduced_formula)
    groups = red.groupby(red).groups
    sg = obelix.dropna(subset=["icsd"]).groupby("icsd")["Space group #"].first()
    rows = []
    for i, r in mc[mc["structure"].isna()].iterrows():
        try:
            f = Composition(str(r["compound"])).reduced_formula
        except Exception:  # noqa: BLE001 - an unparsable formula has no match
            continue
        rows.append({"entry": i, "formula": f, "spacegroup": sg.get(int(r["icsd"]), np.nan),
                     "mp_ids": sorted(groups.get(f, []))})  # fmt: skip
    return pd.DataFrame(rows, columns=["entry", "formula", "spacegroup", "mp_ids"])


def choose_matches(matches: pd.DataFrame, pool: pd.DataFrame) -> pd.DataFrame:
    """One MP structure per entry where possible: the only formula match, or the only one with the
    OBELiX space group; ``status`` ``"matched"``, ``"ambiguous"`` (several remain) or ``"none"``."""
    out = []
    for _, r in matches.iterrows():
        ids = [m for m in r["mp_ids"] if m in pool.index]
        if np.isfinite(r["spacegroup"]) and ids:
            ids = [m for m in ids if spacegroup_number(pool.at[m, "structure"]) == int(r["spacegroup"])]
        status = "none" if not ids else ("matched" if len(ids) == 1 else "ambiguous")
        out.append({"entry": r["entry"], "formula": r["formula"], "status": status,
                    "material_id": ids[0] if len(ids) == 1 else None, "n_candidates": len(ids)})  # fmt: skip
    return pd.DataFrame(out, columns=["entry", "formula", "status", "material_id", "n_candidates"])


def enlarged_labels(mc: pd.DataFrame, chosen: pd.DataFrame, pool: pd.DataFrame) -> pd.DataFrame:
    """The McHaffie entries with an OBELiX structure plus those given an unambiguous MP structure
    (``structure_source`` ``"OBELiX"`` / ``"MP"``)."""
    lab = mc.copy()
    lab["structure_source"] = np.where(lab["structure"].notna(), "OBELiX", None)
    for _, r in chosen[chosen["status"] == "matched"].iterrows():
        lab.at[r["entry"], "structure"] = pool.at[r["material_id"], "structure"]
        lab.at[r["entry"], "structure_source"] = "MP"
    return lab[lab["structure"].notna()]


def _ci(m: dict, prefix: str, metric: str) -> str:
    """``value [lo, hi]`` of a ``ci_<prefix>_<metric>_*`` entry of the metrics (— when absent)."""
    v = m.get(f"ci_{prefix}_{metric}_value")
    if v is None or not np.isfinite(v):
        return "—"
    return f"{v:.2f} [{m[f'ci_{prefix}_{metric}_lo']:.2f}, {m[f'ci_{prefix}_{metric}_hi']:.2f}]"


def found_text(m: dict) -> str:
    """The chapter's "What we found": cross-validation against the paper, the held-out test, the
    screening funnel and whether the screening ranks held-out conductors high — from ``metrics.json``."""
    best = m["kfold_best_config"]
    loco = m.get("loco_config")
    lines = [
        f"- **k-fold.** The best configuration, {best}, reaches AUC-PR {_ci(m, 'kfold_' + best, 'auc_pr')} "
        f"(95 % bootstrap CI) against the paper's {m['kfold_auc_pr_paper']:.2f}, and MCC "
        f"{_ci(m, 'kfold_' + best, 'mcc')}; the logistic-regression baseline (LR-Atomistic) reaches "
        f"AUC-PR {m['kfold_lr_auc_pr']:.2f}"
        + (" — above the best AtomSets configuration here." if m["kfold_lr_auc_pr"] > m["kfold_auc_pr"] else ".")
        + ("" if m["kfold_all_beat_controls"] else " Not every AtomSets configuration beats both controls."),
    ]
    if loco:
        lines.append(
            f"- **Leave-one-cluster-out.** {loco}: AUC-PR {_ci(m, 'loco_' + loco, 'auc_pr')} over the paper's "
            f"clusters (mean control {m['loco_mean_control_auc_pr']:.2f}) — unseen chemistry is "
            + ("harder than" if m["loco_auc_pr"] < m["kfold_auc_pr"] else "not harder than")
            + " the random folds."
        )
    lines.append(
        f"- **Held-out test set** ({m['n_test']} entries): AUC-PR {_ci(m, 'test_ensemble', 'auc_pr')}, MCC "
        f"{_ci(m, 'test_ensemble', 'mcc')} (paper: {m['ci_test_ensemble_auc_pr_paper']:.2f} and "
        f"{m['ci_test_ensemble_mcc_paper']:.2f})"
        + (
            "; with so few test entries one threshold decides the MCC, so these numbers say little."
            if m["n_test"] < 30
            else "."
        )
    )
    lines.append(
        f"- **Screening.** Of {m['n_screened']} MP compounds screened, the metal classifier removed "
        f"{m['removed_metal']}, the gap filter {m['removed_low_gap'] + m['removed_no_gap']} more, P_SI < 0.5 "
        f"{m['removed_p_si']} and known compositions {m['removed_not_novel']}: **{m['n_candidates']} candidates** "
        f"({m['n_candidates_out_of_domain']} out of domain)."
    )
    for key, what in (("enrichment", "test-set"), ("loco_enrichment", "LOCO")):
        n, k = m.get(f"{key}_n_held_out_in_pool", 0), m.get(f"{key}_n_superionic", 0)
        if n:
            p10 = m.get(f"{key}_top10pct_p_random", np.nan)
            lines.append(
                f"- **Does it find conductors ({what})?** {n} held-out labelled compounds are in the pool, {k} of "
                f"them superionic; their median rank is at {m[f'{key}_rank_fraction_median']:.0%} of the pool, and "
                f"the enrichment of superionic ones in the top 10 % is {m[f'{key}_top10pct']:.1f} (binomial "
                f"p = {p10:.2g} against random)."
            )
    return "\n".join(lines)
