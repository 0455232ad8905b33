"""Chapter 02, the reader's view: the tables of notebook ``02_autoencoder_map`` formatted for the
book (:func:`matmap_utils.viz.format_table`: units in the headers, no 0…N index, integers as
integers, an empty table replaced by a sentence) and the chapter's "What we found".

ME and predicted ME in eV; map coordinates ``x_comp``, ``x_struct`` dimensionless (asinh-scaled
codes); R² dimensionless; losses those of Yamaguchi et al. 2023, Eqs. 1–3 (``Loss_ME`` in units of
the standardized ME).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from matmap_utils.chapters.ch02_seeds import PAPER_R2_ME, PAPER_R2_RECONSTRUCTION, SPLIT_NAMES
from matmap_utils.viz import format_table

#: Readable headers of the chapter's columns (units in brackets).
HEADERS = {
    "best_epoch": "best epoch",
    "test_loss_comp": "test Loss_comp",
    "test_loss_str": "test Loss_str",
    "test_loss_me": "test Loss_ME (standardized)",
    "test_mse_me_ev2": "test MSE of ME (eV²)",
    "test_r2_comp": "test R² composition",
    "test_r2_struct": "test R² structure",
    "test_r2_me": "test R² ME",
    "train_r2_me": "train R² ME",
    "ci95_lo": "95 % CI low",
    "ci95_hi": "95 % CI high",
    "ME_paper": "paper ME (eV)",
    "ME": "our ME (eV)",
    "ME_pred": "predicted ME (eV)",
    "x_comp_paper": "paper x_comp",
    "x_struct_paper": "paper x_struct",
    "structure_type": "structure type",
    "x_Li": "Li fraction",
    "x_O": "O fraction",
    "knn_test_r2_me": "k-NN test R² of ME",
    "head_test_r2_me": "ME head test R²",
    "can_decode": "decodes",
    "batch_size": "batch size",
    "lr": "learning rate",
    "weight_decay": "L2",
    "val_loss_all": "validation Loss_all",
    "x_comp": "our x_comp",
    "x_struct": "our x_struct",
}


def _w_index(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_axis([f"{w:g}" for w in frame.index], axis=0).rename_axis("W")


def sweep_display(mt: pd.DataFrame, columns: Sequence[str]):
    """The sweep's test-set table, one row per W."""
    return format_table(_w_index(mt[list(columns)]), rename=HEADERS, int_columns=["best_epoch"])


def seed_display(seed_tab: pd.DataFrame):
    """The seed study's summary (:func:`~matmap_utils.chapters.ch02_seeds.seed_table`)."""
    return format_table(seed_tab, rename=HEADERS | {"sd": "SD"})


def family_display(fam_counts: pd.Series):
    """Members per structure family, or a sentence when no material matched a prototype."""
    return format_table(
        fam_counts.rename("members").rename_axis("family").to_frame(),
        empty="No material of this run matches the Li-free framework of a Table 1 prototype.",
    )


def spread_display(spread: pd.DataFrame):
    """Per map and family: members and the mean and SD of each coordinate (dimensionless)."""
    names = {c: " ".join(reversed(c.split(" "))) for c in spread.columns} | {"n": "members"}
    return format_table(spread.rename_axis(["map", "family"]), int_columns=["n"], rename=names)


def table1_display(t1: pd.DataFrame):
    """The paper's Table 1 beside ours (ME in eV, codes dimensionless)."""
    return format_table(t1.rename_axis("material"), rename=HEADERS)


def window_display(window: pd.DataFrame):
    """The materials of the Fig. 8 window, or a sentence when it holds none."""
    return format_table(
        window.rename_axis("material"),
        rename=HEADERS,
        empty="No known material lies in the window (the rule found none with enough materials).",
    )


def decoded_display(decoded: pd.DataFrame):
    """The decoded points with their predicted ME (eV), composition and nearest materials."""
    return format_table(decoded, rename=HEADERS)


def alternatives_display(compare: pd.DataFrame):
    """Every map's k-NN R² of ME, head R², whether it decodes and its reconstruction R²."""
    return format_table(compare, rename=HEADERS)


def grid_display(grid: pd.DataFrame | None):
    """The grid search table (validation losses), or a sentence when it was not run."""
    return format_table(grid, rename=HEADERS, empty="The grid search was not run in this profile (`grid_search`).")


def _mean(seed_tab: pd.DataFrame, kind: str, name: str) -> tuple[float, float]:
    r = seed_tab.loc[(SPLIT_NAMES[kind], name)]
    return float(r["mean"]), float(r["sd"])


def _pm(v: tuple[float, float]) -> str:
    return f"{v[0]:.2f} ± {v[1]:.2f}" if np.isfinite(v[1]) else f"{v[0]:.2f}"


def _headline(seed_tab: pd.DataFrame, study: pd.DataFrame, W_map: float) -> list[str]:
    kinds = [k for k in ("grouped", "random") if (SPLIT_NAMES[k], "ME") in seed_tab.index]
    head = kinds[0]
    comp, struct, me = (_mean(seed_tab, head, n) for n in ("composition", "structure", "ME"))
    reach = [n for n, v in (("composition", comp), ("structure", struct)) if v[0] >= PAPER_R2_RECONSTRUCTION]
    reach_txt = (
        "both reach" if len(reach) == 2 else f"only the {reach[0]} reaches" if reach else "neither reaches"
    ) + f" the paper's R² > {PAPER_R2_RECONSTRUCTION:g}"
    n = int(study["seed"].nunique())
    lines = [
        f"- **Headline.** On the split {SPLIT_NAMES[head]}, over {n} seeds at W = {W_map:g}, the test R² is "
        f"{_pm(comp)} for the composition and {_pm(struct)} for the structure ({reach_txt}), and {_pm(me)} for "
        f"ME (the paper: {PAPER_R2_ME:g}, one random split)."
    ]
    if head == "grouped" and "random" in kinds:
        g = {n: _mean(seed_tab, "grouped", n) for n in ("structure", "ME")}
        r = {n: _mean(seed_tab, "random", n) for n in ("structure", "ME")}
        d = {n: g[n][0] - r[n][0] for n in g}
        sd = max(float(np.nanmax([g[n][1], r[n][1]])) for n in g)
        lines.append(
            f"- **Unseen chemistry.** Holding out whole chemical systems changes the mean R² by {d['structure']:+.2f} "
            f"(structure) and {d['ME']:+.2f} (ME) against the paper's random split: "
            + (
                "with a single seed there is no seed-to-seed SD to judge this difference against."
                if not np.isfinite(sd)
                else "within twice the seed-to-seed SD, so new chemical systems are not measurably harder than new materials."
                if max(abs(v) for v in d.values()) <= 2 * sd
                else f"new chemical systems are {'harder' if sum(d.values()) < 0 else 'easier'} than random test materials."
            )
        )
    return lines


def found_text(
    seed_tab: pd.DataFrame,
    study: pd.DataFrame,
    compare: pd.DataFrame,
    xy: pd.DataFrame,
    W_map: float,
    fam_counts: pd.Series,
) -> str:
    """The chapter's "What we found": the seed study's headline against the paper, the grouped
    split against the random one, which map axis ME follows, the autoencoder map against PCA/UMAP,
    and the structure families found."""
    lines = _headline(seed_tab, study, W_map)
    rho = xy[["x_comp", "x_struct"]].corrwith(xy["ME"], method="spearman")
    follows = "x_struct" if abs(rho["x_struct"]) > abs(rho["x_comp"]) else "x_comp"
    lines.append(
        f"- **The ME axis.** ME correlates with x_struct at Spearman ρ = {rho['x_struct']:+.2f} and with x_comp at "
        f"{rho['x_comp']:+.2f}: it follows {follows} more closely, "
        + (
            "as the paper finds."
            if follows == "x_struct"
            else "unlike the paper, which ties ME to the structural axis."
        )
    )
    ae = compare.loc[f"autoencoder W={W_map:g}", "knn_test_r2_me"]
    others = compare["knn_test_r2_me"][~compare.index.str.startswith("autoencoder")]
    if len(others):
        best = others.idxmax()
        verdict = "carries more" if ae > others.max() else "does not carry more"
        lines.append(
            f"- **Against PCA and UMAP.** A k-NN regressor reads ME from the autoencoder map (W = {W_map:g}) at test "
            f"R² {ae:.2f}, from the best alternative ({best}) at {others.max():.2f}: on this run the autoencoder map "
            f"{verdict} ME information than a linear or UMAP map; its advantage that stands regardless is the ME "
            "model and the decoder defined everywhere on the map."
        )
    fam = ", ".join(f"{int(n)} {f}" for f, n in fam_counts.items()) or "none"
    lines.append(f"- **Families.** Members found by framework matching: {fam}.")
    return "\n".join(lines)
