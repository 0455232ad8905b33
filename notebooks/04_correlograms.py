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
# López et al. {cite}`lopez2023universal` correlate the ion diffusion coefficient *D* of simulated
# solid electrolytes with descriptors of three kinds (their Table 1: mechanical–elastic M–E,
# diffusive–vibrational D–V, structural–compositional S–C), with Spearman and Pearson coefficients
# and their p-values (Figs. 1–2), and train a multilayer perceptron to predict *D* and other
# finite-temperature quantities (Fig. 3). Their table is not public. Here the same statistics are
# applied to the largest public structure–conductivity data: the OBELiX entries
# {cite}`therrien2025obelix` with a CIF and a measured room-temperature conductivity σ_RT, with
# descriptors this project computes from the (mostly partially occupied) structures, joined with the
# superionic labels of McHaffie et al. {cite}`mchaffie2025classification`, MEGNet predictions
# {cite}`chen2019megnet`, BVSE migration barriers and — where a material was simulated — the
# molecular-dynamics descriptors of [the trajectory chapter](03_aimd_trajectories.ipynb).

# %% tags=["parameters"]
profile = "paper"
seed = 0
n_jobs = 0  # worker processes (0: all cores)
optional_sources = "megnet,bvse"  # comma-separated: megnet, bvse ("" for none)
bvse_timeout = 120  # seconds per structure
mlp_max_iter = 500  # MLP epochs (Adam)
mlp_max_groups = 0  # 0: hold out every OBELiX family in turn; n: only the n largest
subset_min = 15  # smallest chemistry subset that gets its own correlogram
n_boot = 1000  # bootstrap resamples for every confidence interval

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from matmap_utils.chapters import ch04_claims as claims
from matmap_utils.chapters import ch04_correlograms as ch04
from matmap_utils.chapters.results import Timer, savefig, write_metrics, write_table
from matmap_utils.transport import correlations, mlp, sse_md
from matmap_utils.viz import corr_heatmap, corr_heatmap_groups, format_table, interactive_table, set_style, show_plotly

set_style()
timer = Timer()
NB = ch04.NB
jobs = None if n_jobs in (0, None) else int(n_jobs)
max_groups = None if mlp_max_groups in (0, None) else int(mlp_max_groups)
TARGET = ch04.TARGET


# %%
display(Markdown(ch04.intro_text()))


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
format_table(ch04.category_overview(table), rename={"n_values": "materials with a value"})


# %%
display(Markdown(f"### Entries not used ({len(unusable)})"))
display(format_table(unusable["reason"].value_counts().to_frame("entries")))
interactive_table(unusable)

# %% [markdown]
# ## The mechanical–elastic descriptors (M–E)

# %%
display(Markdown(ch04.me_text()))
me_cols = [c for c in table.columns if ch04.CATEGORIES.get(c) == "M-E"]
n_me = int(table[me_cols].notna().all(axis=1).sum()) if me_cols else 0
display(
    Markdown(
        f"M–E columns for **{n_me} of {len(table)}** materials ({100 * n_me / len(table):.1f} %). {status['elastic']}"
    )
)
if me_cols:
    display(format_table(table[me_cols].describe().T.drop(columns="count"), sig=3))


# %% [markdown]
# ### Checked against experiment
#
# MEGNet + formulas against published room-temperature elastic data of Li compounds
# (single-crystal C_ij VRH-averaged, or polycrystal moduli; sources in the last column). The
# rock-salt and antifluorite cells are built at their room-temperature lattice constants; the
# garnet is its OBELiX entry.

# %%
exp_chk = claims.experimental_check(built["structures"], table["formula"])
exp_summ = claims.experimental_summary(exp_chk, n_boot=n_boot, seed=seed)
display(format_table(exp_chk.drop(columns=["obelix_id"]), units={"K_rel_err": "", "G_rel_err": ""}))
display(Markdown(claims.experimental_text(exp_chk, exp_summ)))


# %%
format_table(
    ch04.chemistry_counts(table),
    rename={"n": "materials", "median_log10_sigma": "median log10 σ_RT (S/cm)", "superionic": "superionic fraction"},
)


# %% [markdown]
# ## Fig. 1 analogue: Spearman correlograms and p-values
#
# All pairs of descriptors (and log₁₀ σ_RT), pairwise-complete observations. The paper calls a
# correlation significant at its own, lenient p-value threshold; we mark that level (a dot) and
# also report the conventional one. Hover over a cell of the interactive matrix for the pair, ρ,
# p and n; the static figure below it shows log₁₀ σ_RT and the descriptors most correlated with it.

# %%
stat_cols = ch04.stat_columns(num_cols)  # MD descriptors: own section below
sp_all = correlations.corr_matrix(table[stat_cols], "spearman")
corr_all = correlations.correlations_with(table[stat_cols], TARGET)
title_all = f"Fig. 1(a,b) analogue: all {len(table)} materials"
show_plotly(corr_heatmap(sp_all.r, sp_all.p, sp_all.n, title=title_all, alpha=correlations.PAPER_ALPHA))


# %%
fig = ch04.static_correlogram(sp_all, corr_all, k=20, title=title_all)
savefig(fig, NB, "fig1_all")
plt.show()


# %%
subsets = ch04.chemistry_subsets(table, subset_min)
sub_res = ch04.subset_correlograms(table, stat_cols, subsets)
groups = {f"{chem}s (n={int(r.n.to_numpy().diagonal().max())})": (r.r, r.p, r.n) for chem, r in sub_res.items()}
if groups:
    show_plotly(corr_heatmap_groups(groups, title="Fig. 1(c,d) analogue: per chemistry (choose the subset)"))
display(Markdown(ch04.significance_text(sp_all, sub_res)))


# %% [markdown]
# ## Fig. 2 analogue: what correlates with the conductivity
#
# The paper's target is the AIMD diffusion coefficient *D*; ours is the measured log₁₀ σ_RT. Each
# cell: Spearman ρ of a descriptor with log₁₀ σ_RT, for all materials and per chemistry subset.

# %%
corr_sub, fig = ch04.target_bars(table, stat_cols, subsets, corr_all)
savefig(fig, NB, "fig2_bars")
plt.show()


# %%
top = corr_all.dropna(subset=["spearman"]).head(5)
display(format_table(top[["spearman", "p_spearman", "pearson", "p_pearson", "n"]]))
display(Markdown(ch04.top_text(corr_all, top)))


# %% [markdown]
# ### Fig. 2(a) analogue: standardized pairs
#
# Standardized values x̂ = (x − ⟨x⟩)/σ_x of log₁₀ σ_RT against the two descriptors most correlated
# with it, with a running median (monotonic guide) and the least-squares line (linear guide).

# %%
fig = ch04.plot_standardized_pairs(table, top.index[:2], corr_all)
savefig(fig, NB, "fig2a_scatter")
plt.show()


# %% [markdown]
# ### Where Pearson and Spearman disagree
#
# A descriptor is flagged when the two coefficients differ in sign, in significance at the
# conventional level, or by a large margin (`matmap_utils.transport.correlations.correlations_with`)
# — the paper's warning that linear correlation misreads monotonic relations.

# %%
dis = corr_all[corr_all["disagree"]][["spearman", "p_spearman", "pearson", "p_pearson", "n"]]
display(format_table(dis, empty="Pearson and Spearman agree for every descriptor here."))
display(Markdown(ch04.disagreement_text(dis, corr_all)))


# %% [markdown]
# ## The paper's claims, tested
#
# Every Li-only Spearman coefficient López et al. quote (Fig. 2(c) and its discussion) beside ours
# on the same protocol: Spearman ρ over pairwise-complete materials, two-sided p, percentile
# bootstrap 95 % CI over materials (`n_boot` resamples), n. **Verdict** (computed,
# `matmap_utils.chapters.ch04_claims.verdict`): *supported* — the CI excludes zero on the paper's
# side; *contradicted* — the CI excludes the paper's value and does not lie on its side of zero;
# *inconclusive* — the CI holds both zero and the paper's value; *not testable here* — too few
# materials, or no such descriptor. The M–E rows use the structure table (target: measured
# log₁₀ σ_RT); the vibrational rows use the MD table in the paper's temperature window (target:
# log₁₀ D of the runs, one value per Li material). The target of each row is stated beside it.

# %%
md_mat = claims.md_per_material(built["md"])
claims_tab = claims.correlation_claims(table, md_mat, target=TARGET, n_boot=n_boot, seed=seed)
display(format_table(claims_tab, rename={"rho": "ρ (ours)", "ci_lo": "95 % CI low", "ci_hi": "95 % CI high"}))
display(Markdown(claims.claims_text(claims_tab)))


# %% [markdown]
# ## Fig. 3 analogue: the paper's MLP

# %%
display(Markdown(ch04.mlp_setup_text(mlp.PAPER_MLP)))
mlp_df, num_inputs, md_inputs = ch04.mlp_inputs(table, num_cols)
pred_sigma, m_sigma = mlp.mlp_group_cv(
    mlp_df,
    TARGET,
    num_inputs,
    ch04.CAT_INPUTS,
    "family",
    max_iter=mlp_max_iter,
    seed=seed,
    max_groups=max_groups,
    n_jobs=jobs,
)
mape = {"log10_sigma": m_sigma["mape"]}
fig = ch04.plot_mlp(mlp_df, pred_sigma, m_sigma)
savefig(fig, NB, "fig3_mlp_sigma")
plt.show()
display(Markdown(ch04.mlp_text(m_sigma, mlp_max_iter, table, md_inputs)))


# %% [markdown]
# ### The paper's MLP variants
#
# López et al. train the MLP with all descriptors ("anharmonic") and without the AIMD descriptors,
# every other input kept ("harmonic"). Same leave-one-family-out protocol as above; MAPE (Eq. 8)
# with a 95 % CI from resampling the held-out predictions by whole family. A third variant drops
# the M–E descriptors instead, to show what MEGNet's moduli add.

# %%
variants = ch04.mlp_variant_inputs(num_inputs, md_inputs, table)
var_tab, var_pred = claims.mlp_variants(
    mlp_df,
    TARGET,
    variants,
    ch04.CAT_INPUTS,
    max_iter=mlp_max_iter,
    seed=seed,
    max_groups=max_groups,
    n_boot=n_boot,
    n_jobs=jobs,
    known={tuple(num_inputs): pred_sigma},  # the σ model above: the same fits
)
names = list(variants)
d_aimd = claims.mape_difference(mlp_df, TARGET, var_pred[names[0]], var_pred[names[1]], n_boot=n_boot, seed=seed)
d_me = claims.mape_difference(mlp_df, TARGET, var_pred[names[0]], var_pred[names[2]], n_boot=n_boot, seed=seed)
display(format_table(var_tab, rename={"mape": "MAPE", "ci_lo": "95 % CI low", "ci_hi": "95 % CI high"}))
display(Markdown(ch04.variants_text(var_tab, d_aimd, d_me, md_inputs)))


# %% [markdown]
# ## The MD table of the trajectory chapter
#
# The paper's central correlations are between *D* and vibrational descriptors from AIMD.
# [The trajectory chapter](03_aimd_trajectories.ipynb) computes *D* and vibrational descriptors
# from molecular-dynamics trajectories. The correlogram uses only the runs in the paper's
# temperature window, so that temperature, which moves D and every vibrational descriptor
# together, cannot create the correlations; the MLP below compares inputs with ("anharmonic") and
# without ("harmonic") the vibrational descriptors.

# %%
md = built["md"]
md_metrics, md_note = {}, None
if md is None:
    display(Markdown(ch04.md_skipped_text(status)))
else:
    mf = sse_md.md_frame(md)
    mf_T = sse_md.at_temperature(mf)
    vib = sse_md.md_vibrational_columns(mf)
    md_cols = ["log10_D"] + [c for c in vib if mf_T[c].notna().sum() >= 3]
    display(Markdown(ch04.md_selection_text(mf, mf_T)))
    md_note = ch04.md_correlation_text(mf_T)
    if md_note:
        display(Markdown(md_note))
    else:
        sp_md = correlations.corr_matrix(mf_T[md_cols], "spearman")
        show_plotly(corr_heatmap(sp_md.r, sp_md.p, sp_md.n, title="MD table, runs in the paper's window"))
        display(format_table(correlations.correlations_with(mf_T[md_cols], "log10_D")))


# %% [markdown]
# The MLP on the MD table uses every temperature, as the paper's; its "harmonic" variant keeps the
# temperature and the zero-temperature descriptors of the material (the structure table's, matched
# by reduced formula) and drops only the MD-derived ones.

# %%
if md is not None:
    mf_s, static = sse_md.join_static(mf, table, [c for c in num_inputs if c != "spacegroup"])
    md_metrics, notes = mlp.harmonic_vs_anharmonic(
        mf_s, vib, static=static, max_iter=mlp_max_iter, seed=seed, n_jobs=jobs
    )
    for note in notes:
        display(Markdown(note))
    display(Markdown(ch04.md_text(mf, md_metrics)))
mape.update({f"md_{k}": v for k, v in md_metrics.items()})


# %% [markdown]
# ## How our data differ from the paper's
#
# - **Target.** The paper correlates the AIMD diffusion coefficient *D* at moderate temperature; we
#   correlate the *measured* room-temperature conductivity of polycrystalline samples, which also
#   contains grain boundaries, density and carrier concentration, and spans many decades (censored
#   values such as "below a detection limit" are taken at their bound).
# - **Materials.** The paper has Li, Na, halide, O, Ag and Cu as mobile ions; here every material
#   is a Li conductor, so the mobile-ion mass, charge and polarizability are constant and drop out,
#   and the chemistry subsets are anion classes rather than mobile ions.
# - **Descriptors.** The M–E descriptors are MEGNet predictions through isotropic formulas (errors of
#   tens of per cent against experiment, above), not DFT tensors; except for the few simulated
#   systems there are no finite-temperature vibrational descriptors. The rest are
#   structural–compositional, computed from experimental, partially occupied structures with the
#   small deliberate positional noise OBELiX adds, plus MEGNet predictions and static BVSE barriers
#   (ordered structures only).
# - **Validation.** The paper's K-fold holds out one *material* (all its temperatures); ours holds
#   out a whole *family*, a harder test of transfer to new chemistries.

# %%
write_table(NB, "sse_descriptors", table)
write_table(NB, "unusable", unusable.set_index("id"))
write_table(NB, "correlations_with_sigma", corr_all)
write_table(NB, "claims", claims_tab)
write_table(NB, "elastic_experimental_check", exp_chk)
write_table(NB, "mlp_variants", var_tab)
metrics = ch04.metrics(table, unusable, num_cols, top, mape, mlp_max_iter, m_sigma, status)
metrics.update(ch04.claims_metrics(claims_tab, exp_summ, var_tab, d_aimd, d_me, n_me, md, n_boot))
_ = write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)


# %% [markdown]
# ## What we found

# %%
top_ci = {
    "descriptor": top.index[0],
    **claims.claim_row(table[top.index[0]], table[TARGET], top["spearman"].iloc[0], n_boot=n_boot, seed=seed),
}
display(Markdown(ch04.found_text(table, corr_all, top_ci, claims_tab, exp_summ, var_tab, d_aimd, md_note)))
