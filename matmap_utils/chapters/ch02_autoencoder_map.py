"""Chapter 02 (the autoencoder materials map): the figures, tables and sentences of notebook
``02_autoencoder_map`` assembled from :mod:`matmap_utils.materials_map`.

The science (the model, its training, the analyses of a trained map) lives in
:mod:`~matmap_utils.materials_map.autoencoder`, :mod:`~matmap_utils.materials_map.training` and
:mod:`~matmap_utils.materials_map.analysis`; this module selects the chapter's materials and
arranges results into the paper's figures (Figs. 2–8, Table 1).  ME in eV; map coordinates
``x_comp``, ``x_struct`` are dimensionless (asinh-scaled codes).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.express as px
import torch

from matmap_utils.chapters.results import results_dir
from matmap_utils.data.structures import structure_summary
from matmap_utils.materials_map import analysis, autoencoder
from matmap_utils.materials_map.autoencoder import MapConfig, MaterialsMap
from matmap_utils.materials_map.training import SweepResult
from matmap_utils.viz import FIG_WIDTH_IN, panel_grid

NB = "02_autoencoder_map"

#: Colours of the three structure families of the paper's Table 1 (Fig. 6).
FAMILY_COLORS = {"Garnet": "tab:green", "NASICON": "tab:orange", "Perovskite": "tab:purple"}

#: Test-set columns of the sweep table shown under "Training the four maps at once".
SWEEP_COLUMNS = ["best_epoch", "test_loss_comp", "test_loss_str", "test_loss_me", "test_mse_me_ev2"]
SWEEP_COLUMNS += ["test_r2_comp", "test_r2_struct", "test_r2_me", "train_r2_me"]

#: Per-W entries of ``metrics.json`` taken from the sweep table.
METRIC_COLUMNS = ["test_loss_comp", "test_loss_str", "test_loss_me", "test_loss_all", "test_mse_me_ev2"]
METRIC_COLUMNS += ["test_r2_comp", "test_r2_struct", "test_r2_me"]


# -- parameters ------------------------------------------------------------------------------


def map_weights(Ws: Sequence[float], W_map: float) -> tuple[list[float], float]:
    """The W values to train (floats; ``W_map`` added, then sorted, when it is missing) and W_map."""
    Ws, W_map = [float(w) for w in Ws], float(W_map)
    if W_map not in Ws:
        Ws = sorted(set(Ws) | {W_map})
    return Ws, W_map


def map_config(batch_size, learning_rate, l2, patience, max_epochs, torch_threads) -> MapConfig:
    """The :class:`~matmap_utils.materials_map.autoencoder.MapConfig` of the notebook's parameters."""
    return MapConfig(
        batch_size=int(batch_size),
        lr=float(learning_rate),
        weight_decay=float(l2),
        patience=int(patience),
        max_epochs=int(max_epochs),
        threads=int(torch_threads),
    )


def use_torch_threads(threads: int) -> None:
    """Set torch's CPU threads for the session (0: leave torch's default)."""
    if threads:
        torch.set_num_threads(int(threads))


# -- the data --------------------------------------------------------------------------------


def select_materials(Xc_all, Xs_all, mig: pd.DataFrame, limit: int, seed: int) -> tuple[pd.Index, pd.Index]:
    """``(ids_all, ids)``: the materials with both descriptors, and those of them with an ME used
    for training — all of them, or (``limit`` > 0) a seeded random subset of ``limit`` that always
    keeps the paper's Table 1 materials."""
    ids_all = Xc_all.index.intersection(Xs_all.index)
    has_me = mig["ME"].reindex(ids_all).notna()
    ids = ids_all[has_me.to_numpy()]
    if limit and int(limit) < len(ids):
        keep = set(analysis.PAPER_TABLE1.index) & set(ids)
        rng = np.random.default_rng(seed)
        rest = [i for i in ids if i not in keep]
        pick = rng.choice(len(rest), size=max(0, int(limit) - len(keep)), replace=False)
        ids = pd.Index(sorted(keep | {rest[i] for i in pick}), name=ids.name)
    return ids_all, ids


def training_data(Xc_all, Xs_all, mig: pd.DataFrame, ids: pd.Index):
    """``(Xc, Xs, y)`` of the materials ``ids``: descriptors as float32, ME (eV) as float."""
    return (
        Xc_all.loc[ids].astype(np.float32),
        Xs_all.loc[ids].astype(np.float32),
        mig.loc[ids, "ME"].astype(float),
    )


def material_info(mp: pd.DataFrame, mig: pd.DataFrame, n_jobs: int | None = None) -> pd.DataFrame:
    """Formula, space group, Li and O molar fractions (``x_Li``, ``x_O``) and ME (eV) per material."""
    summary = structure_summary(mp["structure"], n_jobs=n_jobs)
    info = pd.DataFrame(
        {"formula": mp["reduced_formula"], "spacegroup": summary.get("spacegroup_symbol")}, index=mp.index
    )
    info = info.join(analysis.molar_fractions(mp["structure"]))
    info["ME"] = mig["ME"].reindex(info.index)
    return info


def data_text(ids_all: pd.Index, mig: pd.DataFrame, ids: pd.Index, Xc, Xs, y: pd.Series) -> str:
    """How many materials have descriptors, an ME, are used; descriptor sizes; the ME range (eV)."""
    n_desc, n_me = len(ids_all), int(mig["ME"].reindex(ids_all).notna().sum())
    return (
        f"{n_desc:,} materials have both descriptors, {n_me:,} of them an ME "
        f"({n_desc - n_me:,} without). This run uses **{len(ids):,}** materials "
        f"({Xc.shape[1]:,} compositional + {Xs.shape[1]:,} structural descriptors). "
        f"ME: median {y.median():.2f} eV, range {y.min():.2f}–{y.max():.2f} eV."
    )


# -- training and Fig. 2 ---------------------------------------------------------------------


def training_text(sweep: SweepResult, Ws: Sequence[float]) -> str:
    """Epochs, wall time (s), device, cache use and each member's best epoch."""
    mt = sweep.metrics
    return (
        f"Training: {sweep.info['epochs_run']} epochs for the batch of {len(Ws)} maps "
        f"({sweep.info['wall_time_s']:.0f} s on {sweep.info['device']}"
        f"{', from the cache' if sweep.info.get('cached') else ''}); best epochs per W: "
        + ", ".join(f"W={w:g}: {int(e)}" for w, e in mt["best_epoch"].items())
        + "."
    )


def fig2_losses(mt: pd.DataFrame, Ws: Sequence[float]):
    """Fig. 2: test Loss_comp, Loss_str, Loss_ME (Eqs. 1–3) against W; W > 1 shaded."""
    fig, axes = panel_grid(3, panel_height=2.8)
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
        ax.set(xlabel="W", ylabel="test loss", title=title)
    fig.suptitle("Fig. 2 — test losses against W (shaded: beyond the paper's range)")
    fig.tight_layout()
    return fig


def fig2_text(mt: pd.DataFrame) -> str:
    """The three test losses at the smallest and the largest W."""
    lo, hi = mt.index.min(), mt.index.max()
    return (
        f"From W = {lo:g} to W = {hi:g}: Loss_comp {mt.loc[lo, 'test_loss_comp']:.2f} → "
        f"{mt.loc[hi, 'test_loss_comp']:.2f}, Loss_str {mt.loc[lo, 'test_loss_str']:.2f} → "
        f"{mt.loc[hi, 'test_loss_str']:.2f}, Loss_ME {mt.loc[lo, 'test_loss_me']:.2f} → "
        f"{mt.loc[hi, 'test_loss_me']:.2f}."
    )


def learning_curves_figure(hist: pd.DataFrame):
    """Validation learning curves per loss and W (``hist``: :func:`~matmap_utils.materials_map.training.history_frame`)."""
    fig, axes = panel_grid(4, panel_height=2.6)
    for ax, name in zip(axes, ["Loss_comp", "Loss_str", "Loss_ME", "Loss_all"]):
        for W, g in hist[hist["loss"] == name].groupby("W"):
            ax.plot(g["epoch"], g["value"], label=f"W={W:g}", lw=1)
        ax.set(title=f"validation {name}", yscale="log", xlabel="epoch", ylabel="loss")
    axes[0].legend(ncol=2)
    fig.suptitle("Learning curves, validation split (early stopping watches Loss_all)")
    fig.tight_layout()
    return fig


# -- Fig. 3 ----------------------------------------------------------------------------------


def fig3_parity(model: MaterialsMap, Xc_te, Xs_te, y_te: pd.Series, W_map: float):
    """Fig. 3a–c: flattened input/output of both descriptors and ME predicted/computed on the test
    set.  Returns ``(fig, r2)`` with the flattened R² ``r2 = {"comp", "struct", "me"}``."""
    rc, rs = model.reconstruct(Xc_te, Xs_te)
    me_te = model.predict_me(Xc_te, Xs_te)
    r2 = {
        "comp": autoencoder.r2_flat(Xc_te, rc),
        "struct": autoencoder.r2_flat(Xs_te, rs),
        "me": autoencoder.r2_flat(y_te, me_te),
    }
    fig, axes = panel_grid(3, panel_height=3.2)
    pairs = [
        (Xc_te.to_numpy(), rc, "(a) compositional", r2["comp"]),
        (Xs_te.to_numpy(), rs, "(b) structural", r2["struct"]),
    ]
    for ax, (t, p, name, r) in zip(axes, pairs):
        ax.hexbin(t.ravel(), p.ravel(), gridsize=60, bins="log", cmap="viridis", mincnt=1)
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set(xlabel="input", ylabel="output", title=f"{name}: R² = {r:.3f}")
    ax = axes[2]
    ax.scatter(y_te, me_te, s=10, alpha=0.6)
    lims = [min(y_te.min(), me_te.min()), max(y_te.max(), me_te.max())]
    ax.plot(lims, lims, "k--", lw=0.8)
    ax.set(xlabel="ME computed (eV)", ylabel="ME predicted (eV)", title=f"(c) ME: R² = {r2['me']:.3f}")
    fig.suptitle(f"Fig. 3a–c — test set, W = {W_map:g}")
    fig.tight_layout()
    return fig, r2


def fig3_worst(model: MaterialsMap, Xc, Xs, psl: pd.DataFrame, info: pd.DataFrame):
    """Fig. 3d–f: input and reconstructed descriptors of the three test materials with the largest
    Loss_all (``psl``: :func:`~matmap_utils.materials_map.analysis.per_sample_loss`, sorted)."""
    fig, axes = plt.subplots(3, 1, figsize=(FIG_WIDTH_IN, 7), sharex=True)
    for ax, mid, letter in zip(axes, psl.index[:3], "def"):
        xin = np.concatenate([Xc.loc[mid].to_numpy(), Xs.loc[mid].to_numpy()])
        oc, os_ = model.reconstruct(Xc.loc[[mid]], Xs.loc[[mid]])
        xout = np.concatenate([oc[0], os_[0]])
        ax.plot(xin, lw=0.7, label="input")
        ax.plot(xout, lw=0.7, label="output")
        ax.axvline(Xc.shape[1] - 0.5, color="grey", lw=0.5)
        ax.set_ylabel("scaled value")
        title = f"({letter}) {mid} {info.loc[mid, 'formula']}: Loss_all = {psl.loc[mid, 'loss_all']:.1f}"
        ax.set_title(title, fontsize=9)
    axes[0].legend(loc="upper right")
    axes[-1].set_xlabel(f"descriptor index (compositional, then structural from {Xc.shape[1]})")
    fig.suptitle("Fig. 3d–f — the three worst-reconstructed test materials")
    fig.tight_layout()
    return fig


def fig3_text(W_map: float, r2: dict, base_c: float, base_s: float) -> str:
    """The flattened test R² against the paper's and against the mean-descriptor baseline."""
    r2c, r2s, r2m = r2["comp"], r2["struct"], r2["me"]
    return (
        f"At W = {W_map:g} the flattened test R² is **{r2c:.3f}** (composition) and **{r2s:.3f}** "
        f"(structure) — the paper reports > 0.8 for both (Yamaguchi et al. 2023, Fig. 3a,b) — and the ME "
        f"R² is **{r2m:.3f}** (paper: 0.29, Fig. 3c). "
        f"Note that a flattened R² rewards getting each descriptor's typical level right: the "
        f"descriptor-wise training mean alone scores {base_c:.3f} (composition) and {base_s:.3f} "
        f"(structure), so the structural code adds {r2s - base_s:.2f} on top of it. This is one seed "
        f"and one random split; the seed study below gives the spread and a split by chemical system."
    )


# -- Figs. 4 and 5 ---------------------------------------------------------------------------


def map_frame(model: MaterialsMap, coords: pd.DataFrame, info: pd.DataFrame, split: pd.Series) -> pd.DataFrame:
    """The map at ``W_map``: coordinates joined with the material info and split, plus ``ME_pred``
    (eV), the ME head at each material's map position."""
    xy = coords.join(info).join(split)
    xy["ME_pred"] = model.predict_me_from_codes(xy["x_comp"], xy["x_struct"])
    return xy


def fig4_map(xy: pd.DataFrame, xy_none: pd.DataFrame | None, y: pd.Series, W_map: float):
    """Fig. 4: the materials map coloured by ME (materials without an ME in grey)."""
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
        ax.legend()
    return fig


def fig4_text(xy: pd.DataFrame) -> str:
    """Spearman correlation of ME with each map axis."""
    rho = xy[["x_comp", "x_struct"]].corrwith(xy["ME"], method="spearman")
    return (
        f"Spearman correlation of ME with x_comp: {rho['x_comp']:+.2f}, with x_struct: "
        f"{rho['x_struct']:+.2f} (the paper finds ME linked mainly to the structural axis)."
    )


def fig5_fractions(xy: pd.DataFrame):
    """Fig. 5: Li and O molar fractions against ``x_comp`` and ``x_struct`` with Spearman ρ."""
    fig, axes = plt.subplots(2, 2, figsize=(FIG_WIDTH_IN, 6.2), sharey="row")
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
    return fig


# -- Fig. 6 ----------------------------------------------------------------------------------


def families(structures: pd.Series, ids: pd.Index, n_jobs: int | None = None) -> pd.DataFrame:
    """Structure family of each training material (:func:`~matmap_utils.materials_map.analysis.family_members`
    with the paper's Table 1 materials as prototypes; ``n_jobs`` processes, None: all cores)."""
    proto = analysis.PAPER_TABLE1["structure_type"].to_dict()
    fam = analysis.family_members(structures, proto, n_jobs=n_jobs)
    return fam.loc[fam.index.intersection(ids)]


def family_counts(fam: pd.DataFrame) -> pd.Series:
    """Members per family (materials without a family left out)."""
    return fam["family"].replace("", np.nan).value_counts()


def fig6_families(maps_xy: dict, fam: pd.DataFrame, W_map: float):
    """Fig. 6: the family members on the maps at ``W_map`` and at W = 0."""
    fig, axes = panel_grid(2, panel_height=3.8)
    for ax, W, letter in zip(axes, [W_map, 0.0], "ab"):
        c = maps_xy[W]
        ax.scatter(c["x_comp"], c["x_struct"], s=5, c="lightgrey")
        for f, col in FAMILY_COLORS.items():
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
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, frameon=False)
    fig.suptitle("Fig. 6 — structure families with (a) and without (b) the ME term")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def family_spread(maps_xy: dict, fam: pd.DataFrame, Ws: Sequence[float]) -> pd.DataFrame:
    """Per W of ``Ws`` and family: members, mean and standard deviation of each map coordinate."""

    def spread(c: pd.DataFrame) -> pd.DataFrame:
        rows = {}
        for f in FAMILY_COLORS:
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

    return pd.concat({f"W={W:g}": spread(maps_xy[W]) for W in Ws})


# -- Table 1 ---------------------------------------------------------------------------------


def table1(info: pd.DataFrame, mig: pd.DataFrame, xy: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 1 (ME, codes) side by side with ours: formula, space group, ME, ME_pred,
    map coordinates and split of each of its 16 materials."""
    t1 = analysis.PAPER_TABLE1.copy()
    t1["formula"] = info["formula"].reindex(t1.index)
    t1["spacegroup"] = info["spacegroup"].reindex(t1.index)
    t1["ME"] = mig["ME"].reindex(t1.index)
    t1 = t1.join(xy[["x_comp", "x_struct", "ME_pred", "split"]])
    cols = ["formula", "spacegroup", "structure_type", "ME_paper", "ME", "ME_pred"]
    cols += ["x_comp_paper", "x_comp", "x_struct_paper", "x_struct", "split"]
    return t1[cols]


def table1_text(t1: pd.DataFrame) -> str:
    """How many Table 1 materials have an ME here and the Spearman ρ of ours against the paper's."""
    both = t1[["ME_paper", "ME"]].dropna()
    return (
        f"{len(both)} of the 16 have an ME here; Spearman rank correlation of our ME with the paper's "
        f"over them: {both.corr(method='spearman').iloc[0, 1]:+.2f}."
    )


# -- Figs. 7 and 8 ---------------------------------------------------------------------------


def fig7_landscape(gx, gy, gz, xy: pd.DataFrame, vrange: tuple[float, float], W_map: float):
    """Fig. 7: the ME head over the map (background, :func:`~matmap_utils.materials_map.analysis.me_landscape`)
    with the computed ME of the materials on top, one colour scale ``vrange`` (eV)."""
    vmin, vmax = vrange
    fig, ax = plt.subplots(figsize=(7, 5.3))
    im = ax.pcolormesh(gx, gy, gz, cmap="coolwarm", vmin=vmin, vmax=vmax, shading="auto")
    ax.scatter(
        xy["x_comp"], xy["x_struct"], c=xy["ME"], cmap="coolwarm", vmin=vmin, vmax=vmax, s=9, edgecolor="k", lw=0.2
    )
    fig.colorbar(im, label="ME (eV): background predicted, dots computed")
    ax.set(xlabel="x_comp", ylabel="x_struct", title=f"Fig. 7 — predicted ME over the map (W = {W_map:g})")
    return fig


def fig7_text(gx, gy, gz) -> str:
    """Range (eV) and position of the minimum of the predicted ME over the plotted window."""
    imin = np.unravel_index(np.argmin(gz), gz.shape)
    return (
        f"The predicted ME over the plotted window ranges from {gz.min():.2f} to {gz.max():.2f} eV; "
        f"its minimum is at (x_comp, x_struct) = ({gx[imin]:.2f}, {gy[imin]:.2f})."
    )


def inside_window(xy: pd.DataFrame, box: tuple[float, float, float, float]) -> pd.DataFrame:
    """The materials of ``xy`` inside ``box = (x0, x1, y0, y1)`` (edges included)."""
    x0, x1, y0, y1 = box
    return xy[(xy["x_comp"].between(x0, x1)) & (xy["x_struct"].between(y0, y1))]


def fig8_zoom(model: MaterialsMap, inside: pd.DataFrame, box, vrange: tuple[float, float]):
    """Fig. 8: the predicted ME over ``box`` with the known materials in it, labelled by formula."""
    x0, x1, y0, y1 = box
    vmin, vmax = vrange
    zx, zy = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
    zz = model.predict_me_from_codes(zx.ravel(), zy.ravel()).reshape(zx.shape)
    fig, ax = plt.subplots(figsize=(FIG_WIDTH_IN, 5.5))
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
            fontsize=9,
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
    return fig


def window_table(inside: pd.DataFrame) -> pd.DataFrame:
    """The materials of the Fig. 8 window sorted by predicted ME."""
    cols = ["formula", "spacegroup", "ME", "ME_pred", "x_Li", "x_O", "x_comp", "x_struct"]
    return inside[cols].sort_values("ME_pred")


# -- decoding --------------------------------------------------------------------------------


def decoding_points(box, lowest: tuple[float, float], xy: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """The three decoded points: the centre of the Fig. 8 window, the lowest predicted ME within
    the data's range (:func:`~matmap_utils.materials_map.analysis.lowest_me_within`), the map centre
    (median coordinates)."""
    x0, x1, y0, y1 = box
    return {
        "Fig. 8 window centre": ((x0 + x1) / 2, (y0 + y1) / 2),
        "lowest predicted ME": lowest,
        "map centre": tuple(xy[["x_comp", "x_struct"]].median()),
    }


def decoding(model: MaterialsMap, points: dict, Xc, Xs, xy: pd.DataFrame, info: pd.DataFrame, scaler_comp: dict):
    """Decode each point, plot it against its two nearest known materials, and tabulate the predicted
    ME (eV), the decoded composition and the three nearest materials.  Returns ``(fig, table)``."""
    rows = []
    fig, axes = plt.subplots(len(points), 1, figsize=(FIG_WIDTH_IN, 2.8 * len(points)), sharex=True)
    for ax, (name, (pc, ps)) in zip(np.atleast_1d(axes), points.items()):
        dc, ds = model.decode(pc, ps)
        near = analysis.nearest_materials(xy, (pc, ps), k=3)
        me = float(model.predict_me_from_codes(pc, ps)[0])
        ax.plot(np.concatenate([dc[0], ds[0]]), lw=0.8, label="decoded", color="k")
        for mid in near.index[:2]:
            x = np.concatenate([Xc.loc[mid], Xs.loc[mid]])
            ax.plot(x, lw=0.6, alpha=0.7, label=f"{mid} {info.loc[mid, 'formula']}")
        ax.axvline(Xc.shape[1] - 0.5, color="grey", lw=0.5)
        ax.set(title=f"{name}: ({pc:.2f}, {ps:.2f}), predicted ME {me:.2f} eV", ylabel="scaled value")
        ax.legend(fontsize=9, loc="upper right")
        rows.append(
            {
                "point": name,
                "x_comp": pc,
                "x_struct": ps,
                "ME_pred": me,
                "decoded composition (top elements)": analysis.decoded_composition(dc[0], scaler_comp),
                "nearest materials": "; ".join(
                    f"{m} {info.loc[m, 'formula']} (ME {info.loc[m, 'ME']:.2f})" for m in near.index
                ),
            }
        )
    np.atleast_1d(axes)[-1].set_xlabel("descriptor index")
    fig.suptitle("Decoded descriptors against those of the nearest known materials")
    fig.tight_layout()
    return fig, pd.DataFrame(rows).set_index("point")


def interactive_map(xy: pd.DataFrame, vrange: tuple[float, float], W_map: float):
    """The plotly map with id, formula, ME, predicted ME, space group and split on hover."""
    pfig = px.scatter(
        xy.rename_axis("material_id").reset_index(),
        x="x_comp",
        y="x_struct",
        color="ME",
        color_continuous_scale="RdBu_r",
        range_color=vrange,
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
    return pfig


# -- the alternatives ------------------------------------------------------------------------


def alternatives_table(
    maps_xy: dict,
    mt: pd.DataFrame,
    alt: tuple[dict, pd.DataFrame],
    y: pd.Series,
    test: np.ndarray,
    knn_k: int,
) -> pd.DataFrame:
    """Every map (the autoencoders of each W, then PCA/UMAP ``alt`` =
    :func:`~matmap_utils.materials_map.analysis.alternative_maps`): k-NN test R² of ME from its 2-D
    coordinates, the head's test R², whether it decodes and its flattened test reconstruction R²."""
    alt_coords, alt_rec = alt
    fit_rows = ~test
    rows = []
    for W, xyW in maps_xy.items():
        c = xyW[["x_comp", "x_struct"]].to_numpy()
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
    return pd.DataFrame(rows).set_index("method")


def alternatives_figure(alt_coords: dict, y: pd.Series, vrange: tuple[float, float]):
    """The PCA and UMAP maps coloured by ME (eV)."""
    vmin, vmax = vrange
    fig, axes = panel_grid(len(alt_coords), panel_height=3.2)
    for ax, (name, c) in zip(axes, alt_coords.items()):
        s = ax.scatter(c[:, 0], c[:, 1], c=y, cmap="coolwarm", vmin=vmin, vmax=vmax, s=6)
        ax.set(title=name, xlabel="coordinate 1 (no unit)", ylabel="coordinate 2 (no unit)")
    fig.colorbar(s, ax=axes, label="ME (eV)")
    fig.suptitle("PCA and UMAP maps of the same descriptors, coloured by ME")
    return fig


def alternatives_text(compare: pd.DataFrame, Ws: Sequence[float], W_map: float) -> str:
    """k-NN R² of ME of the autoencoder maps at W_map and W = 0 against the best PCA/UMAP map."""
    best_alt = compare["knn_test_r2_me"].drop(index=[f"autoencoder W={W:g}" for W in Ws]).max()
    return (
        f"k-NN R² of ME on the test split: autoencoder map at W = {W_map:g} "
        f"**{compare.loc[f'autoencoder W={W_map:g}', 'knn_test_r2_me']:.3f}**, W = 0 "
        f"{compare.loc['autoencoder W=0', 'knn_test_r2_me']:.3f}, best PCA/UMAP map {best_alt:.3f}. "
        "PCA decodes (a linear reconstruction from two numbers); UMAP's `inverse_transform` "
        "interpolates between training points and is approximate; only the autoencoder has an ME "
        "model defined everywhere on the map."
    )


def grid_text(grid: pd.DataFrame | None) -> str:
    """The hyperparameters selected by the grid search (or that it was skipped)."""
    if grid is None:
        return "Grid search skipped in this profile."
    top = grid.iloc[0]
    return (
        f"Selected by validation Loss_all: batch {int(top['batch_size'])}, learning rate {top['lr']:g}, "
        f"L2 {top['weight_decay']:g} (paper: 16, 0.001, 1e-6)."
    )


# -- saved results ---------------------------------------------------------------------------


def save_maps(sweep: SweepResult, Ws: Sequence[float], meta: dict, notebook: str = NB) -> None:
    """Save every map as ``results/<notebook>/map_W<W>.pt`` (+ ``.json``, read by ``matmap map``)
    with ``meta`` added to its metadata."""
    for W in Ws:
        m = sweep[W]
        m.meta.update(meta)
        autoencoder.save_map(m, results_dir(notebook) / f"map_W{W:g}.pt")


def map_table(xy: pd.DataFrame, maps_xy: dict, fam: pd.DataFrame) -> pd.DataFrame:
    """The ``map_coordinates`` table: info at W_map plus every W's coordinates (``W=<W>:x_comp``…)
    and the structure family."""
    coords_all = pd.concat({f"W={W:g}": c for W, c in maps_xy.items()}, axis=1)
    coords_all.columns = [f"{a}:{b}" for a, b in coords_all.columns]
    out = xy[["formula", "spacegroup", "ME", "ME_pred", "x_Li", "x_O", "split"]].join(coords_all)
    return out.join(fam["family"])


def grid_metrics(grid: pd.DataFrame) -> dict:
    """The grid search's entries of ``metrics.json``: selected values, their validation Loss_all,
    the number of combinations and the training time (s, one run per batch size)."""
    return {
        "selected": {k: float(grid.iloc[0][k]) for k in ("batch_size", "lr", "weight_decay")},
        "val_loss_all_selected": float(grid.iloc[0]["val_loss_all"]),
        "n_combinations": int(len(grid)),
        "wall_s": float(grid.drop_duplicates("batch_size")["seconds_batch_size_run"].sum()),
    }


def metrics(
    sweep: SweepResult,
    compare: pd.DataFrame,
    Ws: Sequence[float],
    W_map: float,
    test: np.ndarray,
    config: MapConfig,
    fam_counts: pd.Series,
    r2: dict,
    grid: pd.DataFrame | None,
) -> dict:
    """The chapter's ``metrics.json`` entries: per W the test losses, R², best epoch and k-NN R²;
    the training run, configuration, family counts, alternatives and (if run) the grid search."""
    mt = sweep.metrics
    per_w = {
        f"{W:g}": {k: float(mt.loc[W, k]) for k in METRIC_COLUMNS}
        | {
            "best_epoch": int(mt.loc[W, "best_epoch"]),
            "knn_test_r2_me": float(compare.loc[f"autoencoder W={W:g}", "knn_test_r2_me"]),
        }
        for W in Ws
    }
    out = {
        "W": per_w,
        "chosen_W": W_map,
        "n_materials": int(len(sweep.split)),
        "n_test": int(test.sum()),
        "epochs_run": int(sweep.info["epochs_run"]),
        "train_wall_time_s": float(sweep.info["wall_time_s"]),
        "train_from_cache": bool(sweep.info.get("cached")),
        "device": sweep.info["device"],
        "config": config.to_dict(),
        "families": fam_counts.to_dict(),
        "alternatives_knn_test_r2_me": compare["knn_test_r2_me"].to_dict(),
        "done_when_r2_ge_0.8": bool(r2["comp"] >= 0.8 and r2["struct"] >= 0.8),
    }
    if grid is not None:
        out["grid_search"] = grid_metrics(grid)
    return out
