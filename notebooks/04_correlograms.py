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
# # Descriptor correlograms of solid electrolytes
#
# López et al. (Mater. Horiz. 10, 1757, 2023) correlate the ion diffusion coefficient *D* of 61
# simulated solid electrolytes with 54 descriptors (their Table 1: mechanical–elastic M–E,
# diffusive–vibrational D–V, structural–compositional S–C), with Spearman and Pearson coefficients
# and their p-values (Figs. 1–2), and train a multilayer perceptron to predict *D* and other
# finite-temperature quantities (Fig. 3). Their table is not public. Here the same statistics are
# applied to the largest public structure–conductivity data: the OBELiX entries with a CIF and a
# measured room-temperature conductivity σ_RT, with descriptors this project computes from the
# (mostly partially occupied) structures, joined with the McHaffie et al. superionic labels, MEGNet
# predictions, BVSE migration barriers and — where a material was simulated — the molecular-dynamics
# descriptors of the trajectory chapter.

# %% tags=["parameters"]
profile = "paper"
seed = 0
n_jobs = 0  # worker processes (0: all cores)
optional_sources = "megnet,bvse"  # comma-separated: megnet, bvse ("" for none)
bvse_timeout = 120  # seconds per structure
mlp_max_iter = 500  # MLP epochs (Adam)
mlp_max_groups = 0  # 0: hold out every OBELiX family in turn; n: only the n largest
subset_min = 15  # smallest chemistry subset that gets its own correlogram

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from matmap_utils.chapters import ch04_correlograms as ch04
from matmap_utils.chapters.results import Timer, savefig, write_metrics, write_table
from matmap_utils.transport import correlations, mlp, sse_md
from matmap_utils.viz import interactive_table, set_style

set_style()
timer = Timer()
NB = ch04.NB
jobs = None if n_jobs in (0, None) else int(n_jobs)
max_groups = None if mlp_max_groups in (0, None) else int(mlp_max_groups)
TARGET = ch04.TARGET


# %% [markdown]
# ## The descriptor table (Table 1 analogue)
#
# Every OBELiX entry with a CIF is turned into one row of descriptors. Partially occupied sites are
# kept as they are and every quantity is occupancy-weighted (see `matmap_utils.transport.sse_descriptors`):
# nothing is ordered and no disordered entry is dropped. Entries that cannot be used are listed
# below with the reason.

# %%
sources = ch04.parse_sources(optional_sources)
built = ch04.descriptor_table(sources=sources, n_jobs=jobs, bvse_timeout=bvse_timeout)
table, unusable, status = built["table"], built["unusable"], built["status"]
num_cols, constant, sparse = ch04.usable_columns(table)
display(Markdown(ch04.table_text(table, num_cols, constant, sparse, status)))
display(ch04.category_overview(table))


# %%
display(Markdown(f"### Entries not used ({len(unusable)})"))
display(unusable["reason"].value_counts().to_frame("entries"))
interactive_table(unusable)

# %% [markdown]
# The paper's M–E category (elastic moduli, hardness, sound velocities) has **no column**: no
# elastic tensors are public for these compositions, and computing them for disordered cells is
# outside this book. The D–V category holds only the static BVSE barriers for most materials; the
# finite-temperature AIMD descriptors exist only for the few simulated systems.

# %%
display(ch04.chemistry_counts(table))


# %% [markdown]
# ## Fig. 1 analogue: Spearman correlograms and p-values
#
# All pairs of descriptors (and log10 σ_RT), pairwise-complete observations. The paper calls a
# correlation significant at p < 0.2; we mark that level and also report the conventional 0.05.

# %%
stat_cols = ch04.stat_columns(num_cols)  # MD descriptors: own section below
sp_all = correlations.corr_matrix(table[stat_cols], "spearman")
fig, axes = plt.subplots(1, 2, figsize=(15, 7))
correlations.plot_correlogram(sp_all, axes[0], axes[1], title=f"Fig. 1(a,b) analogue: all {len(table)}")
fig.tight_layout()
savefig(fig, NB, "fig1_all")
plt.show()


# %%
subsets = ch04.chemistry_subsets(table, subset_min)
sub_res, fig = ch04.subset_correlograms(table, stat_cols, subsets)
savefig(fig, NB, "fig1_subsets")
plt.show()


# %%
display(Markdown(ch04.significance_text(sp_all, sub_res)))


# %% [markdown]
# ## Fig. 2 analogue: what correlates with the conductivity
#
# The paper's target is the AIMD diffusion coefficient *D* at 500 ± 100 K; ours is the measured
# log10 σ_RT. Bars: Spearman ρ of every descriptor with log10 σ_RT, coloured by its p-value.

# %%
corr_all = correlations.correlations_with(table[stat_cols], TARGET)
corr_sub, fig = ch04.target_bars(table, stat_cols, subsets, corr_all)
savefig(fig, NB, "fig2_bars")
plt.show()


# %%
top = corr_all.dropna(subset=["spearman"]).head(5)
display(top[["spearman", "p_spearman", "pearson", "p_pearson", "n"]].round(4))
display(Markdown(ch04.top_text(corr_all, top)))


# %% [markdown]
# ### Fig. 2(a) analogue: standardized pairs
#
# Standardized values x̂ = (x − ⟨x⟩)/σ_x of log10 σ_RT against the two descriptors most correlated
# with it, with a running median (monotonic guide) and the least-squares line (linear guide).

# %%
fig = ch04.plot_standardized_pairs(table, top.index[:2], corr_all)
savefig(fig, NB, "fig2a_scatter")
plt.show()


# %% [markdown]
# ### Where Pearson and Spearman disagree
#
# A descriptor is flagged when the two coefficients differ in sign, in significance at 0.05, or by
# more than 0.2 — the paper's warning that linear correlation misreads monotonic relations.

# %%
dis = corr_all[corr_all["disagree"]][["spearman", "p_spearman", "pearson", "p_pearson", "n"]]
display(dis.round(4))
display(Markdown(ch04.disagreement_text(dis, corr_all)))


# %% [markdown]
# ## Fig. 3 analogue: the paper's MLP
#
# scikit-learn `MLPRegressor` with the paper's hyper-parameters (hidden layers 200-500-50-150-70-100,
# ReLU, Adam, constant learning rate 5·10⁻⁴, L2 α = 0.05), standardized numeric inputs (median
# imputation for the few missing values), one-hot encoded categorical inputs (space group, majority
# anion), leave-one-material-group-out validation with the OBELiX `Family` as the group, scored by
# the paper's MAPE (Eq. 8: mean absolute error divided by the mean of the true values).

# %%
mlp_df, num_inputs, md_inputs = ch04.mlp_inputs(table, num_cols)
pred_sigma, m_sigma = mlp.mlp_group_cv(
    mlp_df, TARGET, num_inputs, ch04.CAT_INPUTS, "family", max_iter=mlp_max_iter, seed=seed, max_groups=max_groups
)
mape = {"log10_sigma": m_sigma["mape"]}
fig = ch04.plot_mlp(mlp_df, pred_sigma, m_sigma)
savefig(fig, NB, "fig3_mlp_sigma")
plt.show()
display(Markdown(ch04.mlp_text(m_sigma, mlp_max_iter, table, md_inputs)))


# %% [markdown]
# ## The MD table of the trajectory chapter
#
# The paper's central correlations are between *D* and vibrational descriptors from AIMD. Notebook
# 03 computes *D* and vibrational descriptors from molecular-dynamics trajectories; here they get the
# same correlogram and the same MLP, with ("anharmonic") and without ("harmonic") the vibrational
# inputs.

# %%
md = built["md"]
md_metrics = {}
if md is None:
    display(Markdown(ch04.md_skipped_text(status)))
else:
    mf = sse_md.md_frame(md)
    vib = sse_md.md_vibrational_columns(mf)
    md_cols = ["log10_D", "temperature_K"] + vib
    sp_md = correlations.corr_matrix(mf[md_cols], "spearman")
    fig = ch04.plot_md_correlogram(sp_md, mf)
    savefig(fig, NB, "fig1_md")
    plt.show()
    display(correlations.correlations_with(mf[md_cols], "log10_D").round(3))
    md_metrics, notes = mlp.harmonic_vs_anharmonic(mf, vib, max_iter=mlp_max_iter, seed=seed)
    for note in notes:
        display(Markdown(note))
    display(Markdown(ch04.md_text(mf, md_metrics)))
mape.update({f"md_{k}": v for k, v in md_metrics.items()})


# %% [markdown]
# ## How our data differ from the paper's
#
# - **Target.** The paper correlates the AIMD diffusion coefficient *D* at 500 ± 100 K; we correlate
#   the *measured* room-temperature conductivity of polycrystalline samples, which also contains
#   grain boundaries, density and carrier concentration, and spans many decades (censored values
#   such as "< 1e-10 S/cm" are taken at their bound).
# - **Materials.** The paper has 61 materials with Li, Na, halide, O, Ag and Cu as mobile ions;
#   here every material is a Li conductor, so the mobile-ion mass, charge and polarizability are
#   constant and drop out, and the chemistry subsets are anion classes rather than mobile ions.
# - **Descriptors.** No mechanical–elastic descriptors at all and, except for the few simulated
#   systems, no finite-temperature vibrational ones: the descriptors that carry the paper's strongest
#   correlations and its PCA are absent. Ours are mostly structural–compositional, computed from
#   experimental, partially occupied structures with small deliberate positional noise (OBELiX
#   randomises positions by ~0.01 in fractional coordinates), plus MEGNet predictions and static BVSE
#   barriers (ordered structures only).
# - **Validation.** The paper's K-fold holds out one *material* (all its temperatures); ours holds
#   out a whole *family*, a harder test of transfer to new chemistries.

# %%
write_table(NB, "sse_descriptors", table)
write_table(NB, "unusable", unusable.set_index("id"))
write_table(NB, "correlations_with_sigma", corr_all)
metrics = ch04.metrics(table, unusable, num_cols, top, mape, mlp_max_iter, m_sigma, status)
write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)
display(Markdown(f"Wall time: {timer.elapsed:.0f} s."))
