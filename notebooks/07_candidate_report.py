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
# # Candidate report
#
# One structure through every model of this book: its identity, MEGNet's properties, its
# bond-valence Li barriers, its place on the materials map of
# [chapter 02](02_autoencoder_map.ipynb) {cite}`yamaguchi2023map`, the screening verdict of
# [chapter 06](06_atomsets_screening.ipynb)'s AtomSets ensemble {cite}`mchaffie2025classification`, the measured
# conductors that resemble it and, optionally, a short CHGNet MD. Nothing is retrained: the map
# and the ensemble are the chapters' saved models. Run it on your own CIF with
# `matmap report my.cif` (see [Your material](../your_material.md)).

# %% tags=["parameters"]
profile = "paper"
seed = 0
structure = "mp-696128"  # a CIF/POSCAR path, or an MP id of the pool
label = ""  # a name for the page (default: the file name or MP id)
md_ps = 0.0  # production MD length in ps (0: no MD)
temperature = 800.0  # MD temperature (K)
k_map = 10  # nearest Li–O neighbours shown on the maps
k_labelled = 5  # nearest measured conductors shown

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from matmap_utils import viz
from matmap_utils.chapters import ch07_candidate_report as ch07
from matmap_utils.chapters import ch07_figures as fig07
from matmap_utils.chapters.results import savefig, write_metrics

# %%
viz.set_style()
timings = ch07.Timings()
st, name, source = ch07.load_structure(structure)
name = label or name
out = f"{ch07.NB}/{name}"
ident = ch07.identity(st)
models = ch07.upstream_models()
timings.lap("structure and models")

# %% [markdown]
# ## Identity

# %%
display(Markdown(f"**{name}** — {ident['formula']}, {ident['spacegroup']}."))
display(viz.format_table(fig07.identity_table(ident, source)))
fig = fig07.structure_figure(st, ident["formula"])
savefig(fig, out, "structure")
plt.show()
timings.lap("identity")

# %% [markdown]
# ## MEGNet: energy, band gap, metal or not, elastic moduli
#
# The torch port of the original MEGNet models (chapter 06): formation energy, band gap and the
# metal classifier, and the bulk and shear moduli, from which the
# mechanical–elastic descriptors of López et al. {cite}`lopez2023universal` follow
# (`matmap_utils.transport.elastic`).

# %%
mg = ch07.megnet_section(st, name)
display(Markdown(fig07.megnet_text(mg, ident)))
timings.lap("MEGNet")

# %% [markdown]
# ## Bond-valence Li barriers and the Li pathway
#
# The bond-valence site energy of a Li+ probe in the fixed framework and the energies at which
# the accessible region percolates in one, two and three dimensions (`matmap_utils.materials_map.bvse`).
# The picture projects the landscape along each cell axis (minimum over the axis); the white
# contour at E_3D encloses the 3-D Li network.

# %%
bv = ch07.bvse_section(st)
display(Markdown(fig07.bvse_text(bv)))
if bv.get("grid") is not None:
    fig = fig07.pathway_figure(bv)
    savefig(fig, out, "pathway")
    plt.show()
timings.lap("BVSE")

# %% [markdown]
# ## On the materials map
#
# The structure featurized and scaled like the map's training data, encoded to
# (x_comp, x_struct) (`matmap_utils.materials_map.analysis.place_structures`), and placed on the
# UMAP map of the same inputs through its nearest inputs (`analysis.umap_placement`). Rings: its
# nearest Li–O neighbours, listed below with their migration energies.

# %%
ms = ch07.map_section(st, name, models, k=k_map)
display(Markdown(fig07.map_text(ms, ident, models["W"], models["map_profile"])))
if not ms.get("reason"):
    fig = fig07.map_figure(ms | {"inputs": models["inputs"]}, models["W"], name)
    savefig(fig, out, "maps")
    plt.show()
    display(
        viz.format_table(
            ms["near_map"][["formula", "spacegroup", "ME", "family", "distance"]],
            units={"ME": "eV"},
            caption="Nearest on the autoencoder map",
        )
    )
    display(viz.format_table(ms["near_inputs"], units={"ME": "eV"}, caption="Nearest in the map's input space"))
timings.lap("map")

# %% [markdown]
# ## Screening: P(superionic), domain and verdict
#
# Chapter 06's ensemble (`matmap_utils.screening.score.score_structures`): the structure is
# simplified as the ensemble was trained, featurized with the MEGNet port and scored by every
# member; the filters are those of the pool screening.

# %%
sc = ch07.screening_section(st, name, models["bundle"])
display(Markdown(fig07.screening_text(sc)))
timings.lap("screening")

# %% [markdown]
# ## Measured conductors that resemble it
#
# By composition: the element-movers distance (ElMD, modified Pettifor scale) to every OBELiX
# entry. By structure and chemistry as the classifier sees them: the PCA-normalized distance in
# the ensemble's feature space to its training compounds (McHaffie et al.'s database).

# %%
near = ch07.nearest_labelled(st, sc, models["bundle"], k=k_labelled)
display(
    viz.format_table(
        near["by_elmd"],
        rename={"sigma_S_cm": "σ_RT (S/cm)", "elmd": "ElMD", "doi": "DOI"},
        caption="Nearest by composition (ElMD), OBELiX",
    )
)
display(
    viz.format_table(
        near["by_features"],
        rename={"sigma_S_cm": "σ_RT (S/cm)", "doi": "DOI", "feature_distance": "feature distance"},
        caption="Nearest in the ensemble's feature space",
        empty="The ensemble could not featurize this structure, so there are no feature-space neighbours.",
    )
)
timings.lap("nearest labelled")

# %% [markdown]
# ## Molecular dynamics (optional)

# %%
md = ch07.md_section(st, md_ps, temperature, seed)
display(Markdown(fig07.md_text(md)))
if not md.get("reason"):
    fig = fig07.msd_figure(md)
    savefig(fig, out, "msd")
    plt.show()
timings.lap("MD")

# %%
row = fig07.summary(name, ident, mg, bv, ms, sc, md)
_ = write_metrics(
    out,
    {"summary": row, "section_seconds": timings.seconds},
    profile=profile,
    seed=seed,
    wall_time_s=sum(timings.seconds.values()),
)

# %% [markdown]
# ## What we found

# %%
display(Markdown(" ".join(fig07.found_text(row, ident, bv, near))))
display(Markdown(fig07.timing_text(timings.seconds)))
