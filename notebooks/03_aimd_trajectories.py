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
# López et al. {cite}`lopez2023universal` derive the ion diffusion coefficient and a family of
# *anharmonic* vibrational descriptors from ab initio molecular dynamics (AIMD). Their database of
# simulations is not public, so this chapter applies **the same Methods** to public trajectories
# and to a small set the project generates itself:
#
# * the mean-squared displacement over all mobile ions and all time origins, lags up to half the
#   run (their Eq. 3), computed by FFT;
# * D from a linear fit of MSD(τ) against τ (slope six times D, Eq. 4) over the second half of the
#   lags, ½τmax ≤ τ ≤ τmax, with x/y/z components and an uncertainty;
# * the vibrational density of states (VDOS) from the Fourier transform of the velocity
#   autocorrelation function (Eq. 5), per species and for diffusive / non-diffusive ions;
# * ⟨ω⟩ (Eq. 6), ⟨ω₃₀⟩ with its low-frequency cut-off (Eq. 7), the harmonic Evib, Fvib, Svib and
#   Cv of the VDOS, a Debye temperature and the Lindemann ratio (their Table 1).
#
# The paper has no figure of individual trajectories: its Figs. 1–2 (correlograms) consume these
# descriptors. This chapter produces the descriptor table that
# [the correlogram chapter](04_correlograms.ipynb) joins.

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
from matmap_utils.chapters import ch03_figures as ch03fig
from matmap_utils.chapters.results import Timer, write_metrics, write_table
from matmap_utils.data import datasets
from matmap_utils.transport import reference, runs
from matmap_utils.viz import format_table, set_style

set_style()
timer = Timer()
NB = ch03.NB
jobs = None if n_jobs in (0, None) else int(n_jobs)


# %%
runs_all = datasets.aimd_runs()
argy = ch03.select_argyrodites(runs_all, argyrodite_runs_per_condition)
display(Markdown(ch03.data_text(runs_all, argy, md_max_runs)))


# %% [markdown]
# ## Argyrodites Li₆PS₅X: anion disorder and Li diffusion
#
# Morgan {cite}`morgan2021argyrodite` found that Cl/I–S anion-site disorder raises Li diffusion in
# the argyrodites, and much more in Li6PS5I (ordered anions, poor conductor) than in Li6PS5Cl. Each
# condition has several independent runs at the same temperature. We pool the runs of a condition
# (the ion-weighted mean MSD over the lags all runs share, τmax = half the shortest run) and give
# the standard error of the per-run D as the uncertainty.

# %%
argy_trajs, argy_fail = ch03.read_runs(argy, n_jobs=jobs)
per_run, per_cond, curves = runs.condition_table(argy, argy_trajs, ["system", "disorder"])
display(Markdown(f"Read **{sum(t is not None for t in argy_trajs)}** of {len(argy)} runs ({len(argy_fail)} failures)."))
format_table(per_cond[ch03.CONDITION_COLUMNS], units={"disorder": "%"})


# %%
fig = ch03fig.plot_argyrodite_msd(per_run, per_cond, curves)


# %%
ratios = ch03.disorder_ratios(per_cond)
display(Markdown(ch03.disorder_text(ratios, per_cond)))


# %% [markdown]
# ## LGPS and Na3PS4 from pymatgen's test data
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
display(format_table(checks))
display(format_table(decisions))
display(Markdown(ch03.equipartition_text(checks, decisions)))


# %% [markdown]
# ### Components of D
#
# LGPS conducts Li mainly along channels parallel to *c*; the x/y/z components of D (MSD_α grows as
# twice D_α τ; Cartesian axes = lattice axes for this tetragonal cell) should show it. Cubic Na3PS4 is
# an isotropic Na conductor. The framework drift (mean displacement of the non-mobile atoms) is
# removed, as pymatgen does. Times are the corrected ones.

# %%
per_run_o, per_cond_o, curves_o = runs.condition_table(other, other_trajs, ["system"], drift=True)
fig = ch03fig.plot_msd_components(per_cond_o, curves_o)
format_table(per_cond_o[ch03.OTHER_COLUMNS])


# %%
display(Markdown(ch03.components_text(per_cond_o)))


# %% [markdown]
# ## Cross-check against kinisi and pymatgen
#
# The same frames go through `kinisi` and `pymatgen-analysis-diffusion`:
#
# * **kinisi** computes the same all-origins MSD; we give it the same lags (up to half the run)
#   and the same start of the fit (½τmax). Its D is the posterior mean of a Bayesian
#   *generalised* least squares fit that uses the covariance of the MSD (our Eq. 4 fit is ordinary
#   least squares), and it removes the whole-cell centre-of-mass drift. To separate the two
#   effects we also fit its MSD with our OLS over the same window. (Times are passed to kinisi in
#   fs: kinisi truncates dt / (time step × step skip) to an integer, so with times in ps a ratio
#   that should be a whole number of frames can come out just below it, turning a lag into the
#   previous one, duplicating lags and biasing its D low. Integer-valued fs times avoid it.)
# * **pymatgen** `DiffusionAnalyzer(smoothed="max")` removes the framework drift and fits all
#   lags with observation-count weights, not the ½τmax … τmax window.

# %%
groups = ch03.comparison_groups(argy, argy_trajs, other, other_trajs)
cmp = reference.compare_estimators(groups, compare_kinisi=compare_kinisi, seed=seed, kinisi_samples=kinisi_samples)
format_table(cmp, units={"disorder": "%", "D_ours": "cm²/s", "D_pymatgen": "cm²/s", "D_kinisi": "cm²/s"})


# %%
if compare_kinisi:
    display(Markdown(ch03.kinisi_text(cmp)))
display(Markdown(ch03.pymatgen_text(cmp)))


# %% [markdown]
# ## The generated CHGNet set: Arrhenius, VDOS and vibrational descriptors
#
# Three Li conductors (LGPS, β-Li3PS4, Li7P3S11; Materials Project cells) at several temperatures,
# Nosé–Hoover NVT production after a Langevin equilibration, positions **and velocities** stored
# (the data paragraph above gives sizes, lengths and intervals; `data/md/README.md` has the exact
# commands, seeds and versions). The runs are far shorter and smaller than the paper's DFT runs,
# and CHGNet is a universal machine-learned potential, so D carries large errors and CHGNet's
# known softening; the VDOS, which converges in picoseconds, is the robust output.

# %%
gen_table, gen_ok, spectra, gen_curves = ch03.generated_set(md_max_runs, diffusive_threshold_A)
if len(gen_table):
    display(format_table(gen_ok[ch03.GENERATED_COLUMNS]))
    display(Markdown(ch03.molten_text(gen_ok)))
else:
    display(Markdown(ch03.NO_GENERATED_TEXT))


# %%
if len(gen_ok):
    fig = ch03fig.plot_generated_msd(gen_ok, gen_curves)


# %%
arr = ch03.arrhenius(gen_ok)
if len(gen_ok):
    fig = ch03fig.plot_arrhenius(gen_ok, arr)
    display(format_table(arr, empty="No material has two temperatures with a solid framework: no Arrhenius fit."))
    display(Markdown(ch03.arrhenius_text(arr, gen_ok)))


# %%
if len(gen_ok):
    fig = ch03fig.plot_vdos_species(spectra)


# %%
if len(gen_ok):
    fig = ch03fig.plot_vdos_diffusive(spectra)


# %% [markdown]
# Diffusive ions are those whose mean position over the last tenth of the run lies more than
# `diffusive_threshold_A` from their mean position over the first tenth. Their spectrum keeps
# weight as ω goes to zero (the Fourier transform of a VACF whose integral is D), which is what
# lowers ⟨ω₃₀⟩ in diffusive materials.
#
# ### Every vibrational descriptor against temperature
#
# The definitions follow; the code is `matmap_utils.transport.vibrations`.

# %%
display(Markdown(ch03.VIB_DEFINITIONS))
if len(gen_ok):
    fig = ch03fig.plot_descriptors_vs_T(gen_ok)
    display(Markdown(ch03.low_temperature_text(gen_ok)))


# %% [markdown]
# ## Descriptor table
#
# One row per material and temperature: the argyrodite conditions, LGPS, Na3PS4 and the generated
# runs. Vibrational columns need resolved spectra: they are left empty when the frames are too
# sparse for the spectrum (`nyquist_meV` too low, as for the argyrodites' frames), and for the two
# pymatgen test runs they come from finite differences (`velocities_from_file` = no) at the frame
# interval decided above. When finite-difference velocities give a kinetic temperature far from
# the stated one, the vibrational columns are left empty (`time_metadata_suspect`).

# %%
desc = ch03.descriptor_table(argy, argy_trajs, per_cond, other, other_trajs, gen_ok, diffusive_threshold_A)
format_table(desc[ch03.SUMMARY_COLUMNS])


# %%
write_table(NB, "md_descriptors", desc)
write_table(NB, "argyrodite_runs", per_run)
write_table(NB, "argyrodite_conditions", per_cond)
write_table(NB, "reference_comparison", cmp)
if len(gen_table):
    write_table(NB, "generated_runs", gen_table)
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
_ = write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)


# %% [markdown]
# ## What we found

# %%
display(Markdown(ch03.found_text(per_cond, per_cond_o, cmp, arr, gen_ok)))
