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
# # AIMD trajectories: diffusion and vibrational descriptors
#
# López et al. (Mater. Horiz. 2023) derive the ion diffusion coefficient and a family of
# *anharmonic* vibrational descriptors from ab initio molecular dynamics (AIMD). Their
# 174-simulation database is not public, so this chapter applies **the same Methods** to public
# trajectories and to a small set the project generates itself:
#
# * the mean-squared displacement over all mobile ions and all time origins, lags up to half the
#   run (their Eq. 3), computed by FFT;
# * D from a linear fit of MSD(τ) = 6Dτ + b over τmax/2 ≤ τ ≤ τmax (Eq. 4), with x/y/z
#   components and an uncertainty;
# * the vibrational density of states (VDOS) from the Fourier transform of the velocity
#   autocorrelation function (Eq. 5), per species and for diffusive / non-diffusive ions;
# * ⟨ω⟩ (Eq. 6), ⟨ω30⟩ with a 30 meV cut-off (Eq. 7), the harmonic Evib, Fvib, Svib and Cv of
#   the VDOS, a Debye temperature and the Lindemann ratio (their Table 1).
#
# The paper has no figure of individual trajectories: its Figs. 1–2 (correlograms) consume these
# descriptors. This chapter produces the descriptor table that the correlogram chapter joins.
#
# **Data.** (1) 37 DFT-AIMD runs of Li6PS5Cl and Li6PS5I with 0, 50 and 100 % Cl/I–S site
# disorder at 500 K (B. J. Morgan, *Chem. Mater.* 33, 2004 (2021), `bjmorgan/data_argyrodite_disorder`,
# MIT); (2) the Li10GeP2S12 (LGPS, 600 K) and cubic Na3PS4 (800 K) test trajectories of
# `pymatgen-analysis-diffusion` (BSD-3); (3) CHGNet NVT trajectories *with velocities*
# generated here (`data/md/`, see its README). The public DFT runs store positions only, every
# 100 fs (argyrodites) or 20 fs, so their VDOS can only come from finite differences.

# %% tags=["parameters"]
profile = "paper"
seed = 0
argyrodite_runs_per_condition = 0  # 0: every run; n > 0: the first n runs of each condition
compare_kinisi = True  # cross-check D with kinisi (Bayesian GLS) on the same frames
kinisi_samples = 1000  # MCMC samples of kinisi's posterior
md_max_runs = 0  # generated CHGNet runs to analyse (0: all present)
diffusive_threshold_A = 1.5  # an ion is diffusive if its mean position moves more than this
n_jobs = 2  # processes for reading the AIMD files

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from matmap_utils.chapters.results import Timer, write_metrics, write_table
from matmap_utils.data import datasets, trajectories
from matmap_utils.transport import diffusion, reference, runs, vibrations
from matmap_utils.transport.md import md_runs
from matmap_utils.viz import set_style

set_style()
timer = Timer()
NB = "03_aimd_trajectories"
rng = np.random.default_rng(seed)
jobs = None if n_jobs in (0, None) else int(n_jobs)

# %% [markdown]
# ## Argyrodites Li6PS5X: anion disorder and Li diffusion
#
# Morgan (2021) found that Cl/I–S anion-site disorder raises Li diffusion in the argyrodites, and
# much more in Li6PS5I (ordered anions, poor conductor) than in Li6PS5Cl. Each condition has 5–7
# independent 500 K runs of 416 atoms (frames every 100 fs, 7–14 ps). We pool the runs of a
# condition (the ion-weighted mean MSD over the lags all runs share, τmax = half the shortest run)
# and give the standard error of the per-run D as the uncertainty.

# %%
runs_all = datasets.aimd_runs()
argy = runs_all[runs_all["format"] == "xdatcar"]
if argyrodite_runs_per_condition:
    argy = argy.groupby(["system", "disorder"], group_keys=False).head(argyrodite_runs_per_condition)
argy = argy.reset_index(drop=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    argy_trajs, argy_fail = runs.read_runs(argy, n_jobs=jobs)
per_run, per_cond, curves = runs.condition_table(argy, argy_trajs, ["system", "disorder"])
display(Markdown(f"Read **{sum(t is not None for t in argy_trajs)}** of {len(argy)} runs ({len(argy_fail)} failures)."))
per_cond[
    [
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
]

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for ax, system in zip(axes[:2], ["Li6PS5Cl", "Li6PS5I"]):
    for k, dis in enumerate([0.0, 50.0, 100.0]):
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


# %%
def _ratio(system):
    g = per_cond[per_cond["system"] == system].set_index("disorder")["D_cm2_s"]
    return g.get(100.0, np.nan) / g.get(0.0, np.nan), g.get(50.0, np.nan) / g.get(0.0, np.nan)


r_cl, r_i = _ratio("Li6PS5Cl"), _ratio("Li6PS5I")
display(
    Markdown(
        f"Going from ordered to fully disordered anions multiplies D(Li) by **{r_cl[0]:.1f}** in "
        f"Li6PS5Cl (50 %: ×{r_cl[1]:.1f}) and by **{r_i[0]:.1f}** in Li6PS5I (50 %: ×{r_i[1]:.1f}). "
        "The shaded band is the Eq. 4 fit window. The published finding — disorder raises Li "
        "diffusion — is reproduced where the ratio exceeds 1 by more than the error bars; the "
        "runs are short (7–14 ps, 100 fs frames) so single-run D scatter widely (dots), which is why "
        "independent runs are pooled."
    )
)

# %% [markdown]
# ## LGPS at 600 K and Na3PS4 at 800 K
#
# LGPS conducts Li mainly along 1D channels parallel to *c*; the x/y/z components of D (MSD_α =
# 2D_α τ, Cartesian axes = lattice axes for this tetragonal cell) should show it. Cubic Na3PS4 is
# a 3D Na conductor. Both runs come from `pymatgen-analysis-diffusion`'s test data; the
# framework drift (mean displacement of the non-mobile atoms) is removed, as pymatgen does.

# %%
other = runs_all[runs_all["format"] != "xdatcar"].reset_index(drop=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    other_trajs, _ = runs.read_runs(other, n_jobs=1)
per_run_o, per_cond_o, curves_o = runs.condition_table(other, other_trajs, ["system"], drift=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, (_, row) in zip(axes, per_cond_o.iterrows()):
    c = curves_o[row["system"]]
    for k, ax_name in enumerate("xyz"):
        ax.plot(c["lag_ps"], c["xyz"][:, k], label=f"MSD_{ax_name}: D_{ax_name} = {row[f'D{ax_name}_cm2_s']:.2e} cm²/s")
    ax.axvspan(*c["fit"], color="0.9", zorder=0)
    ax.set(
        title=f"{row['system']} {row['temperature_K']:.0f} K: {row['specie']} MSD components",
        xlabel="lag τ (ps)",
        ylabel="MSD (Å²)",
    )
    ax.legend(fontsize="small")
fig.tight_layout()
per_cond_o[
    [
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
]

# %%
lgps = per_cond_o.set_index("system").loc["Li10GeP2S12"]
na = per_cond_o.set_index("system").loc["Na3PS4"]
aniso = lgps["Dz_cm2_s"] / np.mean([lgps["Dx_cm2_s"], lgps["Dy_cm2_s"]])
display(
    Markdown(
        f"In LGPS, D_z = {lgps['Dz_cm2_s']:.2e} cm²/s is **{aniso:.1f}×** the mean of D_x and D_y: the "
        "fast c-axis channel. With only 20 Li ions and one run, the block-averaging error is "
        f"{lgps['D_err_cm2_s'] / lgps['D_cm2_s']:.0%} of D. "
        f"Na3PS4: D = {na['D_cm2_s']:.1e} ± {na['D_err_cm2_s']:.1e} cm²/s — "
        + (
            "consistent with zero: in its 4 ps the Na MSD never leaves the vibrational plateau, so this "
            "run is too short to measure Na diffusion."
            if na["D_err_cm2_s"] > na["D_cm2_s"]
            else "resolved above its error."
        )
    )
)

# %% [markdown]
# ### Is the frame interval right? An equipartition check
#
# Without stored velocities, finite differences of positions give velocities whose kinetic
# energy must match the thermostat temperature when frames are one MD step apart, and fall far
# below it when frames are sparse (vibrations average out). This tests the time metadata of a
# file, which sets the time axis of D.

# %%
checks = []
for (_, row), t in zip(other.iterrows(), other_trajs):
    kt = vibrations.kinetic_temperature(t)
    checks.append(
        {
            "system": row["system"],
            "stated_T_K": row["temperature_K"],
            "stated_frame_fs": t.dt_fs,
            "T_kinetic_K (stated frames)": kt["all"],
        }
    )
    t1 = trajectories.Trajectory(
        t.species, t.lattice, t.positions, t.timestep_fs, t.temperature_K, None, t.source, t.timestep_fs, 1
    )
    checks[-1]["T_kinetic_K (one MD step per frame)"] = vibrations.kinetic_temperature(t1)["all"]
checks = pd.DataFrame(checks)
lg = checks.set_index("system").loc["Li10GeP2S12"]
display(checks)
display(
    Markdown(
        f"For LGPS the JSON states frames every {lg['stated_frame_fs']:.0f} fs (time step 2 fs × step_skip 10), "
        f"but then the finite-difference kinetic temperature is {lg['T_kinetic_K (stated frames)']:.0f} K; "
        f"read as one frame per 2 fs step it is **{lg['T_kinetic_K (one MD step per frame)']:.0f} K** ≈ the "
        "stated 600 K. The displacements are therefore almost certainly stored every MD step, and the "
        f"true D is 10× the value from the stated metadata (≈ {10 * lgps['D_cm2_s']:.1e} cm²/s). We keep "
        "the stated metadata in the tables (pymatgen and kinisi below read the same numbers) and flag it. "
        "Na3PS4's kinetic temperature at its stated 20 fs frames is below 800 K by the expected "
        "finite-difference attenuation of 10–15 THz modes, consistent with its metadata."
    )
)

# %% [markdown]
# ## Cross-check against kinisi and pymatgen
#
# The same frames go through `kinisi` (2.x) and `pymatgen-analysis-diffusion`:
#
# * **kinisi** computes the same all-origins MSD; we give it the same lags (up to N/2) and the
#   same start of the fit (τmax/2). Its D is the posterior mean of a Bayesian *generalised* least
#   squares fit that uses the covariance of the MSD (our Eq. 4 fit is ordinary least squares), and
#   it removes the whole-cell centre-of-mass drift. To separate the two effects we also fit its MSD
#   with our OLS over the same window. (Times are passed to kinisi in fs: kinisi 2.1 truncates
#   dt / (time step × step skip) to an integer, and with times in ps 0.3/0.1 = 2.999… turns the
#   3-frame lag into a 2-frame one — lags 3, 6, … of the argyrodite runs come out duplicated,
#   biasing its D low by ~20 %. Integer-valued fs times avoid it.)
# * **pymatgen** `DiffusionAnalyzer(smoothed="max")` removes the framework drift and fits all
#   lags with observation-count weights, not the τmax/2 … τmax window.

# %%
cmp_rows = []
groups = [
    ((s, d), [argy_trajs[i] for i in g.index if argy_trajs[i] is not None], "Li")
    for (s, d), g in argy.groupby(["system", "disorder"], sort=False)
]
groups += [((row["system"], np.nan), [t], row["specie"]) for (_, row), t in zip(other.iterrows(), other_trajs)]
for (system, dis), ts, sp in groups:
    ours = diffusion.diffusion(ts, sp)
    ours_d = diffusion.diffusion(ts, sp, drift=True)
    row = {
        "system": system,
        "disorder": dis,
        "n_runs": len(ts),
        "D_ours": ours.D_cm2_s,
        "D_ours_drift_removed": ours_d.D_cm2_s,
        "D_ours_err": ours.D_err_cm2_s,
    }
    row["D_pymatgen"] = np.mean([reference.pymatgen_diffusion(t, sp)["D_cm2_s"] for t in ts])
    if compare_kinisi:
        k = reference.kinisi_diffusion(ts, sp, seed=seed, n_samples=kinisi_samples)
        row.update(
            D_kinisi=k["D_cm2_s"],
            D_kinisi_sd=k["D_std_cm2_s"],
            D_ols_on_kinisi_msd=k["D_ols_on_kinisi_msd_cm2_s"],
            msd_max_rel_diff=float(np.max(np.abs(k["msd"] / ours.msd.msd[1:] - 1))),
        )
    cmp_rows.append(row)
cmp = pd.DataFrame(cmp_rows)
cmp["ours/pymatgen-1"] = cmp["D_ours_drift_removed"] / cmp["D_pymatgen"] - 1
if compare_kinisi:
    cmp["ours/kinisi-1"] = cmp["D_ours"] / cmp["D_kinisi"] - 1
    cmp["ours/(OLS on kinisi MSD)-1"] = cmp["D_ours"] / cmp["D_ols_on_kinisi_msd"] - 1
cmp

# %%
if compare_kinisi:
    worst_msd = cmp["msd_max_rel_diff"].max()
    within5 = int((cmp["ours/kinisi-1"].abs() <= 0.05).sum())
    ols = cmp["ours/(OLS on kinisi MSD)-1"].abs().max()
    within_sd = int(
        ((cmp["D_ours"] - cmp["D_kinisi"]).abs() <= 2 * np.hypot(cmp["D_kinisi_sd"], cmp["D_ours_err"])).sum()
    )
    display(
        Markdown(
            f"**kinisi.** Its MSD agrees with ours to within {worst_msd:.1%} at every lag for every condition "
            f"(the residual is its centre-of-mass correction). Fitting *its* MSD with *our* OLS window "
            f"reproduces our D to {ols:.1%}. The D values themselves agree within 5 % for {within5} of "
            f"{len(cmp)} conditions and within two combined standard errors for {within_sd} of {len(cmp)}: "
            "the remaining difference is the estimator — kinisi's GLS weights the well-sampled short "
            "lags, which dominate, while Eq. 4 uses only τmax/2 … τmax where MSD is noisiest."
        )
    )
resolved = cmp["D_ours_err"] < cmp["D_ours"]
display(
    Markdown(
        f"**pymatgen.** With the framework drift removed on both sides, our D and pymatgen's differ by "
        f"{cmp.loc[resolved, 'ours/pymatgen-1'].abs().median():.1%} (median; max "
        f"{cmp.loc[resolved, 'ours/pymatgen-1'].abs().max():.1%}) over the {int(resolved.sum())} conditions whose D "
        "exceeds its error; pymatgen fits all lags rather than τmax/2 … τmax, which matters most when "
        "the MSD bends. Unresolved runs (D within its error of zero: "
        + (", ".join(cmp.loc[~resolved, "system"]) or "none")
        + ") differ arbitrarily. For pooled conditions the pymatgen value is the mean of its per-run D "
        "(it has no pooling)."
    )
)

# %% [markdown]
# ## The generated CHGNet set: Arrhenius, VDOS and vibrational descriptors
#
# Three Li conductors (LGPS, β-Li3PS4, Li7P3S11; Materials Project cells of 32–50 atoms) at
# 600/800/1000 K (plus LGPS at 1200 K, where CHGNet melts its framework), 4 ps of Nosé–Hoover NVT production each after 0.5 ps of Langevin
# equilibration, time step 2 fs, positions **and velocities** every 10 fs (`data/md/README.md`
# has the exact commands, seeds and versions). The runs are far shorter and smaller than the
# paper's (100–200 ps, 200–300 atoms, DFT), and CHGNet is a universal machine-learned potential,
# so D carries large errors and CHGNet's known softening; the VDOS, which converges in
# picoseconds, is the robust output.

# %%
gen = md_runs()
if md_max_runs:
    gen = gen.head(md_max_runs)
if len(gen):
    gen_table, spectra, gen_curves = runs.analyze_generated(gen, "Li", threshold_A=diffusive_threshold_A)
    gen_ok = gen_table[gen_table["error"].isna()]
    display(
        gen_ok[
            [
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
        ]
    )
    molten = gen_ok[gen_ok["framework_mobile"]]
    display(
        Markdown(
            f"**{len(molten)}** of {len(gen_ok)} runs have a mobile framework (more than 10 % of the framework "
            "*cations* — P, Ge — diffusive: the host has melted or decomposed under CHGNet at that temperature): "
            + (", ".join(f"{r.system} {r.temperature_K:.0f} K" for r in molten.itertuples()) or "none")
            + ". They are shown but left out of the Arrhenius fits. The flag is a heuristic: a single P "
            "displaced by a reorienting P2S7 dimer (Li7P3S11) trips it as well as a melting host. Sulfur atoms moving more than the "
            "threshold without their P centres (`anion_diffusive_fraction` > 0 with no diffusing cation) are "
            "PS4 rotations (the paddle-wheel motion), which the host survives."
        )
    )
else:
    gen_table = gen_ok = pd.DataFrame()
    spectra, gen_curves = {}, {}
    display(
        Markdown(
            "**No generated trajectories are present yet** (`data/md/` is filled by "
            "`bash data/md/generate.sh`); the sections below are skipped."
        )
    )

# %%
if len(gen_ok):
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

# %%
if len(gen_ok):
    arr = runs.arrhenius_table(gen_ok[~gen_ok["framework_mobile"]], by="system")
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (mat, g) in enumerate(gen_ok.groupby("system")):
        g = g[g["D_cm2_s"] > 0]
        solid = ~g["framework_mobile"]
        ax.errorbar(
            1000 / g["temperature_K"][solid],
            g["D_cm2_s"][solid],
            g["D_err_cm2_s"][solid],
            fmt="o",
            color=f"C{k}",
            capsize=3,
            label=mat,
        )
        ax.scatter(
            1000 / g["temperature_K"][~solid],
            g["D_cm2_s"][~solid],
            marker="x",
            color=f"C{k}",
            label=f"{mat}, framework mobile" if (~solid).any() else None,
        )
        g = g[solid]
        fit = arr[arr["system"] == mat]
        if len(fit):
            f = fit.iloc[0]
            Ts = np.linspace(g["temperature_K"].min(), g["temperature_K"].max(), 20)
            ax.plot(
                1000 / Ts,
                f["D0_cm2_s"] * np.exp(-f["Ea_eV"] / (diffusion.KB_EV * Ts)),
                color=f"C{k}",
                label=f"Ea = {f['Ea_eV']:.2f} ± {f['Ea_err_eV']:.2f} eV",
            )
    ax.set(yscale="log", xlabel="1000 / T (1/K)", ylabel="D(Li) (cm²/s)", title="Arrhenius plot (CHGNet NVT)")
    ax.legend(fontsize="small")
    display(arr)
    display(
        Markdown(
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
    )

# %%
if len(gen_ok):
    keys = sorted(spectra)
    mats = sorted({m for m, _ in keys})
    fig, axes = plt.subplots(1, len(mats), figsize=(4.6 * len(mats), 3.8), squeeze=False, sharey=True)
    for ax, mat in zip(axes[0], mats):
        Tmax = max(T for m, T in keys if m == mat)
        sp = spectra[(mat, Tmax)]
        for g in [g for g in sp if g not in ("all", "nd", "d")]:
            ax.plot(sp[g].energy_meV, sp[g].g, label=g)
        ax.plot(sp["all"].energy_meV, sp["all"].g, color="k", lw=1, label="all")
        ax.axvline(30, color="0.6", ls="--")
        ax.set(
            xlim=(0, 80), title=f"{mat} {Tmax:.0f} K: VDOS per species", xlabel="ħω (meV)", ylabel="g (states/meV/atom)"
        )
        ax.legend(fontsize="small")
    fig.tight_layout()

# %%
if len(gen_ok):
    fig, axes = plt.subplots(1, len(mats), figsize=(4.6 * len(mats), 3.6), squeeze=False, sharey=True)
    for ax, mat in zip(axes[0], mats):
        Tmax = max(T for m, T in keys if m == mat)
        sp = spectra[(mat, Tmax)]
        for g, lab in (("nd", "non-diffusive ions"), ("d", "diffusive ions")):
            if g in sp:
                ax.plot(sp[g].energy_meV, sp[g].g, label=f"{lab} ({sp[g].n_atoms})")
        ax.set(xlim=(0, 80), title=f"{mat} {Tmax:.0f} K: diffusive vs not", xlabel="ħω (meV)", ylabel="g")
        ax.legend(fontsize="small")
    fig.tight_layout()

# %% [markdown]
# Diffusive ions are those whose mean position over the last 10 % of the run lies more than
# `diffusive_threshold_A` from their mean position over the first 10 %. Their spectrum keeps
# weight at ω → 0 (the Fourier transform of a VACF whose integral is D), which is what lowers
# ⟨ω30⟩ in diffusive materials.
#
# ### Every vibrational descriptor against temperature
#
# Definitions (per atom, normalised VDOS with 3 modes/atom; x = ħω/kBT): Evib = ∫g ħω(½ + n),
# Fvib = kBT ∫g ln(2 sinh(x/2)), Svib = kB ∫g [x/2 coth(x/2) − ln(2 sinh(x/2))],
# Cv = kB ∫g x²eˣ/(eˣ−1)² (harmonic formulas on the anharmonic, finite-T VDOS; the ω = 0 bin is
# left out), θD = ħ√(5⟨ω²⟩/3)/kB (second-moment Debye temperature, exact for a Debye spectrum),
# Lindemann ratio = RMS displacement of the non-diffusive ions about their mean positions divided
# by their mean nearest-neighbour distance. Total-VDOS descriptors weight atoms by mass, so every
# atom counts equally (Eq. 5 verbatim, without masses, would over-weight Li; within one species
# the two are identical).

# %%
desc_cols = [
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
if len(gen_ok):
    fig, axes = plt.subplots(2, 5, figsize=(17, 6.4))
    for ax, col in zip(axes.ravel(), desc_cols):
        for k, (mat, g) in enumerate(gen_ok.groupby("system")):
            ax.plot(g["temperature_K"], g[col], "o-", color=f"C{k}", label=mat)
        ax.set(title=col, xlabel="T (K)")
    axes[0, 0].legend(fontsize="x-small")
    fig.tight_layout()
    lo = gen_ok.sort_values("temperature_K").groupby("system").first()
    display(
        Markdown(
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
    )

# %% [markdown]
# ## Descriptor table and metrics
#
# One row per material and temperature: the argyrodite conditions (500 K), LGPS (600 K), Na3PS4
# (800 K) and the generated runs. Vibrational columns need resolved spectra: they are left empty
# when the frames are too sparse (Nyquist frequency below 60 meV — the argyrodites' 100 fs frames
# give 20.7 meV), and for the two pymatgen test runs they come from finite differences
# (`velocities_from_file = False`). When finite-difference velocities give a kinetic
# temperature outside 0.5–1.5× the stated one, the time metadata cannot be trusted and the
# vibrational columns are left empty (`time_metadata_suspect`; LGPS, see above).

# %%
rows = []
for (system, dis), g in argy.groupby(["system", "disorder"], sort=False):
    c = per_cond[(per_cond["system"] == system) & (per_cond["disorder"] == dis)].iloc[0]
    t0 = argy_trajs[g.index[0]]
    row, _ = runs.descriptor_row(t0, "Li", threshold_A=diffusive_threshold_A)
    row.update({k: c[k] for k in ["D_cm2_s", "D_err_cm2_s", "Dx_cm2_s", "Dy_cm2_s", "Dz_cm2_s", "sigma_NE_S_cm"]})
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
for (_, r), t in zip(other.iterrows(), other_trajs):
    row, _ = runs.descriptor_row(t, r["specie"], threshold_A=diffusive_threshold_A, drift=True)
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
write_table(NB, "md_descriptors", desc)
write_table(NB, "argyrodite_runs", per_run)
write_table(NB, "argyrodite_conditions", per_cond)
write_table(NB, "reference_comparison", cmp)
if len(gen_table):
    write_table(NB, "generated_runs", gen_table)
desc[
    [
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
]

# %%
metrics = {
    "D_cm2_s": {
        f"{r['system']}_{r['disorder']:.0f}p": [r["D_cm2_s"], r["D_err_cm2_s"]] for _, r in per_cond.iterrows()
    },
    "D_other_cm2_s": {r["system"]: [r["D_cm2_s"], r["D_err_cm2_s"]] for _, r in per_cond_o.iterrows()},
    "LGPS_Dz_over_Dxy": float(aniso),
    "LGPS_T_kinetic_stated_frames_K": float(lg["T_kinetic_K (stated frames)"]),
    "LGPS_T_kinetic_one_step_frames_K": float(lg["T_kinetic_K (one MD step per frame)"]),
    "disorder_ratio_D100_over_D0": {"Li6PS5Cl": float(r_cl[0]), "Li6PS5I": float(r_i[0])},
    "pymatgen_rel_diff_median_abs": float(cmp.loc[resolved, "ours/pymatgen-1"].abs().median()),
    "n_argyrodite_runs": int(sum(t is not None for t in argy_trajs)),
    "n_generated_runs": int(len(gen_ok)),
}
if compare_kinisi:
    metrics["kinisi_rel_diff"] = {
        f"{r['system']}_{r['disorder']}": float(r["ours/kinisi-1"]) for _, r in cmp.iterrows()
    }
    metrics["kinisi_msd_max_rel_diff"] = float(cmp["msd_max_rel_diff"].max())
if len(gen_ok):
    metrics["generated_D_cm2_s"] = {
        f"{r['system']}_{r['temperature_K']:.0f}K": [r["D_cm2_s"], r["D_err_cm2_s"]] for _, r in gen_ok.iterrows()
    }
    metrics["Ea_eV"] = {r["system"]: [r["Ea_eV"], r["Ea_err_eV"]] for _, r in arr.iterrows()}
write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)
display(Markdown(f"Wall time of this notebook: {timer.elapsed:.0f} s."))
