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
from IPython.display import Markdown, display

from matmap_utils.chapters import ch03_aimd_trajectories as ch03
from matmap_utils.chapters.results import Timer, write_metrics, write_table
from matmap_utils.data import datasets
from matmap_utils.transport import reference, runs
from matmap_utils.viz import set_style

set_style()
timer = Timer()
NB = ch03.NB
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
argy = ch03.select_argyrodites(runs_all, argyrodite_runs_per_condition)
argy_trajs, argy_fail = ch03.read_runs(argy, n_jobs=jobs)
per_run, per_cond, curves = runs.condition_table(argy, argy_trajs, ["system", "disorder"])
display(Markdown(f"Read **{sum(t is not None for t in argy_trajs)}** of {len(argy)} runs ({len(argy_fail)} failures)."))
per_cond[ch03.CONDITION_COLUMNS]


# %%
fig = ch03.plot_argyrodite_msd(per_run, per_cond, curves)


# %%
ratios = ch03.disorder_ratios(per_cond)
display(Markdown(ch03.disorder_text(ratios)))


# %% [markdown]
# ## LGPS at 600 K and Na3PS4 at 800 K
#
# Both runs come from `pymatgen-analysis-diffusion`'s test data (positions only).
#
# ### Is the frame interval right? An equipartition check
#
# Without stored velocities, finite differences of positions give velocities whose kinetic
# energy must match the thermostat temperature when frames are one MD step apart, and fall below
# it when frames are sparse (vibrations average out). This tests the time metadata of a file,
# which sets the time axis of D; a run whose interval cannot be decided is excluded.

# %%
other = ch03.other_runs(runs_all)
other_trajs, _ = ch03.read_runs(other, n_jobs=1)
checks = runs.equipartition_check(other, other_trajs)
other_trajs, decisions = ch03.correct_intervals(other, other_trajs)
keep = [t is not None for t in other_trajs]
other, other_trajs = other[keep], [t for t in other_trajs if t is not None]
display(checks)
display(decisions)
display(Markdown(ch03.equipartition_text(checks, decisions)))


# %% [markdown]
# ### Components of D
#
# LGPS conducts Li mainly along 1D channels parallel to *c*; the x/y/z components of D (MSD_α =
# 2D_α τ, Cartesian axes = lattice axes for this tetragonal cell) should show it. Cubic Na3PS4 is
# a 3D Na conductor. The framework drift (mean displacement of the non-mobile atoms) is removed,
# as pymatgen does. Times are the corrected ones.

# %%
per_run_o, per_cond_o, curves_o = runs.condition_table(other, other_trajs, ["system"], drift=True)
fig = ch03.plot_msd_components(per_cond_o, curves_o)
per_cond_o[ch03.OTHER_COLUMNS]


# %%
display(Markdown(ch03.components_text(per_cond_o)))


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
groups = ch03.comparison_groups(argy, argy_trajs, other, other_trajs)
cmp = reference.compare_estimators(groups, compare_kinisi=compare_kinisi, seed=seed, kinisi_samples=kinisi_samples)
cmp


# %%
if compare_kinisi:
    display(Markdown(ch03.kinisi_text(cmp)))
display(Markdown(ch03.pymatgen_text(cmp)))


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
gen_table, gen_ok, spectra, gen_curves = ch03.generated_set(md_max_runs, diffusive_threshold_A)
if len(gen_table):
    display(gen_ok[ch03.GENERATED_COLUMNS])
    display(Markdown(ch03.molten_text(gen_ok)))
else:
    display(Markdown(ch03.NO_GENERATED_TEXT))


# %%
if len(gen_ok):
    fig = ch03.plot_generated_msd(gen_ok, gen_curves)


# %%
arr = ch03.arrhenius(gen_ok)
if len(gen_ok):
    fig = ch03.plot_arrhenius(gen_ok, arr)
    display(arr)
    display(Markdown(ch03.arrhenius_text(arr)))


# %%
if len(gen_ok):
    fig = ch03.plot_vdos_species(spectra)


# %%
if len(gen_ok):
    fig = ch03.plot_vdos_diffusive(spectra)


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
if len(gen_ok):
    fig = ch03.plot_descriptors_vs_T(gen_ok)
    display(Markdown(ch03.low_temperature_text(gen_ok)))


# %% [markdown]
# ## Descriptor table and metrics
#
# One row per material and temperature: the argyrodite conditions (500 K), LGPS (600 K), Na3PS4
# (800 K) and the generated runs. Vibrational columns need resolved spectra: they are left empty
# when the frames are too sparse (Nyquist frequency below 60 meV — the argyrodites' 100 fs frames
# give 20.7 meV), and for the two pymatgen test runs they come from finite differences
# (`velocities_from_file = False`) at the frame interval decided above (LGPS corrected to one MD
# step per frame). When finite-difference velocities give a kinetic temperature outside 0.5–1.5×
# the stated one, the vibrational columns are left empty (`time_metadata_suspect`).

# %%
desc = ch03.descriptor_table(argy, argy_trajs, per_cond, other, other_trajs, gen_ok, diffusive_threshold_A)
write_table(NB, "md_descriptors", desc)
write_table(NB, "argyrodite_runs", per_run)
write_table(NB, "argyrodite_conditions", per_cond)
write_table(NB, "reference_comparison", cmp)
if len(gen_table):
    write_table(NB, "generated_runs", gen_table)
desc[ch03.SUMMARY_COLUMNS]


# %%
metrics = ch03.metrics(
    per_cond=per_cond,
    per_cond_o=per_cond_o,
    checks=checks,
    decisions=decisions,
    ratios=ratios,
    cmp=cmp,
    argy_trajs=argy_trajs,
    gen_ok=gen_ok,
    arr=arr,
    compare_kinisi=compare_kinisi,
)
write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)
display(Markdown(f"Wall time of this notebook: {timer.elapsed:.0f} s."))
