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
# the ab initio molecular-dynamics (AIMD) runs that [the trajectory chapter](03_aimd_trajectories.ipynb)
# analyses. The counts of this run are computed in the sections below.
#
# | dataset | used for |
# |---|---|
# | Materials Project {cite}`jain2013materials` Li pool (one CIF per material) | the Li–O materials map of Yamaguchi et al. {cite}`yamaguchi2023map` ([descriptors](01_descriptors.ipynb), [the map](02_autoencoder_map.ipynb)); the screening pool of McHaffie et al. {cite}`mchaffie2025classification` ([screening](06_atomsets_screening.ipynb)) |
# | OBELiX {cite}`therrien2025obelix` (room-temperature conductivities, with CIFs for part of them) | descriptor [correlograms](04_correlograms.ipynb) and [classes](05_clustering.ipynb) after López et al. {cite}`lopez2023universal`; AtomSets labels; [the benchmark](08_obelix_benchmark.ipynb) |
# | McHaffie et al. database (571 measurements → 548 unique structures) | AtomSets labels and the paper's splits |
# | MEGNet models {cite}`chen2019megnet` | transfer-learned atom features, formation energies, band gaps |
# | AIMD runs (argyrodites {cite}`morgan2021argyrodite`, LGPS {cite}`mo2012lgps`, Na3PS4) | diffusion coefficients |

# %% tags=["parameters"]
profile = "paper"
seed = 0
mp_li_limit = 0  # 0: the whole Materials Project Li pool; n > 0: a seeded random subset of n
n_jobs = 0  # worker processes for CIF parsing (0: all cores)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from matmap_utils.chapters import ch00_data_overview as ch00
from matmap_utils.chapters.results import Timer, savefig, write_metrics, write_table
from matmap_utils.data import datasets, registry
from matmap_utils.data.structures import structure_summary
from matmap_utils.transport.md import md_runs
from matmap_utils.viz import format_table, set_style

set_style()
timer = Timer()
NB = "00_data_overview"
jobs = None if n_jobs in (0, None) else int(n_jobs)

# %% [markdown]
# ## Materials Project Li pool
#
# All Li-containing, CC-BY materials of the Materials Project {cite}`jain2013materials` (database
# version 2025.02.12.post), one CIF each. Every CIF is parsed once with pymatgen
# {cite}`ong2013pymatgen` and cached (parquet, no pickle); a CIF that fails to parse is listed below
# with the reason, never dropped silently.

# %%
index = datasets.mp_li_index()
pool = datasets.load_mp_li(limit=mp_li_limit or None, seed=seed, n_jobs=jobs)
pool_fail = registry.failures_of(pool)
display(Markdown(ch00.pool_text(index, pool, len(pool_fail), mp_li_limit)))
display(ch00.failures_display(pool_fail))

# %% [markdown]
# The elements of the whole registered pool (not only the parsed subset), counted by
# `matmap_utils.chapters.ch00_data_overview.elements_figure`.

# %%
fig = ch00.elements_figure(index)
savefig(fig, NB, "mp_li_elements")
plt.show()

# %% [markdown]
# ## The Li–O set of the materials map
#
# Yamaguchi et al. {cite}`yamaguchi2023map` drew their map for Li–O compounds whose other
# elements all come from the paper's 25 (Mg, Ca, Sr, Ba, Sc, Y, La, Ti, Zr, Hf, Nb, Ta, Zn, B, Al,
# Ga, In, C, Si, Ge, Sn, P, As, Sb, S). Applying the same rule
# (`matmap_utils.data.datasets.lio_subset_ids`) to today's Materials Project gives more materials
# than the paper's 708 (the count is below).

# %%
lio_ids = datasets.lio_subset_ids(index)
lio = datasets.load_mp_li(
    ids=lio_ids if not mp_li_limit else None,
    subset=None if not mp_li_limit else "LiO",
    limit=(mp_li_limit // 4) if mp_li_limit else None,
    seed=seed,
    n_jobs=jobs,
)
lio = lio.join(structure_summary(lio["structure"], n_jobs=jobs).drop(columns=["nsites"]))
chem_sys = lio["elements"].map(lambda els: "-".join(sorted(els)))
display(Markdown(ch00.lio_text(len(lio_ids), lio, chem_sys)))

# %% [markdown]
# Chemical systems, crystal systems (space groups from `matmap_utils.data.structures.structure_summary`)
# and cell sizes of the Li–O materials of this run (`matmap_utils.chapters.ch00_data_overview.lio_figure`).

# %%
fig = ch00.lio_figure(lio, chem_sys)
savefig(fig, NB, "lio_set")
plt.show()

# %% [markdown]
# ## Experimental conductivities: OBELiX and McHaffie et al.
#
# OBELiX {cite}`therrien2025obelix` pairs room-temperature conductivities with CIFs for part of its
# entries (atomic positions carry small deliberate noise). The McHaffie et al.
# {cite}`mchaffie2025classification` database lists 571 measurements; the paper keeps 548 unique
# structures after merging duplicates (median conductivity kept). Its ICSD CIFs are not public: we
# take the unique entries from the paper's own split files and join structures from OBELiX by ICSD
# code (`matmap_utils.data.datasets.load_mchaffie`). The counts are in the table below
# (`matmap_utils.chapters.ch00_data_overview.dataset_counts`).

# %%
obelix = datasets.load_obelix(n_jobs=jobs)
mch = datasets.load_mchaffie()
ob_fail = registry.failures_of(obelix)
counts = ch00.dataset_counts(obelix, mch)
display(format_table(counts.rename_axis("dataset"), int_columns=list(counts.columns)))
display(Markdown(ch00.mchaffie_text(mch, len(ob_fail))))

# %% [markdown]
# ### McHaffie et al. Fig. 1 analogue
#
# (a) Space group against log₁₀ σ for every OBELiX entry (space groups from the OBELiX table;
# colour: whether its CIF has partially occupied sites). (b) Histogram of log₁₀ σ of the McHaffie
# entries. As in the paper {cite}`mchaffie2025classification`, entries with σ < 10⁻²⁰ S/cm are left
# out of the plot; the dashed line is the superionic threshold σ ≥ 10⁻⁴ S/cm. Drawn by
# `matmap_utils.chapters.ch00_data_overview.fig1_figure`.

# %%
fig = ch00.fig1_figure(obelix, mch)
savefig(fig, NB, "fig1_conductivities")
plt.show()

# %% [markdown]
# ## AIMD trajectories
#
# The public ab initio MD runs analysed in [the trajectory chapter](03_aimd_trajectories.ipynb)
# (`matmap_utils.data.datasets.aimd_runs`). None of them stores velocities at the resolution a
# vibrational density of states needs, so the project generated its own short trajectories with
# velocities (CHGNet universal potential, NVT; `data/md/`, with the exact command, seed and package
# versions beside each file) — listed in the second table.

# %%
runs = datasets.aimd_runs()
inventory = ch00.aimd_inventory(runs, registry.registry()["bytes"])
display(format_table(inventory, rename={"size_MB": "size (MB)", "disorder": "anion-site disorder (%)"}))

# %%
generated = md_runs()
generated_inventory = ch00.generated_md_inventory(generated)
display(
    format_table(
        generated_inventory,
        rename={"source": "source CIF"},
        empty="No generated trajectory is present in `data/md/` (run `data/md/generate.sh`).",
    )
)

# %%
metrics = {
    "n_mp_li_registered": int(len(index)),
    "n_mp_li_parsed": int(len(pool)),
    "n_mp_li_failed": int(len(pool_fail)),
    "n_lio": int(len(lio_ids)),
    "n_lio_chemical_systems": int(chem_sys.nunique()),
    "n_obelix": int(len(obelix)),
    "n_obelix_cifs": int(obelix["has_cif"].sum()),
    "n_obelix_disordered": int(counts.loc["OBELiX", "disordered structures"]),
    "n_mchaffie": int(len(mch)),
    "n_mchaffie_superionic": int(mch["superionic"].sum()),
    "n_mchaffie_with_structure": int(mch["structure"].notna().sum()),
    "n_aimd_runs": int(len(runs)),
    "n_generated_md_runs": int(len(generated)),
}
write_table(NB, "aimd_inventory", inventory)
write_table(NB, "generated_md_inventory", generated_inventory)
write_table(NB, "lio_summary", lio.drop(columns=["structure"]).assign(elements=lambda d: d["elements"].map("-".join)))
_ = write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)

# %% [markdown]
# ## What we found

# %%
display(Markdown(ch00.found_text(metrics)))
