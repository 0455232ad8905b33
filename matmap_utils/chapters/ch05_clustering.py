"""Chapter 05 (principal components and classes, López et al., Mater. Horiz. 10, 1757, 2023, Figs. 4–5): the glue.

The science (standardization, PCA, k-means scans, stability, the choice of k) is in
:mod:`matmap_utils.transport.clustering`; this module reads chapter 04's descriptor table
(:func:`read_descriptors`), assembles the chapter's figures (``plot_*``), tables and the sentences
with computed numbers (``*_text``), and what ``metrics.json`` records (:func:`metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.express as px
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from matmap_utils.chapters.results import read_upstream
from matmap_utils.transport import clustering as cl
from matmap_utils.transport.sse_categories import category, descriptor_columns, subcategory
from matmap_utils.viz import FIG_WIDTH_IN, panel_grid

NB = "05_clustering"
UPSTREAM = "04_correlograms"
#: López et al. 2023: the number of classes chosen (Fig. 5) and PC3's share of the variance (Fig. 4).
PAPER_K = 6
PAPER_PC3_SHARE = 0.04
#: label columns of chapter 04's table shown with the classes
LABELS = ["formula", "family", "anion_class", "log10_sigma"]


def read_descriptors() -> pd.DataFrame:
    """Chapter 04's ``sse_descriptors`` table (one row per material)."""
    return read_upstream(NB, UPSTREAM, "sse_descriptors")


def descriptor_matrix(table: pd.DataFrame, max_missing: float) -> cl.Prepared:
    """The standardized matrix of the numeric descriptors, without the space-group *number* (a
    label, not a quantity) — :func:`matmap_utils.transport.clustering.prepare_matrix`."""
    cols = [c for c in descriptor_columns(table) if c != "spacegroup"]
    return cl.prepare_matrix(table, cols, max_missing=max_missing)


def matrix_text(prep: cl.Prepared) -> str:
    """What was dropped and imputed to build the matrix."""
    Z = prep.X
    left_out = [c for c, n in prep.imputed.items() if n < 0]
    imputed = {c: n for c, n in prep.imputed.items() if n > 0}
    return (
        f"{Z.shape[0]} materials × {Z.shape[1]} descriptors. Constant (dropped): "
        f"{', '.join(prep.dropped_constant) or 'none'}. Mostly missing (dropped): {', '.join(left_out) or 'none'}. "
        f"Median-imputed: {', '.join(f'{c} ({n})' for c, n in imputed.items()) or 'none'}."
    )


def category_maps(columns: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(column → Table 1 category, column → finer group) for the matrix columns."""
    return {c: category(c) for c in columns}, {c: subcategory(c) for c in columns}


def plot_pca(res: cl.PCAResult, subcats: Mapping[str, str], n_show: int = 5) -> tuple[plt.Figure, pd.DataFrame]:
    """Fig. 4 analogue: scree plot (top) and the squared loadings of the first ``n_show`` PCs by
    descriptor group (bottom, legend outside). Returns (figure, shares by group)."""
    evr = res.explained_variance_ratio
    fig, axes = plt.subplots(2, 1, figsize=(FIG_WIDTH_IN, 6.4))
    axes[0].bar(range(1, len(evr) + 1), 100 * evr, color="C0", label="per PC")
    axes[0].plot(range(1, len(evr) + 1), 100 * np.cumsum(evr), "C3o-", ms=3, label="cumulative")
    axes[0].set_xlabel("principal component")
    axes[0].set_ylabel("explained variance (%)")
    axes[0].legend(loc="center right")
    axes[0].set_title("Fig. 4(a) analogue: scree")
    by_sub = cl.loadings_by_category(res.loadings.iloc[:n_show], subcats)
    by_sub.plot(kind="bar", stacked=True, ax=axes[1], colormap="tab10", width=0.8, rot=0)
    axes[1].set_xlabel("principal component")
    axes[1].set_ylabel("share of squared loadings")
    axes[1].set_title("Fig. 4(b) analogue: loadings by descriptor group")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), title="group")
    fig.tight_layout()
    return fig, by_sub


def shares_against_baseline(by_sub: pd.DataFrame, subcats: Mapping[str, str]) -> pd.DataFrame:
    """Shares of PC1–PC3 by group next to the share each group would get if every descriptor
    loaded equally (its fraction of the descriptors)."""
    baseline = pd.Series(subcats).value_counts(normalize=True).rename("equal-loadings share")
    return pd.concat([by_sub.iloc[:3].T, baseline], axis=1)


def pca_text(res: cl.PCAResult) -> str:
    """Explained variance of PC1–PC3, components needed for 80 %, and the largest loadings."""
    evr = res.explained_variance_ratio
    n80 = int(np.searchsorted(np.cumsum(evr), 0.8) + 1)
    top_load = {}
    for pc in ["PC1", "PC2", "PC3"]:
        row = res.loadings.loc[pc]
        top = row.reindex(row.abs().sort_values(ascending=False).index).head(4)
        top_load[pc] = ", ".join(f"{c} ({v:+.2f})" for c, v in top.items())
    return (
        f"PC1–PC3 explain {100 * evr[0]:.1f} %, {100 * evr[1]:.1f} % and {100 * evr[2]:.1f} % of the variance "
        f"({100 * evr[:3].sum():.1f} % together); {n80} components are needed for 80 %. "
        "The largest loadings:\n\n"
        + "\n".join(f"- **{pc}**: {v}" for pc, v in top_load.items())
        + "\n\nIn the paper PC1 is 'elastic–vibrational', PC2 'vibrational' and PC3 'structural' "
        f"(≈ {100 * PAPER_PC3_SHARE:.0f} % of the variance; {{cite}}`lopez2023universal`, Fig. 4). The group shares above "
        "say which descriptors make up ours; the claims table below tests the paper's reading."
    )


def pc_spaces(res: cl.PCAResult) -> dict[str, pd.DataFrame]:
    """The two spaces of Fig. 5: PC1–PC2 and PC1–PC2–PC3 scores."""
    return {"PC1–PC2": res.scores[["PC1", "PC2"]], "PC1–PC2–PC3": res.scores[["PC1", "PC2", "PC3"]]}


def plot_choose_k(scans: Mapping[str, pd.DataFrame], min_ari: float) -> plt.Figure:
    """Elbow (inertia), silhouette and stability (ARI) against k for each space (ESI Figs. S4–S5),
    two panels per row, one legend below."""
    fig, axes = panel_grid(3, panel_height=2.9)
    for k, scan in enumerate(scans.values()):
        axes[0].plot(scan.index, scan["inertia"] / scan["inertia"].iloc[0], "o-", color=f"C{k}")
        axes[1].plot(scan.index, scan["silhouette"], "o-", color=f"C{k}")
        axes[2].plot(scan.index, scan["ari_bootstrap"], "o-", color=f"C{k}")
        axes[2].plot(scan.index, scan["ari_seeds"], "x--", color=f"C{k}")
    axes[0].set_ylabel("inertia / inertia(k_min)")
    axes[1].set_ylabel("silhouette (no unit)")
    axes[2].set_ylabel("mean ARI (no unit)")
    axes[2].axhline(min_ari, color="k", lw=0.6)
    for ax in axes:
        ax.set_xlabel("number of clusters k")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_title("elbow (ESI Fig. S4 analogue)")
    axes[1].set_title("silhouette (ESI Fig. S5 analogue)")
    axes[2].set_title(f"stability (line: ARI = {min_ari:g})")
    handles = [Line2D([], [], color=f"C{k}", marker="o", label=name) for k, name in enumerate(scans)]
    handles += [
        Line2D([], [], color="0.3", marker="o", label="ARI, bootstrap"),
        Line2D([], [], color="0.3", marker="x", ls="--", label="ARI, seeds"),
    ]
    fig.legend(handles=handles, loc="center", bbox_to_anchor=(0.75, 0.25), title="space / stability")
    fig.tight_layout()
    return fig


def choice_text(choice: Mapping[str, tuple[int, str]], k_chosen: int) -> str:
    """The k chosen in each space and why."""
    return (
        "\n".join(f"- **{name}**: {w}" for name, (k, w) in choice.items())
        + f"\n\nWe use **k = {k_chosen}** (chosen in PC1–PC2, as the paper chose one k for both spaces) "
        f"in both spaces. The paper chose k = {PAPER_K} ({{cite}}`lopez2023universal`, Fig. 5)."
    )


def _colour(c: int):
    return plt.get_cmap("tab10")((c - 1) % 10)


def plot_pc12_classes(res: cl.PCAResult, km: cl.KMeansResult, k: int) -> plt.Figure:
    """Fig. 5(a) analogue: the classes in PC1–PC2, numbered at their centroids."""
    evr = res.explained_variance_ratio
    fig, ax = plt.subplots(figsize=(FIG_WIDTH_IN, 5.6))
    for c in sorted(km.labels.unique()):
        m = km.labels == c
        ax.scatter(res.scores.loc[m, "PC1"], res.scores.loc[m, "PC2"], s=12, alpha=0.6, color=_colour(c))
        cx, cy = km.centroids.loc[c, ["PC1", "PC2"]]
        box = {"boxstyle": "circle", "fc": "white", "ec": _colour(c)}
        ax.text(cx, cy, str(c), fontsize=16, weight="bold", ha="center", va="center", bbox=box)
    ax.set_xlabel(f"PC1 ({100 * evr[0]:.0f} %)")
    ax.set_ylabel(f"PC2 ({100 * evr[1]:.0f} %)")
    ax.set_title(f"Fig. 5(a) analogue: k-means in PC1–PC2, k = {k}")
    return fig


def plot_pc123_classes(res: cl.PCAResult, km: cl.KMeansResult, table: pd.DataFrame, k: int):
    """Fig. 5(b) analogue (plotly, 3D): the classes in PC1–PC2–PC3 with their centroid numbers."""
    d3 = res.scores[["PC1", "PC2", "PC3"]].copy()
    d3["cluster"] = km.labels.astype(str)
    d3 = d3.join(table[LABELS])
    index_column = d3.index.name or "index"  # the column reset_index() gives the material ids
    fig = px.scatter_3d(
        d3.reset_index(),
        x="PC1",
        y="PC2",
        z="PC3",
        color="cluster",
        hover_data=[index_column, *LABELS],
        category_orders={"cluster": [str(i) for i in range(1, k + 1)]},
        title=f"Fig. 5(b) analogue: k-means in PC1–PC2–PC3, k = {k}",
    )
    fig.update_traces(marker={"size": 3})
    cen = km.centroids
    fig.add_scatter3d(
        x=cen["PC1"],
        y=cen["PC2"],
        z=cen["PC3"],
        mode="text",
        text=[str(i) for i in cen.index],
        textfont={"size": 18, "color": "black"},
        name="centroids",
    )
    return fig


def family_labels(table: pd.DataFrame, min_size: int = 5) -> pd.Series:
    """OBELiX family of each material; families with fewer than ``min_size`` members → "other (< 5)"."""
    fam = table["family"]
    return fam.where(fam.map(fam.value_counts()) >= min_size, f"other (< {min_size})")


def membership(km: cl.KMeansResult, table: pd.DataFrame, fam: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(population by majority anion joined with the class summary, population by family)."""
    comp_anion = cl.composition_table(km.labels, table["anion_class"])
    comp_fam = cl.composition_table(km.labels, fam)
    return comp_anion.join(cl.cluster_summary(km.labels, table)), comp_fam


def plot_populations(km: cl.KMeansResult, fam: pd.Series, table: pd.DataFrame) -> tuple[plt.Figure, pd.DataFrame]:
    """Family fractions per class (top, legend outside in two columns) and superionic fraction per
    class (bottom). Returns (figure, class summary)."""
    fig, axes = plt.subplots(2, 1, figsize=(FIG_WIDTH_IN, 7.0), gridspec_kw={"height_ratios": [1.3, 1]})
    cl.composition_table(km.labels, fam, normalize=True).plot(
        kind="bar", stacked=True, ax=axes[0], colormap="tab20", width=0.8, rot=0
    )
    axes[0].set_xlabel("cluster")
    axes[0].set_ylabel("fraction of the cluster")
    axes[0].set_title("Fig. 5(a) populations by OBELiX family")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.02, 1.02), ncol=2, title="family", fontsize=9)
    summ = cl.cluster_summary(km.labels, table)
    axes[1].bar(summ.index, summ["fraction_superionic"], color=[_colour(c) for c in summ.index])
    axes[1].axhline(table["superionic"].mean(), color="k", ls="--", lw=0.8, label="all materials")
    axes[1].set_xlabel("cluster")
    axes[1].set_ylabel("fraction superionic")
    axes[1].set_xticks(list(summ.index))
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig, summ


def plot_profiles(prof: pd.DataFrame, k: int) -> plt.Figure:
    """Heat map of the class profiles (mean z-score of every descriptor per class): descriptors as
    rows so that every name is legible."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH_IN * 0.8, 1.2 + 0.25 * prof.shape[1]))
    sns.heatmap(
        prof.T,
        cmap="RdBu_r",
        center=0,
        vmin=-2,
        vmax=2,
        ax=ax,
        cbar_kws={"label": "mean z-score (standard deviations)", "shrink": 0.5},
    )
    ax.set_xlabel(f"class (PC1–PC2, k = {k})")
    ax.set_ylabel("")
    ax.set_title("class profiles")
    ax.tick_params(labelsize=9.5)
    return fig


def label_agreements(labels: pd.Series, table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """ARI and AMI of the classes with the anion class, the family and the superionic label."""
    agree = {g: cl.label_agreement(labels, table[g]) for g in ("anion_class", "family")}
    agree["superionic"] = cl.label_agreement(labels, table["superionic"].astype(str))
    return agree


def classes_text(prof: pd.DataFrame, summ: pd.DataFrame, tab: pd.DataFrame, agree: Mapping[str, Mapping]) -> str:
    """One line per class (size, superionic share, main anion, three strongest descriptors) and
    the agreement of the classes with the labels."""
    lines = []
    for c in prof.index:
        row = prof.loc[c]
        top3 = row.reindex(row.abs().sort_values(ascending=False).index).head(3)
        s = summ.loc[c]
        main = tab.loc[c].drop(summ.columns, errors="ignore").astype(float)
        lines.append(
            f"- **class {c}** ({int(s['n'])} materials, {100 * s['fraction_superionic']:.0f} % superionic, "
            f"mostly {main.idxmax()}s): " + ", ".join(f"{k} {v:+.1f}σ" for k, v in top3.items())
        )
    return (
        "\n".join(lines)
        + "\n\nAgreement of the classes with the labels: "
        + "; ".join(f"{g}: ARI {v['ari']:.2f}, AMI {v['ami']:.2f}" for g, v in agree.items())
        + "."
    )


def clusters_table(km2: cl.KMeansResult, km3: cl.KMeansResult, res: cl.PCAResult, table: pd.DataFrame) -> pd.DataFrame:
    """The chapter's main table: both class labels, PC1–PC3 scores and the labels of each material."""
    return (
        pd.DataFrame({"cluster_pc12": km2.labels, "cluster_pc123": km3.labels})
        .join(res.scores[["PC1", "PC2", "PC3"]])
        .join(table[[*LABELS, "superionic"]])
    )


def metrics(
    Z: pd.DataFrame,
    res: cl.PCAResult,
    choice: Mapping[str, tuple[int, str]],
    km2: cl.KMeansResult,
    km3: cl.KMeansResult,
    stab: pd.Series,
    agree: Mapping[str, Any],
    by_sub: pd.DataFrame,
) -> dict[str, Any]:
    """What ``metrics.json`` of chapter 05 records (``stab``: the PC1–PC2 scan row of the chosen k)."""
    k_chosen, why = choice["PC1–PC2"]
    return {
        "n_materials": int(len(Z)),
        "n_descriptors": int(Z.shape[1]),
        "explained_variance_pc1_pc3": [float(v) for v in res.explained_variance_ratio[:3]],
        "k_chosen": int(k_chosen),
        "k_chosen_pc123": int(choice["PC1–PC2–PC3"][0]),
        "k_reason": why,
        "silhouette": float(km2.silhouette),
        "silhouette_pc123": float(km3.silhouette),
        "mean_ari_bootstrap": float(stab["ari_bootstrap"]),
        "mean_ari_seeds": float(stab["ari_seeds"]),
        "agreement_with_labels": agree,
        "loadings_by_subcategory_pc1_pc3": by_sub.iloc[:3].round(4).to_dict(orient="index"),
    }


def claims_text(claims_tab: pd.DataFrame) -> str:
    """One sentence counting the verdicts of the claims table."""
    counts = claims_tab["verdict"].value_counts()
    return f"Verdicts over {len(claims_tab)} claims: " + ", ".join(f"**{v}** {n}" for v, n in counts.items()) + "."


def _verdict(claims_tab: pd.DataFrame, start: str) -> pd.Series | None:
    hit = [c for c in claims_tab.index if c.startswith(start)]
    return claims_tab.loc[hit[0]] if hit else None


def found_text(res: cl.PCAResult, k_chosen: int, claims_tab: pd.DataFrame, agree: Mapping[str, Mapping]) -> str:
    """The chapter's "What we found", ending with the verdict on the paper's conclusion that
    elastic–vibrational descriptors, not the chemistry of the mobile ion, organise the classes."""
    evr = res.explained_variance_ratio
    pc1 = _verdict(claims_tab, "PC1")
    pc3 = _verdict(claims_tab, "PC3")
    fam = _verdict(claims_tab, "the chemistry (family)")
    anion = _verdict(claims_tab, "the chemistry (anion_class)")
    lines = [
        f"- **Variance.** PC1–PC3 carry {100 * evr[0]:.0f} %, {100 * evr[1]:.0f} % and {100 * evr[2]:.0f} % of the "
        f"variance; PC3's share has 95 % CI {100 * pc3['ci_lo']:.0f}–{100 * pc3['ci_hi']:.0f} % against the paper's "
        f"≈ {100 * PAPER_PC3_SHARE:.0f} % ({pc3['verdict']}).",
        f"- **PC1.** The M–E and D–V descriptors carry {100 * pc1['ours']:.0f} % of PC1's squared loadings (95 % CI "
        f"{100 * pc1['ci_lo']:.0f}–{100 * pc1['ci_hi']:.0f} %): the paper's 'elastic–vibrational' PC1 is "
        f"**{pc1['verdict']}** — here with MEGNet moduli and almost no vibrational descriptor.",
        f"- **Classes.** Elbow, silhouette and stability choose k = {k_chosen} (the paper: {PAPER_K}); the classes "
        f"agree with the OBELiX families at AMI {agree['family']['ami']:.2f} and with the majority anion at AMI "
        f"{agree['anion_class']['ami']:.2f}.",
    ]
    ok = [r for r in (fam, anion) if r is not None]
    organised = any(r["verdict"] == "contradicted" for r in ok)
    central = (
        "**contradicted** here: the chemistry ("
        + ", ".join(f"{r.name.split('(')[1].split(')')[0]}: {r['verdict']}" for r in ok)
        + ") does organise our classes"
        if organised
        else "**supported** here: neither family nor anion organises our classes"
        if ok and all(r["verdict"] == "supported" for r in ok)
        else "**inconclusive** here"
    )
    lines.append(
        "- **Verdict.** The paper's conclusion that elastic–vibrational descriptors, not the mobile-ion chemistry, "
        f"organise the classes is {central}. Our materials are all Li conductors, so families and anions stand in "
        "for the paper's mobile ions, and the D–V descriptors are missing: the verdict is on a different question "
        "from the paper's, with the same method."
    )
    return "\n".join(lines)
