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
# López et al. {cite}`lopez2023universal` reduce their descriptors with principal component
# analysis — which descriptor categories carry the variance (Fig. 4) — and classify their
# materials with k-means in the PC1–PC2 and PC1–PC2–PC3 spaces (Fig. 5), choosing k with the elbow
# and silhouette methods. They conclude that elastic and vibrational descriptors, not the mobile ion
# species, organise the classes. Here the same analysis runs on the descriptor table of
# [the correlogram chapter](04_correlograms.ipynb) (OBELiX structures with measured conductivities).

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
n_boot_ci = 1000  # bootstrap resamples for the confidence intervals of the claims table

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from matmap_utils.chapters import ch05_claims as claims
from matmap_utils.chapters import ch05_clustering as ch05
from matmap_utils.chapters.results import Timer, savefig, write_metrics, write_table
from matmap_utils.transport import clustering as cl
from matmap_utils.viz import format_table, set_style, show_plotly

set_style()
timer = Timer()
NB = ch05.NB
ks = list(range(int(k_min), int(k_max) + 1))


# %% [markdown]
# ## The descriptor matrix
#
# The numeric descriptors of [chapter 04](04_correlograms.ipynb)'s table, without the conductivity (kept aside to judge
# the classes afterwards) and without the space-group *number* (a label, not a quantity; the number
# of symmetry operations stays). Descriptors missing for most materials (BVSE barriers exist only for
# ordered structures, MD descriptors only for simulated systems) are left out; the few remaining
# gaps are filled with the column median; every column is standardized.

# %%
table = ch05.read_descriptors()
prep = ch05.descriptor_matrix(table, max_missing)
Z = prep.X
display(Markdown(ch05.matrix_text(prep)))
cats, subcats = ch05.category_maps(Z.columns)
format_table(pd.Series(cats).value_counts().rename("descriptors").rename_axis("category").to_frame())


# %% [markdown]
# ## Fig. 4 analogue: explained variance and loadings by category

# %%
res = cl.pca(Z, seed=seed)
n_show = 5
fig, by_sub = ch05.plot_pca(res, subcats, n_show)
savefig(fig, NB, "fig4_pca")
plt.show()
by_cat = cl.loadings_by_category(res.loadings.iloc[:n_show], cats, all_categories=["M-E", "D-V", "S-C"])
display(format_table(by_cat.rename_axis("PC")))
display(
    Markdown(
        "A group's share is only informative against what it would get if every descriptor "
        "loaded equally (its fraction of the descriptors):"
    )
)
display(format_table(ch05.shares_against_baseline(by_sub, subcats).rename_axis("descriptor group")))


# %%
display(Markdown(ch05.pca_text(res)))


# %% [markdown]
# ## Choosing k: elbow, silhouette and stability
#
# As in the paper, k-means runs in the space of the leading principal components: PC1–PC2 (Fig. 5a)
# and PC1–PC2–PC3 (Fig. 5b). For every k from `k_min` to `k_max` we record the inertia (elbow,
# located objectively with the Kneedle maximum-distance rule), the silhouette score, and the stability of the partition: mean
# adjusted Rand index (ARI) between single-initialisation runs with different seeds, and between the
# full-data partition and partitions fitted on bootstrap resamples.

# %%
spaces = ch05.pc_spaces(res)
scans = {name: cl.scan_k(S, ks, seed=seed, n_init=n_init, n_seeds=n_seeds, n_boot=n_boot) for name, S in spaces.items()}
fig = ch05.plot_choose_k(scans, min_ari)
savefig(fig, NB, "choose_k")
plt.show()


# %%
choice = {name: cl.choose_k(scan, min_ari=min_ari) for name, scan in scans.items()}
k_chosen, why = choice["PC1–PC2"]
display(format_table(scans["PC1–PC2"]))
display(Markdown(ch05.choice_text(choice, k_chosen)))


# %% [markdown]
# ## Fig. 5 analogue: the classes in PC space
#
# Clusters are numbered along PC1 of their centroid, from the lowest; the number is drawn at the centroid, as in
# the paper.

# %%
km2 = cl.fit_kmeans(spaces["PC1–PC2"], k_chosen, seed=seed, order_by="PC1")
km3 = cl.fit_kmeans(spaces["PC1–PC2–PC3"], k_chosen, seed=seed, order_by="PC1")
fig = ch05.plot_pc12_classes(res, km2, k_chosen)
savefig(fig, NB, "fig5a_pc12")
plt.show()


# %%
show_plotly(ch05.plot_pc123_classes(res, km3, table, k_chosen), height=600)


# %% [markdown]
# ## Who is in each class

# %%
fam = ch05.family_labels(table)
tabs = {}
for name, km in (("PC1–PC2", km2), ("PC1–PC2–PC3", km3)):
    tabs[name], comp_fam = ch05.membership(km, table, fam)
    display(Markdown(f"### {name}: population by majority anion and superionic fraction"))
    display(format_table(tabs[name]))
    display(Markdown(f"### {name}: population by OBELiX family"))
    display(format_table(comp_fam))


# %%
fig, summ = ch05.plot_populations(km2, fam, table)
savefig(fig, NB, "fig5_populations")
plt.show()


# %% [markdown]
# ## What the classes mean
#
# The profile of a class is the mean z-score of every descriptor over its members (positive:
# above the average material). The agreement between the classes and the chemistry labels is
# measured with the ARI and the adjusted mutual information (AMI; zero: no relation, one: identical).

# %%
prof = cl.cluster_profiles(Z, km2.labels)
fig = ch05.plot_profiles(prof, k_chosen)
savefig(fig, NB, "profiles")
plt.show()
agree = ch05.label_agreements(km2.labels, table)
display(Markdown(ch05.classes_text(prof, summ, tabs["PC1–PC2"], agree)))


# %% [markdown]
# ## The paper's claims, tested
#
# López et al. {cite}`lopez2023universal` say that PC1 is "elastic–vibrational", PC2
# "vibrational" and PC3 "structural" with a small share of the variance (Fig. 4); that the elbow
# and silhouette methods choose their k; and that the mobile-ion families do not organise the
# classes (Li-based SSEs spread over several clusters, shared with Na, halide and O conductors;
# Fig. 5) — the paper's numbers are in the table's `paper` column. Our materials are all Li conductors, so OBELiX families and
# anion classes stand in for the mobile-ion families. Each claim gets our value, a 95 % CI from
# resampling materials (the PCA refitted on each resample for the loadings), n and a computed
# verdict with its rule; the M–E descriptors come from MEGNet's moduli (chapter 04), the D–V
# ones are mostly missing (BVSE for ordered structures only, MD for a few simulated systems).
# Caveat on PC1: the M–E columns are functions of only three numbers (K, G, ρ), so they are
# strongly collinear and load together on one axis — as the paper's, derived from one elastic
# tensor each, do too; the share against the equal-loading baseline is printed with each row.

# %%
pca_rows = claims.pca_claims(Z, cats, n_boot=n_boot_ci, seed=seed)
class_rows = claims.class_claims(km2.labels, table, k_chosen, why, fam, n_boot=n_boot_ci, seed=seed)
claims_tab = claims.claims_table(pca_rows, class_rows)
display(format_table(claims_tab, rename={"ci_lo": "95 % CI low", "ci_hi": "95 % CI high"}))
display(Markdown(ch05.claims_text(claims_tab)))


# %%
stab = scans["PC1–PC2"].loc[k_chosen]
write_table(NB, "clusters", ch05.clusters_table(km2, km3, res, table))
write_table(NB, "k_scan_pc12", scans["PC1–PC2"])
write_table(NB, "k_scan_pc123", scans["PC1–PC2–PC3"])
write_table(NB, "loadings", res.loadings)
write_table(NB, "claims", claims_tab)
metrics = ch05.metrics(Z, res, choice, km2, km3, stab, agree, by_sub)
metrics["claims"] = claims.claims_metrics(claims_tab)
metrics["by_category_pc1_pc3"] = by_cat.iloc[:3].round(4).to_dict(orient="index")
_ = write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)


# %% [markdown]
# ## What we found

# %%
display(Markdown(ch05.found_text(res, k_chosen, claims_tab, agree)))
