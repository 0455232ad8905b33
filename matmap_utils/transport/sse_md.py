"""The molecular-dynamics descriptors of chapter 03 in the solid-electrolyte table (López et al. 2023).

The paper's central correlations are between the AIMD diffusion coefficient *D* at 500 ± 100 K and
finite-temperature vibrational descriptors (Table 1, D–V category). Chapter 03 writes one row per
MD run (:mod:`matmap_utils.transport.runs`); this module

* :func:`md_frame` — reduces that table to what the paper correlates (material, temperature,
  log10 D, vibrational descriptors of all / non-diffusive / diffusive ions);
* :func:`md_vibrational_columns` — the vibrational columns of such a frame;
* :func:`join_md_descriptors` — averages the runs at 500 ± 100 K per material and joins them to the
  structure table by reduced formula as ``md_*`` columns (category D–V).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from matmap_utils.transport.vibrations import VIB_COLUMNS

#: notebook 03's vibrational (AIMD, anharmonic) descriptors: all ions, non-diffusive (_nd), diffusive (_d)
MD_VIB_PREFIXES = VIB_COLUMNS


#: the columns of the MD table that enter correlograms and the MLP (diffusion, conditions, vibrations)
MD_JOIN_COLUMNS = (
    "log10_D",
    "lindemann",
    "omega_mean_meV",
    "omega30_meV",
    "Cv_kB_atom",
    "Svib_kB_atom",
    "Fvib_meV_atom",
    "theta_D_K",
)


def _reduced(x) -> str | None:
    """Reduced formula of a composition string (``"Li20Ge2P4S24"`` → ``"Li10Ge(PS6)2"``), None if unparsable."""
    try:
        return Composition(str(x)).reduced_formula
    except Exception:  # noqa: BLE001
        return None


def md_frame(md: pd.DataFrame) -> pd.DataFrame:
    """Notebook 03's MD table reduced to what López et al. correlate: one row per run/temperature.

    Keeps ``material`` (normalised reduced formula, the group of the leave-one-material-out MLP),
    ``specie``, ``temperature_K``, ``log10_D`` and the vibrational descriptors (all ions, ``_nd``
    non-diffusive, ``_d`` diffusive) with at least one value; bookkeeping columns (run counts, frame
    spacing, error bars, per-axis D) and direct transforms of D (MSD, Nernst–Einstein σ) are left out
    so that they can neither crowd the correlogram nor leak the target into the MLP.

    Censoring: a run whose D is below its :func:`detection_limit_cm2_s` (Li did not move beyond
    its vibrations within the run — a slow conductor at 500–600 K over a few ps) is not dropped:
    ``D_censored`` is True and ``log10_D`` is the detection limit, so that in a rank (Spearman)
    correlation the non-diffusive runs share the lowest ranks, which is what is known about them.
    """
    out = pd.DataFrame(index=md.index)
    key = "reduced_formula" if "reduced_formula" in md else "system"
    out["material"] = md[key].map(_reduced).fillna(md[key].astype(str))
    if "specie" in md:
        out["specie"] = md["specie"].astype(str)
    for c in ("temperature_K", "log10_D"):
        if c in md:
            out[c] = md[c].astype(float)
    if "log10_D" not in out and "D_cm2_s" in md:
        out["log10_D"] = np.log10(md["D_cm2_s"].where(md["D_cm2_s"] > 0).astype(float))
    if "D_cm2_s" in md and "tmax_ps" in md:
        lim = detection_limit_cm2_s(md["tmax_ps"].astype(float))
        cens = (md["D_cm2_s"].astype(float) < lim) & lim.notna()
        out["D_censored"] = cens
        out.loc[cens, "log10_D"] = np.log10(lim[cens])
    for c in md.columns:
        if c.startswith(MD_VIB_PREFIXES) and pd.api.types.is_numeric_dtype(md[c]) and md[c].notna().any():
            out[c] = md[c].astype(float)
    return out


#: the mean-squared displacement (Å²) a run must exceed over its fit window for its D to count as resolved
MSD_RESOLVED_A2 = 1.0


def detection_limit_cm2_s(tmax_ps) -> pd.Series:
    """The smallest D (cm²/s) a run of fit window ``tmax_ps`` (ps) resolves: the D whose Einstein
    MSD, 6 D t, reaches :data:`MSD_RESOLVED_A2` = 1 Å² at t = tmax — beyond the ~0.1–0.5 Å²
    vibrational plateau of a crystal at 500–600 K, a tenth of a Li hop squared.  1 Å²/ps = 10⁻⁴ cm²/s."""
    t = pd.Series(tmax_ps, dtype=float)
    return (MSD_RESOLVED_A2 / (6.0 * t.where(t > 0))) * 1e-4


def md_vibrational_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` that are vibrational descriptors (:data:`MD_VIB_PREFIXES`, incl. ``_nd``/``_d``)."""
    return [c for c in frame.columns if c.startswith(MD_VIB_PREFIXES)]


def join_md_descriptors(
    table: pd.DataFrame, md: pd.DataFrame | None, *, t_window: tuple[float, float] = (400.0, 600.0)
) -> tuple[pd.DataFrame, str]:
    """Join notebook 03's MD descriptors to the materials with the same reduced formula.

    As in the paper (T = 500 ± 100 K), only runs with ``t_window[0] ≤ T ≤ t_window[1]`` are used,
    averaged per material; the columns :data:`MD_JOIN_COLUMNS` get an ``md_`` prefix (category D–V).
    """
    if md is None or len(md) == 0:
        return table, "skipped: notebook 03's md_descriptors table is not there"
    f = md_frame(md)
    if "temperature_K" in f:
        f = f[f["temperature_K"].between(*t_window)]
    cols = [c for c in MD_JOIN_COLUMNS if c in f.columns]
    agg = f.groupby("material")[cols].mean()
    agg.columns = [f"md_{c}" for c in agg.columns]
    rf = table["formula"].map(_reduced) if "formula" in table else pd.Series(None, index=table.index)
    joined = agg.reindex(rf.values)
    joined.index = table.index
    out = pd.concat([table, joined], axis=1)
    n = int(joined.notna().any(axis=1).sum())
    return out, (
        f"added: {len(agg.columns)} MD columns at {t_window[0]:.0f}–{t_window[1]:.0f} K for {n} "
        f"materials (matched by reduced formula to {len(agg)} simulated systems)"
    )


def at_temperature(frame: pd.DataFrame, t_window: tuple[float, float] = (400.0, 600.0)) -> pd.DataFrame:
    """The runs of an :func:`md_frame` at ``t_window[0] ≤ T ≤ t_window[1]`` (López et al.'s
    500 ± 100 K): the selection rule of the MD correlogram, so that temperature does not confound it."""
    return frame[frame["temperature_K"].between(*t_window)]


def join_static(frame: pd.DataFrame, table: pd.DataFrame, columns) -> tuple[pd.DataFrame, list[str]]:
    """The zero-temperature (non-MD) descriptors ``columns`` of the structure table, averaged over
    its entries with the same reduced formula, joined to every run of an :func:`md_frame`
    (``static_*`` columns; NaN for materials not in the table).  The "harmonic" MLP of López et al.
    keeps these inputs and drops only the AIMD ones."""
    rf = table["formula"].map(_reduced)
    agg = table[list(columns)].groupby(rf.values).mean()
    agg.columns = [f"static_{c}" for c in agg.columns]
    joined = agg.reindex(frame["material"].values)
    joined.index = frame.index
    keep = [c for c in joined.columns if joined[c].notna().any()]
    return pd.concat([frame, joined[keep]], axis=1), keep
