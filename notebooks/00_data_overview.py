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
# # The data
#
# Every number in this book comes from five public datasets, read through the project's
# hash-checked registry (see [Data and provenance](../data_provenance.md)). This chapter counts
# what is in each of them, shows the spread of elements, space groups and conductivities, and lists
# the ab initio molecular-dynamics (AIMD) runs that the trajectory chapter analyses.
#
# | dataset | used for |
# |---|---|
# | Materials Project Li pool (one CIF per material) | the Li–O materials map (Yamaguchi et al.), the screening pool (McHaffie et al.) |
# | OBELiX (room-temperature conductivities, with CIFs for part of them) | descriptor correlograms and classes (López et al.), AtomSets labels |
# | McHaffie et al. database (571 measurements → 548 unique structures) | AtomSets labels and the paper's splits |
#
# The counts of this run are computed in the sections below.
# | MEGNet models | transfer-learned atom features, formation energies, band gaps |
# | AIMD runs (argyrodites, LGPS, Na3PS4) | diffusion coefficients |

# %% tags=["parameters"]
profile = "paper"
seed = 0
mp_li_limit = 0  # 0: the whole Materials Project Li pool; n > 0: a seeded random subset of n
n_jobs = 0  # worker processes for CIF parsing (0: all cores)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from matmap_utils.chapters import ch00_data_overview as ch00
from matmap_utils.chapters.results import Timer, write_metrics, write_table
from matmap_utils.data import datasets, registry
from matmap_utils.data.structures import structure_summary
from matmap_utils.transport.md import md_runs
from matmap_utils.viz import set_style

set_style()
timer = Timer()
NB = "00_data_overview"
jobs = None if n_jobs in (0, None) else int(n_jobs)

# %% [markdown]
# ## Materials Project Li pool
#
# All Li-containing, CC-BY materials of the Materials Project (database version 2025.02.12.post),
# one CIF each. Every CIF is parsed once with pymatgen and cached (parquet, no pickle); a CIF that
# fails to parse is listed below with the reason, never dropped silently.

# %%
index = datasets.mp_li_index()
pool = datasets.load_mp_li(limit=mp_li_limit or None, seed=seed, n_jobs=jobs)
pool_fail = registry.failures_of(pool)
n_el = index["elements"].map(len)
display(
    Markdown(
        f"The registry lists **{len(index):,}** MP Li structures; this run parsed **{len(pool):,}** "
        f"({'all' if not mp_li_limit else f'a seeded subset of {mp_li_limit:,}'}), with "
        f"**{len(pool_fail)}** parse failures. Compounds have {n_el.min()}–{n_el.max()} elements "
        f"(median {n_el.median():.0f}); cells hold {pool['nsites'].min()}–{pool['nsites'].max()} sites "
        f"(median {pool['nsites'].median():.0f})."
    )
)
pool_fail if len(pool_fail) else Markdown("No CIF of this selection failed to parse.")

# %%
el_counts = pd.Series([e for els in index["elements"] for e in els]).value_counts()
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [3, 1]})
el_counts.drop("Li").head(40).plot.bar(ax=axes[0], color="C0")
axes[0].set(title="MP Li pool: the 40 most frequent elements besides Li", ylabel="compounds")
n_el.value_counts().sort_index().plot.bar(ax=axes[1], color="C1")
axes[1].set(title="elements per compound", xlabel="number of elements", ylabel="compounds")
fig.tight_layout()

# %% [markdown]
# ## The Li–O set of the materials map
#
# Yamaguchi et al. drew their map for Li–O compounds whose other elements all come from the
# paper's 25 (Mg, Ca, Sr, Ba, Sc, Y, La, Ti, Zr, Hf, Nb, Ta, Zn, B, Al, Ga, In, C, Si, Ge, Sn, P,
# As, Sb, S). Applying the same rule to today's Materials Project gives more materials than the
# paper's 708 (the count is below).

# %%
lio_ids = datasets.lio_subset_ids(index)
lio = datasets.load_mp_li(
    ids=lio_ids if not mp_li_limit else None,
    subset=None if not mp_li_limit else "LiO",
    limit=(mp_li_limit // 4) if mp_li_limit else None,
    seed=seed,
    n_jobs=jobs,
)
lio_summary = structure_summary(lio["structure"], n_jobs=jobs)
lio = lio.join(lio_summary.drop(columns=["nsites"]))
chem_sys = lio["elements"].map(lambda els: "-".join(sorted(els)))
display(
    Markdown(
        f"**{len(lio_ids):,}** materials satisfy the element rule (this run analyses {len(lio):,}). "
        f"They span {chem_sys.nunique()} chemical systems and {lio['spacegroup_number'].nunique()} space "
        f"groups; {int((lio['crystal_system'] == 'triclinic').sum())} are triclinic."
    )
)

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
chem_sys.value_counts().head(15).iloc[::-1].plot.barh(ax=axes[0], color="C0")
axes[0].set(title="Li–O set: largest chemical systems", xlabel="materials")
lio["crystal_system"].value_counts().plot.bar(ax=axes[1], color="C2")
axes[1].set(title="crystal systems", ylabel="materials")
axes[2].hist(lio["nsites"], bins=np.arange(0, lio["nsites"].max() + 10, 10), color="C3")
axes[2].set(title="cell size", xlabel="sites per cell", ylabel="materials")
fig.tight_layout()

# %% [markdown]
# ## Experimental conductivities: OBELiX and McHaffie et al.
#
# OBELiX pairs room-temperature conductivities with CIFs for part of its entries (atomic
# positions carry small deliberate noise). The McHaffie et al. database lists 571 measurements;
# the paper keeps 548 unique structures after merging duplicates (median conductivity kept). Its
# ICSD CIFs are not public: we take the unique entries from the paper's own split files and join
# structures from OBELiX by ICSD code. The counts are in the table below.

# %%
obelix = datasets.load_obelix(n_jobs=jobs)
mch = datasets.load_mchaffie()
ob_cif = obelix[obelix["has_cif"]]
n_disordered = int(sum(not s.is_ordered for s in ob_cif["structure"] if s is not None))
ob_fail = registry.failures_of(obelix)
counts = ch00.dataset_counts(obelix, mch)
counts

# %%
display(
    Markdown(
        f"McHaffie et al.'s Table 1 reports 211 superionic and 337 non-superionic structures; the "
        f"public database gives **{int(mch['superionic'].sum())}** and **{int((~mch['superionic']).sum())}** "
        f"with the same threshold (σ ≥ 10⁻⁴ S/cm). Of the 548, **{int(mch['structure'].notna().sum())}** "
        f"have an OBELiX CIF with the same ICSD code; {len(mch.attrs['dropped'])} database rows are the "
        f"duplicates the paper removed. OBELiX CIF parse failures: {len(ob_fail)}."
    )
)

# %% [markdown]
# ### McHaffie et al. Fig. 1 analogue
#
# (a) Space group against log₁₀ σ for every OBELiX entry (space groups from the OBELiX table;
# colour: whether its CIF has partially occupied sites). (b) Histogram of log₁₀ σ of the McHaffie
# entries. As in the paper, entries with σ < 10⁻²⁰ S/cm are left out of the plot.

# %%
ob_plot = obelix[obelix["log10_sigma"] > -20].copy()
ob_plot["cif"] = ch00.cif_status(ob_plot["structure"])
fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [2, 1]})
for label, grp in ob_plot.groupby("cif"):
    axes[0].scatter(grp["Space group #"], grp["log10_sigma"], s=14, alpha=0.7, label=label)
axes[0].axhline(-4, color="k", lw=0.8, ls="--")
axes[0].set(
    title="McHaffie Fig. 1a analogue: space group vs conductivity (OBELiX)",
    xlabel="space group number",
    ylabel="log$_{10}$ σ$_{RT}$ (S/cm)",
)
axes[0].legend(frameon=False)
mp_plot = mch[mch["log10_sigma"] > -20]
bins = np.arange(np.floor(mp_plot["log10_sigma"].min()), 0.5, 0.5)
axes[1].hist(mp_plot["log10_sigma"], bins=bins, color="C0", alpha=0.8)
axes[1].axvline(-4, color="k", lw=0.8, ls="--", label="σ = 10$^{-4}$ S/cm")
axes[1].set(title="McHaffie Fig. 1b analogue (548 entries)", xlabel="log$_{10}$ σ$_{RT}$ (S/cm)", ylabel="entries")
axes[1].legend(frameon=False)
fig.tight_layout()

# %% [markdown]
# ## AIMD trajectories
#
# The public ab initio MD runs analysed in the trajectory chapter. None of them stores velocities at
# the resolution a vibrational density of states needs, so the project generated its own short
# trajectories with velocities (CHGNet universal potential, NVT; `data/md/`, with the exact command,
# seed and package versions beside each file) — listed in the second table.

# %%
runs = datasets.aimd_runs()
inventory = ch00.aimd_inventory(runs, registry.registry()["bytes"])
inventory

# %%
generated = md_runs()
generated_inventory = ch00.generated_md_inventory(generated)
generated_inventory

# %%
metrics = {
    "n_mp_li_registered": int(len(index)),
    "n_mp_li_parsed": int(len(pool)),
    "n_mp_li_failed": int(len(pool_fail)),
    "n_lio": int(len(lio_ids)),
    "n_lio_chemical_systems": int(chem_sys.nunique()),
    "n_obelix": int(len(obelix)),
    "n_obelix_cifs": int(obelix["has_cif"].sum()),
    "n_obelix_disordered": n_disordered,
    "n_mchaffie": int(len(mch)),
    "n_mchaffie_superionic": int(mch["superionic"].sum()),
    "n_mchaffie_with_structure": int(mch["structure"].notna().sum()),
    "n_aimd_runs": int(len(runs)),
    "n_generated_md_runs": int(len(generated)),
}
write_table(NB, "aimd_inventory", inventory)
write_table(NB, "generated_md_inventory", generated_inventory)
write_table(NB, "lio_summary", lio.drop(columns=["structure"]).assign(elements=lambda d: d["elements"].map("-".join)))
write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)
metrics
