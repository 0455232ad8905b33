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
# # The autoencoder materials map
#
# Yamaguchi et al. {cite}`yamaguchi2023map` compress the compositional descriptor (1,782
# numbers) and the structural descriptor (858 numbers) of each Li–O compound into **one number
# each** with two autoencoders, `x_comp` and `x_struct`, and link the pair to the Li-ion
# migration energy (ME) with a small network trained at the same time. The loss (their Eq. 4) is
#
# $$\mathrm{Loss_{all}} = \mathrm{Loss_{comp}} + \mathrm{Loss_{str}} + W \cdot \mathrm{Loss_{ME}},$$
#
# with the reconstruction losses summed over descriptor dimensions and averaged over samples
# (Eqs. 1–2) and the ME loss a mean squared error (Eq. 3). The result is a 2-D map on which known
# materials crowd or thin out and on which a predicted ME can be read at any point, including
# empty ones. This chapter reproduces every figure of the paper (Figs. 2–8 and Table 1) on our
# data: the descriptors and bond-valence ME of [the descriptor chapter](01_descriptors.ipynb), for the Li–O set of today's Materials Project (more materials than the
# paper's 708; the count is below). Its headline is the reconstruction and ME R² over several
# seeds and a split grouped by chemical system (the seed study after Fig. 3), not one split. It
# ends with the alternatives the paper argues against, PCA and UMAP, measured on the same
# descriptors.
#
# **What differs from the paper.** The descriptors are rebuilt (same kinds, same sizes, their bins
# are not published), the ME is our own BVSE percolation barrier, the layer sizes are ours (the
# paper gives none), ME is standardized rather than divided by its maximum (so W has a different
# absolute scale: at a given W the ME term weighs more here), and early stopping watches
# `Loss_all` on a validation split carved out of the training set, never the test set. The
# architecture and training are documented in `matmap_utils.materials_map`.

# %% tags=["parameters"]
profile = "paper"
seed = 0
Ws = [0.0, 0.01, 0.1, 1.0, 10.0, 100.0]  # the paper's four weight factors (Fig. 2) plus 10 and 100
W_map = 0.1  # the W the paper adopts for its map
batch_size = 16  # the paper's tuned hyperparameters
learning_rate = 0.001
l2 = 1e-06
patience = 80  # stop when validation Loss_all has not improved for this many epochs
max_epochs = 3000
limit = 0  # 0: every material with descriptors and an ME; n > 0: a seeded random subset of n
grid_search = True  # the paper's grid search over batch size, learning rate and L2 (at W_map)
grid_batch_sizes = [16, 32]
grid_lrs = [0.001, 0.0003]
grid_l2 = [1e-06, 0.0001]
grid_max_epochs = 500  # the grid's budget: epochs per candidate at most (early stopping as usual); 0: as the maps
use_umap = True
knn_k = 10
n_seeds = 5  # seed study: maps at W_map trained with seeds seed, seed+1, ... on random and grouped splits
n_jobs = 0  # worker processes for space groups, structure matching and the trainings (0: all cores)
torch_threads = 1  # CPU threads for torch (0: torch's default; 1 is fastest for batch-16 training)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from matmap_utils.chapters import ch02_autoencoder_map as ch02
from matmap_utils.chapters import ch02_seeds, ch02_text
from matmap_utils.chapters.results import Timer, read_upstream, savefig, upstream_file, write_metrics, write_table
from matmap_utils.data import datasets
from matmap_utils.materials_map import analysis, training, training_plan
from matmap_utils.materials_map import descriptors as D
from matmap_utils.viz import set_style, show_plotly

set_style()
timer = Timer()
NB = ch02.NB
jobs = None if n_jobs in (0, None) else int(n_jobs)
Ws, W_map = ch02.map_weights(Ws, W_map)
config = ch02.map_config(batch_size, learning_rate, l2, patience, max_epochs, torch_threads)
grid_cfg = ch02_seeds.grid_config(config, grid_max_epochs)
ch02.use_torch_threads(torch_threads)

# %% [markdown]
# ## The data
#
# The descriptor tables are scaled to [0, 1] by [the descriptor chapter](01_descriptors.ipynb);
# materials whose ME could not be computed are not used for training (their reason is in the
# migration table there) but are still placed on the map in grey.

# %%
Xc_all = read_upstream(NB, "01_descriptors", "descriptors_comp")
Xs_all = read_upstream(NB, "01_descriptors", "descriptors_struct")
mig = read_upstream(NB, "01_descriptors", "migration")
ids_all, ids = ch02.select_materials(Xc_all, Xs_all, mig, limit, seed)
Xc, Xs, y = ch02.training_data(Xc_all, Xs_all, mig, ids)
mp = datasets.load_mp_li(ids=list(ids_all))
info = ch02.material_info(mp, mig, n_jobs=jobs)
display(Markdown(ch02.data_text(ids_all, mig, ids, Xc, Xs, y)))

# %% [markdown]
# ## Training the maps of every W at once
#
# The W variants are trained **together as one batched model** (each weight matrix has a
# leading "member" axis; all members start from the same seeded weights and see the same
# minibatches, so they differ only through W). The split and settings of this run are printed
# below. Trained maps are cached by a hash of the data and settings.

# %%
# every training of the chapter (this sweep, the seed study, the grid search) first runs on all
# cores into the caches that the calls below read (same seeds: the results are the serial ones)
groups = training.chemical_systems(mp.loc[ids, "elements"])
seeds = ch02_seeds.seeds_of(seed, n_seeds)
grid_lists = (grid_batch_sizes, grid_lrs, grid_l2) if grid_search else None
plan = training_plan.chapter02_plan(
    len(ids), groups, Ws=Ws, W_map=W_map, seed=seed, seeds=seeds, config=config, grid=grid_lists, grid_config=grid_cfg
)
trainings = training_plan.fill_caches(Xc, Xs, y.to_numpy(), plan, n_jobs=jobs)
display(Markdown(ch02_seeds.setup_text(config, Ws)))
sweep = training.cached_sweep(Xc, Xs, y.to_numpy(), Ws=Ws, seed=seed, config=config)
sweep.info["cached"] = training_plan.was_cached(trainings, plan[0])  # trained in this run or not
split = pd.Series(sweep.split, index=ids, name="split")
test = (split == "test").to_numpy()
mt = sweep.metrics.copy()
display(ch02_text.sweep_display(mt, ch02.SWEEP_COLUMNS))
display(Markdown(ch02.training_text(sweep, Ws)))

# %% [markdown]
# ## Fig. 2 — losses against W
#
# Test-set losses of each map (Eqs. 1–3; `Loss_ME` in units of the standardized ME). The paper's
# Fig. 2 shows the trade-off: a larger W buys a better ME regression with worse
# reconstructions. With W set to zero the ME head receives no gradient at all (Eq. 4 taken literally), so
# its `Loss_ME` is that of an untrained network. Besides the paper's four values we train larger
# ones (shaded): with the ME standardized, `W·Loss_ME` is small next to the summed reconstruction
# losses until W is large, so on our scale the reconstruction side of the trade-off shows only
# there. The sentence under the figure measures both: where `W·Loss_ME` becomes a sizeable share
# of the reconstruction losses, and whether their change over the paper's range of W exceeds the
# seed-to-seed scatter of the seed study. Drawn by `matmap_utils.chapters.ch02_autoencoder_map.fig2_losses`
# from the maps of `matmap_utils.materials_map.training.cached_sweep`; the learning curves under it
# are `matmap_utils.materials_map.training.history_frame`.

# %%
fig = ch02.fig2_losses(mt, Ws)
savefig(fig, NB, "fig2_losses_vs_W")
plt.show()
display(Markdown(ch02.fig2_text(mt)))

# %%
fig = ch02.learning_curves_figure(training.history_frame(sweep))
plt.show()

# %% [markdown]
# ## Fig. 3 — reconstruction and ME regression on the test set
#
# At `W_map` (the paper adopts W = 0.1): (a, b) every descriptor value of every test material,
# flattened, input against output; (c) ME predicted against ME computed; (d–f) the three test
# materials with the largest `Loss_all`, compositional descriptor indices first, then the
# structural ones, as in the paper. Computed by `matmap_utils.chapters.ch02_autoencoder_map.fig3_parity`
# and `matmap_utils.materials_map.analysis.per_sample_loss`.

# %%
model = sweep[W_map]
Xc_te, Xs_te, y_te = Xc[test], Xs[test], y[test]
fig, r2 = ch02.fig3_parity(model, Xc_te, Xs_te, y_te, W_map)
savefig(fig, NB, "fig3abc_parity")
plt.show()

# %%
psl = analysis.per_sample_loss(model, Xc_te, Xs_te, y_te).sort_values("loss_all", ascending=False)
fig = ch02.fig3_worst(model, Xc, Xs, psl, info)
savefig(fig, NB, "fig3def_worst")
plt.show()
train_rows = (split == "train").to_numpy()
base_c = analysis.mean_descriptor_r2(Xc.to_numpy()[train_rows], Xc_te.to_numpy())
base_s = analysis.mean_descriptor_r2(Xs.to_numpy()[train_rows], Xs_te.to_numpy())
display(Markdown(ch02.fig3_text(W_map, r2, base_c, base_s)))

# %% [markdown]
# ## Seed study: seeds and a split by chemical system — the headline
#
# Fig. 3 is one seed on one random split, and the smoothing of the structural descriptor was
# chosen on that very split (below). Here the map at `W_map` is trained once per seed (`n_seeds`
# seeds, each with its own split, initial weights and minibatches) on two kinds of split: the
# paper's random one, and one **grouped by chemical system** (the set of elements), so that no
# chemical system of the test set was seen in training. The grouped split's mean ± SD over seeds
# is the chapter's headline; the table adds a 95 % bootstrap interval of the mean over seeds. The
# runs are `matmap_utils.materials_map.training.seed_study`, the figure
# `matmap_utils.chapters.ch02_seeds.seed_figure`.

# %%
display(Markdown(ch02_seeds.voronoi_note()))
study = training.seed_study(Xc, Xs, y.to_numpy(), groups, W=W_map, seeds=seeds, config=config)
seed_tab = ch02_seeds.seed_table(study, seed=seed)
display(ch02_text.seed_display(seed_tab))
fig = ch02_seeds.seed_figure(study)
savefig(fig, NB, "seed_study")
plt.show()
display(Markdown(ch02_seeds.seed_text(seed_tab, study, W_map)))
display(Markdown(ch02_seeds.fig2_scale_text(mt, study, W_map)))

# %% [markdown]
# ## Fig. 4 — the materials map coloured by ME
#
# Each material at its `(x_comp, x_struct)` for `W_map`. The sign and scale of an autoencoder
# axis are arbitrary (a retrained map may be mirrored), so the orientation can differ from the
# paper's. The axes are `asinh((z − median) / MAD)` of the raw codes `z` (median and median
# absolute deviation over the training materials): the raw codes are heavy-tailed — most materials
# within a few units of the centre, the most unusual descriptors tens of units out — and a linear
# plot of them shows a cross of two thin arms around a single dot. The transform is monotone and
# exactly inverted wherever the map is decoded or the ME head is evaluated (Figs. 7, 8, decoding);
# the raw codes are kept in the `map_coordinates` table (`z_comp`, `z_struct`). Coordinates from
# `matmap_utils.materials_map.analysis.map_coordinates`.

# %%
no_me = ids_all.difference(ids)
maps_xy = {W: analysis.map_coordinates(sweep[W], Xc, Xs) for W in Ws}
xy = ch02.map_frame(model, maps_xy[W_map], info, split)
xy_none = analysis.map_coordinates(model, Xc_all.loc[no_me], Xs_all.loc[no_me]) if len(no_me) else None
fig = ch02.fig4_map(xy, xy_none, y, W_map)
savefig(fig, NB, "fig4_map")
plt.show()
display(Markdown(ch02.fig4_text(xy)))

# %% [markdown]
# ## Fig. 5 — Li and O molar fractions along each axis
#
# The paper plots the Li and O molar fractions against `x_comp` (Fig. 5a,b) and `x_struct`
# (Fig. 5c,d) and finds the clearer dependence on the structural axis. Fractions from
# `matmap_utils.materials_map.analysis.molar_fractions`, drawn by
# `matmap_utils.chapters.ch02_autoencoder_map.fig5_fractions`.

# %%
fig = ch02.fig5_fractions(xy)
savefig(fig, NB, "fig5_li_o_fractions")
plt.show()

# %% [markdown]
# ## Fig. 6 — perovskite, garnet and NASICON members with and without the ME term
#
# **How members are identified.** The 16 materials of the paper's Table 1 carry the paper's
# labels and serve as prototypes. Any other material is a member of a family when its **Li-free
# framework** matches the Li-free framework of one of that family's prototypes under pymatgen's
# `StructureMatcher.fit_anonymous` (any one-to-one element mapping, lattice scaled; tolerances
# printed below). Removing Li makes Li-poor and Li-stuffed variants comparable (Li5 and Li7
# garnets); anonymous matching makes La3Nb2O12 and La3Zr2O12 frameworks equivalent. Candidates are
# pre-filtered by the anonymized formula of the framework. A-site-deficient perovskites with
# other vacancy orderings or stoichiometries are missed by this rule (conservative). The matching
# is `matmap_utils.materials_map.analysis.family_members`.

# %%
display(Markdown(ch02_seeds.family_rule_text()))
fam = ch02.families(mp["structure"], ids, n_jobs=jobs)
fam_counts = ch02.family_counts(fam)
display(ch02_text.family_display(fam_counts))
fig = ch02.fig6_families(maps_xy, fam, W_map)
savefig(fig, NB, "fig6_families")
plt.show()
spread = ch02.family_spread(maps_xy, fam, [W_map, 0.0])
display(ch02_text.spread_display(spread))

# %% [markdown]
# ## Table 1 — the paper's 16 garnet, NASICON and perovskite materials
#
# The paper's ME and codes side by side with ours (at `W_map`). Codes of two different maps are not
# comparable in sign or scale, only in the relative positions of the materials.

# %%
t1 = ch02.table1(info, mig, xy)
display(ch02_text.table1_display(t1))
display(Markdown(ch02.table1_text(t1)))

# %% [markdown]
# ## Fig. 7 — predicted ME over the whole map
#
# The ME head evaluated on a grid of map coordinates (background) with the computed ME of the
# materials on top (same colour scale). Points where the background and the dots disagree are
# materials the weak regression (Fig. 3c) gets wrong. The background is
# `matmap_utils.materials_map.analysis.me_landscape`.

# %%
coords = xy[["x_comp", "x_struct"]].to_numpy()
gx, gy, gz = analysis.me_landscape(model, coords, pad=0.05)
vrange = (y.quantile(0.02), y.quantile(0.98))
fig = ch02.fig7_landscape(gx, gy, gz, xy, vrange, W_map)
savefig(fig, NB, "fig7_predicted_me")
plt.show()
display(Markdown(ch02.fig7_text(gx, gy, gz)))

# %% [markdown]
# ## Fig. 8 — the sparse, low-ME region, with formulas
#
# The paper zooms on a region of low predicted ME where few materials are known. Our rule picks,
# among windows of a fixed fraction of each axis range, the one with the lowest mean predicted ME
# that holds a few known materials (the numbers of the rule are printed below;
# `matmap_utils.materials_map.analysis.sparse_low_me_window`).

# %%
display(Markdown(ch02_seeds.window_rule_text()))
box = analysis.sparse_low_me_window(model, coords)
inside = ch02.inside_window(xy, box)
fig = ch02.fig8_zoom(model, inside, box, vrange)
savefig(fig, NB, "fig8_zoom")
plt.show()
display(ch02_text.window_display(ch02.window_table(inside)))

# %% [markdown]
# ## Decoding: descriptors restored from map coordinates
#
# The decoders turn any point of the map back into descriptors. We decode three points — the
# centre of the Fig. 8 window, the minimum of the predicted ME within the data's range, and the
# centre of the map — and compare each with its nearest known materials. The first block of the
# compositional descriptor holds the atomic fractions of the elements H…Cf, so a decoded
# composition can be read directly (after undoing the [0, 1] scaling with notebook 01's scaler). A crystal
# structure cannot be rebuilt from the decoded RDF/ADF/Voronoi histograms (the paper's caveat too).
# Computed by `matmap_utils.chapters.ch02_autoencoder_map.decoding`.

# %%
scaler_comp = D.load_scaler(upstream_file(NB, "01_descriptors", "scaler_comp.json"))
scaler_struct = D.load_scaler(upstream_file(NB, "01_descriptors", "scaler_struct.json"))
points = ch02.decoding_points(box, analysis.lowest_me_within(gx, gy, gz, coords), xy)
fig, decoded = ch02.decoding(model, points, Xc, Xs, xy, info, scaler_comp)
savefig(fig, NB, "decoding")
plt.show()
display(ch02_text.decoded_display(decoded))

# %% [markdown]
# ## Interactive map
#
# Hover a point for its Materials Project id, formula, ME and space group; zoom with the mouse
# (`matmap_utils.chapters.ch02_autoencoder_map.interactive_map`).

# %%
show_plotly(ch02.interactive_map(xy, vrange, W_map), height=600)

# %% [markdown]
# ## The alternatives: PCA and UMAP maps of the same descriptors
#
# The paper argues that PCA or t-SNE maps can neither decode nor be tied to the ME. We measure
# both claims on the same descriptors and split: every map is fitted on the training rows;
# (i) how much ME its 2-D coordinates carry — R² on the test split of a k-nearest-neighbour
# regressor trained on the training rows' coordinates (`knn_k` neighbours, axes standardized); and
# (ii) whether and how well it decodes — flattened test R² of the reconstructed descriptors. The
# maps are `matmap_utils.materials_map.analysis.alternative_maps`, the k-NN R²
# `matmap_utils.materials_map.analysis.knn_r2`.

# %%
alt = analysis.alternative_maps(Xc, Xs, split.to_numpy(), seed=seed, use_umap=bool(use_umap))
compare = ch02.alternatives_table(maps_xy, mt, alt, y, test, knn_k)
display(ch02_text.alternatives_display(compare))
fig = ch02.alternatives_figure(alt[0], y, vrange)
savefig(fig, NB, "alternatives")
plt.show()
display(Markdown(ch02.alternatives_text(compare, Ws, W_map)))

# %% [markdown]
# ## Grid search over batch size, learning rate and L2
#
# The paper tuned the batch size, learning rate and L2 penalty by a grid search minimizing
# `Loss_all` and found a batch size of 16, learning rate of 0.001, and L2 penalty of 1e-6. We
# repeat a modest grid at `W_map`, selecting on the validation `Loss_all` (the learning-rate × L2 combinations of one batch size are trained as one
# batched model). The maps above use the paper's values in any case; the table says whether our
# grid agrees. At the maps' own budget the grid is most of the chapter's training time, so it runs
# at a budget of its own, `grid_max_epochs` epochs per candidate at most; the sentence under the
# table says which budget ran and which candidates the cap stopped.

# %%
grid = None
if grid_search:
    grid = training.cached_grid_search(
        Xc,
        Xs,
        y.to_numpy(),
        W=W_map,
        batch_sizes=grid_batch_sizes,
        lrs=grid_lrs,
        weight_decays=grid_l2,
        seed=seed,
        config=grid_cfg,
        split=split.to_numpy(),
    )
display(ch02_text.grid_display(grid))
if grid is not None:
    display(Markdown(ch02.grid_text(grid) + " " + ch02_seeds.grid_budget_text(grid, grid_cfg, config)))

# %% [markdown]
# ## Saved map and results
#
# Every map is saved to `results/02_autoencoder_map/map_W<W>.pt` (weights, read with
# `torch.load(weights_only=True)`) and `map_W<W>.json` (configuration, ME scaler, descriptor
# columns and the descriptor scalers of [the descriptor chapter](01_descriptors.ipynb)); the seed study's runs are in the
# `seed_study` table. Place your own structures on the map with
# `matmap map my.cif --model results/02_autoencoder_map/map_W0.1.pt` (the paper's W).

# %%
meta = {"scaler_comp": scaler_comp, "scaler_struct": scaler_struct, "descriptor_settings": None}
ch02.save_maps(sweep, Ws, meta | {"n_materials": int(len(ids)), "profile": profile}, NB)
write_table(NB, "map_coordinates", ch02.map_table(xy, maps_xy, fam))
write_table(NB, "map_inputs", analysis.map_inputs(Xc, Xs, alt[0]))
write_table(NB, "losses_vs_W", mt)
write_table(NB, "table1", t1)
write_table(NB, "alternatives", compare)
write_table(NB, "decoded_points", decoded)
write_table(NB, "seed_study", study)
if grid is not None:
    write_table(NB, "grid_search", grid)
metrics = ch02.metrics(sweep, compare, Ws, W_map, test, config, fam_counts, r2, grid)
if grid is not None:
    metrics["grid_search"] |= ch02_seeds.grid_budget_metrics(grid, grid_cfg, config)
metrics |= ch02_seeds.metrics(study, seed_tab, W_map)
_ = write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)

# %% [markdown]
# ## What we found

# %%
display(Markdown(ch02_text.found_text(seed_tab, study, compare, xy, W_map, fam_counts)))
