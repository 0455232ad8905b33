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

from matmap_utils.chapters.results import read_upstream
from matmap_utils.transport import clustering as cl
from matmap_utils.transport.sse_categories import category, descriptor_columns, subcategory

NB = "05_clustering"
UPSTREAM = "04_correlograms"
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
    """Fig. 4 analogue: scree plot and the squared loadings of the first ``n_show`` PCs by
    descriptor group. Returns (figure, shares by group)."""
    evr = res.explained_variance_ratio
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].bar(range(1, len(evr) + 1), 100 * evr, color="C0", label="per PC")
    axes[0].plot(range(1, len(evr) + 1), 100 * np.cumsum(evr), "C3o-", ms=3, label="cumulative")
    axes[0].set_xlabel("principal component")
    axes[0].set_ylabel("explained variance (%)")
    axes[0].legend()
    axes[0].set_title("Fig. 4(a) analogue: scree")
    by_sub = cl.loadings_by_category(res.loadings.iloc[:n_show], subcats)
    by_sub.plot(kind="bar", stacked=True, ax=axes[1], colormap="tab10", width=0.8)
    axes[1].set_ylabel("share of squared loadings")
    axes[1].set_title("Fig. 4(b) analogue: PC loadings by descriptor group")
    axes[1].legend(fontsize=7, bbox_to_anchor=(1.0, 1.0))
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
        + "\n\nIn the paper PC1 is 'elastic–vibrational', PC2 'vibrational' and PC3 'structural' (≈4 %). "
        "With no elastic and (almost) no vibrational descriptors, our components are combinations of "
        "structural–compositional ones; the group shares above say which."
    )


def pc_spaces(res: cl.PCAResult) -> dict[str, pd.DataFrame]:
    """The two spaces of Fig. 5: PC1–PC2 and PC1–PC2–PC3 scores."""
    return {"PC1–PC2": res.scores[["PC1", "PC2"]], "PC1–PC2–PC3": res.scores[["PC1", "PC2", "PC3"]]}


def plot_choose_k(scans: Mapping[str, pd.DataFrame], min_ari: float) -> plt.Figure:
    """Elbow (inertia), silhouette and stability (ARI) against k for each space (ESI Figs. S4–S5)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, scan in scans.items():
        axes[0].plot(scan.index, scan["inertia"] / scan["inertia"].iloc[0], "o-", label=name)
        axes[1].plot(scan.index, scan["silhouette"], "o-", label=name)
        axes[2].plot(scan.index, scan["ari_bootstrap"], "o-", label=f"{name} bootstrap")
        axes[2].plot(scan.index, scan["ari_seeds"], "x--", label=f"{name} seeds")
    axes[0].set_ylabel("inertia / inertia(k=2)")
    axes[1].set_ylabel("silhouette")
    axes[2].set_ylabel("mean ARI")
    axes[2].axhline(min_ari, color="k", lw=0.6)
    for ax in axes:
        ax.set_xlabel("k")
        ax.legend(fontsize=7)
    axes[0].set_title("elbow (ESI Fig. S4 analogue)")
    axes[1].set_title("silhouette (ESI Fig. S5 analogue)")
    axes[2].set_title("stability")
    fig.tight_layout()
    return fig


def choice_text(choice: Mapping[str, tuple[int, str]], k_chosen: int) -> str:
    """The k chosen in each space and why."""
    return (
        "\n".join(f"- **{name}**: {w}" for name, (k, w) in choice.items())
        + f"\n\nWe use **k = {k_chosen}** (chosen in PC1–PC2, as the paper chose one k for both spaces) "
        f"in both spaces. The paper chose k = 6 for its 61 materials."
    )


def _colour(c: int):
    return plt.get_cmap("tab10")((c - 1) % 10)


def plot_pc12_classes(res: cl.PCAResult, km: cl.KMeansResult, k: int) -> plt.Figure:
    """Fig. 5(a) analogue: the classes in PC1–PC2, numbered at their centroids."""
    evr = res.explained_variance_ratio
    fig, ax = plt.subplots(figsize=(7, 6))
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
    """Family fractions and superionic fraction per class. Returns (figure, class summary)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    cl.composition_table(km.labels, fam, normalize=True).plot(
        kind="bar", stacked=True, ax=axes[0], colormap="tab20", width=0.8
    )
    axes[0].set_ylabel("fraction of the cluster")
    axes[0].set_title("Fig. 5(a) populations by family")
    axes[0].legend(fontsize=6, bbox_to_anchor=(1.0, 1.0))
    summ = cl.cluster_summary(km.labels, table)
    axes[1].bar(summ.index, summ["fraction_superionic"], color=[_colour(c) for c in summ.index])
    axes[1].axhline(table["superionic"].mean(), color="k", ls="--", lw=0.8, label="all materials")
    axes[1].set_xlabel("cluster")
    axes[1].set_ylabel("fraction superionic")
    axes[1].legend()
    fig.tight_layout()
    return fig, summ


def plot_profiles(prof: pd.DataFrame, k: int) -> plt.Figure:
    """Heat map of the class profiles (mean z-score of every descriptor per class)."""
    fig, ax = plt.subplots(figsize=(12, 0.5 * k + 2))
    sns.heatmap(prof, cmap="RdBu_r", center=0, vmin=-2, vmax=2, ax=ax, cbar_kws={"label": "mean z-score"})
    ax.set_title("class profiles (PC1–PC2 classes)")
    ax.tick_params(labelsize=7)
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
