"""Chapter 01 (descriptors and Li migration energies of the Li–O set): the figures, tables and
sentences of notebook ``01_descriptors`` assembled from :mod:`matmap_utils.materials_map`.

The science (descriptors, scalers, BVSE barriers, the comparison with the paper's Table 1) lives in
:mod:`matmap_utils.materials_map.descriptors` and :mod:`matmap_utils.materials_map.bvse`; this
module only arranges their results.  Energies in eV, distances in angstrom, angles in degrees.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import ConstantInputWarning, spearmanr

from matmap_utils.chapters.results import results_dir
from matmap_utils.core.bootstrap import bootstrap_ci
from matmap_utils.materials_map import bvse as M
from matmap_utils.materials_map import descriptors as D
from matmap_utils.viz import FIG_WIDTH_IN, format_table, panel_grid

NB = "01_descriptors"

#: The three example materials drawn on top of the descriptor figures (all in the paper's Table 1).
EXAMPLES = {"mp-942733": "garnet LLZO", "mp-10499": "NASICON LiZr2(PO4)3", "mp-1222522": "perovskite LiLa3Ti4O12"}
#: The descriptor sizes of Yamaguchi et al. 2023 (Dataset: 1782 and 858 dimensions).
PAPER_DIMS = {"composition": 1782, "structure": 858}


def dataset_text(lio: pd.DataFrame, summary: pd.DataFrame, limit: int) -> str:
    """One paragraph on the Li–O set of this run: size, CIF parse failures, elements and sites per
    cell, space groups and disordered structures (``lio``: :func:`~matmap_utils.data.datasets.load_mp_li`,
    ``summary``: :func:`~matmap_utils.data.structures.structure_summary`)."""
    n_el = lio["elements"].map(len)
    parse_fail = pd.DataFrame(lio.attrs.get("failures", []))
    return (
        f"This run uses **{len(lio):,}** Li–O materials "
        f"({'all of them' if not limit else f'a seeded subset of {limit}'}; CIF parse failures: "
        f"{len(parse_fail)}). They have {n_el.min()}–{n_el.max()} elements (median {n_el.median():.0f}) and "
        f"{lio['nsites'].min()}–{lio['nsites'].max()} sites per cell (median {lio['nsites'].median():.0f}); "
        f"{summary['spacegroup_number'].nunique()} different space groups, "
        f"{(~lio['ordered']).sum()} disordered structures."
    )


def dataset_figure(lio: pd.DataFrame, summary: pd.DataFrame):
    """Bar charts of the elements besides Li and O, the 20 most frequent space groups and the
    crystal systems (numbers of materials)."""
    el_counts = pd.Series([e for els in lio["elements"] for e in els]).value_counts().drop(["Li", "O"])
    fig, axes = panel_grid(3, panel_height=3.4)
    el_counts.plot.bar(ax=axes[0], color="C0")
    axes[0].set(title="elements besides Li and O", xlabel="element", ylabel="materials")
    sg = summary["spacegroup_symbol"].value_counts()
    sg.head(20).plot.bar(ax=axes[1], color="C1")
    axes[1].set(title=f"the 20 most frequent of {len(sg)} space groups", xlabel="space group", ylabel="materials")
    summary["crystal_system"].value_counts().plot.barh(ax=axes[2], color="C2")
    axes[2].set(title="crystal systems", xlabel="materials", ylabel="")
    for ax in axes[:2]:
        ax.tick_params(axis="x", labelsize=9)
    fig.tight_layout()
    return fig


@dataclass
class Scaled:
    """The descriptors of the set scaled to [0, 1] by block maxima, with their layouts and scalers."""

    Xc: pd.DataFrame
    Xs: pd.DataFrame
    cspec: D.DescriptorSpec
    sspec: D.DescriptorSpec
    scaler_comp: dict
    scaler_struct: dict


def scale_and_save(res: D.DescriptorResult, notebook: str = NB) -> Scaled:
    """Fit the block-maximum scalers on the raw descriptors ``res`` (:func:`~matmap_utils.materials_map.descriptors.fit_scaler`),
    save them as ``scaler_comp.json`` / ``scaler_struct.json`` in the chapter's results folder (for
    chapter 02 and ``matmap describe --scaled``) and return the scaled descriptors."""
    cspec, sspec = D.comp_spec(), D.struct_spec()
    scaler_comp, scaler_struct = D.fit_scaler(res.comp, cspec), D.fit_scaler(res.struct, sspec)
    D.save_scaler(scaler_comp, results_dir(notebook) / "scaler_comp.json")
    D.save_scaler(scaler_struct, results_dir(notebook) / "scaler_struct.json")
    Xc = D.transform(res.comp, scaler_comp, cspec)
    Xs = D.transform(res.struct, scaler_struct, sspec)
    return Scaled(Xc, Xs, cspec, sspec, scaler_comp, scaler_struct)


def descriptor_text(sc: Scaled, res: D.DescriptorResult, n_structures: int, seconds: float) -> str:
    """How many structures were described, how fast (s), from the cache, failed; the two sizes."""
    return (
        f"Described **{len(sc.Xc):,}** of {n_structures:,} structures in {seconds:.0f} s "
        f"({res.n_cached} from the cache, {len(res.failures)} failed); compositional descriptor "
        f"**{sc.cspec.dim:,}** numbers, structural **{sc.sspec.dim:,}** (the paper: "
        f"{PAPER_DIMS['composition']:,} and {PAPER_DIMS['structure']:,})."
    )


def layout_table(sc: Scaled) -> pd.DataFrame:
    """Every block of both descriptors (name, start, stop, size, scaling) with its descriptor."""
    return pd.concat(
        [sc.cspec.table().assign(descriptor="composition"), sc.sspec.table().assign(descriptor="structure")],
        ignore_index=True,
    )


def plot_flat(X: pd.DataFrame, spec: D.DescriptorSpec, ax, title: str) -> None:
    """The flattened scaled descriptor (Fig. 3a,b of the paper): mean over the set with its 10–90 %
    band, the :data:`EXAMPLES` on top, block boundaries as thin lines."""
    mean, lo, hi = X.mean(), X.quantile(0.1), X.quantile(0.9)
    idx = np.arange(spec.dim)
    ax.fill_between(idx, lo, hi, color="0.8", label="10–90 % of the set")
    ax.plot(idx, mean, color="k", lw=0.8, label="mean")
    for k, (mid, name) in enumerate(EXAMPLES.items()):
        if mid in X.index:
            ax.plot(idx, X.loc[mid], lw=0.7, color=f"C{k}", alpha=0.8, label=name)
    for b in spec.blocks[1:]:
        ax.axvline(b.start, color="0.6", lw=0.3)
    ax.set(title=title, xlabel="descriptor index", ylabel="scaled value (0–1)", xlim=(0, spec.dim))


def flat_figure(sc: Scaled):
    """Both flattened descriptors, one panel each (the counterparts of the paper's Fig. 3a,b)."""
    fig, axes = plt.subplots(2, 1, figsize=(FIG_WIDTH_IN, 6.4))
    plot_flat(sc.Xc, sc.cspec, axes[0], "(a) compositional: fractions, then property histograms")
    plot_flat(sc.Xs, sc.sspec, axes[1], "(b) structural: RDFs, ADFs, Voronoi Li/O/X")
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def examples_figure(raw: pd.DataFrame, spec: D.DescriptorSpec, names: list[str], title: str):
    """The raw (unscaled) blocks ``names`` of the :data:`EXAMPLES`, one panel per block."""
    fig, axes = panel_grid(len(names), panel_height=2.9)
    for ax, name in zip(axes, names):
        b = spec.block(name)
        for k, mid in enumerate(EXAMPLES):
            if mid in raw.index:
                ax.plot(raw.loc[mid].to_numpy()[b.slice], color=f"C{k}", label=EXAMPLES[mid])
        ax.set(title=name, xlabel="bin", ylabel="raw value")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def block_table(sc: Scaled) -> pd.DataFrame:
    """:func:`~matmap_utils.materials_map.descriptors.block_summary` of both scaled descriptors."""
    return pd.concat(
        [
            D.block_summary(sc.Xc, sc.cspec).assign(descriptor="composition"),
            D.block_summary(sc.Xs, sc.sspec).assign(descriptor="structure"),
        ]
    )


def li_cn_text(raw_struct: pd.DataFrame, sspec: D.DescriptorSpec) -> str:
    """The mean Voronoi coordination number of Li (first entry of ``voronoi:Li:stats``) of the
    :data:`EXAMPLES` and its median over the set."""
    li_cn = raw_struct[sspec.columns()[sspec.block("voronoi:Li:stats").start]]
    return (
        "Mean Voronoi coordination number of Li (faces ≥ 2 % of the cell surface): "
        + ", ".join(f"{EXAMPLES[m]} {li_cn.get(m, np.nan):.2f}" for m in EXAMPLES)
        + f"; over the set {li_cn.median():.2f} (median)."
    )


def me_distribution_figure(mig: pd.DataFrame):
    """Histograms of the percolation barriers E_1D, E_2D, E_3D (eV) and E_3D against E_1D."""
    fig, axes = panel_grid(2, panel_height=3.4)
    bins = np.linspace(0, min(6.0, np.nanmax(mig[["E_1D", "E_3D"]].to_numpy()) + 0.1), 60)
    for col, c in zip(("E_1D", "E_2D", "E_3D"), ("C0", "C1", "C3")):
        axes[0].hist(mig[col].dropna(), bins=bins, histtype="step", lw=1.5, color=c, label=col)
    axes[0].set(title="BVSE percolation barriers", xlabel="barrier (eV)", ylabel="materials")
    axes[0].legend()
    axes[1].scatter(mig["E_1D"], mig["E_3D"], s=6, alpha=0.5)
    axes[1].plot([0, bins[-1]], [0, bins[-1]], color="0.5", lw=0.8)
    axes[1].set(title="3D vs 1D percolation", xlabel="E_1D (eV)", ylabel="E_3D = ME (eV)")
    fig.tight_layout()
    return fig


def me_coverage(mig: pd.DataFrame) -> float:
    """Fraction of the materials with a known ME."""
    return float(mig["ME"].notna().mean())


def me_text(mig: pd.DataFrame, seconds: float, settings: dict | None = None) -> str:
    """Coverage of ME, the BVSE time (s), the grid (spacing in angstrom, cap in points, how many
    cells got a coarser grid), median and 10–90 % range of ME (eV), the share with an easier 1D
    path (E_1D < E_3D − 0.05 eV) and the oxidation-state methods used."""
    s = M.DEFAULT_SETTINGS | (settings or {})
    res = pd.to_numeric(mig.get("resolution"), errors="coerce") if "resolution" in mig else pd.Series(dtype=float)
    coarser = int((res > float(s["resolution"]) + 1e-9).sum())
    return (
        f"ME is known for **{mig['ME'].notna().sum():,}** of {len(mig):,} materials "
        f"(**{me_coverage(mig):.1%}**; BVSE stage {seconds:.0f} s). Grid spacing {float(s['resolution']):g} Å, "
        f"at most {int(s['max_grid_points']):,} points per cell ({coarser} cells needed a coarser grid). "
        f"Median ME {mig['ME'].median():.2f} eV, "
        f"10–90 % range {mig['ME'].quantile(0.1):.2f}–{mig['ME'].quantile(0.9):.2f} eV; "
        f"{(mig['E_1D'] < mig['E_3D'] - 0.05).mean():.0%} of the materials have an easier 1D path "
        f"than their 3D network. Oxidation states: "
        + ", ".join(f"{k or 'none'} {v}" for k, v in mig["oxi_method"].value_counts().items())
        + "."
    )


def table1_figure(cmp: pd.DataFrame, rho: dict):
    """Our E_3D, E_1D, E_2D against the paper's ME for its 16 Table 1 materials, by structure type,
    with the Spearman ρ of each (from :func:`~matmap_utils.materials_map.bvse.compare_with_paper`)."""
    fig, axes = panel_grid(3, panel_height=3.3)
    markers = {"Garnet": "o", "NASICON": "s", "Perovskite": "^"}
    for ax, col in zip(axes, ("E_3D", "E_1D", "E_2D")):
        for k, (typ, g) in enumerate(cmp.groupby("structure_type")):
            ax.scatter(g[col], g["ME_paper"], marker=markers[typ], s=40, color=f"C{k}", label=typ)
        lim = [0, np.nanmax(cmp[["ME_paper", col]].to_numpy()) * 1.05]
        ax.plot(lim, lim, color="0.6", lw=0.8)
        ax.set(xlabel=f"our {col} (eV)", ylabel="paper ME (eV)")
        ax.set_title(f"{col}: Spearman ρ = {rho[col]['rho']:.2f} (n = {rho[col]['n']})", fontsize=10)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="center", bbox_to_anchor=(0.75, 0.25), frameon=False)
    fig.tight_layout()
    return fig


def _orderings(cmp: pd.DataFrame) -> str:
    """Compositions listed more than once in the paper's Table 1 (orderings of one composition),
    with the spread (max − min, eV) of the paper's ME over them."""
    g = cmp.groupby("formula")["ME_paper"]
    multi = g.size()[g.size() > 1]
    if multi.empty:
        return ""
    spread = (g.max() - g.min())[multi.index]
    parts = ", ".join(f"{n} × {f} (spread {spread[f]:.2f} eV)" for f, n in multi.items())
    return (
        f"Several Table 1 materials are orderings of one composition — {parts} — so their ranking "
        "depends on details of the Li ordering in the cells. "
    )


def _worst_text(cmp: pd.DataFrame) -> str:
    """The material with the largest |E_3D − paper ME|, and whether bvlain sees a faster 1D path in
    it (E_1D below E_3D by more than 0.05 eV) — stated only when the numbers say so."""
    diff = (cmp["E_3D"] - cmp["ME_paper"]).dropna()
    if diff.empty:
        return ""
    w = diff.abs().idxmax()
    r = cmp.loc[w]
    text = (
        f"The largest difference is {w} ({r['formula']}, {r['structure_type']}): our E_3D {r['E_3D']:.2f} eV "
        f"against the paper's {r['ME_paper']:.2f} eV; its E_1D is {r['E_1D']:.2f} eV"
    )
    if np.isfinite(r["E_1D"]) and r["E_1D"] < r["E_3D"] - 0.05:
        closer = abs(r["E_1D"] - r["ME_paper"]) < abs(r["E_3D"] - r["ME_paper"])
        return text + (
            f" — bvlain finds a faster channel in one dimension than through the 3D network, and that "
            f"1D barrier is {'closer to' if closer else 'no closer to'} the paper's value."
        )
    return text + ", so the difference is not a 1D-versus-3D matter."


def rho_interval(cmp: pd.DataFrame, col: str = "E_3D", seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval (materials resampled, :func:`~matmap_utils.core.bootstrap.bootstrap_ci`)
    of the Spearman ρ between our barrier ``col`` and the paper's ME over the Table 1 materials."""
    ok = cmp[[col, "ME_paper"]].dropna()
    if len(ok) < 4:
        return float("nan"), float("nan")
    with warnings.catch_warnings():  # a resample of tied ranks has no ρ: dropped by bootstrap_ci
        warnings.simplefilter("ignore", ConstantInputWarning)
        iv = bootstrap_ci(
            lambda a, b: float(spearmanr(a, b).statistic), ok[col].to_numpy(), ok["ME_paper"].to_numpy(), seed=seed
        )
    return float(iv.lo), float(iv.hi)


def table1_text(cmp: pd.DataFrame, rho: dict, bvse_resolution: float) -> str:
    """Spearman ρ (95 % bootstrap interval) of our barriers against the paper's ME, the median
    difference (eV), why the two differ, the orderings of one composition, and the material with
    the largest difference."""
    diff = cmp["E_3D"] - cmp["ME_paper"]
    lo, hi = rho_interval(cmp)
    return (
        f"Spearman ρ between our ME (E_3D) and the paper's ME: **{rho['E_3D']['rho']:.2f}** "
        f"(95 % bootstrap interval {lo:.2f} to {hi:.2f}) over "
        f"{rho['E_3D']['n']} materials (E_1D: {rho['E_1D']['rho']:.2f}, E_2D: {rho['E_2D']['rho']:.2f}). "
        f"The median of (ours − paper) is {diff.median():+.2f} eV. Reasons they differ: "
        "(i) the force fields — bvlain's softBV Morse + screened-Coulomb parameters vs the authors' BVFF; "
        "(ii) the percolation criterion — the energy scale and the 'migration energy' definition of the "
        "authors' code (e.g. relative to the Li site energies rather than the landscape minimum); "
        "(iii) the structures — the current MP relaxations of these ids, not the ones the paper used; "
        f"(iv) the grid ({bvse_resolution} Å here) and the {M.BISECTION_TOL_EV} eV bisection tolerance. "
        + _orderings(cmp)
        + _worst_text(cmp)
    )


def failures_table(res: D.DescriptorResult, mig: pd.DataFrame, formulas: pd.Series) -> pd.DataFrame:
    """One row per failure (``material_id``, ``stage`` descriptors/BVSE, ``reason``, ``formula``)."""
    cols = ["material_id", "stage", "reason"]
    fail = pd.concat(
        [
            res.failures.rename(columns={"id": "material_id"}).assign(stage="descriptors")[cols],
            mig.loc[mig["reason"] != "", ["reason"]].reset_index().assign(stage="BVSE")[cols],
        ],
        ignore_index=True,
    )
    fail["formula"] = fail["material_id"].map(formulas)
    return fail


def failures_text(fail: pd.DataFrame) -> str:
    """Numbers of failure rows, by stage."""
    return (
        f"{len(fail)} failure rows ({(fail['stage'] == 'descriptors').sum()} descriptor, "
        f"{(fail['stage'] == 'BVSE').sum()} BVSE)."
    )


def failure_reasons(fail: pd.DataFrame) -> pd.DataFrame:
    """Failures counted by stage and reason (the reason without its parenthesised details)."""
    short = fail["reason"].str.replace(r"\(.*", "", regex=True).str.strip()
    return short.groupby([fail["stage"], short]).size().rename("materials").to_frame()


def metrics(
    lio: pd.DataFrame,
    sc: Scaled,
    res: D.DescriptorResult,
    mig: pd.DataFrame,
    fail: pd.DataFrame,
    rho: dict,
    times: dict,
    bvse_settings: dict,
    cmp: pd.DataFrame,
) -> dict:
    """The chapter's ``metrics.json`` entries (``times``: seconds of load, descriptors, bvse;
    ``cmp``: :func:`~matmap_utils.materials_map.bvse.compare_with_paper`'s table, for the 95 %
    bootstrap interval of the Spearman ρ)."""
    return {
        "n_structures": int(len(lio)),
        "n_described": int(len(sc.Xc)),
        "n_failed_descriptors": int(len(res.failures)),
        "n_failed": int(len(set(fail["material_id"]))),
        "n_me": int(mig["ME"].notna().sum()),
        "me_coverage": round(me_coverage(mig), 4),
        "dims": {"composition": sc.cspec.dim, "structure": sc.sspec.dim},
        "spearman_rho_table1": {k: round(v["rho"], 4) for k, v in rho.items()},
        "spearman_rho_table1_ci95": dict(zip(("lo", "hi"), (round(v, 4) for v in rho_interval(cmp)))),
        "n_table1": rho["E_3D"]["n"],
        "me_definition": "E_3D",
        "time_s": {k: round(v, 1) for k, v in times.items()},
        "n_descriptors_cached": int(res.n_cached),
        "bvse_settings": M.settings_key(bvse_settings),
    }


# -- tables and "What we found" ---------------------------------------------------------------


def block_display(blocks: pd.DataFrame):
    """:func:`block_table` as a formatted table (statistics of the scaled, dimensionless values)."""
    cols = ["descriptor", "size", "mean", "std_over_materials", "nonzero_fraction", "max"]
    return format_table(
        blocks[cols],
        rename={"size": "entries", "std_over_materials": "SD over materials", "nonzero_fraction": "non-zero fraction"},
    )


def table1_display(cmp: pd.DataFrame):
    """The paper's Table 1 materials with its ME and our barriers (eV) as a formatted table."""
    cols = ["formula", "structure_type", "ME_paper", "E_1D", "E_2D", "E_3D"]
    if "reason" in cmp and cmp["reason"].fillna("").ne("").any():
        cols.append("reason")
    names = {"structure_type": "structure type", "ME_paper": "paper ME (eV)"}
    names |= {c: f"our {c} (eV)" for c in ("E_1D", "E_2D", "E_3D")}
    return format_table(cmp[cols].rename_axis("material"), rename=names)


def failures_display(fail: pd.DataFrame):
    """Failures counted by stage and reason, or a sentence when nothing failed."""
    return format_table(
        failure_reasons(fail),
        empty="Every material of this run has both descriptors and an ME: nothing failed.",
    )


def found_text(m: dict, mig: pd.DataFrame, cmp: pd.DataFrame) -> str:
    """The chapter's "What we found" from its ``metrics.json`` entries ``m``, the migration table
    and the Table 1 comparison (energies in eV)."""
    rho, ci = m["spearman_rho_table1"]["E_3D"], m["spearman_rho_table1_ci95"]
    diff = float((cmp["E_3D"] - cmp["ME_paper"]).median())
    if np.isfinite(ci["lo"]) and ci["lo"] > 0:
        agree = "the ranking agrees with the paper's beyond chance"
    else:
        agree = "the interval includes zero, so this run cannot claim that our ranking agrees with the paper's"
    lines = [
        f"- **Descriptors.** {m['n_described']:,} of {m['n_structures']:,} Li–O materials were described with "
        f"{m['dims']['composition']:,} compositional and {m['dims']['structure']:,} structural numbers — the "
        f"sizes of the paper's ({PAPER_DIMS['composition']:,} and {PAPER_DIMS['structure']:,}).",
        f"- **Migration energies.** ME (= E_3D) is known for {m['n_me']:,} materials ({m['me_coverage']:.0%}); "
        f"median {mig['ME'].median():.2f} eV, 10–90 % range {mig['ME'].quantile(0.1):.2f}–"
        f"{mig['ME'].quantile(0.9):.2f} eV.",
        f"- **Against the paper's Table 1.** Spearman ρ = {rho:.2f} (95 % bootstrap interval {ci['lo']:.2f} to "
        f"{ci['hi']:.2f}) over {m['n_table1']} materials: {agree}. Our barriers are {abs(diff):.2f} eV "
        f"{'lower' if diff < 0 else 'higher'} than the paper's (median), so only ranks, not absolute values, "
        "carry over to the map.",
        f"- **Failures.** {m['n_failed']} materials have no descriptors or no ME; they stay in the tables with "
        "their reason and appear in grey on the map."
        if m["n_failed"]
        else "- **Failures.** None: every material of this run has both descriptors and an ME.",
    ]
    return "\n".join(lines)
