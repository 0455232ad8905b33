"""Chapter 00 (the data): the tables that summarise each dataset.

Counts are plain integers; sizes in MB (10⁶ bytes); times in fs and ps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
            "superionic (σ ≥ 1e-4 S/cm)": [int((obelix["sigma_rt"] >= 1e-4).sum()), int(mch["superionic"].sum())],
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
