"""Chapter 00 (the data): the tables, figures and sentences that summarise each dataset.

Counts are plain integers; sizes in MB (10⁶ bytes); times in fs and ps; conductivities σ in S/cm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matmap_utils.viz import format_table, panel_grid


def dataset_counts(obelix: pd.DataFrame, mch: pd.DataFrame) -> pd.DataFrame:
    """Entries, structures, disordered structures, superionic count (σ ≥ 1e-4 S/cm) and space
    groups of OBELiX and of McHaffie et al.'s 548 labelled compounds (one row each)."""

    def n_disordered(structures) -> int:
        return int(sum(not s.is_ordered for s in structures if s is not None))

    return pd.DataFrame(
        {
            "entries": [len(obelix), len(mch)],
            "with structure": [int(obelix["structure"].notna().sum()), int(mch["structure"].notna().sum())],
            "disordered structures": [n_disordered(obelix["structure"]), n_disordered(mch["structure"].dropna())],
            "superionic (σ ≥ 10⁻⁴ S/cm)": [int((obelix["sigma_rt"] >= 1e-4).sum()), int(mch["superionic"].sum())],
            "space groups": [obelix["Space group #"].nunique(), np.nan],
        },
        index=["OBELiX", "McHaffie et al. (548)"],
    )


def cif_status(structures: pd.Series) -> pd.Series:
    """ "no CIF", "ordered" or "disordered" (partially occupied sites) for each entry."""
    return structures.map(lambda s: "no CIF" if s is None else ("ordered" if s.is_ordered else "disordered"))


def aimd_inventory(runs: pd.DataFrame, file_bytes: pd.Series) -> pd.DataFrame:
    """Public AIMD runs grouped by system, disorder, temperature (K) and frame interval (fs), with
    the number of runs and their total size (MB). ``file_bytes``: registry sizes by file name."""
    runs = runs.assign(
        size_MB=[file_bytes[n] / 1e6 for n in runs["name"]],
        frame_interval_fs=runs["timestep_fs"] * runs["stride"],
    ).rename(columns={"frame_interval_fs": "frame interval (fs)"})
    keys = ["system", "disorder", "temperature_K", "frame interval (fs)"]
    return runs.groupby(keys, dropna=False).agg(runs=("run", "count"), size_MB=("size_MB", "sum")).reset_index()


def generated_md_inventory(generated: pd.DataFrame) -> pd.DataFrame:
    """The project's own CHGNet runs, one row per material: source, atoms, temperatures (K),
    time step and frame interval (fs), frames and production length (ps)."""
    generated = generated.assign(production_ps=generated["steps"] * generated["timestep_fs"] / 1000)
    return (
        generated.groupby("material")
        .agg(
            source=("source", "first"),
            atoms=("n_atoms", "first"),
            temperatures_K=("temperature_K", lambda t: ", ".join(f"{x:.0f}" for x in sorted(t))),
            timestep_fs=("timestep_fs", "first"),
            frame_interval_fs=("dt_frame_fs", "first"),
            frames=("n_frames", "first"),
            production_ps=("production_ps", "first"),
        )
        .reset_index()
    )


# -- the paper values this chapter compares with ----------------------------------------------

#: Li–O materials of Yamaguchi et al. 2023 (Abstract, Dataset).
PAPER_N_LIO = 708
#: McHaffie et al. 2025, Table 1: unique structures, superionic and non-superionic ones.
PAPER_N_UNIQUE = 548
PAPER_N_SUPERIONIC = 211
PAPER_N_NON_SUPERIONIC = 337


# -- sentences --------------------------------------------------------------------------------


def pool_text(index: pd.DataFrame, pool: pd.DataFrame, n_failed: int, limit: int) -> str:
    """The MP Li pool: registered and parsed structures, parse failures, elements and sites per cell."""
    n_el = index["elements"].map(len)
    which = "all" if not limit else f"a seeded subset of {limit:,}"
    return (
        f"The registry lists **{len(index):,}** MP Li structures; this run parsed **{len(pool):,}** ({which}), "
        f"with **{n_failed}** parse failures. Compounds have {n_el.min()}–{n_el.max()} elements "
        f"(median {n_el.median():.0f}); cells hold {pool['nsites'].min()}–{pool['nsites'].max()} sites "
        f"(median {pool['nsites'].median():.0f})."
    )


def lio_text(n_rule: int, lio: pd.DataFrame, chem_sys: pd.Series) -> str:
    """The Li–O set: materials passing the element rule, analysed here, chemical systems, space groups."""
    return (
        f"**{n_rule:,}** materials satisfy the element rule (the paper: {PAPER_N_LIO}; this run analyses "
        f"{len(lio):,}). They span {chem_sys.nunique()} chemical systems and "
        f"{lio['spacegroup_number'].nunique()} space groups; {int((lio['crystal_system'] == 'triclinic').sum())} "
        "are triclinic."
    )


def mchaffie_text(mch: pd.DataFrame, n_obelix_failed: int) -> str:
    """Superionic counts of the McHaffie database against the paper's Table 1, structures joined
    from OBELiX, duplicates removed, OBELiX parse failures."""
    n_si = int(mch["superionic"].sum())
    return (
        f"McHaffie et al.'s Table 1 reports {PAPER_N_SUPERIONIC} superionic and {PAPER_N_NON_SUPERIONIC} "
        f"non-superionic structures; the public database gives **{n_si}** and **{len(mch) - n_si}** with the "
        f"same threshold (σ ≥ 10⁻⁴ S/cm). Of the {len(mch)}, **{int(mch['structure'].notna().sum())}** have an "
        f"OBELiX CIF with the same ICSD code; {len(mch.attrs.get('dropped', []))} database rows are the "
        f"duplicates the paper removed. OBELiX CIF parse failures: {n_obelix_failed}."
    )


def failures_display(failures: pd.DataFrame):
    """The parse failures as a formatted table, or a sentence when there are none."""
    return format_table(failures, empty="No CIF of this selection failed to parse.")


# -- figures ----------------------------------------------------------------------------------


def elements_figure(index: pd.DataFrame, top: int = 40):
    """The ``top`` most frequent elements besides Li in the MP Li pool and the number of elements
    per compound (counts of compounds), one panel per row."""
    el_counts = pd.Series([e for els in index["elements"] for e in els]).value_counts()
    n_el = index["elements"].map(len)
    fig, axes = panel_grid(2, ncols=1, panel_height=2.8)
    el_counts.drop("Li", errors="ignore").head(top).plot.bar(ax=axes[0], color="C0", width=0.8)
    axes[0].set(title=f"MP Li pool: the {top} most frequent elements besides Li", xlabel="element", ylabel="compounds")
    axes[0].tick_params(axis="x", labelsize=9)
    n_el.value_counts().sort_index().plot.bar(ax=axes[1], color="C1")
    axes[1].set(title="elements per compound", xlabel="number of elements", ylabel="compounds")
    axes[1].tick_params(axis="x", rotation=0)
    fig.tight_layout()
    return fig


def lio_figure(lio: pd.DataFrame, chem_sys: pd.Series, top: int = 12):
    """The Li–O set: its ``top`` largest chemical systems, crystal systems and cell sizes."""
    fig, axes = panel_grid(3, panel_height=3.2)
    chem_sys.value_counts().head(top).iloc[::-1].plot.barh(ax=axes[0], color="C0")
    axes[0].set(title="largest chemical systems", xlabel="materials", ylabel="")
    axes[0].tick_params(axis="y", labelsize=9)
    lio["crystal_system"].value_counts().plot.bar(ax=axes[1], color="C2")
    axes[1].set(title="crystal systems", xlabel="", ylabel="materials")
    axes[2].hist(lio["nsites"], bins=np.arange(0, lio["nsites"].max() + 10, 10), color="C3")
    axes[2].set(title="cell size", xlabel="sites per cell", ylabel="materials")
    fig.tight_layout()
    return fig


def fig1_figure(obelix: pd.DataFrame, mch: pd.DataFrame, floor: float = -20.0):
    """McHaffie et al. Fig. 1 analogue: (a) space group against log10 σ of every OBELiX entry,
    coloured by CIF status; (b) histogram of log10 σ of the McHaffie entries (σ in S/cm; entries
    below 10^``floor`` S/cm left out, as in the paper)."""
    ob = obelix[obelix["log10_sigma"] > floor].assign(cif=lambda d: cif_status(d["structure"]))
    fig, axes = panel_grid(2, ncols=1, panel_height=3.3)
    for label, grp in ob.groupby("cif"):
        axes[0].scatter(grp["Space group #"], grp["log10_sigma"], s=14, alpha=0.7, label=label)
    axes[0].axhline(-4, color="k", lw=0.8, ls="--")
    axes[0].set(title="(a) space group vs conductivity (OBELiX)", xlabel="space group number")
    axes[0].set_ylabel("log$_{10}$ σ$_{RT}$ (S/cm)")
    axes[0].legend(frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    m = mch[mch["log10_sigma"] > floor]
    bins = np.arange(np.floor(m["log10_sigma"].min()), 0.5, 0.5)
    axes[1].hist(m["log10_sigma"], bins=bins, color="C0", alpha=0.8)
    axes[1].axvline(-4, color="k", lw=0.8, ls="--", label="σ = 10$^{-4}$ S/cm")
    axes[1].set(title=f"(b) McHaffie et al. database ({len(m)} entries)", ylabel="entries")
    axes[1].set_xlabel("log$_{10}$ σ$_{RT}$ (S/cm)")
    axes[1].legend(frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


# -- metrics and "What we found" --------------------------------------------------------------


def found_text(m: dict) -> str:
    """The chapter's "What we found" from its ``metrics.json`` entries ``m``."""
    lines = [
        f"- **Materials Project.** The registry lists {m['n_mp_li_registered']:,} Li compounds; this run parsed "
        f"{m['n_mp_li_parsed']:,} of them with {m['n_mp_li_failed']} parse failures.",
        f"- **Li–O set.** {m['n_lio']:,} materials pass Yamaguchi et al.'s element rule today, "
        f"{m['n_lio'] / PAPER_N_LIO:.1f} times the paper's {PAPER_N_LIO}, in {m['n_lio_chemical_systems']} "
        "chemical systems: the materials map is drawn on a larger, newer set than the paper's.",
        f"- **Labels.** The public McHaffie et al. database gives {m['n_mchaffie_superionic']} superionic of "
        f"{m['n_mchaffie']} structures (the paper: {PAPER_N_SUPERIONIC} of {PAPER_N_UNIQUE}); only "
        f"{m['n_mchaffie_with_structure']} ({m['n_mchaffie_with_structure'] / m['n_mchaffie']:.0%}) have a public "
        "CIF, so the structure-based models learn from fewer labelled structures than the paper's.",
        f"- **OBELiX.** {m['n_obelix_cifs']} of its {m['n_obelix']} entries have a CIF, and "
        f"{m['n_obelix_disordered']} of those ({m['n_obelix_disordered'] / max(m['n_obelix_cifs'], 1):.0%}) have "
        "partially occupied sites — why the descriptors downstream are occupancy-weighted.",
        f"- **Trajectories.** {m['n_aimd_runs']} public AIMD runs and {m['n_generated_md_runs']} runs generated "
        "here with velocities feed the trajectory chapter.",
    ]
    return "\n".join(lines)
