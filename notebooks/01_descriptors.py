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
# # Descriptors and Li migration energies of the Li–O set
#
# The materials map of Yamaguchi et al. {cite}`yamaguchi2023map` is drawn from two descriptors
# of each Li–O compound — a **compositional** one (1,782 numbers: element ratios and histograms of
# elemental properties) and a **structural** one (858 numbers: radial and angular distribution
# functions and Voronoi statistics) — and coloured by the Li **migration energy** (ME) from a
# bond-valence (BVFF) percolation method. Their tables are in the paper's Supporting Information,
# which is not part of our data; we rebuild both from the Materials Project {cite}`jain2013materials`
# structures with open libraries, and [the autoencoder chapter](02_autoencoder_map.ipynb) draws the
# map from them:
#
# * descriptors: `matmap_utils.materials_map.descriptors` (layout, bins and scaling documented there; property
#   values from matminer's Magpie tables and pymatgen {cite}`ong2013pymatgen`, neighbour lists from pymatgen, periodic
#   Voronoi tessellation with scipy/qhull);
# * migration energies: `matmap_utils.materials_map.bvse`, bond-valence site-energy (BVSE) landscapes and
#   percolation barriers E_1D ≤ E_2D ≤ E_3D with **bvlain's model**, computed by
#   `matmap_utils.materials_map.bvse_fast` (bvlain's numbers on a union–find sweep, tested equal to
#   bvlain; `method="bvlain"` runs bvlain itself); our ME is **E_3D** (below).
#
# Differences from the paper that matter: our Li–O set is every material of the Materials
# Project version 2025.02 that passes the paper's element filter (more than the paper's 708; the
# count is below; [the data chapter](00_data_overview.ipynb) counts it for the whole Materials
# Project); the exact bins of the paper's histograms are not published (ours have the same
# sizes and the same kinds of content — the sizes are checked below); the BVSE parameters (softBV)
# and the percolation search of bvlain are not the authors' BVFF code.

# %% tags=["parameters"]
profile = "paper"
seed = 0
limit = 0  # 0: all 1,349 Li–O materials; n > 0: a seeded subset of n (the Table 1 ids always kept)
n_jobs = 0  # worker processes (0: all cores)
descriptor_timeout = 120  # seconds per structure
bvse_timeout = 300  # seconds per structure
bvse_resolution = 0.3  # BVSE grid spacing, angstrom

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from matmap_utils.chapters import ch01_descriptors as ch01
from matmap_utils.chapters.results import Timer, savefig, write_metrics, write_table
from matmap_utils.data import datasets
from matmap_utils.data.structures import structure_summary
from matmap_utils.materials_map import bvse as M
from matmap_utils.materials_map import descriptors as D
from matmap_utils.viz import interactive_table, set_style

set_style()
timer = Timer()
NB = ch01.NB
jobs = None if n_jobs in (0, None) else int(n_jobs)
bvse_settings = {"resolution": float(bvse_resolution)}

# %% [markdown]
# ## The Li–O set
#
# Materials that contain Li and O and whose other elements all belong to the paper's 25 (Mg, Ca, Sr, Ba, Sc, Y, La, Ti, Zr, Hf, Nb, Ta, Zn, B, Al, Ga, In, C, Si, Ge, Sn, P, As, Sb, S).
# The 16 materials of the paper's Table 1 (which include our three examples) are always part of
# the selection, also in the small CI profile.

# %%
t0 = timer.elapsed
lio = datasets.load_mp_li(subset="LiO", limit=limit or None, seed=seed, include=list(M.PAPER_TABLE1.index), n_jobs=jobs)
t_load = timer.elapsed - t0
summary = structure_summary(lio["structure"], n_jobs=jobs)
display(Markdown(ch01.dataset_text(lio, summary, limit)))

# %% [markdown]
# Elements, space groups (`matmap_utils.data.structures.structure_summary`) and crystal systems of
# this run's materials, drawn by `matmap_utils.chapters.ch01_descriptors.dataset_figure`.

# %%
fig = ch01.dataset_figure(lio, summary)
savefig(fig, NB, "dataset")
plt.show()

# %% [markdown]
# ## Descriptors
#
# Raw descriptors are computed per structure (in parallel, cached by a hash of structure and
# settings), then every block is divided by its maximum over the set so that the set lies in
# [0, 1], as in the paper. **The maxima are taken over every material of the set**, including
# those that [the autoencoder chapter](02_autoencoder_map.ipynb) later holds out as its test set — the paper does the same ("All
# descriptors ... were scaled by the maximum value for each type"), so the scaling sees the test
# rows. A maximum is one number per block, so the leak is small, but it is not zero: a test
# material can set a block's maximum. The paper scales by descriptor type (composition, RDF, ADF, Voronoi);
# we scale each finer block (each property histogram, each RDF pair, each ADF centre, each
# Voronoi group, and the Voronoi summary statistics per column) so that no block's units crush
# another's. The fitted maxima are saved (`scaler_comp.json`, `scaler_struct.json`) and
# `matmap describe --scaled` reuses them to place new structures on the same map.

# %%
t0 = timer.elapsed
res = D.describe(lio["structure"], lio.index, n_jobs=jobs, timeout=descriptor_timeout)
t_desc = timer.elapsed - t0
sc = ch01.scale_and_save(res, NB)
display(Markdown(ch01.descriptor_text(sc, res, len(lio), t_desc)))
layout = ch01.layout_table(sc)
interactive_table(layout)

# %% [markdown]
# The layout above is `matmap_utils.chapters.ch01_descriptors.layout_table` (one row per block).

# %% [markdown]
# ### What each block looks like
#
# The figure below is the counterpart of the paper's flattened descriptor axis (Fig. 3a,b use
# indices 0–1782 and 1783–2640): the mean of every scaled descriptor entry over the set with its
# band between the first and the ninth decile, and the three example materials on top. Block
# boundaries are marked. Drawn by `matmap_utils.chapters.ch01_descriptors.flat_figure` from the
# scaled descriptors of `matmap_utils.materials_map.descriptors.transform`.


# %%
fig = ch01.flat_figure(sc)
savefig(fig, NB, "descriptors_flat")
plt.show()

# %% [markdown]
# The raw (unscaled) structural blocks of the three examples, from
# `matmap_utils.materials_map.descriptors.describe`, drawn by
# `matmap_utils.chapters.ch01_descriptors.examples_figure`; the table under it gives the statistics
# of every scaled block (`matmap_utils.materials_map.descriptors.block_summary`).

# %%
fig = ch01.examples_figure(
    res.struct,
    sc.sspec,
    ["rdf:Li-O", "rdf:Li-Li", "adf:Li", "voronoi:Li:cn"],
    "raw structural blocks of the three examples (RDF bins 0.1 Å, ADF bins 3°, CN 1–16)",
)
savefig(fig, NB, "examples_struct")
plt.show()

# %%
blocks = ch01.block_table(sc)
display(Markdown(ch01.li_cn_text(res.struct, sc.sspec)))
display(ch01.block_display(blocks))

# %% [markdown]
# ## Li migration energies
#
# For each structure bvlain's model (evaluated by `bvse_fast`) gives the bond-valence site energy of a Li⁺ probe on a grid
# (spacing and grid cap printed below; coarser for the few very large cells), and the lowest
# energies E_1D, E_2D, E_3D at which the region below that energy percolates through the
# periodic crystal in one, two and three dimensions. **We take ME = E_3D.** The paper's ME
# comes from its ref. 20 {cite}`nakayama2016bvff`, an automated
# bond-valence pathway screening whose percolation algorithm asks for the energy at which Li
# pathways connect through the whole crystal — the barrier of long-range conduction. The
# conductivity of a polycrystalline ceramic, which ME stands for, needs a 3D-connected network, so
# E_3D is the closest analogue; E_1D and E_2D are in the table and compared with Table 1 below
# (we do not pick the barrier by its agreement with the Table 1 points). The histograms below are
# `matmap_utils.chapters.ch01_descriptors.me_distribution_figure` of the barriers of
# `matmap_utils.materials_map.bvse.migration_table`.

# %%
t0 = timer.elapsed
mig = M.migration_table(lio["structure"], lio.index, settings=bvse_settings, n_jobs=jobs, timeout=bvse_timeout)
t_mig = timer.elapsed - t0
fig = ch01.me_distribution_figure(mig)
savefig(fig, NB, "me_distribution")
plt.show()
display(Markdown(ch01.me_text(mig, t_mig, bvse_settings)))

# %% [markdown]
# ## Our ME against the paper's Table 1
#
# The paper lists ME for its 16 garnet, NASICON and perovskite materials (Table 1). The scatter
# compares them with our barriers (Spearman rank correlation, since the two methods' energy
# scales differ; `matmap_utils.materials_map.bvse.compare_with_paper`, drawn by
# `matmap_utils.chapters.ch01_descriptors.table1_figure`).

# %%
cmp, rho = M.compare_with_paper(mig)
fig = ch01.table1_figure(cmp, rho)
savefig(fig, NB, "table1_me")
plt.show()
display(ch01.table1_display(cmp))

# %%
display(Markdown(ch01.table1_text(cmp, rho, bvse_resolution)))

# %% [markdown]
# ## Failures
#
# Every material is kept in the tables; the ones without descriptors or without an ME are listed
# here with the reason.

# %%
fail = ch01.failures_table(res, mig, lio["reduced_formula"])
display(Markdown(ch01.failures_text(fail)))
display(ch01.failures_display(fail))
if len(fail):
    interactive_table(fail)

# %% [markdown]
# ## Tables for the next chapters
#
# `results/01_descriptors/`: `descriptors_comp` and `descriptors_struct` (rows = `material_id`,
# scaled to [0, 1]; columns `comp_0000…` and `struct_000…`), `migration` (`E_1D`, `E_2D`, `E_3D`,
# `ME` in eV, `reason`, `oxi_method`, `resolution`), `failures`, `descriptor_layout`, and the
# scalers. [The autoencoder chapter](02_autoencoder_map.ipynb) standardizes ME (mean and standard deviation of its training
# and validation rows); the paper instead divides ME by its maximum over all materials.

# %%
write_table(NB, "descriptors_comp", sc.Xc)
write_table(NB, "descriptors_struct", sc.Xs)
write_table(NB, "migration", mig)
write_table(NB, "failures", fail)
write_table(NB, "descriptor_layout", layout)
times = {"load": t_load, "descriptors": t_desc, "bvse": t_mig}
metrics = ch01.metrics(lio, sc, res, mig, fail, rho, times, bvse_settings, cmp)
_ = write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)

# %% [markdown]
# ## What we found

# %%
display(Markdown(ch01.found_text(metrics, mig, cmp)))
