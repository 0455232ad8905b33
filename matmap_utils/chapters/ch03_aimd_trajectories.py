"""Chapter 03 (AIMD trajectories: diffusion and vibrational descriptors, López et al., Mater. Horiz. 10,
1757, 2023, Methods and Table 1): the glue.

The science — MSD and D (:mod:`matmap_utils.transport.diffusion`), VDOS and vibrational descriptors
(:mod:`matmap_utils.transport.vibrations`), tables over runs (:mod:`matmap_utils.transport.runs`),
the kinisi/pymatgen cross-check (:mod:`matmap_utils.transport.reference`) — is in the transport
package. This module selects and reads the chapter's runs, assembles its figures (``plot_*``), the
sentences with computed numbers (``*_text``), the descriptor table that chapter 04 joins
(:func:`descriptor_table`) and what ``metrics.json`` records (:func:`metrics`).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from matmap_utils.data.trajectories import Trajectory
from matmap_utils.transport import runs
from matmap_utils.transport.md import md_runs
from matmap_utils.transport.vibrations import VIB_COLUMNS

NB = "03_aimd_trajectories"
ARGYRODITES = ("Li6PS5Cl", "Li6PS5I")
DISORDER = (0.0, 50.0, 100.0)

#: columns shown for the pooled argyrodite conditions
CONDITION_COLUMNS = [
    "system",
    "disorder",
    "n_runs",
    "n_ions",
    "duration_ps",
    "D_cm2_s",
    "D_err_cm2_s",
    "Dx_cm2_s",
    "Dy_cm2_s",
    "Dz_cm2_s",
    "fit_start_fs",
    "fit_end_fs",
    "sigma_NE_S_cm",
]
#: columns shown for LGPS and Na3PS4
OTHER_COLUMNS = [
    "system",
    "specie",
    "temperature_K",
    "D_cm2_s",
    "D_err_cm2_s",
    "Dx_cm2_s",
    "Dy_cm2_s",
    "Dz_cm2_s",
    "err_method",
    "duration_ps",
]
#: columns shown for the generated CHGNet runs
GENERATED_COLUMNS = [
    "system",
    "temperature_K",
    "T_kinetic_K",
    "n_frames",
    "D_cm2_s",
    "D_err_cm2_s",
    "Dx_cm2_s",
    "Dy_cm2_s",
    "Dz_cm2_s",
    "n_diffusive",
    "lindemann",
    "framework_msd_tmax_A2",
    "anion_diffusive_fraction",
    "framework_cation_diffusive_fraction",
    "framework_mobile",
]
#: vibrational descriptors plotted against temperature
DESC_COLUMNS = [*VIB_COLUMNS, "omega30_meV_d", "omega30_meV_nd"]
#: columns of the final descriptor table shown in the chapter
SUMMARY_COLUMNS = [
    "system",
    "temperature_K",
    "source",
    "D_cm2_s",
    "D_err_cm2_s",
    "omega_mean_meV",
    "omega30_meV",
    "Cv_kB_atom",
    "Svib_kB_atom",
    "theta_D_K",
    "lindemann",
]
_D_COLUMNS = ["D_cm2_s", "D_err_cm2_s", "Dx_cm2_s", "Dy_cm2_s", "Dz_cm2_s", "sigma_NE_S_cm"]


def _span(values, fmt: str = "{:.0f}", unit: str = "") -> str:
    """``a`` or ``a–b`` (with ``unit``) over the finite values."""
    v = pd.Series(values, dtype=float).dropna()
    if not len(v):
        return "—"
    a, b = fmt.format(v.min()), fmt.format(v.max())
    return (a if a == b else f"{a}–{b}") + (f" {unit}" if unit else "")


def data_text(runs_all: pd.DataFrame, argy: pd.DataFrame, max_generated: int = 0) -> str:
    """The chapter's data paragraph, every number counted from the run tables: the public DFT runs
    (argyrodites, pymatgen's test runs) and the generated CHGNet set, and how many this build uses."""
    xd = runs_all[runs_all["format"] == "xdatcar"]
    oth = other_runs(runs_all)
    frame_fs = xd["timestep_fs"] * xd["stride"]
    gen = md_runs()
    used = len(gen) if not max_generated else min(max_generated, len(gen))
    gen_txt = (
        f"(3) **{len(gen)} CHGNet NVT runs generated here** with positions *and velocities* "
        f"(`data/md/`, its README has the commands, seeds and versions): {', '.join(sorted(gen['material'].unique()))} "
        f"at {_span(gen['temperature_K'], unit='K')}, {_span(gen['n_atoms'])} atoms, "
        f"{_span(gen['steps'] * gen['timestep_fs'] / 1000, '{:.1f}', 'ps')} of production, time step "
        f"{_span(gen['timestep_fs'], unit='fs')}, frames every {_span(gen['dt_frame_fs'], unit='fs')}; "
        f"this build analyses {used} of them."
        if len(gen)
        else "(3) no generated CHGNet run is present (`data/md/` is filled by `bash data/md/generate.sh`)."
    )
    return (
        f"**Data.** (1) **{len(xd)} DFT-AIMD runs** of Li6PS5Cl and Li6PS5I with "
        f"{', '.join(f'{d:.0f}' for d in sorted(xd['disorder'].unique()))} % Cl/I–S site disorder at "
        f"{_span(xd['temperature_K'], unit='K')} {{cite}}`morgan2021argyrodite` (`bjmorgan/data_argyrodite_disorder`, "
        f"MIT), frames every {_span(frame_fs, unit='fs')}; this build reads {len(argy)} of them. "
        f"(2) The {' and '.join(f'{r.system} ({r.temperature_K:.0f} K)' for r in oth.itertuples())} test "
        "trajectories of `pymatgen-analysis-diffusion` (BSD-3), positions only. " + gen_txt
    )


def select_argyrodites(runs_all: pd.DataFrame, per_condition: int = 0) -> pd.DataFrame:
    """The argyrodite runs (XDATCAR files) of the run table; ``per_condition`` > 0 keeps the first
    n runs of each (system, disorder) condition."""
    argy = runs_all[runs_all["format"] == "xdatcar"]
    if per_condition:
        argy = argy.groupby(["system", "disorder"], group_keys=False).head(per_condition)
    return argy.reset_index(drop=True)


def other_runs(runs_all: pd.DataFrame) -> pd.DataFrame:
    """The non-argyrodite DFT runs (pymatgen-analysis-diffusion's LGPS and Na3PS4)."""
    return runs_all[runs_all["format"] != "xdatcar"].reset_index(drop=True)


def read_runs(run_table: pd.DataFrame, n_jobs: int | None) -> tuple[list[Trajectory | None], pd.DataFrame]:
    """:func:`matmap_utils.transport.runs.read_runs` without the reader's notice about dropped frames."""
    with warnings.catch_warnings():
        # The reader drops a truncated last frame of a file with a UserWarning; the frames used are
        # counted in the tables (n_frames), so the notice is noise in the chapter.
        warnings.filterwarnings("ignore", message=r".*last frame truncated, dropped", category=UserWarning)
        return runs.read_runs(run_table, n_jobs=n_jobs)


def disorder_ratios(per_cond: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """D(100 % disorder)/D(0 %) and D(50 %)/D(0 %) per argyrodite (NaN where a condition is missing)."""
    out = {}
    for system in ARGYRODITES:
        g = per_cond[per_cond["system"] == system].set_index("disorder")["D_cm2_s"]
        out[system] = (g.get(100.0, np.nan) / g.get(0.0, np.nan), g.get(50.0, np.nan) / g.get(0.0, np.nan))
    return out


def disorder_text(ratios: Mapping[str, tuple[float, float]], per_cond: pd.DataFrame | None = None) -> str:
    """The paragraph on the disorder ratios (run lengths and frame interval from ``per_cond``)."""
    r_cl, r_i = ratios["Li6PS5Cl"], ratios["Li6PS5I"]
    runs_note = ""
    if per_cond is not None and len(per_cond):
        d = per_cond["duration_ps"]
        dt = per_cond["dt_frame_fs"].median() if "dt_frame_fs" in per_cond else np.nan
        runs_note = f" ({_span(d, unit='ps')}, frames every {dt:.0f} fs)"
    return (
        f"Going from ordered to fully disordered anions multiplies D(Li) by **{r_cl[0]:.1f}** in "
        f"Li6PS5Cl (50 %: ×{r_cl[1]:.1f}) and by **{r_i[0]:.1f}** in Li6PS5I (50 %: ×{r_i[1]:.1f}). "
        "The shaded band is the Eq. 4 fit window. The published finding — disorder raises Li "
        "diffusion — is reproduced where the ratio exceeds 1 by more than the error bars; the "
        f"runs are short{runs_note}, so single-run D scatter widely (dots), which is why "
        "independent runs are pooled."
    )


def lgps_anisotropy(per_cond_o: pd.DataFrame) -> float:
    """D_z / mean(D_x, D_y) of LGPS (the fast c-axis channel)."""
    lgps = per_cond_o.set_index("system").loc["Li10GeP2S12"]
    return lgps["Dz_cm2_s"] / np.mean([lgps["Dx_cm2_s"], lgps["Dy_cm2_s"]])


def components_text(per_cond_o: pd.DataFrame) -> str:
    """The paragraph on LGPS's anisotropy and Na3PS4's resolution."""
    lgps = per_cond_o.set_index("system").loc["Li10GeP2S12"]
    na = per_cond_o.set_index("system").loc["Na3PS4"]
    n_li = f"{int(lgps['n_ions'])} Li ions" if "n_ions" in lgps and np.isfinite(lgps["n_ions"]) else "few Li ions"
    return (
        f"In LGPS, D_z = {lgps['Dz_cm2_s']:.2e} cm²/s is **{lgps_anisotropy(per_cond_o):.1f}×** the mean of D_x "
        f"and D_y: the fast c-axis channel. With only {n_li} and one run, the block-averaging error is "
        f"{lgps['D_err_cm2_s'] / lgps['D_cm2_s']:.0%} of D. "
        f"Na3PS4: D = {na['D_cm2_s']:.1e} ± {na['D_err_cm2_s']:.1e} cm²/s — "
        + (
            f"consistent with zero: in its {na['duration_ps']:.0f} ps the Na MSD never leaves the vibrational "
            "plateau, so this run is too short to measure Na diffusion."
            if na["D_err_cm2_s"] > na["D_cm2_s"]
            else "resolved above its error."
        )
    )


def correct_intervals(other: pd.DataFrame, trajs: Sequence[Trajectory | None]) -> tuple[list, pd.DataFrame]:
    """Each pymatgen test run with the frame interval the physics gives
    (:func:`~matmap_utils.transport.runs.frame_interval_decision`): kept, corrected (re-timed), or
    excluded (None, with the run dropped from ``other``'s tables by the caller).  Returns the
    trajectories and one decision row per run."""
    out, rows = [], []
    for (_, r), t in zip(other.iterrows(), trajs):
        d = runs.frame_interval_decision(t)
        rows.append({"system": r["system"], **d})
        out.append(
            runs.retimed(t, d["dt_fs"])
            if d["decision"] == "corrected"
            else (None if d["decision"] == "excluded" else t)
        )
    return out, pd.DataFrame(rows)


def equipartition_text(checks: pd.DataFrame, decisions: pd.DataFrame) -> str:
    """The paragraph on LGPS's frame interval (stored every MD step, stated every ``step_skip``)."""
    lg = checks.set_index("system").loc["Li10GeP2S12"]
    dl = decisions.set_index("system").loc["Li10GeP2S12"]
    na = decisions.set_index("system").loc["Na3PS4"]
    T, t_kin = lg["stated_T_K"], lg["T_kinetic_K (stated frames)"]
    lo, hi = inspect.signature(runs.frame_interval_decision).parameters["tolerance"].default
    return (
        f"For LGPS the JSON states frames every {lg['stated_frame_fs']:.0f} fs, "
        f"but then the finite-difference kinetic temperature is {t_kin:.1f} K, "
        f"not {T:.0f} K. Since T_kin ∝ 1/Δt², the interval that reproduces {T:.0f} K is Δt* = "
        f"{lg['stated_frame_fs']:.0f} fs × √({t_kin:.2f}/{T:.0f}) = **{dl['implied_dt_fs']:.2f} fs**, "
        f"the MD time step; read one frame per {dl['dt_fs']:.0f} fs step the kinetic temperature is "
        f"{lg['T_kinetic_K (one MD step per frame)']:.0f} K. The positions are therefore stored every MD step, and "
        f"we **correct** the run to Δt = {dl['dt_fs']:.0f} fs before it joins any table (decision: {dl['decision']}): "
        f"its duration shrinks {lg['stated_frame_fs'] / dl['dt_fs']:.0f}-fold and D grows as much against the "
        "stated metadata; pymatgen and kinisi below read the corrected times too. A sparsely sampled run cannot "
        "be mistaken for this: there T_kin falls below T and Δt* comes out *shorter* than the stated interval "
        f"only because of attenuation, by a modest factor — Na3PS4 gives Δt* = {na['implied_dt_fs']:.1f} fs for a "
        f"stated {na['stated_dt_fs']:.0f} fs (T_kin {na['T_kinetic_K']:.0f} K at {na['stated_T_K']:.0f} K, within "
        f"{lo}–{hi}×), so it is kept ({na['decision']})."
    )


def comparison_groups(argy, argy_trajs, other, other_trajs) -> list[tuple[tuple, list[Trajectory], str]]:
    """``((system, disorder), trajectories, specie)`` for every argyrodite condition (its runs read)
    and every other run (disorder NaN) — the input of :func:`~matmap_utils.transport.reference.compare_estimators`."""
    groups = [
        ((s, d), [argy_trajs[i] for i in g.index if argy_trajs[i] is not None], "Li")
        for (s, d), g in argy.groupby(["system", "disorder"], sort=False)
    ]
    groups += [((row["system"], np.nan), [t], row["specie"]) for (_, row), t in zip(other.iterrows(), other_trajs)]
    return groups


def kinisi_text(cmp: pd.DataFrame) -> str:
    """The paragraph comparing our D with kinisi's."""
    worst_msd = cmp["msd_max_rel_diff"].max()
    within5 = int((cmp["ours/kinisi-1"].abs() <= 0.05).sum())
    ols = cmp["ours/(OLS on kinisi MSD)-1"].abs().max()
    two_se = 2 * np.hypot(cmp["D_kinisi_sd"], cmp["D_ours_err"])
    within_sd = int(((cmp["D_ours"] - cmp["D_kinisi"]).abs() <= two_se).sum())
    return (
        f"**kinisi.** Its MSD agrees with ours to within {worst_msd:.1%} at every lag for every condition "
        f"(the residual is its centre-of-mass correction). Fitting *its* MSD with *our* OLS window "
        f"reproduces our D to {ols:.1%}. The D values themselves agree within 5 % for {within5} of "
        f"{len(cmp)} conditions and within two combined standard errors for {within_sd} of {len(cmp)}: "
        "the remaining difference is the estimator — kinisi's GLS weights the well-sampled short "
        "lags, which dominate, while Eq. 4 uses only τmax/2 … τmax where MSD is noisiest."
    )


def resolved(cmp: pd.DataFrame) -> pd.Series:
    """Conditions whose D exceeds its error (the others differ arbitrarily between estimators)."""
    return cmp["D_ours_err"] < cmp["D_ours"]


def pymatgen_text(cmp: pd.DataFrame) -> str:
    """The paragraph comparing our D with pymatgen's."""
    ok = resolved(cmp)
    rel = cmp.loc[ok, "ours/pymatgen-1"].abs()
    return (
        f"**pymatgen.** With the framework drift removed on both sides, our D and pymatgen's differ by "
        f"{rel.median():.1%} (median; max {rel.max():.1%}) over the {int(ok.sum())} conditions whose D "
        "exceeds its error; pymatgen fits all lags rather than τmax/2 … τmax, which matters most when "
        "the MSD bends. Unresolved runs (D within its error of zero: "
        + (", ".join(cmp.loc[~ok, "system"]) or "none")
        + ") differ arbitrarily. For pooled conditions the pymatgen value is the mean of its per-run D "
        "(it has no pooling)."
    )


def generated_set(max_runs: int, threshold_A: float) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """The generated CHGNet runs (the first ``max_runs``; 0: all) analysed by
    :func:`~matmap_utils.transport.runs.analyze_generated`: (all rows, rows without error, VDOS
    spectra, MSD curves); empty when no run has been generated."""
    gen = md_runs()
    if max_runs:
        gen = gen.head(max_runs)
    if not len(gen):
        return pd.DataFrame(), pd.DataFrame(), {}, {}
    gen_table, spectra, gen_curves = runs.analyze_generated(gen, "Li", threshold_A=threshold_A)
    return gen_table, gen_table[gen_table["error"].isna()], spectra, gen_curves


def molten_text(gen_ok: pd.DataFrame) -> str:
    """Which generated runs have a mobile framework (left out of the Arrhenius fits)."""
    molten = gen_ok[gen_ok["framework_mobile"]]
    return (
        f"**{len(molten)}** of {len(gen_ok)} runs have a mobile framework (more than 10 % of the framework "
        "*cations* — P, Ge — diffusive: the host has melted or decomposed under CHGNet at that temperature): "
        + (", ".join(f"{r.system} {r.temperature_K:.0f} K" for r in molten.itertuples()) or "none")
        + ". They are shown but left out of the Arrhenius fits. The flag is a heuristic: a single P "
        "displaced by a reorienting P2S7 dimer (Li7P3S11) trips it as well as a melting host. Sulfur atoms "
        "moving more than the threshold without their P centres (`anion_diffusive_fraction` > 0 with no "
        "diffusing cation) are PS4 rotations (the paddle-wheel motion), which the host survives."
    )


#: The vibrational descriptors' definitions (López et al. 2023, Table 1 and Eqs. 5–7; code:
#: :mod:`matmap_utils.transport.vibrations`).
VIB_DEFINITIONS = (
    "Definitions (per atom, VDOS normalised to 3 modes per atom; x = ħω/k_BT): "
    "E_vib = ∫g ħω(½ + n), F_vib = k_BT ∫g ln(2 sinh(x/2)), S_vib = k_B ∫g [x/2 coth(x/2) − ln(2 sinh(x/2))], "
    "C_v = k_B ∫g x²eˣ/(eˣ−1)² — harmonic formulas on the anharmonic, finite-T VDOS, the ω = 0 bin left out; "
    "θ_D = ħ√(5⟨ω²⟩/3)/k_B (second-moment Debye temperature, exact for a Debye spectrum); Lindemann ratio = RMS "
    "displacement of the non-diffusive ions about their mean positions divided by their mean nearest-neighbour "
    "distance. Total-VDOS descriptors weight atoms by mass, so every atom counts equally (Eq. 5 verbatim, without "
    "masses, would over-weight Li; within one species the two are identical)."
)

NO_GENERATED_TEXT = (
    "**No generated trajectories are present yet** (`data/md/` is filled by "
    "`bash data/md/generate.sh`); the sections below are skipped."
)


def arrhenius(gen_ok: pd.DataFrame) -> pd.DataFrame | None:
    """Arrhenius fits per material over the runs whose framework stayed solid (None without runs)."""
    if not len(gen_ok):
        return None
    return runs.arrhenius_table(gen_ok[~gen_ok["framework_mobile"]], by="system")


#: Mo, Ong & Ceder, Chem. Mater. 24, 15 (2012): DFT-AIMD activation energy of Li in LGPS (eV).
MO2012_EA_LGPS_EV = 0.21


def arrhenius_text(arr: pd.DataFrame, gen_ok: pd.DataFrame | None = None) -> str:
    """The paragraph with the activation energies (run length from ``gen_ok``)."""
    dur = (
        f"runs of {gen_ok['duration_ps'].median():.0f} ps"
        if gen_ok is not None and "duration_ps" in gen_ok
        else "runs this short"
    )
    return (
        "Activation energies (weighted least squares on ln D, weights from the block-averaging errors; "
        "errors from the fit covariance): "
        + "; ".join(
            f"{r.system}: **{r.Ea_eV:.2f} ± {r.Ea_err_eV:.2f} eV** ({r.n_points} temperatures)"
            for r in arr.itertuples()
        )
        + f". For comparison, DFT-AIMD gave {MO2012_EA_LGPS_EV} eV for LGPS {{cite}}`mo2012lgps`. "
        f"With {dur}, each D carries tens of per cent error and the 300 K extrapolation in the table "
        "(`D_300K_cm2_s`) is indicative only."
    )


def low_temperature_text(gen_ok: pd.DataFrame) -> str:
    """The vibrational descriptors of each material at its lowest temperature, and how close C_v
    comes to the classical (Dulong–Petit) 3 k_B/atom."""
    lo = gen_ok.sort_values("temperature_K").groupby("system").first()
    cv_frac = lo["Cv_kB_atom"] / 3.0
    return (
        "At the lowest temperature of each material: "
        + "; ".join(
            f"{m} ({r.temperature_K:.0f} K): ⟨ω⟩ = {r.omega_mean_meV:.1f} meV, ⟨ω30⟩ = {r.omega30_meV:.1f} meV "
            f"(diffusive ions {r.omega30_meV_d:.1f}, non-diffusive {r.omega30_meV_nd:.1f}), "
            f"Cv = {r.Cv_kB_atom:.2f} kB/atom, θD = {r.theta_D_K:.0f} K, Lindemann {r.lindemann:.2f}"
            for m, r in lo.iterrows()
        )
        + f". Cv reaches {_span(100 * cv_frac)} % of the classical 3 kB/atom because these temperatures "
        f"({_span(lo['temperature_K'], unit='K')}) lie above or near θD ({_span(lo['theta_D_K'], unit='K')}): "
        "most of the spectrum has ħω < kBT."
    )


def _argyrodite_rows(argy, argy_trajs, per_cond, threshold_A: float) -> list[dict]:
    """One row per argyrodite condition: pooled D from ``per_cond``, the rest from its first run."""
    rows = []
    for (system, dis), g in argy.groupby(["system", "disorder"], sort=False):
        c = per_cond[(per_cond["system"] == system) & (per_cond["disorder"] == dis)].iloc[0]
        row, _ = runs.descriptor_row(argy_trajs[g.index[0]], "Li", threshold_A=threshold_A)
        row.update({k: c[k] for k in _D_COLUMNS})
        rows.append(
            {
                "system": f"{system}_{dis:.0f}p",
                "reduced_formula": system,
                "disorder": dis,
                "source": "DFT-AIMD (Morgan 2021)",
                "n_runs": int(c["n_runs"]),
                **row,
            }
        )
    return rows


def descriptor_table(argy, argy_trajs, per_cond, other, other_trajs, gen_ok, threshold_A: float) -> pd.DataFrame:
    """The chapter's table (read by chapter 04): one row per material and temperature — argyrodite
    conditions, the pymatgen test runs (framework drift removed) and the generated runs — with
    D (cm²/s), its log10 and the vibrational descriptors of
    :func:`~matmap_utils.transport.runs.descriptor_row`."""
    # Runs without stored velocities get finite-difference velocities with a UserWarning naming the
    # file; the chapter states it (`velocities_from_file` column), so that notice is dropped (it would
    # print a local path on the page) and every other warning is passed on.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _descriptor_table(argy, argy_trajs, per_cond, other, other_trajs, gen_ok, threshold_A)
    for w in caught:
        if not (issubclass(w.category, UserWarning) and "no velocities stored" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _descriptor_table(argy, argy_trajs, per_cond, other, other_trajs, gen_ok, threshold_A: float) -> pd.DataFrame:
    rows = _argyrodite_rows(argy, argy_trajs, per_cond, threshold_A)
    for (_, r), t in zip(other.iterrows(), other_trajs):
        row, _ = runs.descriptor_row(t, r["specie"], threshold_A=threshold_A, drift=True)
        rows.append(
            {
                "system": r["system"],
                "reduced_formula": r["system"],
                "source": "DFT-AIMD (pymatgen test data)",
                "n_runs": 1,
                **row,
            }
        )
    desc = pd.concat([pd.DataFrame(rows), gen_ok.drop(columns=["error", "file"], errors="ignore")], ignore_index=True)
    desc["log10_D"] = np.log10(desc["D_cm2_s"].where(desc["D_cm2_s"] > 0))
    return desc


def _ratio_err(per_cond: pd.DataFrame, system: str, hi: float = 100.0, lo: float = 0.0) -> tuple[float, float]:
    """D(hi % disorder)/D(lo %) of ``system`` with its propagated standard error."""
    g = per_cond[per_cond["system"] == system].set_index("disorder")
    if hi not in g.index or lo not in g.index:
        return np.nan, np.nan
    a, b = g.loc[hi], g.loc[lo]
    r = a["D_cm2_s"] / b["D_cm2_s"]
    return r, r * float(np.hypot(a["D_err_cm2_s"] / a["D_cm2_s"], b["D_err_cm2_s"] / b["D_cm2_s"]))


def found_text(
    per_cond: pd.DataFrame,
    per_cond_o: pd.DataFrame,
    cmp: pd.DataFrame,
    arr: pd.DataFrame | None,
    gen_ok: pd.DataFrame,
) -> str:
    """The chapter's "What we found": three to six sentences with computed numbers."""
    ratio = {sys: _ratio_err(per_cond, sys) for sys in ("Li6PS5I", "Li6PS5Cl")}
    up = [sys for sys, (r, e) in ratio.items() if r - 2 * e > 1]
    (ri, ei), (rc, ec) = ratio["Li6PS5I"], ratio["Li6PS5Cl"]
    larger_i = ri - 2 * ei > rc + 2 * ec
    resolved_txt = "the rise is resolved beyond two standard errors in " + (
        " and ".join(up) if up else "neither material"
    )
    out = [
        f"- **Anion disorder and Li diffusion.** Full Cl/I–S site disorder multiplies D(Li) by {ri:.1f} ± {ei:.1f} "
        f"in Li6PS5I and by {rc:.1f} ± {ec:.1f} in Li6PS5Cl (± one standard error, "
        f"{_span(per_cond['n_runs'])} runs per condition). Morgan "
        "{cite}`morgan2021argyrodite` found that disorder raises D, far more in the iodide: "
        + resolved_txt
        + (
            ", and it is larger in the iodide beyond the errors."
            if larger_i
            else "; a larger rise in the iodide is not resolved."
        )
    ]
    out.append(
        f"- **Anisotropy.** In LGPS, D_z is {lgps_anisotropy(per_cond_o):.1f}× the mean of D_x and D_y — the c-axis "
        "channel — from a single short run."
    )
    ok = resolved(cmp)
    rel = cmp.loc[ok, "ours/pymatgen-1"].abs()
    kin = ""
    if "D_kinisi" in cmp and cmp["D_kinisi"].notna().any():
        two_se = 2 * np.hypot(cmp["D_kinisi_sd"], cmp["D_ours_err"])
        within = int(((cmp["D_ours"] - cmp["D_kinisi"]).abs() <= two_se).sum())
        kin = f"; kinisi's Bayesian estimate agrees within two combined standard errors for {within} of {len(cmp)}"
    out.append(
        f"- **Estimators.** Our Eq. 3–4 D differs from pymatgen's by {rel.median():.1%} (median over "
        f"{int(ok.sum())} resolved conditions){kin}: the implementation is not where the uncertainty lies."
    )
    if arr is not None and len(arr) and "Li10GeP2S12" in set(arr["system"]):
        a = arr.set_index("system").loc["Li10GeP2S12"]
        agree = abs(a["Ea_eV"] - MO2012_EA_LGPS_EV) <= 2 * a["Ea_err_eV"]
        out.append(
            f"- **Activation energy.** CHGNet gives E_a(LGPS) = {a['Ea_eV']:.2f} ± {a['Ea_err_eV']:.2f} eV over "
            f"{int(a['n_points'])} temperatures, against {MO2012_EA_LGPS_EV} eV from DFT-AIMD {{cite}}`mo2012lgps` "
            + ("— compatible within two standard errors." if agree else "— not compatible within two standard errors.")
            + " Different potential and protocol: the comparison is indicative."
        )
    if len(gen_ok) and "Cv_kB_atom" in gen_ok:
        out.append(
            f"- **Vibrations.** The VDOS of {len(gen_ok)} generated runs gives C_v = "
            f"{gen_ok['Cv_kB_atom'].min():.2f}–{gen_ok['Cv_kB_atom'].max():.2f} k_B/atom and θ_D = "
            f"{gen_ok['theta_D_K'].min():.0f}–{gen_ok['theta_D_K'].max():.0f} K; these descriptors, not D, are "
            "what the short runs measure well, and they feed the correlograms of the next chapter."
        )
    return "\n".join(out)


def _d_pairs(frame: pd.DataFrame, name) -> dict[str, list[float]]:
    return {name(r): [r["D_cm2_s"], r["D_err_cm2_s"]] for _, r in frame.iterrows()}


def metrics(
    *,
    per_cond: pd.DataFrame,
    per_cond_o: pd.DataFrame,
    checks: pd.DataFrame,
    decisions: pd.DataFrame,
    ratios: Mapping[str, tuple[float, float]],
    cmp: pd.DataFrame,
    argy_trajs: Sequence[Trajectory | None],
    gen_ok: pd.DataFrame,
    arr: pd.DataFrame | None,
    compare_kinisi: bool,
) -> dict[str, Any]:
    """What ``metrics.json`` of chapter 03 records."""
    lg = checks.set_index("system").loc["Li10GeP2S12"]
    out = {
        "D_cm2_s": _d_pairs(per_cond, lambda r: f"{r['system']}_{r['disorder']:.0f}p"),
        "D_other_cm2_s": _d_pairs(per_cond_o, lambda r: r["system"]),
        "LGPS_Dz_over_Dxy": float(lgps_anisotropy(per_cond_o)),
        "LGPS_T_kinetic_stated_frames_K": float(lg["T_kinetic_K (stated frames)"]),
        "LGPS_T_kinetic_one_step_frames_K": float(lg["T_kinetic_K (one MD step per frame)"]),
        "frame_interval_decisions": {
            r["system"]: {
                "decision": r["decision"],
                "dt_fs": float(r["dt_fs"]),
                "implied_dt_fs": float(r["implied_dt_fs"]),
            }
            for _, r in decisions.iterrows()
        },
        "disorder_ratio_D100_over_D0": {s: float(r[0]) for s, r in ratios.items()},
        "pymatgen_rel_diff_median_abs": float(cmp.loc[resolved(cmp), "ours/pymatgen-1"].abs().median()),
        "n_argyrodite_runs": int(sum(t is not None for t in argy_trajs)),
        "n_generated_runs": int(len(gen_ok)),
    }
    if compare_kinisi:
        out["kinisi_rel_diff"] = {
            f"{r['system']}_{r['disorder']}": float(r["ours/kinisi-1"]) for _, r in cmp.iterrows()
        }
        out["kinisi_msd_max_rel_diff"] = float(cmp["msd_max_rel_diff"].max())
    if len(gen_ok):
        out["generated_D_cm2_s"] = _d_pairs(gen_ok, lambda r: f"{r['system']}_{r['temperature_K']:.0f}K")
        out["Ea_eV"] = {r["system"]: [r["Ea_eV"], r["Ea_err_eV"]] for _, r in arr.iterrows()}
    return out
