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

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from matmap_utils.data.trajectories import Trajectory
from matmap_utils.transport import runs
from matmap_utils.transport.diffusion import KB_EV
from matmap_utils.transport.md import md_runs

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
DESC_COLUMNS = [
    "omega_mean_meV",
    "omega30_meV",
    "Evib_meV_atom",
    "Fvib_meV_atom",
    "Svib_kB_atom",
    "Cv_kB_atom",
    "theta_D_K",
    "lindemann",
    "omega30_meV_d",
    "omega30_meV_nd",
]
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


def plot_argyrodite_msd(per_run: pd.DataFrame, per_cond: pd.DataFrame, curves: Mapping) -> plt.Figure:
    """Pooled Li MSD (± s.e. over runs, Eq. 4 fit window shaded) per argyrodite, and D against disorder."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, system in zip(axes[:2], ARGYRODITES):
        for k, dis in enumerate(DISORDER):
            c = curves.get((system, dis))
            if c is None:
                continue
            ax.plot(c["lag_ps"], c["mean"], color=f"C{k}", label=f"{dis:.0f} % disorder")
            ax.fill_between(c["lag_ps"], c["mean"] - c["sem"], c["mean"] + c["sem"], color=f"C{k}", alpha=0.3)
            ax.axvspan(*c["fit"], color="0.9", zorder=0)
        ax.set(title=f"{system}, 500 K: Li MSD (mean ± s.e. over runs)", xlabel="lag τ (ps)", ylabel="MSD (Å²)")
        ax.legend()
    for k, (system, g) in enumerate(per_cond[per_cond["system"].str.startswith("Li6PS5")].groupby("system")):
        axes[2].errorbar(
            g["disorder"], g["D_cm2_s"], g["D_err_cm2_s"], marker="o", capsize=4, color=f"C{k + 3}", label=system
        )
        pr = per_run[per_run["system"] == system]
        axes[2].scatter(pr["disorder"] + (k - 0.5) * 3, pr["D_cm2_s"], s=10, color=f"C{k + 3}", alpha=0.5)
    axes[2].set(
        yscale="log",
        xlabel="anion-site disorder (%)",
        ylabel="D(Li) (cm²/s)",
        title="D against disorder (dots: single runs)",
    )
    axes[2].legend()
    fig.tight_layout()
    return fig


def disorder_ratios(per_cond: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """D(100 % disorder)/D(0 %) and D(50 %)/D(0 %) per argyrodite (NaN where a condition is missing)."""
    out = {}
    for system in ARGYRODITES:
        g = per_cond[per_cond["system"] == system].set_index("disorder")["D_cm2_s"]
        out[system] = (g.get(100.0, np.nan) / g.get(0.0, np.nan), g.get(50.0, np.nan) / g.get(0.0, np.nan))
    return out


def disorder_text(ratios: Mapping[str, tuple[float, float]]) -> str:
    """The paragraph on the disorder ratios."""
    r_cl, r_i = ratios["Li6PS5Cl"], ratios["Li6PS5I"]
    return (
        f"Going from ordered to fully disordered anions multiplies D(Li) by **{r_cl[0]:.1f}** in "
        f"Li6PS5Cl (50 %: ×{r_cl[1]:.1f}) and by **{r_i[0]:.1f}** in Li6PS5I (50 %: ×{r_i[1]:.1f}). "
        "The shaded band is the Eq. 4 fit window. The published finding — disorder raises Li "
        "diffusion — is reproduced where the ratio exceeds 1 by more than the error bars; the "
        "runs are short (7–14 ps, 100 fs frames) so single-run D scatter widely (dots), which is why "
        "independent runs are pooled."
    )


def plot_msd_components(per_cond_o: pd.DataFrame, curves_o: Mapping) -> plt.Figure:
    """MSD_x, MSD_y, MSD_z (with D_α) of LGPS and Na3PS4, fit window shaded."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, (_, row) in zip(axes, per_cond_o.iterrows()):
        c = curves_o[row["system"]]
        for k, a in enumerate("xyz"):
            ax.plot(c["lag_ps"], c["xyz"][:, k], label=f"MSD_{a}: D_{a} = {row[f'D{a}_cm2_s']:.2e} cm²/s")
        ax.axvspan(*c["fit"], color="0.9", zorder=0)
        ax.set(
            title=f"{row['system']} {row['temperature_K']:.0f} K: {row['specie']} MSD components",
            xlabel="lag τ (ps)",
            ylabel="MSD (Å²)",
        )
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def lgps_anisotropy(per_cond_o: pd.DataFrame) -> float:
    """D_z / mean(D_x, D_y) of LGPS (the fast c-axis channel)."""
    lgps = per_cond_o.set_index("system").loc["Li10GeP2S12"]
    return lgps["Dz_cm2_s"] / np.mean([lgps["Dx_cm2_s"], lgps["Dy_cm2_s"]])


def components_text(per_cond_o: pd.DataFrame) -> str:
    """The paragraph on LGPS's anisotropy and Na3PS4's resolution."""
    lgps = per_cond_o.set_index("system").loc["Li10GeP2S12"]
    na = per_cond_o.set_index("system").loc["Na3PS4"]
    return (
        f"In LGPS, D_z = {lgps['Dz_cm2_s']:.2e} cm²/s is **{lgps_anisotropy(per_cond_o):.1f}×** the mean of D_x "
        "and D_y: the fast c-axis channel. With only 20 Li ions and one run, the block-averaging error is "
        f"{lgps['D_err_cm2_s'] / lgps['D_cm2_s']:.0%} of D. "
        f"Na3PS4: D = {na['D_cm2_s']:.1e} ± {na['D_err_cm2_s']:.1e} cm²/s — "
        + (
            "consistent with zero: in its 4 ps the Na MSD never leaves the vibrational plateau, so this "
            "run is too short to measure Na diffusion."
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
    """The paragraph on LGPS's frame interval (stored every MD step, stated every 10)."""
    lg = checks.set_index("system").loc["Li10GeP2S12"]
    dl = decisions.set_index("system").loc["Li10GeP2S12"]
    na = decisions.set_index("system").loc["Na3PS4"]
    return (
        f"For LGPS the JSON states frames every {lg['stated_frame_fs']:.0f} fs (time step 2 fs × step_skip 10), "
        f"but then the finite-difference kinetic temperature is {lg['T_kinetic_K (stated frames)']:.1f} K, "
        f"not 600 K. Since T_kin ∝ 1/Δt², the interval that reproduces 600 K is Δt* = "
        f"{lg['stated_frame_fs']:.0f} fs × √({lg['T_kinetic_K (stated frames)']:.2f}/600) = **{dl['implied_dt_fs']:.2f} fs**, "
        f"the MD time step; read one frame per 2 fs step the kinetic temperature is "
        f"{lg['T_kinetic_K (one MD step per frame)']:.0f} K. The positions are therefore stored every MD step, and "
        f"we **correct** the run to Δt = {dl['dt_fs']:.0f} fs before it joins any table (decision: {dl['decision']}): "
        "its duration shrinks tenfold and D grows tenfold against the stated metadata; pymatgen and kinisi below "
        "read the corrected times too. A sparsely sampled run cannot be mistaken for this: there T_kin falls "
        "below T and Δt* comes out *shorter* than the stated interval only because of attenuation, by a "
        f"modest factor — Na3PS4 gives Δt* = {na['implied_dt_fs']:.1f} fs for a stated {na['stated_dt_fs']:.0f} fs "
        f"(T_kin {na['T_kinetic_K']:.0f} K at 800 K, within 0.5–1.5×), so it is kept ({na['decision']})."
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


NO_GENERATED_TEXT = (
    "**No generated trajectories are present yet** (`data/md/` is filled by "
    "`bash data/md/generate.sh`); the sections below are skipped."
)


def plot_generated_msd(gen_ok: pd.DataFrame, gen_curves: Mapping) -> plt.Figure:
    """Li MSD and mean framework MSD per material and temperature (CHGNet runs)."""
    mats = sorted(gen_ok["system"].unique())
    fig, axes = plt.subplots(1, len(mats), figsize=(4.6 * len(mats), 3.8), squeeze=False)
    for ax, mat in zip(axes[0], mats):
        for (m, T), c in sorted(gen_curves.items()):
            if m != mat:
                continue
            ax.plot(c["lag_ps"], c["msd"], label=f"Li {T:.0f} K")
            frame_sp = [k for k in c if k.startswith("msd_") and k != "msd_Li"]
            fw = np.mean([c[k][: len(c["lag_ps"])] for k in frame_sp], axis=0)
            ax.plot(c["lag_ps"], fw, ls=":", color=ax.lines[-1].get_color(), label=f"framework {T:.0f} K")
        ax.set(title=f"{mat} (CHGNet): MSD", xlabel="lag τ (ps)", ylabel="MSD (Å²)")
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def arrhenius(gen_ok: pd.DataFrame) -> pd.DataFrame | None:
    """Arrhenius fits per material over the runs whose framework stayed solid (None without runs)."""
    if not len(gen_ok):
        return None
    return runs.arrhenius_table(gen_ok[~gen_ok["framework_mobile"]], by="system")


def _arrhenius_line(ax, g: pd.DataFrame, fit: pd.DataFrame, colour: str) -> None:
    if len(fit):
        f = fit.iloc[0]
        Ts = np.linspace(g["temperature_K"].min(), g["temperature_K"].max(), 20)
        D = f["D0_cm2_s"] * np.exp(-f["Ea_eV"] / (KB_EV * Ts))
        ax.plot(1000 / Ts, D, color=colour, label=f"Ea = {f['Ea_eV']:.2f} ± {f['Ea_err_eV']:.2f} eV")


def plot_arrhenius(gen_ok: pd.DataFrame, arr: pd.DataFrame) -> plt.Figure:
    """D against 1000/T per material (crosses: mobile framework) with the Arrhenius fits."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (mat, g) in enumerate(gen_ok.groupby("system")):
        g = g[g["D_cm2_s"] > 0]
        solid = ~g["framework_mobile"]
        x, D, err = 1000 / g["temperature_K"], g["D_cm2_s"], g["D_err_cm2_s"]
        ax.errorbar(x[solid], D[solid], err[solid], fmt="o", color=f"C{k}", capsize=3, label=mat)
        label = f"{mat}, framework mobile" if (~solid).any() else None
        ax.scatter(x[~solid], D[~solid], marker="x", color=f"C{k}", label=label)
        _arrhenius_line(ax, g[solid], arr[arr["system"] == mat], f"C{k}")
    ax.set(yscale="log", xlabel="1000 / T (1/K)", ylabel="D(Li) (cm²/s)", title="Arrhenius plot (CHGNet NVT)")
    ax.legend(fontsize="small")
    return fig


def arrhenius_text(arr: pd.DataFrame) -> str:
    """The paragraph with the activation energies."""
    return (
        "Activation energies (weighted least squares on ln D, weights from the block-averaging errors; "
        "errors from the fit covariance): "
        + "; ".join(
            f"{r.system}: **{r.Ea_eV:.2f} ± {r.Ea_err_eV:.2f} eV** ({r.n_points} temperatures)"
            for r in arr.itertuples()
        )
        + ". For comparison, DFT-AIMD gave 0.21 eV for LGPS (Mo et al., Chem. Mater. 24, 15 (2012)). "
        "With 4 ps runs, each D carries tens of per cent error and the 300 K extrapolation in the table "
        "(`D_300K_cm2_s`) is indicative only."
    )


def _hottest(spectra: Mapping) -> dict[str, Mapping]:
    """Per material, the spectra of its highest-temperature run: {material: (T, spectra)}."""
    keys = sorted(spectra)
    out = {}
    for mat in sorted({m for m, _ in keys}):
        Tmax = max(T for m, T in keys if m == mat)
        out[mat] = (Tmax, spectra[(mat, Tmax)])
    return out


def plot_vdos_species(spectra: Mapping) -> plt.Figure:
    """VDOS per species and in total at each material's highest temperature (30 meV marked)."""
    hot = _hottest(spectra)
    fig, axes = plt.subplots(1, len(hot), figsize=(4.6 * len(hot), 3.8), squeeze=False, sharey=True)
    for ax, (mat, (Tmax, sp)) in zip(axes[0], hot.items()):
        for g in [g for g in sp if g not in ("all", "nd", "d")]:
            ax.plot(sp[g].energy_meV, sp[g].g, label=g)
        ax.plot(sp["all"].energy_meV, sp["all"].g, color="k", lw=1, label="all")
        ax.axvline(30, color="0.6", ls="--")
        ax.set(
            xlim=(0, 80), title=f"{mat} {Tmax:.0f} K: VDOS per species", xlabel="ħω (meV)", ylabel="g (states/meV/atom)"
        )
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_vdos_diffusive(spectra: Mapping) -> plt.Figure:
    """VDOS of the diffusive and the non-diffusive ions at each material's highest temperature."""
    hot = _hottest(spectra)
    fig, axes = plt.subplots(1, len(hot), figsize=(4.6 * len(hot), 3.6), squeeze=False, sharey=True)
    for ax, (mat, (Tmax, sp)) in zip(axes[0], hot.items()):
        for g, lab in (("nd", "non-diffusive ions"), ("d", "diffusive ions")):
            if g in sp:
                ax.plot(sp[g].energy_meV, sp[g].g, label=f"{lab} ({sp[g].n_atoms})")
        ax.set(xlim=(0, 80), title=f"{mat} {Tmax:.0f} K: diffusive vs not", xlabel="ħω (meV)", ylabel="g")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_descriptors_vs_T(gen_ok: pd.DataFrame) -> plt.Figure:
    """Every vibrational descriptor of :data:`DESC_COLUMNS` against temperature, per material."""
    fig, axes = plt.subplots(2, 5, figsize=(17, 6.4))
    for ax, col in zip(axes.ravel(), DESC_COLUMNS):
        for k, (mat, g) in enumerate(gen_ok.groupby("system")):
            ax.plot(g["temperature_K"], g[col], "o-", color=f"C{k}", label=mat)
        ax.set(title=col, xlabel="T (K)")
    axes[0, 0].legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def low_temperature_text(gen_ok: pd.DataFrame) -> str:
    """The vibrational descriptors of each material at its lowest temperature."""
    lo = gen_ok.sort_values("temperature_K").groupby("system").first()
    return (
        "At the lowest temperature of each material: "
        + "; ".join(
            f"{m}: ⟨ω⟩ = {r.omega_mean_meV:.1f} meV, ⟨ω30⟩ = {r.omega30_meV:.1f} meV "
            f"(diffusive ions {r.omega30_meV_d:.1f}, non-diffusive {r.omega30_meV_nd:.1f}), "
            f"Cv = {r.Cv_kB_atom:.2f} kB/atom, θD = {r.theta_D_K:.0f} K, Lindemann {r.lindemann:.2f}"
            for m, r in lo.iterrows()
        )
        + ". Cv is close to the classical 3 kB/atom because every temperature here is well above "
        "most of the spectrum (ħω < kBT)."
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
