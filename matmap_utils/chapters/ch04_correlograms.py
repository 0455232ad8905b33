"""Chapter 04 (descriptor correlograms, López et al., Mater. Horiz. 10, 1757, 2023, Figs. 1–3): the glue.

* :func:`descriptor_table` — the chapter's table: OBELiX structures → descriptors
  (:mod:`matmap_utils.transport.sse_descriptors`), McHaffie et al.'s labels, the optional MEGNet
  predictions and BVSE barriers of the other studies (:func:`add_optional_descriptors`), and the MD
  descriptors that chapter 03 wrote (read through :func:`~matmap_utils.chapters.results.read_upstream`);
* :func:`usable_columns`, :func:`stat_columns`, :func:`chemistry_subsets`, :func:`mlp_inputs` —
  which columns and subsets enter the statistics;
* figure assembly (:func:`subset_correlograms`, :func:`target_bars`, :func:`plot_standardized_pairs`,
  :func:`plot_mlp`, :func:`plot_md_correlogram`), the sentences with computed numbers (``*_text``)
  and :func:`metrics` (what ``metrics.json`` records).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from matmap_utils.chapters.ch04_claims import MIN_N
from matmap_utils.chapters.results import read_upstream
from matmap_utils.data.datasets import load_mchaffie, load_obelix
from matmap_utils.materials_map.bvse import migration_table
from matmap_utils.screening.megnet.pool import pool_predictions
from matmap_utils.screening.megnet.properties import moduli_gpa, pool_properties
from matmap_utils.transport import correlations
from matmap_utils.transport.elastic import join_elastic
from matmap_utils.transport.sse_categories import CATEGORIES, category_table, descriptor_columns
from matmap_utils.transport.sse_descriptors import build_descriptor_table, join_bvse, join_mchaffie, join_megnet
from matmap_utils.transport.sse_md import join_md_descriptors
from matmap_utils.viz import FIG_WIDTH_IN

NB = "04_correlograms"
UPSTREAM = "03_aimd_trajectories"
TARGET = "log10_sigma"
#: Values quoted from López et al. 2023 (value, where) — the only typed numbers of the chapter.
PAPER = {
    "n_materials": (61, "López et al. 2023, Curated first-principles SSE database"),
    "n_descriptors": (54, "López et al. 2023, Curated first-principles SSE database"),
    "n_rho_above_0.2": (19, "López et al. 2023, Universal ion diffusion descriptors"),
    "n_descriptors_with_D": (53, "López et al. 2023, Universal ion diffusion descriptors"),
    "alpha": (0.2, "López et al. 2023, Correlations between pairs of SSE descriptors"),
    "T_window_K": ((400, 600), "López et al. 2023, Correlations between pairs of SSE descriptors (T = 500 ± 100 K)"),
    "mape_anharmonic": (
        2.60,
        "López et al. 2023, Machine learning models for the prediction of T-dependent properties",
    ),
    "mape_harmonic": (2.80, "López et al. 2023, Machine learning models for the prediction of T-dependent properties"),
}
#: MEGNet (Chen et al. 2019) elastic models: version and training-set size as the megnet release states (Materials
#: Project VRH moduli).
MEGNET_ELASTIC = {"version": "mp-2019.4.1", "n_train": 12179}
#: Tian, Xu & Zhao (Int. J. Refract. Met. Hard Mater. 33, 93, 2012) hardness model: H_V = a κ^b G^c.
TIAN_HV = (0.92, 1.137, 0.708)

#: categorical inputs of the MLP (one-hot encoded)
CAT_INPUTS = ["anion_class", "spacegroup_cat"]


def parse_sources(optional_sources: str) -> tuple[str, ...]:
    """The ``optional_sources`` parameter (``"megnet,bvse"``, ``""`` for none) as a tuple of names."""
    return tuple(s.strip() for s in optional_sources.split(",") if s.strip())


def _first_line(exc: BaseException) -> str:
    """First line of an exception's message (≤ 200 characters), for a status."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def _megnet(out: pd.DataFrame, structs: pd.Series, n_jobs: int | None) -> tuple[pd.DataFrame, str]:
    """MEGNet band gap and formation energy of every structure, joined (McHaffie et al.'s pool)."""
    pred, fails = pool_predictions(structs, n_jobs=n_jobs)
    return join_megnet(out, pred, len(fails))


def _bvse(out: pd.DataFrame, structs: pd.Series, n_jobs: int | None, timeout: float) -> tuple[pd.DataFrame, str]:
    """BVSE Li percolation barriers of every structure, joined (Yamaguchi et al.'s bvlain wrapper)."""
    bar = migration_table(
        list(structs.values), keys=list(structs.index), n_jobs=n_jobs, timeout=timeout, progress=False
    )
    return join_bvse(out, bar)


def add_optional_descriptors(
    table: pd.DataFrame,
    structures: pd.Series,
    *,
    sources: Iterable[str] = ("megnet", "bvse"),
    n_jobs: int | None = None,
    bvse_timeout: float = 120.0,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Join the descriptors the other studies provide; return ``(table, status)``.

    * ``"megnet"``: :func:`matmap_utils.screening.megnet.pool.pool_predictions` — band gap and formation
      energy → ``megnet_band_gap``, ``megnet_formation_energy`` (S–C, like the paper's E_g).
    * ``"bvse"``: :func:`matmap_utils.materials_map.bvse.migration_table` — Li percolation barriers
      E_1D/E_2D/E_3D → ``bvse_barrier_1d/2d/3d`` (D–V); disordered structures get NaN.

    ``status`` maps each source to ``"added: …"`` or ``"skipped: <reason>"`` (computation failed,
    or not requested). Never raises for an optional source.
    """
    status: dict[str, str] = {}
    sources = set(sources)
    out = table.copy()
    structs = structures.reindex(out.index)
    steps = {"megnet": lambda t: _megnet(t, structs, n_jobs), "bvse": lambda t: _bvse(t, structs, n_jobs, bvse_timeout)}
    for name, step in steps.items():
        if name not in sources:
            status[name] = "skipped: not requested by the parameters"
            continue
        try:
            out, status[name] = step(out)
        except Exception as exc:  # noqa: BLE001 - optional source
            status[name] = f"skipped: {type(exc).__name__}: {_first_line(exc)}"
    return out, status


def add_elastic(table: pd.DataFrame, structures: pd.Series, n_jobs: int | None = None) -> tuple[pd.DataFrame, str]:
    """López et al.'s 13 M–E descriptors of every material: MEGNet's log10 K_VRH and log10 G_VRH
    (mp-2019.4.1, :func:`~matmap_utils.screening.megnet.properties.pool_properties`; partially
    occupied structures through the occupancy-weighted embedding) → K, G (GPa) → the isotropic
    formulas of :func:`~matmap_utils.transport.elastic.elastic_descriptors` with the table's
    density.  Runs in every profile (seconds per 100 structures, cached); never raises."""
    try:
        pred, fails = pool_properties(structures.reindex(table.index).dropna(), n_jobs=n_jobs, progress=False)
        return join_elastic(table, moduli_gpa(pred), len(fails))
    except Exception as exc:  # noqa: BLE001 - reported in the status, the table stays usable
        return table, f"skipped: {type(exc).__name__}: {_first_line(exc)}"


def read_md_table() -> tuple[pd.DataFrame | None, str]:
    """Chapter 03's ``md_descriptors`` table, or ``(None, reason)`` when it has not been written."""
    try:
        return read_upstream(NB, UPSTREAM, "md_descriptors"), "found"
    except FileNotFoundError as exc:
        return None, str(exc).splitlines()[0]


def _with_mchaffie(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """McHaffie et al.'s labels joined by ICSD code (optional metadata: never raises)."""
    try:
        table = join_mchaffie(table, load_mchaffie(with_structures=False))
    except Exception as exc:  # noqa: BLE001 - labels are optional metadata
        table["mchaffie_superionic"] = pd.NA
        table["loco_cluster"] = pd.NA
        return table, f"skipped: {type(exc).__name__}: {_first_line(exc)}"
    return table, f"added: {int(table['mchaffie_superionic'].notna().sum())} materials matched by ICSD code"


def descriptor_table(
    *,
    sources: Iterable[str] = ("megnet", "bvse"),
    n_jobs: int | None = None,
    bvse_timeout: float = 120.0,
    progress: bool = False,
) -> dict[str, Any]:
    """The whole table of chapter 04: OBELiX structures → descriptors, McHaffie labels, optional joins.

    Returns a dict with ``table`` (one row per usable material), ``unusable`` (id, reason — entries
    without CIF, without Li sites, or failing), ``status`` (optional sources: added/skipped with
    reason), ``md`` (chapter 03's table or None) and ``parse_failures`` (CIFs that did not parse).
    """
    ob = load_obelix(n_jobs=n_jobs)
    parse_fail = pd.DataFrame(ob.attrs.get("failures", []))
    table, unusable = build_descriptor_table(ob, n_jobs=n_jobs, progress=progress)
    if len(parse_fail):
        bad = dict(zip(parse_fail["id"], parse_fail["reason"]))
        unusable["reason"] = [
            f"CIF did not parse: {bad[i]}" if i in bad else r for i, r in zip(unusable["id"], unusable["reason"])
        ]
    table, status_m = _with_mchaffie(table)
    table, status = add_optional_descriptors(
        table, ob["structure"], sources=sources, n_jobs=n_jobs, bvse_timeout=bvse_timeout
    )
    status["mchaffie"] = status_m
    table, status["elastic"] = add_elastic(table, ob["structure"], n_jobs)
    md, why = read_md_table()
    table, status["md"] = join_md_descriptors(table, md)
    if md is None:
        status["md"] = f"skipped: {why}"
    unusable = unusable.merge(
        ob[["Reduced Composition", "Family"]].rename(columns={"Reduced Composition": "formula", "Family": "family"}),
        left_on="id",
        right_index=True,
        how="left",
    )
    return {
        "table": table,
        "unusable": unusable,
        "status": status,
        "md": md,
        "parse_failures": parse_fail,
        "structures": ob["structure"],
    }


def usable_columns(table: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """(varying numeric descriptors, constant ones, ones known for fewer than 3 materials)."""
    desc_cols = descriptor_columns(table)
    sparse = [c for c in desc_cols if table[c].notna().sum() < 3]
    constant = [c for c in desc_cols if c not in sparse and table[c].round(9).nunique(dropna=True) <= 1]
    num_cols = [c for c in desc_cols if c not in constant and c not in sparse]
    return num_cols, constant, sparse


def table_text(table: pd.DataFrame, num_cols, constant, sparse, status: Mapping[str, str]) -> str:
    """The paragraph under the descriptor table: counts, dropped columns, optional sources."""
    return (
        f"**{len(table)} materials** with a structure and a room-temperature conductivity "
        f"({int(table['has_disorder'].sum())} of them partially occupied), "
        f"{len(num_cols)} varying numeric descriptors. "
        f"Constant over this Li-only set, hence left out of the statistics: {', '.join(constant) or 'none'}. "
        f"Known for fewer than 3 materials, also left out: {', '.join(sparse) or 'none'}.\n\n"
        + "\n".join(f"- optional source **{k}**: {v}" for k, v in status.items())
    )


def category_overview(table: pd.DataFrame) -> pd.DataFrame:
    """Table 1 analogue for the columns present, with the number of materials that have a value."""
    cat_tab = category_table([c for c in CATEGORIES if c in table.columns])
    cat_tab["n_values"] = [int(table[c].notna().sum()) for c in cat_tab["descriptor"]]
    return cat_tab


def chemistry_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Materials, median log10 σ_RT and superionic fraction per majority anion."""
    return table.groupby("anion_class").agg(
        n=("log10_sigma", "size"), median_log10_sigma=("log10_sigma", "median"), superionic=("superionic", "mean")
    )


def stat_columns(num_cols: Sequence[str]) -> list[str]:
    """log10 σ_RT and the non-MD descriptors (the MD ones get their own section)."""
    return [TARGET] + [c for c in num_cols if not c.startswith("md_")]


def chemistry_subsets(table: pd.DataFrame, subset_min: int) -> list[str]:
    """Anion classes with at least ``subset_min`` materials (largest first)."""
    return [c for c, n in table["anion_class"].value_counts().items() if n >= subset_min]


def _subset(table: pd.DataFrame, stat_cols: Sequence[str], chem: str) -> tuple[pd.DataFrame, list[str]]:
    part = table[table["anion_class"] == chem]
    return part, [c for c in stat_cols if part[c].nunique(dropna=True) > 1]


def subset_correlograms(table, stat_cols, subsets) -> dict[str, correlations.CorrResult]:
    """Fig. 1(c,d) analogue: the Spearman correlogram of every chemistry subset (shown interactively,
    one subset at a time, by :func:`matmap_utils.viz.corr_heatmap_groups`)."""
    sub_res = {}
    for chem in subsets:
        part, cols = _subset(table, stat_cols, chem)
        sub_res[chem] = correlations.corr_matrix(part[cols], "spearman")
    return sub_res


def static_correlogram(
    res: correlations.CorrResult, corr_target: pd.DataFrame, k: int = 20, title: str = ""
) -> plt.Figure:
    """The legible static version of a large correlogram: log10 σ_RT and the ``k`` descriptors most
    correlated with it (:func:`~matmap_utils.transport.correlations.top_columns`), lower triangle,
    dots where p < 0.2 — at the book's full width."""
    cols = correlations.top_columns(corr_target, TARGET, k)
    fig, ax = plt.subplots(figsize=(FIG_WIDTH_IN, FIG_WIDTH_IN * 0.92))
    correlations.plot_correlogram(correlations.subset(res, cols), ax, title=title)
    fig.tight_layout()
    return fig


def significance_text(sp_all: correlations.CorrResult, sub_res: Mapping[str, correlations.CorrResult]) -> str:
    """How many descriptor pairs are significant at p < 0.2 (the paper's level) and 0.05."""
    long_all = sp_all.long()
    n_pairs = long_all["p"].notna().sum()
    n02 = int((long_all["p"] < 0.2).sum())
    n005 = int((long_all["p"] < 0.05).sum())
    lines = [f"All materials: {n02} of {n_pairs} descriptor pairs have p < 0.2, {n005} have p < 0.05."]
    for chem, res in sub_res.items():
        lo = res.long()
        lines.append(f"{chem}s: {int((lo['p'] < 0.2).sum())} of {int(lo['p'].notna().sum())} pairs with p < 0.2.")
    return (
        " ".join(lines) + " As in the paper, the larger set has more significant pairs at "
        "the same threshold, largely because p-values shrink with n."
    )


def target_bars(table, stat_cols, subsets, corr_all: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], plt.Figure]:
    """Fig. 2(b,c) analogue in one legible panel: Spearman ρ of every descriptor with log10 σ_RT
    for all materials and per subset (:func:`~matmap_utils.transport.correlations.plot_target_matrix`)."""
    corr_sub = {}
    groups = {f"all\n(n={len(table)})": corr_all}
    for chem in subsets:
        part, cols = _subset(table, stat_cols, chem)
        corr_sub[chem] = correlations.correlations_with(part[cols], TARGET)
        groups[f"{chem}s\n(n={len(part)})"] = corr_sub[chem]
    n_rows = len(corr_all)
    fig, ax = plt.subplots(figsize=(FIG_WIDTH_IN, 1.6 + 0.24 * n_rows))
    correlations.plot_target_matrix(groups, ax)
    fig.tight_layout()
    return corr_sub, fig


def top_text(corr_all: pd.DataFrame, top: pd.DataFrame) -> str:
    """How many descriptors have ``|ρ| > 0.2`` with log10 σ_RT and which is strongest."""
    n20 = int((corr_all["spearman"].abs() > 0.2).sum())
    return (
        f"{n20} of {corr_all['spearman'].notna().sum()} descriptors have |ρ| > 0.2 with log10 σ_RT "
        f"(the paper: {PAPER['n_rho_above_0.2'][0]} of {PAPER['n_descriptors_with_D'][0]} with D, "
        f"{PAPER['n_rho_above_0.2'][1]}). The strongest is **{top.index[0]}** (ρ = {top['spearman'].iloc[0]:+.2f}, "
        f"p = {top['p_spearman'].iloc[0]:.1e}); the five strongest are listed above."
    )


def plot_standardized_pairs(table: pd.DataFrame, columns: Sequence[str], corr_all: pd.DataFrame) -> plt.Figure:
    """Fig. 2(a) analogue: standardized log10 σ_RT against each of ``columns``, with a running
    median (31 points) and the least-squares line."""
    fig, axes = plt.subplots(1, 2, figsize=(FIG_WIDTH_IN, 3.6), sharey=True)
    for ax, col in zip(axes, columns):
        d = table[[col, TARGET]].dropna()
        z = (d - d.mean()) / d.std(ddof=0)
        colour = table.loc[d.index, "superionic"].map({True: "C1", False: "C0"})
        ax.scatter(z[col], z[TARGET], s=10, alpha=0.6, c=colour)
        zs = z.sort_values(col)
        median = zs[TARGET].rolling(31, center=True, min_periods=10).median()
        ax.plot(zs[col], median, "C3", lw=2, label="running median")
        b = np.polyfit(z[col], z[TARGET], 1)
        xx = np.linspace(z[col].min(), z[col].max(), 10)
        ax.plot(xx, np.polyval(b, xx), "k--", lw=1, label="linear fit")
        ax.set_xlabel(f"{col} (standardized)")
        ax.set_title(f"ρ_S = {corr_all.loc[col, 'spearman']:+.2f}, ρ_P = {corr_all.loc[col, 'pearson']:+.2f}")
    axes[0].set_ylabel("log10 σ_RT (standardized)")
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [
        plt.Line2D([], [], color="C1", marker="o", ls="", label="superionic (σ ≥ 10⁻⁴ S/cm)"),
        plt.Line2D([], [], color="C0", marker="o", ls="", label="not superionic"),
    ]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    fig.tight_layout()
    return fig


def disagreement_text(dis: pd.DataFrame, corr_all: pd.DataFrame) -> str:
    """How many descriptors Pearson and Spearman read differently."""
    if len(dis):
        return f"{len(dis)} of {corr_all['spearman'].notna().sum()} descriptors are read differently by the two coefficients."
    return "Pearson and Spearman agree for every descriptor here."


def mlp_inputs(table: pd.DataFrame, num_cols: Sequence[str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(MLP frame with the space group as a category, numeric inputs, MD inputs)."""
    mlp_df = table.copy()
    mlp_df["spacegroup_cat"] = mlp_df["spacegroup"].astype("Int64").astype(str)
    num_inputs = [c for c in num_cols if c != "spacegroup" and not c.startswith("md_")]
    md_inputs = [c for c in num_cols if c.startswith("md_")]
    return mlp_df, num_inputs, md_inputs


def plot_mlp(mlp_df: pd.DataFrame, pred: pd.Series, m: Mapping[str, float]) -> plt.Figure:
    """Fig. 3 analogue: held-out-family prediction against measured log10 σ_RT."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH_IN * 0.7, FIG_WIDTH_IN * 0.7))
    ok = pred.notna()
    ax.scatter(mlp_df.loc[ok, TARGET], pred[ok], s=10, alpha=0.6)
    lims = [mlp_df[TARGET].min() - 0.5, mlp_df[TARGET].max() + 0.5]
    ax.plot(lims, lims, "k--", lw=1)
    ax.set_xlabel("measured log10 σ_RT (σ in S/cm)")
    ax.set_ylabel("MLP prediction, held-out family (log10 S/cm)")
    ax.set_title(f"Fig. 3 analogue: MAPE = {100 * m['mape']:.0f} %, MAE = {m['mae']:.2f} dex")
    return fig


def mlp_text(m: Mapping[str, float], max_iter: int, table: pd.DataFrame, md_inputs: Sequence[str]) -> str:
    """The paragraph under Fig. 3: held-out materials and families, MAPE, MD inputs."""
    md_note = (
        f"The MD-derived descriptors exist for only {int(table[md_inputs].notna().any(axis=1).sum())} of these "
        "materials, too few for a with/without comparison on σ_RT; it is made on the MD table below."
        if md_inputs
        else "No MD-derived descriptors are joined to these materials (see the MD section)."
    )
    return (
        f"{m['n']} materials predicted from models that never saw their family ({m['n_groups']} "
        f"families held out, {max_iter} epochs). MAPE (Eq. 8) = {100 * m['mape']:.0f} % of the mean "
        f"log10 σ, i.e. a mean error of {m['mae']:.2f} decades. " + md_note
    )


def md_skipped_text(status: Mapping[str, str]) -> str:
    """Why the MD section is empty."""
    return (
        f"**This part is skipped** — {status['md'].removeprefix('skipped: ')}. "
        "Once notebook 03 has written its table, this section fills in."
    )


def plot_md_correlogram(sp_md: correlations.CorrResult, mf: pd.DataFrame) -> plt.Figure:
    """Fig. 1 analogue for chapter 03's MD table."""
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.5))
    correlations.plot_correlogram(
        sp_md, axes[0], axes[1], title=f"MD table ({len(mf)} runs, {mf['material'].nunique()} materials)"
    )
    fig.tight_layout()
    return fig


def md_text(mf: pd.DataFrame, md_metrics: Mapping[str, float]) -> str:
    """The paragraph closing the MD section: runs, materials, MAPEs."""
    n_lind = int(mf["lindemann"].notna().sum()) if "lindemann" in mf else 0
    n_vdos = int(mf["omega_mean_meV"].notna().sum()) if "omega_mean_meV" in mf else 0
    return (
        f"{len(mf)} MD runs of {mf['material'].nunique()} materials; a Lindemann ratio for "
        f"{n_lind} of them, a vibrational density of "
        f"states (⟨ω⟩, C_v, S_vib…) for {n_vdos} "
        "(velocities are needed). Leave-one-material-out MLP MAPE: "
        + (", ".join(f"{k} = {100 * v:.0f} %" for k, v in md_metrics.items()) or "none possible")
        + ". With this few runs the numbers illustrate the protocol, they do not test the paper's claim."
    )


def metrics(
    table, unusable, num_cols, top: pd.DataFrame, mape: Mapping[str, float], max_iter: int, m_sigma, status
) -> dict[str, Any]:
    """What ``metrics.json`` of chapter 04 records."""
    top5 = [
        {"descriptor": i, "rho": float(r["spearman"]), "p": float(r["p_spearman"]), "n": int(r["n"])}
        for i, r in top.iterrows()
    ]
    return {
        "n_materials": int(len(table)),
        "n_unusable": int(len(unusable)),
        "n_descriptors": len(num_cols),
        "top5_spearman_log10_sigma": top5,
        "mape": {k: float(v) for k, v in mape.items()},
        "mlp_max_iter": int(max_iter),
        "mlp_groups_held_out": int(m_sigma["n_groups"]),
        "optional_sources": status,
    }


def mlp_variant_inputs(
    num_inputs: Sequence[str], md_inputs: Sequence[str], table: pd.DataFrame
) -> dict[str, list[str]]:
    """The MLP input sets: all descriptors (with the MD/AIMD ones), without the AIMD descriptors
    (every other input kept, the paper's "harmonic"), and without the M–E descriptors."""
    me = {c for c in table.columns if CATEGORIES.get(c) == "M-E"}
    return {
        "all descriptors": list(num_inputs) + list(md_inputs),
        "without AIMD descriptors": list(num_inputs),
        "without M–E descriptors": [c for c in list(num_inputs) + list(md_inputs) if c not in me],
    }


def variants_text(var_tab: pd.DataFrame, d_aimd, d_me, md_inputs: Sequence[str]) -> str:
    """The paragraph under the MLP variants."""
    same = (
        " The two first variants have the same inputs here (no MD descriptor is joined), so the paper's "
        "with/without-AIMD comparison is empty on this table."
        if not md_inputs
        else ""
    )
    return (
        f"MAPE(all) − MAPE(without AIMD) = {100 * d_aimd.value:+.1f} points (95 % CI "
        f"{100 * d_aimd.lo:+.1f} to {100 * d_aimd.hi:+.1f}); MAPE(all) − MAPE(without M–E) = "
        f"{100 * d_me.value:+.1f} points ({100 * d_me.lo:+.1f} to {100 * d_me.hi:+.1f}). The paper: "
        f"{100 * PAPER['mape_anharmonic'][0]:.0f} % with and {100 * PAPER['mape_harmonic'][0]:.0f} % without the AIMD "
        "descriptors for D (its K-fold over materials, target AIMD D)." + same
    )


def md_selection_text(mf: pd.DataFrame, mf_t: pd.DataFrame) -> str:
    """How many runs and materials the 400–600 K rule keeps, and how many runs are censored."""
    vib = [c for c in mf_t.columns if c.startswith("omega_mean_meV")]
    n_vdos = int(mf_t.loc[mf_t[vib].notna().any(axis=1), "material"].nunique()) if vib else 0
    n_mat = mf_t["material"].nunique()
    n_cens = int(mf_t["D_censored"].sum()) if "D_censored" in mf_t else 0
    text = (
        f"Selection rule: runs at 400–600 K only (the paper's 500 ± 100 K). It keeps **{len(mf_t)} of {len(mf)} runs** "
        f"of **{n_mat} materials** ({', '.join(sorted(mf_t['material'].unique()))}); "
        f"{n_vdos} of them have a VDOS. A correlation is tested here on at least {MIN_N} materials"
        + ("." if n_mat >= MIN_N else "; the generated CHGNet set would have to grow (see `data/md/README.md`).")
    )
    if n_cens:
        text += (
            f" In {n_cens} of these runs Li did not move beyond its vibrations (D below the run's detection "
            "limit, 1 Å² of mean-squared displacement over the fit window): their log10 D is set to that limit, "
            "so that they share the lowest ranks of the Spearman correlations instead of being dropped."
        )
    return text


def claims_metrics(claims_tab, exp_summ, var_tab, d_aimd, d_me, n_me: int, md, n_boot: int) -> dict[str, Any]:
    """The claims table, the experimental check and the MLP variants for ``metrics.json``."""

    def _f(x):
        return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else float(x)

    return {
        "n_with_elastic": int(n_me),
        "claims": {
            c: {
                k: (_f(r[k]) if k not in ("verdict", "column", "why_not_testable", "target") else r[k]) for k in r.index
            }
            for c, r in claims_tab.iterrows()
        },
        "elastic_experimental_check": exp_summ,
        "mlp_variants": {v: {k: _f(r[k]) for k in ("mape", "ci_lo", "ci_hi", "n")} for v, r in var_tab.iterrows()},
        "mlp_mape_diff_all_minus_no_aimd": d_aimd.as_dict(),
        "mlp_mape_diff_all_minus_no_me": d_me.as_dict(),
        "n_boot": int(n_boot),
    }


def intro_text() -> str:
    """The paper's numbers the chapter's introduction quotes (:data:`PAPER`)."""
    n, src = PAPER["n_materials"]
    k, _ = PAPER["n_descriptors"]
    return (
        f"The paper's database has {n} simulated solid electrolytes and {k} descriptors ({src}); here the same "
        "statistics run on the public data described below."
    )


def me_text() -> str:
    """How the 13 M–E descriptors are computed (:mod:`matmap_utils.transport.elastic`)."""
    a, b, c = TIAN_HV
    return (
        "The paper's M–E descriptors (Table 1) come from DFT elastic tensors. No elastic tensors are public "
        "for these (mostly partially occupied) compositions, so here they come from MEGNet's bulk and shear "
        f"modulus models {{cite}}`chen2019megnet` ({MEGNET_ELASTIC['version']}, trained on "
        f"{MEGNET_ELASTIC['n_train']:,} Materials Project VRH moduli, log10 GPa), run on every structure — "
        "partially occupied sites through the occupancy-weighted species embedding — and from the isotropic "
        "formulas of `matmap_utils.transport.elastic` with the structure's density: λ = K − 2G/3, "
        "E = 9KG/(3K+G), ν = (3K−2G)/(2(3K+G)), P-wave modulus K + 4G/3, Pugh's ratio κ = G/K, Cauchy "
        f"pressure P_c = λ − G, Vickers hardness H_V = {a} κ^{b} G^{c} {{cite}}`tian2012hardness`, "
        "v_l = √((K+4G/3)/ρ), v_t = √(G/ρ), v_r = v_l/v_t and the Debye average "
        "⟨v⟩ = [(2/v_t³ + 1/v_l³)/3]^(−1/3). The paper gives no formulas; these choices reproduce the signs "
        "it reports among the descriptors (κ falls where ν and v_r rise)."
    )


def mlp_setup_text(paper_mlp: Mapping[str, Any]) -> str:
    """The paper's MLP settings as used (:data:`matmap_utils.transport.mlp.PAPER_MLP`)."""
    layers = "-".join(str(x) for x in paper_mlp["hidden_layer_sizes"])
    return (
        f"scikit-learn `MLPRegressor` with the paper's hyper-parameters (hidden layers {layers}, "
        f"{paper_mlp['activation']}, {paper_mlp['solver']}, {paper_mlp['learning_rate']} learning rate "
        f"{paper_mlp['learning_rate_init']:g}, L2 α = {paper_mlp['alpha']:g}), standardized numeric inputs "
        "(median imputation for the few missing values), one-hot encoded categorical inputs (space group, "
        "majority anion), leave-one-material-group-out validation with the OBELiX `Family` as the group, "
        "scored by the paper's MAPE (Eq. 8: mean absolute error divided by the mean of the true values)."
    )


def md_correlation_text(mf_t: pd.DataFrame, min_n: int = MIN_N) -> str | None:
    """Why the MD correlogram is not shown (None when at least ``min_n`` materials are at 400–600 K).

    Runs of one material are not independent samples: with n = 3–4 materials a Spearman ρ of ±1
    has p ≈ 0 at the run level and means nothing, so such a table is not shown as "significant"."""
    n_mat = int(mf_t["material"].nunique()) if len(mf_t) else 0
    if n_mat >= min_n:
        return None
    return (
        f"**No MD correlogram.** The runs at 400–600 K cover only **{n_mat} materials** ({len(mf_t)} runs; "
        "runs of one material are not independent samples). A rank correlation over so few materials is "
        f"either ±1 or undetermined, so none is shown as significant: this book tests a correlation on at "
        f"least {min_n} materials, the rule of the claims table above."
    )


def found_text(table, corr_all, top_ci: Mapping[str, Any], claims_tab, exp_summ, var_tab, d_aimd, md_note) -> str:
    """The chapter's "What we found": headline numbers against the paper, with CIs."""
    n_p, _ = PAPER["n_materials"]
    mw, mo = PAPER["mape_anharmonic"][0], PAPER["mape_harmonic"][0]
    counts = claims_tab["verdict"].value_counts()
    supported = claims_tab.index[claims_tab["verdict"] == "supported"]
    k = exp_summ["K_mean_abs_rel_err"]
    allv = var_tab.iloc[0]
    lines = [
        f"- **Data.** {len(table)} Li conductors with a structure and a measured σ_RT, {corr_all['spearman'].notna().sum()} "
        f"descriptors; the paper had {n_p} simulated materials of several mobile ions and their AIMD D — a "
        "different target (see the list above), so no coefficient here reproduces one of theirs exactly.",
        f"- **Strongest correlate of log10 σ_RT.** {top_ci['descriptor']}: ρ = {top_ci['rho']:+.2f} (95 % CI "
        f"{top_ci['ci_lo']:+.2f} to {top_ci['ci_hi']:+.2f}, n = {top_ci['n']}).",
        f"- **The paper's Li-only coefficients.** Of {len(claims_tab)} quoted: "
        + ", ".join(f"{v} {n}" for v, n in counts.items())
        + (f" (supported: {', '.join(supported)})" if len(supported) else "")
        + ". The M–E rows use MEGNet moduli whose K is off by "
        f"{100 * k['value']:.0f} % (95 % CI {100 * k['ci_lo']:.0f}–{100 * k['ci_hi']:.0f} %) against experiment.",
        f"- **MLP.** Leave-one-family-out MAPE = {100 * allv['mape']:.0f} % (95 % CI {100 * allv['ci_lo']:.0f}–"
        f"{100 * allv['ci_hi']:.0f} %) of the mean log10 σ; the paper's {100 * mw:.0f} % (with AIMD descriptors) and "
        f"{100 * mo:.0f} % (without) are for D itself, so the scales are not comparable. Dropping the AIMD "
        f"descriptors changes our MAPE by {-100 * d_aimd.value:+.1f} points (95 % CI {-100 * d_aimd.hi:+.1f} to "
        f"{-100 * d_aimd.lo:+.1f}).",
    ]
    if md_note:
        lines.append(
            "- **Vibrational descriptors.** Too few simulated materials to test the paper's central claim "
            "(see the MD section)."
        )
    return "\n".join(lines)
