# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Principal components and classes of solid electrolytes
#
# López et al. (Mater. Horiz. 10, 1757, 2023) reduce their 54 descriptors with principal component
# analysis — which descriptor categories carry the variance (Fig. 4) — and classify their 61
# materials with k-means in the PC1–PC2 and PC1–PC2–PC3 spaces (Fig. 5), choosing k with the elbow
# and silhouette methods. They conclude that elastic and vibrational descriptors, not the mobile ion
# species, organise the classes. Here the same analysis runs on the descriptor table of the
# correlogram chapter (OBELiX structures with measured conductivities).

# %% tags=["parameters"]
profile = "paper"
seed = 0
k_min = 2
k_max = 12
n_init = 10  # k-means initialisations
n_seeds = 10  # single-initialisation runs for the seed-stability ARI
n_boot = 20  # bootstrap resamples for the bootstrap-stability ARI
max_missing = 0.5  # descriptors missing for more than this fraction of materials are left out
min_ari = 0.6  # bootstrap ARI a k must reach to be chosen

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.express as px
import seaborn as sns
from IPython.display import Markdown, display

from matmap_utils.chapters.results import Timer, read_table, savefig, write_metrics, write_table
from matmap_utils.transport import clustering as cl
from matmap_utils.transport import sse_descriptors as sd
from matmap_utils.viz import set_style, show_plotly

set_style()
timer = Timer()
NB = "05_clustering"
ks = list(range(int(k_min), int(k_max) + 1))

# %% [markdown]
# ## The descriptor matrix
#
# The numeric descriptors of notebook 04's table, without the conductivity (kept aside to judge
# the classes afterwards) and without the space-group *number* (a label, not a quantity; the number
# of symmetry operations stays). Descriptors missing for most materials (BVSE barriers exist only for
# ordered structures, MD descriptors only for simulated systems) are left out; the few remaining
# gaps are filled with the column median; every column is standardized.

# %%
table = read_table("04_correlograms", "sse_descriptors")
cols = [c for c in sd.descriptor_columns(table) if c != "spacegroup"]
prep = cl.prepare_matrix(table, cols, max_missing=max_missing)
Z = prep.X
left_out = [c for c, n in prep.imputed.items() if n < 0]
imputed = {c: n for c, n in prep.imputed.items() if n > 0}
display(
    Markdown(
        f"{Z.shape[0]} materials × {Z.shape[1]} descriptors. Constant (dropped): "
        f"{', '.join(prep.dropped_constant) or 'none'}. Mostly missing (dropped): {', '.join(left_out) or 'none'}. "
        f"Median-imputed: {', '.join(f'{c} ({n})' for c, n in imputed.items()) or 'none'}."
    )
)
cats = {c: sd.category(c) for c in Z.columns}
subcats = {c: sd.subcategory(c) for c in Z.columns}
display(pd.Series(cats).value_counts().rename("descriptors per category").to_frame())

# %% [markdown]
# ## Fig. 4 analogue: explained variance and loadings by category

# %%
res = cl.pca(Z, seed=seed)
evr = res.explained_variance_ratio
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].bar(range(1, len(evr) + 1), 100 * evr, color="C0", label="per PC")
axes[0].plot(range(1, len(evr) + 1), 100 * np.cumsum(evr), "C3o-", ms=3, label="cumulative")
axes[0].set_xlabel("principal component")
axes[0].set_ylabel("explained variance (%)")
axes[0].legend()
axes[0].set_title("Fig. 4(a) analogue: scree")
n_show = 5
by_sub = cl.loadings_by_category(res.loadings.iloc[:n_show], subcats)
by_sub.plot(kind="bar", stacked=True, ax=axes[1], colormap="tab10", width=0.8)
axes[1].set_ylabel("share of squared loadings")
axes[1].set_title("Fig. 4(b) analogue: PC loadings by descriptor group")
axes[1].legend(fontsize=7, bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
savefig(fig, NB, "fig4_pca")
plt.show()
by_cat = cl.loadings_by_category(res.loadings.iloc[:n_show], cats, all_categories=["M-E", "D-V", "S-C"])
display(by_cat.round(3))
baseline = pd.Series(subcats).value_counts(normalize=True).rename("equal-loadings share")
display(
    Markdown(
        "A group's share is only informative against what it would get if every descriptor "
        "loaded equally (its fraction of the descriptors):"
    )
)
display(pd.concat([by_sub.iloc[:3].T, baseline], axis=1).round(3))

# %%
n80 = int(np.searchsorted(np.cumsum(evr), 0.8) + 1)
top_load = {
    pc: ", ".join(
        f"{c} ({v:+.2f})"
        for c, v in res.loadings.loc[pc]
        .reindex(res.loadings.loc[pc].abs().sort_values(ascending=False).index)
        .head(4)
        .items()
    )
    for pc in ["PC1", "PC2", "PC3"]
}
display(
    Markdown(
        f"PC1–PC3 explain {100 * evr[0]:.1f} %, {100 * evr[1]:.1f} % and {100 * evr[2]:.1f} % of the variance "
        f"({100 * evr[:3].sum():.1f} % together); {n80} components are needed for 80 %. "
        "The largest loadings:\n\n"
        + "\n".join(f"- **{pc}**: {v}" for pc, v in top_load.items())
        + "\n\nIn the paper PC1 is 'elastic–vibrational', PC2 'vibrational' and PC3 'structural' (≈4 %). "
        "With no elastic and (almost) no vibrational descriptors, our components are combinations of "
        "structural–compositional ones; the group shares above say which."
    )
)

# %% [markdown]
# ## Choosing k: elbow, silhouette and stability
#
# As in the paper, k-means runs in the space of the leading principal components: PC1–PC2 (Fig. 5a)
# and PC1–PC2–PC3 (Fig. 5b). For k = 2…12 we record the inertia (elbow, located objectively with the
# Kneedle maximum-distance rule), the silhouette score, and the stability of the partition: mean
# adjusted Rand index (ARI) between single-initialisation runs with different seeds, and between the
# full-data partition and partitions fitted on bootstrap resamples.

# %%
spaces = {"PC1–PC2": res.scores[["PC1", "PC2"]], "PC1–PC2–PC3": res.scores[["PC1", "PC2", "PC3"]]}
scans = {}
for name, S in spaces.items():
    scan = cl.kmeans_scan(S, ks, seed=seed, n_init=n_init)
    scans[name] = scan.join(cl.stability_scan(S, ks, seed=seed, n_seeds=n_seeds, n_boot=n_boot))
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
savefig(fig, NB, "choose_k")
plt.show()

# %%
choice = {name: cl.choose_k(scan, min_ari=min_ari) for name, scan in scans.items()}
k_chosen, why = choice["PC1–PC2"]
display(scans["PC1–PC2"].round(3))
display(
    Markdown(
        "\n".join(f"- **{name}**: {w}" for name, (k, w) in choice.items())
        + f"\n\nWe use **k = {k_chosen}** (chosen in PC1–PC2, as the paper chose one k for both spaces) "
        f"in both spaces. The paper chose k = 6 for its 61 materials."
    )
)

# %% [markdown]
# ## Fig. 5 analogue: the classes in PC space
#
# Clusters are numbered 1…k along PC1 of their centroid; the number is drawn at the centroid, as in
# the paper.

# %%
km2 = cl.fit_kmeans(spaces["PC1–PC2"], k_chosen, seed=seed, order_by="PC1")
km3 = cl.fit_kmeans(spaces["PC1–PC2–PC3"], k_chosen, seed=seed, order_by="PC1")
fig, ax = plt.subplots(figsize=(7, 6))
pal = plt.get_cmap("tab10")
for c in sorted(km2.labels.unique()):
    m = km2.labels == c
    ax.scatter(res.scores.loc[m, "PC1"], res.scores.loc[m, "PC2"], s=12, alpha=0.6, color=pal((c - 1) % 10))
    cx, cy = km2.centroids.loc[c, ["PC1", "PC2"]]
    ax.text(
        cx,
        cy,
        str(c),
        fontsize=16,
        weight="bold",
        ha="center",
        va="center",
        bbox={"boxstyle": "circle", "fc": "white", "ec": pal((c - 1) % 10)},
    )
ax.set_xlabel(f"PC1 ({100 * evr[0]:.0f} %)")
ax.set_ylabel(f"PC2 ({100 * evr[1]:.0f} %)")
ax.set_title(f"Fig. 5(a) analogue: k-means in PC1–PC2, k = {k_chosen}")
savefig(fig, NB, "fig5a_pc12")
plt.show()

# %%
d3 = res.scores[["PC1", "PC2", "PC3"]].copy()
d3["cluster"] = km3.labels.astype(str)
d3 = d3.join(table[["formula", "family", "anion_class", "log10_sigma"]])
fig3 = px.scatter_3d(
    d3.reset_index(),
    x="PC1",
    y="PC2",
    z="PC3",
    color="cluster",
    hover_data=[
        "index" if "index" in d3.reset_index() else d3.index.name,
        "formula",
        "family",
        "anion_class",
        "log10_sigma",
    ],
    category_orders={"cluster": [str(i) for i in range(1, k_chosen + 1)]},
    title=f"Fig. 5(b) analogue: k-means in PC1–PC2–PC3, k = {k_chosen}",
)
fig3.update_traces(marker={"size": 3})
cen = km3.centroids
fig3.add_scatter3d(
    x=cen["PC1"],
    y=cen["PC2"],
    z=cen["PC3"],
    mode="text",
    text=[str(i) for i in cen.index],
    textfont={"size": 18, "color": "black"},
    name="centroids",
)
show_plotly(fig3, height=600)

# %% [markdown]
# ## Who is in each class

# %%
fam = table["family"].where(table["family"].map(table["family"].value_counts()) >= 5, "other (< 5)")
tabs = {}
for name, km in (("PC1–PC2", km2), ("PC1–PC2–PC3", km3)):
    comp_anion = cl.composition_table(km.labels, table["anion_class"])
    comp_fam = cl.composition_table(km.labels, fam)
    summary = cl.cluster_summary(km.labels, table)
    tabs[name] = comp_anion.join(summary)
    display(Markdown(f"### {name}: population by majority anion, superionic fraction (σ ≥ 1e-4 S/cm)"))
    display(tabs[name].round(2))
    display(Markdown(f"### {name}: population by OBELiX family"))
    display(comp_fam)

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
cl.composition_table(km2.labels, fam, normalize=True).plot(
    kind="bar", stacked=True, ax=axes[0], colormap="tab20", width=0.8
)
axes[0].set_ylabel("fraction of the cluster")
axes[0].set_title("Fig. 5(a) populations by family")
axes[0].legend(fontsize=6, bbox_to_anchor=(1.0, 1.0))
summ = cl.cluster_summary(km2.labels, table)
axes[1].bar(summ.index, summ["fraction_superionic"], color=[pal((c - 1) % 10) for c in summ.index])
axes[1].axhline(table["superionic"].mean(), color="k", ls="--", lw=0.8, label="all materials")
axes[1].set_xlabel("cluster")
axes[1].set_ylabel("fraction superionic")
axes[1].legend()
fig.tight_layout()
savefig(fig, NB, "fig5_populations")
plt.show()

# %% [markdown]
# ## What the classes mean
#
# The profile of a class is the mean z-score of every descriptor over its members (positive:
# above the average material). The agreement between the classes and the chemistry labels is
# measured with the ARI and the adjusted mutual information (AMI; 0 = no relation, 1 = identical).

# %%
prof = cl.cluster_profiles(Z, km2.labels)
fig, ax = plt.subplots(figsize=(12, 0.5 * k_chosen + 2))
sns.heatmap(prof, cmap="RdBu_r", center=0, vmin=-2, vmax=2, ax=ax, cbar_kws={"label": "mean z-score"})
ax.set_title("class profiles (PC1–PC2 classes)")
ax.tick_params(labelsize=7)
savefig(fig, NB, "profiles")
plt.show()
agree = {g: cl.label_agreement(km2.labels, table[g]) for g in ("anion_class", "family")}
agree["superionic"] = cl.label_agreement(km2.labels, table["superionic"].astype(str))
lines = []
for c in prof.index:
    row = prof.loc[c]
    top3 = row.reindex(row.abs().sort_values(ascending=False).index).head(3)
    s = summ.loc[c]
    main = tabs["PC1–PC2"].loc[c].drop(summ.columns, errors="ignore").astype(float)
    lines.append(
        f"- **class {c}** ({int(s['n'])} materials, {100 * s['fraction_superionic']:.0f} % superionic, "
        f"mostly {main.idxmax()}s): " + ", ".join(f"{k} {v:+.1f}σ" for k, v in top3.items())
    )
display(
    Markdown(
        "\n".join(lines)
        + "\n\nAgreement of the classes with the labels: "
        + "; ".join(f"{g}: ARI {v['ari']:.2f}, AMI {v['ami']:.2f}" for g, v in agree.items())
        + "."
    )
)

# %% [markdown]
# ## Comparison with the paper
#
# The paper finds that the mobile-ion species does not organise its classes: Li conductors spread
# over 4–5 of its 6 classes and share them with Na, halide and O conductors, while elastic and
# vibrational descriptors dominate PC1 and PC2. Our materials are all Li conductors, so the
# analogous question is whether the *chemistry* (anion, structural family) organises the classes,
# and which descriptor groups do. Elastic and vibrational descriptors are absent here, so the
# paper's positive claim (elastic–vibrational descriptors organise the classes) cannot be tested;
# the numbers above say which of our structural–compositional groups take their place, how strongly
# the classes align with anion and family (AMI), and how different their fractions of superionic
# compounds are.

# %%
stab = scans["PC1–PC2"].loc[k_chosen]
write_table(
    NB,
    "clusters",
    pd.DataFrame({"cluster_pc12": km2.labels, "cluster_pc123": km3.labels})
    .join(res.scores[["PC1", "PC2", "PC3"]])
    .join(table[["formula", "family", "anion_class", "log10_sigma", "superionic"]]),
)
write_table(NB, "k_scan_pc12", scans["PC1–PC2"])
write_table(NB, "k_scan_pc123", scans["PC1–PC2–PC3"])
write_table(NB, "loadings", res.loadings)
write_metrics(
    NB,
    {
        "n_materials": int(len(Z)),
        "n_descriptors": int(Z.shape[1]),
        "explained_variance_pc1_pc3": [float(v) for v in evr[:3]],
        "k_chosen": int(k_chosen),
        "k_chosen_pc123": int(choice["PC1–PC2–PC3"][0]),
        "k_reason": why,
        "silhouette": float(km2.silhouette),
        "silhouette_pc123": float(km3.silhouette),
        "mean_ari_bootstrap": float(stab["ari_bootstrap"]),
        "mean_ari_seeds": float(stab["ari_seeds"]),
        "agreement_with_labels": agree,
        "loadings_by_subcategory_pc1_pc3": by_sub.iloc[:3].round(4).to_dict(orient="index"),
    },
    profile=profile,
    seed=seed,
    wall_time_s=timer.elapsed,
)
display(Markdown(f"Wall time: {timer.elapsed:.0f} s."))
