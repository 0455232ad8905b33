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
# Yamaguchi et al. (Sci. Rep. 13, 16799, 2023) compress the compositional descriptor (1,782
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
# data: the descriptors and bond-valence ME of the chapter on descriptors (notebook
# `01_descriptors`), for the Li–O set of today's Materials Project (1,349 materials rather than the
# paper's 708). It ends with the alternatives the paper argues against, PCA and UMAP, measured on
# the same descriptors.
#
# **What differs from the paper.** The descriptors are rebuilt (same kinds, same sizes, their bins
# are not published), the ME is our own BVSE percolation barrier, the layer sizes are ours (the
# paper gives none), ME is standardized rather than divided by its maximum (so W has a different
# absolute scale: at a given W the ME term weighs more here), and early stopping watches
# `Loss_all` on a validation split carved out of the training set (10 % of it), never the test
# set. The architecture and training are documented in `matmap_utils.materials_map`.

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
use_umap = True
knn_k = 10
n_jobs = 0  # worker processes for space groups and structure matching (0: all cores)
torch_threads = 1  # CPU threads for torch (0: torch's default; 1 is fastest for batch-16 training)

# %%
import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.express as px
from IPython.display import Markdown, display

from matmap_utils.chapters.results import Timer, read_table, results_dir, savefig, write_metrics, write_table
from matmap_utils.data import datasets
from matmap_utils.data.structures import structure_summary
from matmap_utils.materials_map import analysis, autoencoder, training
from matmap_utils.viz import set_style, show_plotly

warnings.filterwarnings("ignore", category=UserWarning)
set_style()
timer = Timer()
NB = "02_autoencoder_map"
OUT = results_dir(NB)
jobs = None if n_jobs in (0, None) else int(n_jobs)
Ws = [float(w) for w in Ws]
W_map = float(W_map)
if W_map not in Ws:
    Ws = sorted(set(Ws) | {W_map})
config = autoencoder.MapConfig(
    batch_size=int(batch_size),
    lr=float(learning_rate),
    weight_decay=float(l2),
    patience=int(patience),
    max_epochs=int(max_epochs),
    threads=int(torch_threads),
)
if torch_threads:
    import torch

    torch.set_num_threads(int(torch_threads))
md = lambda text: display(Markdown(text))  # noqa: E731

# %% [markdown]
# ## The data
#
# The descriptor tables are scaled to [0, 1] by notebook `01_descriptors`; materials whose ME
# could not be computed are not used for training (their reason is in `01`'s migration table) but
# are still placed on the map in grey.

# %%
Xc_all = read_table("01_descriptors", "descriptors_comp")
Xs_all = read_table("01_descriptors", "descriptors_struct")
mig = read_table("01_descriptors", "migration")
ids_all = Xc_all.index.intersection(Xs_all.index)
has_me = mig["ME"].reindex(ids_all).notna()
ids = ids_all[has_me.to_numpy()]
n_desc, n_me = len(ids_all), len(ids)
if limit and int(limit) < len(ids):
    keep = set(analysis.PAPER_TABLE1.index) & set(ids)
    rng = np.random.default_rng(seed)
    rest = [i for i in ids if i not in keep]
    pick = rng.choice(len(rest), size=max(0, int(limit) - len(keep)), replace=False)
    ids = pd.Index(sorted(keep | {rest[i] for i in pick}), name=ids.name)
Xc = Xc_all.loc[ids].astype(np.float32)
Xs = Xs_all.loc[ids].astype(np.float32)
y = mig.loc[ids, "ME"].astype(float)

mp = datasets.load_mp_li(ids=list(ids_all))
summary = structure_summary(mp["structure"], n_jobs=jobs)
info = pd.DataFrame({"formula": mp["reduced_formula"], "spacegroup": summary.get("spacegroup_symbol")}, index=mp.index)
info = info.join(analysis.molar_fractions(mp["structure"]))
info["ME"] = mig["ME"].reindex(info.index)
md(
    f"{n_desc:,} materials have both descriptors, {n_me:,} of them an ME "
    f"({n_desc - n_me:,} without). This run uses **{len(ids):,}** materials "
    f"({Xc.shape[1]:,} compositional + {Xs.shape[1]:,} structural descriptors). "
    f"ME: median {y.median():.2f} eV, range {y.min():.2f}–{y.max():.2f} eV."
)

# %% [markdown]
# ## Training the four maps at once
#
# The four W variants are trained **together as one batched model** (each weight matrix has a
# leading "member" axis; all members start from the same seeded weights and see the same
# minibatches, so they differ only through W). Split: 20 % random test set from the seed; 10 %
# of the rest for early stopping; the remaining 72 % for the gradient steps. Adam, batch 16,
# learning rate 1e-3, L2 1e-6, patience 80 epochs, the weights of each member's best validation
# epoch are kept. Trained maps are cached by a hash of the data and settings.

# %%
sweep = training.cached_sweep(Xc, Xs, y.to_numpy(), Ws=Ws, seed=seed, config=config)
split = pd.Series(sweep.split, index=ids, name="split")
test = (split == "test").to_numpy()
mt = sweep.metrics.copy()
cols = [
    "best_epoch",
    "test_loss_comp",
    "test_loss_str",
    "test_loss_me",
    "test_mse_me_ev2",
    "test_r2_comp",
    "test_r2_struct",
    "test_r2_me",
    "train_r2_me",
]
display(mt[cols].round(4))
md(
    f"Training: {sweep.info['epochs_run']} epochs for the batch of {len(Ws)} maps "
    f"({sweep.info['wall_time_s']:.0f} s on {sweep.info['device']}"
    f"{', from the cache' if sweep.info.get('cached') else ''}); best epochs per W: "
    + ", ".join(f"W={w:g}: {int(e)}" for w, e in mt["best_epoch"].items())
    + "."
)

# %% [markdown]
# ## Fig. 2 — losses against W
#
# Test-set losses of each map (Eqs. 1–3; `Loss_ME` in units of the standardized ME). The paper's
# Fig. 2 shows the trade-off: a larger W buys a better ME regression with worse
# reconstructions. At W = 0 the ME head receives no gradient at all (Eq. 4 taken literally), so
# its `Loss_ME` is that of an untrained network. Besides the paper's four values we train W = 10
# and 100 (shaded): with the ME standardized, `W·Loss_ME` is small next to the summed
# reconstruction losses (≈ 4.5 per material) until W ≈ 10, so on our scale the reconstruction
# side of the trade-off only shows there. Between W = 0 and 1 the differences in the
# reconstruction losses are of the size of the run-to-run scatter (early stopping picks a
# different epoch for each member).

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
xpos = np.arange(len(Ws))
for ax, col, title in zip(
    axes,
    ["test_loss_comp", "test_loss_str", "test_loss_me"],
    ["(a) Loss$_{comp}$", "(b) Loss$_{str}$", "(c) Loss$_{ME}$"],
):
    ax.plot(xpos, mt[col].to_numpy(), "o-")
    ax.set_xticks(xpos, [f"{w:g}" for w in Ws])
    beyond = [i for i, w in enumerate(Ws) if w > 1.0]
    if beyond:
        ax.axvspan(min(beyond) - 0.5, max(beyond) + 0.5, color="0.92", zorder=0)
    ax.set_xlabel("W")
    ax.set_title(title)
axes[0].set_ylabel("test loss")
fig.suptitle("Fig. 2 — test losses against the weight factor W (shaded: beyond the paper's range)")
fig.tight_layout()
savefig(fig, NB, "fig2_losses_vs_W")
plt.show()
lo, hi = mt.index.min(), mt.index.max()
md(
    f"From W = {lo:g} to W = {hi:g}: Loss_comp {mt.loc[lo, 'test_loss_comp']:.2f} → "
    f"{mt.loc[hi, 'test_loss_comp']:.2f}, Loss_str {mt.loc[lo, 'test_loss_str']:.2f} → "
    f"{mt.loc[hi, 'test_loss_str']:.2f}, Loss_ME {mt.loc[lo, 'test_loss_me']:.2f} → "
    f"{mt.loc[hi, 'test_loss_me']:.2f}."
)

# %%
hist = training.history_frame(sweep)
fig, axes = plt.subplots(1, 4, figsize=(13, 3), sharex=True)
for ax, name in zip(axes, ["Loss_comp", "Loss_str", "Loss_ME", "Loss_all"]):
    for W, g in hist[hist["loss"] == name].groupby("W"):
        ax.plot(g["epoch"], g["value"], label=f"W={W:g}", lw=1)
    ax.set_title(f"validation {name}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
axes[0].legend(fontsize=8)
fig.suptitle("Learning curves on the validation split (early stopping watches Loss_all)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Fig. 3 — reconstruction and ME regression on the test set (W = 0.1)
#
# (a, b) every descriptor value of every test material, flattened, input against output;
# (c) ME predicted against ME computed; (d–f) the three test materials with the largest
# `Loss_all`, descriptor index 0–1,781 compositional and 1,782–2,639 structural as in the paper.

# %%
model = sweep[W_map]
Xc_te, Xs_te, y_te = Xc[test], Xs[test], y[test]
rc, rs = model.reconstruct(Xc_te, Xs_te)
me_te = model.predict_me(Xc_te, Xs_te)
r2c, r2s, r2m = (autoencoder.r2_flat(Xc_te, rc), autoencoder.r2_flat(Xs_te, rs), autoencoder.r2_flat(y_te, me_te))
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
for ax, (t, p, name, r2) in zip(
    axes, [(Xc_te.to_numpy(), rc, "(a) compositional", r2c), (Xs_te.to_numpy(), rs, "(b) structural", r2s)]
):
    ax.hexbin(t.ravel(), p.ravel(), gridsize=60, bins="log", cmap="viridis", mincnt=1)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="input", ylabel="output", title=f"{name}: R² = {r2:.3f}")
ax = axes[2]
ax.scatter(y_te, me_te, s=10, alpha=0.6)
lims = [min(y_te.min(), me_te.min()), max(y_te.max(), me_te.max())]
ax.plot(lims, lims, "k--", lw=0.8)
ax.set(xlabel="ME computed (eV)", ylabel="ME predicted (eV)", title=f"(c) ME: R² = {r2m:.3f}")
fig.suptitle(f"Fig. 3a–c — test set, W = {W_map:g}")
fig.tight_layout()
savefig(fig, NB, "fig3abc_parity")
plt.show()

# %%
psl = analysis.per_sample_loss(model, Xc_te, Xs_te, y_te).sort_values("loss_all", ascending=False)
worst = psl.index[:3]
fig, axes = plt.subplots(3, 1, figsize=(12, 7), sharex=True)
for ax, mid, letter in zip(axes, worst, "def"):
    xin = np.concatenate([Xc.loc[mid].to_numpy(), Xs.loc[mid].to_numpy()])
    oc, os_ = model.reconstruct(Xc.loc[[mid]], Xs.loc[[mid]])
    xout = np.concatenate([oc[0], os_[0]])
    ax.plot(xin, lw=0.7, label="input")
    ax.plot(xout, lw=0.7, label="output")
    ax.axvline(Xc.shape[1] - 0.5, color="grey", lw=0.5)
    ax.set_ylabel("scaled value")
    ax.set_title(f"({letter}) {mid} {info.loc[mid, 'formula']}: Loss_all = {psl.loc[mid, 'loss_all']:.1f}", fontsize=9)
axes[0].legend(fontsize=8, loc="upper right")
axes[-1].set_xlabel("descriptor index (0–1781 compositional, 1782–2639 structural)")
fig.suptitle("Fig. 3d–f — the three worst-reconstructed test materials")
fig.tight_layout()
savefig(fig, NB, "fig3def_worst")
plt.show()
train_rows = (split == "train").to_numpy()
base_c = autoencoder.r2_flat(Xc_te.to_numpy(), np.broadcast_to(Xc.to_numpy()[train_rows].mean(0), Xc_te.shape))
base_s = autoencoder.r2_flat(Xs_te.to_numpy(), np.broadcast_to(Xs.to_numpy()[train_rows].mean(0), Xs_te.shape))
md(
    f"At W = {W_map:g} the flattened test R² is **{r2c:.3f}** (composition) and **{r2s:.3f}** "
    f"(structure) — the paper reports > 0.8 for both — and the ME R² is **{r2m:.3f}** (paper: 0.29). "
    f"Note that a flattened R² rewards getting each descriptor's typical level right: the "
    f"descriptor-wise training mean alone scores {base_c:.3f} (composition) and {base_s:.3f} "
    f"(structure), so the structural code adds {r2s - base_s:.2f} on top of it. The structural R² "
    f"depends on how sharp the Voronoi histograms are (see `matmap_utils.materials_map.descriptors`, version 3): "
    f"with unsmoothed coordination-number histograms it was 0.74."
)

# %% [markdown]
# ## Fig. 4 — the materials map coloured by ME
#
# Each material at its `(x_comp, x_struct)` for W = 0.1. The sign and scale of an autoencoder
# axis are arbitrary (a retrained map may be mirrored), so the orientation can differ from the
# paper's. The axes are `asinh((z − median) / MAD)` of the raw codes `z` (median and median
# absolute deviation over the training materials): the raw codes are heavy-tailed — most materials
# within a few units of the centre, the most unusual descriptors tens of units out — and a linear
# plot of them shows a cross of two thin arms around a single dot. The transform is monotone and
# exactly inverted wherever the map is decoded or the ME head is evaluated (Figs. 7, 8, decoding);
# the raw codes are kept in the `map_coordinates` table (`z_comp`, `z_struct`).


# %%
def coords_frame(m, Xc_, Xs_):
    z = m.raw_codes(Xc_, Xs_)
    x = m.to_map(z)
    return pd.DataFrame(
        {"x_comp": x[:, 0], "x_struct": x[:, 1], "z_comp": z[:, 0], "z_struct": z[:, 1]}, index=Xc_.index
    )


no_me = ids_all.difference(ids)
maps_xy = {W: coords_frame(sweep[W], Xc, Xs) for W in Ws}
xy = maps_xy[W_map].join(info).join(split)
xy["ME_pred"] = model.predict_me_from_codes(xy["x_comp"], xy["x_struct"])
xy_none = coords_frame(model, Xc_all.loc[no_me], Xs_all.loc[no_me]) if len(no_me) else None

fig, ax = plt.subplots(figsize=(6.5, 5))
if xy_none is not None:
    ax.scatter(xy_none["x_comp"], xy_none["x_struct"], s=6, c="lightgrey", label="no ME")
sc = ax.scatter(
    xy["x_comp"], xy["x_struct"], c=xy["ME"], cmap="coolwarm", s=10, vmin=y.quantile(0.02), vmax=y.quantile(0.98)
)
fig.colorbar(sc, label="ME (eV)")
ax.set(
    xlabel="x_comp (encoded composition)",
    ylabel="x_struct (encoded structure)",
    title=f"Fig. 4 — materials map (W = {W_map:g}), {len(xy):,} Li–O materials",
)
if xy_none is not None:
    ax.legend(fontsize=8)
savefig(fig, NB, "fig4_map")
plt.show()
rho = xy[["x_comp", "x_struct"]].corrwith(xy["ME"], method="spearman")
md(
    f"Spearman correlation of ME with x_comp: {rho['x_comp']:+.2f}, with x_struct: "
    f"{rho['x_struct']:+.2f} (the paper finds ME linked mainly to the structural axis)."
)

# %% [markdown]
# ## Fig. 5 — Li and O molar fractions along each axis
#
# The paper plots the Li and O molar fractions against `x_comp` (Fig. 5a,b) and `x_struct`
# (Fig. 5c,d) and finds the clearer dependence on the structural axis.

# %%
fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), sharey="row")
for j, ax_name in enumerate(["x_comp", "x_struct"]):
    for i, el in enumerate(["Li", "O"]):
        ax = axes[i, j]
        ax.scatter(xy[ax_name], xy[f"x_{el}"], s=6, alpha=0.5)
        r = xy[[ax_name, f"x_{el}"]].corr(method="spearman").iloc[0, 1]
        ax.set(
            xlabel=ax_name,
            ylabel=f"{el} molar fraction",
            title=f"({'abcd'[2 * j + i]}) {el} vs {ax_name}: Spearman {r:+.2f}",
        )
fig.suptitle("Fig. 5 — Li and O molar fractions against the map axes")
fig.tight_layout()
savefig(fig, NB, "fig5_li_o_fractions")
plt.show()

# %% [markdown]
# ## Fig. 6 — perovskite, garnet and NASICON members at W = 0.1 and W = 0
#
# **How members are identified.** The 16 materials of the paper's Table 1 carry the paper's
# labels and serve as prototypes. Any other material is a member of a family when its **Li-free
# framework** matches the Li-free framework of one of that family's prototypes under pymatgen's
# `StructureMatcher.fit_anonymous` (any one-to-one element mapping, lattice scaled; ltol 0.3,
# stol 0.5, angle 10°). Removing Li makes Li-poor and Li-stuffed variants comparable (Li5 and Li7
# garnets); anonymous matching makes La3Nb2O12 and La3Zr2O12 frameworks equivalent. Candidates are
# pre-filtered by the anonymized formula of the framework. A-site-deficient perovskites with
# other vacancy orderings or stoichiometries are missed by this rule (conservative).

# %%
proto = analysis.PAPER_TABLE1["structure_type"].to_dict()
fam = analysis.family_members(mp["structure"], proto)
fam = fam.loc[fam.index.intersection(ids)]
fam_counts = fam["family"].replace("", np.nan).value_counts()
display(fam_counts.rename("members").to_frame())
colors = {"Garnet": "tab:green", "NASICON": "tab:orange", "Perovskite": "tab:purple"}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
for ax, W, letter in zip(axes, [W_map, 0.0], "ab"):
    c = maps_xy[W]
    ax.scatter(c["x_comp"], c["x_struct"], s=5, c="lightgrey")
    for f, col in colors.items():
        members = fam.index[fam["family"] == f]
        ax.scatter(
            c.loc[members, "x_comp"],
            c.loc[members, "x_struct"],
            s=28,
            c=col,
            edgecolor="k",
            lw=0.4,
            label=f"{f} ({len(members)})",
        )
    ax.set(xlabel="x_comp", ylabel="x_struct", title=f"({letter}) W = {W:g}")
axes[0].legend(fontsize=8)
fig.suptitle("Fig. 6 — structure families on the map with (W = 0.1) and without (W = 0) the ME term")
fig.tight_layout()
savefig(fig, NB, "fig6_families")
plt.show()


def family_spread(c):
    rows = {}
    for f in colors:
        m = fam.index[fam["family"] == f]
        if len(m):
            rows[f] = {
                "n": len(m),
                "x_comp mean": c.loc[m, "x_comp"].mean(),
                "x_comp std": c.loc[m, "x_comp"].std(),
                "x_struct mean": c.loc[m, "x_struct"].mean(),
                "x_struct std": c.loc[m, "x_struct"].std(),
            }
    return pd.DataFrame(rows).T


spread = pd.concat({f"W={W:g}": family_spread(maps_xy[W]) for W in [W_map, 0.0]})
display(spread.round(3))

# %% [markdown]
# ## Table 1 — the paper's 16 garnet, NASICON and perovskite materials
#
# The paper's ME and codes side by side with ours (W = 0.1). Codes of two different maps are not
# comparable in sign or scale, only in the relative positions of the materials.

# %%
t1 = analysis.PAPER_TABLE1.copy()
t1["formula"] = info["formula"].reindex(t1.index)
t1["spacegroup"] = info["spacegroup"].reindex(t1.index)
t1["ME"] = mig["ME"].reindex(t1.index)
t1 = t1.join(xy[["x_comp", "x_struct", "ME_pred", "split"]])
t1 = t1[
    [
        "formula",
        "spacegroup",
        "structure_type",
        "ME_paper",
        "ME",
        "ME_pred",
        "x_comp_paper",
        "x_comp",
        "x_struct_paper",
        "x_struct",
        "split",
    ]
]
display(t1.round(3))
both = t1[["ME_paper", "ME"]].dropna()
md(
    f"{len(both)} of the 16 have an ME here; Spearman rank correlation of our ME with the paper's "
    f"over them: {both.corr(method='spearman').iloc[0, 1]:+.2f}."
)

# %% [markdown]
# ## Fig. 7 — predicted ME over the whole map
#
# The ME head evaluated on a grid of map coordinates (background) with the computed ME of the
# materials on top (same colour scale). Points where the background and the dots disagree are
# materials the weak regression (Fig. 3c) gets wrong.

# %%
pad = 0.05
lo_xy, hi_xy = xy[["x_comp", "x_struct"]].min().to_numpy(), xy[["x_comp", "x_struct"]].max().to_numpy()
span = hi_xy - lo_xy
gx, gy = np.meshgrid(
    np.linspace(lo_xy[0] - pad * span[0], hi_xy[0] + pad * span[0], 200),
    np.linspace(lo_xy[1] - pad * span[1], hi_xy[1] + pad * span[1], 200),
)
gz = model.predict_me_from_codes(gx.ravel(), gy.ravel()).reshape(gx.shape)
vmin, vmax = y.quantile(0.02), y.quantile(0.98)
fig, ax = plt.subplots(figsize=(7, 5.3))
im = ax.pcolormesh(gx, gy, gz, cmap="coolwarm", vmin=vmin, vmax=vmax, shading="auto")
ax.scatter(xy["x_comp"], xy["x_struct"], c=xy["ME"], cmap="coolwarm", vmin=vmin, vmax=vmax, s=9, edgecolor="k", lw=0.2)
fig.colorbar(im, label="ME (eV): background predicted, dots computed")
ax.set(xlabel="x_comp", ylabel="x_struct", title=f"Fig. 7 — predicted ME over the map (W = {W_map:g})")
savefig(fig, NB, "fig7_predicted_me")
plt.show()
imin = np.unravel_index(np.argmin(gz), gz.shape)
md(
    f"The predicted ME over the plotted window ranges from {gz.min():.2f} to {gz.max():.2f} eV; "
    f"its minimum is at (x_comp, x_struct) = ({gx[imin]:.2f}, {gy[imin]:.2f})."
)

# %% [markdown]
# ## Fig. 8 — the sparse, low-ME region, with formulas
#
# The paper zooms on a region of low predicted ME where few materials are known. Our rule: among
# windows of 20 % of each axis range, the one with the lowest mean predicted ME that holds between
# 3 and 25 known materials.

# %%
box = analysis.sparse_low_me_window(model, xy[["x_comp", "x_struct"]].to_numpy())
x0, x1, y0, y1 = box
inside = xy[(xy["x_comp"].between(x0, x1)) & (xy["x_struct"].between(y0, y1))]
zx, zy = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
zz = model.predict_me_from_codes(zx.ravel(), zy.ravel()).reshape(zx.shape)
fig, ax = plt.subplots(figsize=(8, 6))
im = ax.pcolormesh(zx, zy, zz, cmap="coolwarm", vmin=vmin, vmax=vmax, shading="auto")
ax.scatter(
    inside["x_comp"],
    inside["x_struct"],
    c=inside["ME"],
    cmap="coolwarm",
    vmin=vmin,
    vmax=vmax,
    s=30,
    edgecolor="k",
    lw=0.5,
)
offsets = [(4, 4), (4, -10), (-4, 12), (-4, -18), (8, 20), (8, -26)]  # neighbours' labels apart
for i, (_mid, r) in enumerate(inside.sort_values("x_struct").iterrows()):
    ax.annotate(
        r["formula"],
        (r["x_comp"], r["x_struct"]),
        fontsize=7,
        xytext=offsets[i % len(offsets)],
        textcoords="offset points",
        arrowprops={"arrowstyle": "-", "lw": 0.3, "color": "0.4"},
    )
fig.colorbar(im, label="ME (eV)")
ax.set(
    xlim=(x0, x1),
    ylim=(y0, y1),
    xlabel="x_comp",
    ylabel="x_struct",
    title="Fig. 8 — zoom on a sparse region of low predicted ME",
)
savefig(fig, NB, "fig8_zoom")
plt.show()
display(
    inside[["formula", "spacegroup", "ME", "ME_pred", "x_Li", "x_O", "x_comp", "x_struct"]]
    .sort_values("ME_pred")
    .round(3)
)

# %% [markdown]
# ## Decoding: descriptors restored from map coordinates
#
# The decoders turn any point of the map back into descriptors. We decode three points — the
# centre of the Fig. 8 window, the minimum of the predicted ME within the data's range, and the
# centre of the map — and compare each with its nearest known materials. The first 98
# compositional descriptors are atomic fractions of the elements H…Cf, so a decoded composition
# can be read directly (after undoing the [0, 1] scaling with notebook 01's scaler). A crystal
# structure cannot be rebuilt from the decoded RDF/ADF/Voronoi histograms (the paper's caveat too).

# %%
from pymatgen.core import Element  # noqa: E402

from matmap_utils.materials_map import descriptors as D  # noqa: E402

scaler_comp = json.loads((results_dir("01_descriptors") / "scaler_comp.json").read_text())
scaler_struct = json.loads((results_dir("01_descriptors") / "scaler_struct.json").read_text())
frac_block = next(b for b in D.comp_spec().blocks if b.name.startswith("fraction"))
frac_scale = np.asarray(scaler_comp["blocks"][frac_block.name], dtype=float)
inrange = (gx >= lo_xy[0]) & (gx <= hi_xy[0]) & (gy >= lo_xy[1]) & (gy <= hi_xy[1])
gmin = np.argmin(np.where(inrange, gz, np.inf))
points = {
    "Fig. 8 window centre": ((x0 + x1) / 2, (y0 + y1) / 2),
    "lowest predicted ME": (gx.ravel()[gmin], gy.ravel()[gmin]),
    "map centre": tuple(xy[["x_comp", "x_struct"]].median()),
}


def decoded_composition(vec):
    f = np.clip(vec[frac_block.slice] * frac_scale, 0, None)
    f = f / f.sum() if f.sum() > 0 else f
    top = np.argsort(f)[::-1][:5]
    return ", ".join(f"{Element.from_Z(int(z) + 1).symbol} {f[z]:.2f}" for z in top if f[z] > 0.01)


rows = []
fig, axes = plt.subplots(len(points), 1, figsize=(12, 2.6 * len(points)), sharex=True)
for ax, (name, (pc, ps)) in zip(np.atleast_1d(axes), points.items()):
    dc, ds = model.decode(pc, ps)
    near = analysis.nearest_materials(xy, (pc, ps), k=3)
    ax.plot(np.concatenate([dc[0], ds[0]]), lw=0.8, label="decoded", color="k")
    for mid in near.index[:2]:
        ax.plot(
            np.concatenate([Xc.loc[mid], Xs.loc[mid]]), lw=0.6, alpha=0.7, label=f"{mid} {info.loc[mid, 'formula']}"
        )
    ax.axvline(Xc.shape[1] - 0.5, color="grey", lw=0.5)
    ax.set_title(
        f"{name}: ({pc:.2f}, {ps:.2f}), predicted ME {model.predict_me_from_codes(pc, ps)[0]:.2f} eV", fontsize=9
    )
    ax.legend(fontsize=7, loc="upper right")
    rows.append(
        {
            "point": name,
            "x_comp": pc,
            "x_struct": ps,
            "ME_pred": float(model.predict_me_from_codes(pc, ps)[0]),
            "decoded composition (top elements)": decoded_composition(dc[0]),
            "nearest materials": "; ".join(
                f"{m} {info.loc[m, 'formula']} (ME {info.loc[m, 'ME']:.2f})" for m in near.index
            ),
        }
    )
np.atleast_1d(axes)[-1].set_xlabel("descriptor index")
fig.suptitle("Decoded descriptors against those of the nearest known materials")
fig.tight_layout()
savefig(fig, NB, "decoding")
plt.show()
decoded = pd.DataFrame(rows).set_index("point")
display(decoded.round(3))

# %% [markdown]
# ## Interactive map
#
# Hover a point for its Materials Project id, formula, ME and space group; zoom with the mouse.

# %%
pfig = px.scatter(
    xy.rename_axis("material_id").reset_index(),
    x="x_comp",
    y="x_struct",
    color="ME",
    color_continuous_scale="RdBu_r",
    range_color=(vmin, vmax),
    hover_name="material_id",
    hover_data={
        "formula": True,
        "ME": ":.3f",
        "ME_pred": ":.3f",
        "spacegroup": True,
        "split": True,
        "x_comp": ":.3f",
        "x_struct": ":.3f",
    },
    title=f"Interactive materials map (W = {W_map:g})",
)
pfig.update_traces(marker={"size": 6})
show_plotly(pfig, height=600)

# %% [markdown]
# ## The alternatives: PCA and UMAP maps of the same descriptors
#
# The paper argues that PCA or t-SNE maps can neither decode nor be tied to the ME. We measure
# both claims on the same descriptors and split: every map is fitted on the training rows;
# (i) how much ME its 2-D coordinates carry — R² on the test split of a k-nearest-neighbour
# regressor trained on the training rows' coordinates (`knn_k` neighbours, axes standardized); and
# (ii) whether and how well it decodes — flattened test R² of the reconstructed descriptors.

# %%
alt_coords, alt_rec = analysis.alternative_maps(Xc, Xs, split.to_numpy(), seed=seed, use_umap=bool(use_umap))
fit_rows = ~test
rows = []
for W in Ws:
    c = maps_xy[W][["x_comp", "x_struct"]].to_numpy()
    rows.append(
        {
            "method": f"autoencoder W={W:g}",
            "knn_test_r2_me": analysis.knn_r2(c[fit_rows], y[fit_rows], c[test], y[test], k=knn_k),
            "head_test_r2_me": mt.loc[W, "test_r2_me"],
            "can_decode": "yes (decoder)",
            "test_r2_comp": mt.loc[W, "test_r2_comp"],
            "test_r2_struct": mt.loc[W, "test_r2_struct"],
        }
    )
for name, c in alt_coords.items():
    rows.append(
        {
            "method": name,
            "knn_test_r2_me": analysis.knn_r2(c[fit_rows], y[fit_rows], c[test], y[test], k=knn_k),
            "head_test_r2_me": np.nan,
            **alt_rec.loc[name].to_dict(),
        }
    )
compare = pd.DataFrame(rows).set_index("method")
display(compare.round(3))
fig, axes = plt.subplots(1, len(alt_coords), figsize=(4.3 * len(alt_coords), 3.8))
for ax, (name, c) in zip(np.atleast_1d(axes), alt_coords.items()):
    s = ax.scatter(c[:, 0], c[:, 1], c=y, cmap="coolwarm", vmin=vmin, vmax=vmax, s=6)
    ax.set_title(name, fontsize=9)
fig.colorbar(s, ax=axes, label="ME (eV)")
fig.suptitle("PCA and UMAP maps of the same descriptors, coloured by ME")
savefig(fig, NB, "alternatives")
plt.show()
best_alt = compare["knn_test_r2_me"].drop(index=[f"autoencoder W={W:g}" for W in Ws]).max()
md(
    f"k-NN R² of ME on the test split: autoencoder map at W = {W_map:g} "
    f"**{compare.loc[f'autoencoder W={W_map:g}', 'knn_test_r2_me']:.3f}**, W = 0 "
    f"{compare.loc['autoencoder W=0', 'knn_test_r2_me']:.3f}, best PCA/UMAP map {best_alt:.3f}. "
    "PCA decodes (a linear reconstruction from two numbers); UMAP's `inverse_transform` "
    "interpolates between training points and is approximate; only the autoencoder has an ME "
    "model defined everywhere on the map."
)

# %% [markdown]
# ## Grid search over batch size, learning rate and L2
#
# The paper tuned the batch size, learning rate and L2 penalty by a grid search minimizing
# `Loss_all` and found 16, 1e-3, 1e-6. We repeat a modest grid at W = 0.1, selecting on the
# validation `Loss_all` (the learning-rate × L2 combinations of one batch size are trained as one
# batched model). The maps above use the paper's values in any case; the table says whether our
# grid agrees.

# %%
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
        config=config,
        split=split.to_numpy(),
    )
    display(grid.round(5))
    top = grid.iloc[0]
    md(
        f"Selected by validation Loss_all: batch {int(top['batch_size'])}, learning rate {top['lr']:g}, "
        f"L2 {top['weight_decay']:g} (paper: 16, 0.001, 1e-6)."
    )
else:
    grid = None
    md("Grid search skipped in this profile.")

# %% [markdown]
# ## Saved map and results
#
# The W = 0.1 map is saved to `results/02_autoencoder_map/map_W0.1.pt` (weights, read with
# `torch.load(weights_only=True)`) and `map_W0.1.json` (configuration, ME scaler, descriptor
# columns and notebook 01's descriptor scalers). Place your own structures on it with
# `matmap map my.cif --model results/02_autoencoder_map/map_W0.1.pt`.

# %%
for W in Ws:
    m = sweep[W]
    m.meta.update(
        {
            "scaler_comp": scaler_comp,
            "scaler_struct": scaler_struct,
            "descriptor_settings": None,
            "n_materials": int(len(ids)),
            "profile": profile,
        }
    )
    autoencoder.save_map(m, OUT / f"map_W{W:g}.pt")
coords_all = pd.concat({f"W={W:g}": maps_xy[W] for W in Ws}, axis=1)
coords_all.columns = [f"{a}:{b}" for a, b in coords_all.columns]
map_table = xy[["formula", "spacegroup", "ME", "ME_pred", "x_Li", "x_O", "split"]].join(coords_all)
map_table = map_table.join(fam["family"])
write_table(NB, "map_coordinates", map_table)
write_table(NB, "losses_vs_W", mt)
write_table(NB, "table1", t1)
write_table(NB, "alternatives", compare)
write_table(NB, "decoded_points", decoded)
if grid is not None:
    write_table(NB, "grid_search", grid)
per_w = {
    f"{W:g}": {
        k: float(mt.loc[W, k])
        for k in [
            "test_loss_comp",
            "test_loss_str",
            "test_loss_me",
            "test_loss_all",
            "test_mse_me_ev2",
            "test_r2_comp",
            "test_r2_struct",
            "test_r2_me",
        ]
    }
    | {
        "best_epoch": int(mt.loc[W, "best_epoch"]),
        "knn_test_r2_me": float(compare.loc[f"autoencoder W={W:g}", "knn_test_r2_me"]),
    }
    for W in Ws
}
metrics = {
    "W": per_w,
    "chosen_W": W_map,
    "n_materials": int(len(ids)),
    "n_test": int(test.sum()),
    "epochs_run": int(sweep.info["epochs_run"]),
    "train_wall_time_s": float(sweep.info["wall_time_s"]),
    "train_from_cache": bool(sweep.info.get("cached")),
    "device": sweep.info["device"],
    "config": config.to_dict(),
    "families": fam_counts.to_dict(),
    "alternatives_knn_test_r2_me": compare["knn_test_r2_me"].to_dict(),
    "done_when_r2_ge_0.8": bool(r2c >= 0.8 and r2s >= 0.8),
}
if grid is not None:
    metrics["grid_search"] = {
        "selected": {k: float(grid.iloc[0][k]) for k in ("batch_size", "lr", "weight_decay")},
        "val_loss_all_selected": float(grid.iloc[0]["val_loss_all"]),
        "n_combinations": int(len(grid)),
        "wall_s": float(grid.drop_duplicates("batch_size")["seconds_batch_size_run"].sum()),
    }
write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)
md(f"Done in {timer.elapsed:.0f} s.")
