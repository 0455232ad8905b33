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
import numpy as np
from IPython.display import Markdown, display

from matmap_utils.chapters.results import Timer, savefig, write_metrics, write_table
from matmap_utils.transport import correlations, mlp
from matmap_utils.transport import sse_descriptors as sd
from matmap_utils.viz import interactive_table, set_style

set_style()
timer = Timer()
NB = "04_correlograms"
jobs = None if n_jobs in (0, None) else int(n_jobs)
sources = tuple(s.strip() for s in optional_sources.split(",") if s.strip())
TARGET = "log10_sigma"

# %% [markdown]
# ## The descriptor table (Table 1 analogue)
#
# Every OBELiX entry with a CIF is turned into one row of descriptors. Partially occupied sites are
# kept as they are and every quantity is occupancy-weighted (see `matmap_utils.transport.sse_descriptors`):
# nothing is ordered and no disordered entry is dropped. Entries that cannot be used are listed
# below with the reason.

# %%
built = sd.obelix_descriptor_table(sources=sources, n_jobs=jobs, bvse_timeout=bvse_timeout)
table, unusable, status = built["table"], built["unusable"], built["status"]
desc_cols = sd.descriptor_columns(table)
sparse = [c for c in desc_cols if table[c].notna().sum() < 3]
constant = [c for c in desc_cols if c not in sparse and table[c].round(9).nunique(dropna=True) <= 1]
num_cols = [c for c in desc_cols if c not in constant and c not in sparse]
display(
    Markdown(
        f"**{len(table)} materials** with a structure and a room-temperature conductivity "
        f"({int(table['has_disorder'].sum())} of them partially occupied), "
        f"{len(num_cols)} varying numeric descriptors. "
        f"Constant over this Li-only set, hence left out of the statistics: {', '.join(constant) or 'none'}. "
        f"Known for fewer than 3 materials, also left out: {', '.join(sparse) or 'none'}.\n\n"
        + "\n".join(f"- optional source **{k}**: {v}" for k, v in status.items())
    )
)
cat_tab = sd.category_table([c for c in sd.CATEGORIES if c in table.columns])
cat_tab["n_values"] = [int(table[c].notna().sum()) for c in cat_tab["descriptor"]]
display(cat_tab)

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
chem_counts = table.groupby("anion_class").agg(
    n=("log10_sigma", "size"), median_log10_sigma=("log10_sigma", "median"), superionic=("superionic", "mean")
)
display(chem_counts)

# %% [markdown]
# ## Fig. 1 analogue: Spearman correlograms and p-values
#
# All pairs of descriptors (and log10 σ_RT), pairwise-complete observations. The paper calls a
# correlation significant at p < 0.2; we mark that level and also report the conventional 0.05.

# %%
stat_cols = [TARGET] + [c for c in num_cols if not c.startswith("md_")]  # MD: own section below
sp_all = correlations.corr_matrix(table[stat_cols], "spearman")
fig, axes = plt.subplots(1, 2, figsize=(15, 7))
correlations.plot_correlogram(sp_all, axes[0], axes[1], title=f"Fig. 1(a,b) analogue: all {len(table)}")
fig.tight_layout()
savefig(fig, NB, "fig1_all")
plt.show()

# %%
subsets = [c for c, n in table["anion_class"].value_counts().items() if n >= subset_min]
fig, axes = plt.subplots(2, len(subsets), figsize=(6.5 * len(subsets), 12), squeeze=False)
sub_res = {}
for j, chem in enumerate(subsets):
    part = table[table["anion_class"] == chem]
    cols = [c for c in stat_cols if part[c].nunique(dropna=True) > 1]
    sub_res[chem] = correlations.corr_matrix(part[cols], "spearman")
    correlations.plot_correlogram(sub_res[chem], axes[0, j], axes[1, j], title=f"{chem}s (n={len(part)})")
fig.suptitle("Fig. 1(c,d) analogue: per chemistry (majority anion)")
fig.tight_layout()
savefig(fig, NB, "fig1_subsets")
plt.show()

# %%
long_all = sp_all.long()
n_pairs = long_all["p"].notna().sum()
n02 = int((long_all["p"] < 0.2).sum())
n005 = int((long_all["p"] < 0.05).sum())
lines = [f"All materials: {n02} of {n_pairs} descriptor pairs have p < 0.2, {n005} have p < 0.05."]
for chem, res in sub_res.items():
    lo = res.long()
    lines.append(f"{chem}s: {int((lo['p'] < 0.2).sum())} of {int(lo['p'].notna().sum())} pairs with p < 0.2.")
display(
    Markdown(
        " ".join(lines) + " As in the paper, the larger set has more significant pairs at "
        "the same threshold, largely because p-values shrink with n."
    )
)

# %% [markdown]
# ## Fig. 2 analogue: what correlates with the conductivity
#
# The paper's target is the AIMD diffusion coefficient *D* at 500 ± 100 K; ours is the measured
# log10 σ_RT. Bars: Spearman ρ of every descriptor with log10 σ_RT, coloured by its p-value.

# %%
corr_all = correlations.correlations_with(table[stat_cols], TARGET)
fig, axes = plt.subplots(1, 1 + len(subsets), figsize=(5.5 * (1 + len(subsets)), 8), squeeze=False)
correlations.plot_target_bars(corr_all, axes[0, 0], title=f"Fig. 2(b) analogue: all (n={len(table)})")
corr_sub = {}
for j, chem in enumerate(subsets):
    part = table[table["anion_class"] == chem]
    cols = [c for c in stat_cols if part[c].nunique(dropna=True) > 1]
    corr_sub[chem] = correlations.correlations_with(part[cols], TARGET)
    correlations.plot_target_bars(corr_sub[chem], axes[0, j + 1], title=f"Fig. 2(c) analogue: {chem}s (n={len(part)})")
fig.tight_layout()
savefig(fig, NB, "fig2_bars")
plt.show()

# %%
top = corr_all.dropna(subset=["spearman"]).head(5)
display(top[["spearman", "p_spearman", "pearson", "p_pearson", "n"]].round(4))
n20 = int((corr_all["spearman"].abs() > 0.2).sum())
display(
    Markdown(
        f"{n20} of {corr_all['spearman'].notna().sum()} descriptors have |ρ| > 0.2 with log10 σ_RT "
        f"(the paper: 19 of 53 with D). The strongest is **{top.index[0]}** (ρ = {top['spearman'].iloc[0]:+.2f}, "
        f"p = {top['p_spearman'].iloc[0]:.1e}); the five strongest are listed above."
    )
)

# %% [markdown]
# ### Fig. 2(a) analogue: standardized pairs
#
# Standardized values x̂ = (x − ⟨x⟩)/σ_x of log10 σ_RT against the two descriptors most correlated
# with it, with a running median (monotonic guide) and the least-squares line (linear guide).

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
for ax, col in zip(axes, top.index[:2]):
    d = table[[col, TARGET]].dropna()
    z = (d - d.mean()) / d.std(ddof=0)
    ax.scatter(z[col], z[TARGET], s=10, alpha=0.6, c=table.loc[d.index, "superionic"].map({True: "C1", False: "C0"}))
    zs = z.sort_values(col)
    ax.plot(zs[col], zs[TARGET].rolling(31, center=True, min_periods=10).median(), "C3", lw=2, label="running median")
    b = np.polyfit(z[col], z[TARGET], 1)
    xx = np.linspace(z[col].min(), z[col].max(), 10)
    ax.plot(xx, np.polyval(b, xx), "k--", lw=1, label="linear fit")
    ax.set_xlabel(f"standardized {col}")
    ax.set_ylabel("standardized log10 σ_RT")
    ax.set_title(f"ρ_S = {corr_all.loc[col, 'spearman']:+.2f}, ρ_P = {corr_all.loc[col, 'pearson']:+.2f}")
    ax.legend(fontsize=8)
fig.suptitle("Fig. 2(a) analogue (orange: superionic, σ ≥ 1e-4 S/cm)")
fig.tight_layout()
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
display(
    Markdown(
        f"{len(dis)} of {corr_all['spearman'].notna().sum()} descriptors are read differently by the two coefficients."
        if len(dis)
        else "Pearson and Spearman agree for every descriptor here."
    )
)

# %% [markdown]
# ## Fig. 3 analogue: the paper's MLP
#
# scikit-learn `MLPRegressor` with the paper's hyper-parameters (hidden layers 200-500-50-150-70-100,
# ReLU, Adam, constant learning rate 5·10⁻⁴, L2 α = 0.05), standardized numeric inputs (median
# imputation for the few missing values), one-hot encoded categorical inputs (space group, majority
# anion), leave-one-material-group-out validation with the OBELiX `Family` as the group, scored by
# the paper's MAPE (Eq. 8: mean absolute error divided by the mean of the true values).

# %%
cat_inputs = ["anion_class", "spacegroup_cat"]
mlp_df = table.copy()
mlp_df["spacegroup_cat"] = mlp_df["spacegroup"].astype("Int64").astype(str)
num_inputs = [c for c in num_cols if c != "spacegroup" and not c.startswith("md_")]
md_inputs = [c for c in num_cols if c.startswith("md_")]
max_groups = None if mlp_max_groups in (0, None) else int(mlp_max_groups)
pred_sigma, m_sigma = mlp.mlp_group_cv(
    mlp_df, TARGET, num_inputs, cat_inputs, "family", max_iter=mlp_max_iter, seed=seed, max_groups=max_groups
)
mape = {"log10_sigma": m_sigma["mape"]}
fig, ax = plt.subplots(figsize=(5, 5))
ok = pred_sigma.notna()
ax.scatter(mlp_df.loc[ok, TARGET], pred_sigma[ok], s=10, alpha=0.6)
lims = [mlp_df[TARGET].min() - 0.5, mlp_df[TARGET].max() + 0.5]
ax.plot(lims, lims, "k--", lw=1)
ax.set_xlabel("measured log10 σ_RT")
ax.set_ylabel("MLP prediction (held-out family)")
ax.set_title(f"Fig. 3 analogue: MAPE = {100 * m_sigma['mape']:.0f} %, MAE = {m_sigma['mae']:.2f} dex")
savefig(fig, NB, "fig3_mlp_sigma")
plt.show()
display(
    Markdown(
        f"{m_sigma['n']} materials predicted from models that never saw their family ({m_sigma['n_groups']} "
        f"families held out, {mlp_max_iter} epochs). MAPE (Eq. 8) = {100 * m_sigma['mape']:.0f} % of the mean "
        f"log10 σ, i.e. a mean error of {m_sigma['mae']:.2f} decades. "
        + (
            f"The MD-derived descriptors exist for only {int(table[md_inputs].notna().any(axis=1).sum())} of these "
            "materials, too few for a with/without comparison on σ_RT; it is made on the MD table below."
            if md_inputs
            else "No MD-derived descriptors are joined to these materials (see the MD section)."
        )
    )
)

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
    display(
        Markdown(
            f"**This part is skipped** — {status['md'].removeprefix('skipped: ')}. "
            "Once notebook 03 has written its table, this section fills in."
        )
    )
else:
    mf = sd.md_frame(md)
    vib = sd.md_vibrational_columns(mf)
    md_cols = ["log10_D", "temperature_K"] + vib
    sp_md = correlations.corr_matrix(mf[md_cols], "spearman")
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.5))
    correlations.plot_correlogram(
        sp_md, axes[0], axes[1], title=f"MD table ({len(mf)} runs, {mf['material'].nunique()} materials)"
    )
    fig.tight_layout()
    savefig(fig, NB, "fig1_md")
    plt.show()
    corr_md = correlations.correlations_with(mf[md_cols], "log10_D")
    display(corr_md.round(3))
    for tgt in [t for t in ("log10_D", "omega_mean_meV", "Cv_kB_atom") if t in mf]:
        sub = mf.dropna(subset=[tgt])
        if sub["material"].nunique() < 3:
            display(Markdown(f"{tgt}: values for {sub['material'].nunique()} material(s) only — no MLP."))
            continue
        anh = ["temperature_K"] + [c for c in vib + ["log10_D"] if c != tgt]
        for name, inputs in (("anharmonic", anh), ("harmonic", ["temperature_K"])):
            _, m = mlp.mlp_group_cv(sub, tgt, inputs, ["specie"], "material", max_iter=mlp_max_iter, seed=seed)
            md_metrics[f"{tgt}_{name}"] = m["mape"]
    display(
        Markdown(
            f"{len(mf)} MD runs of {mf['material'].nunique()} materials; a Lindemann ratio for "
            f"{int(mf['lindemann'].notna().sum()) if 'lindemann' in mf else 0} of them, a vibrational density of "
            f"states (⟨ω⟩, C_v, S_vib…) for {int(mf['omega_mean_meV'].notna().sum()) if 'omega_mean_meV' in mf else 0} "
            "(velocities are needed). Leave-one-material-out MLP MAPE: "
            + (", ".join(f"{k} = {100 * v:.0f} %" for k, v in md_metrics.items()) or "none possible")
            + ". With this few runs the numbers illustrate the protocol, they do not test the paper's claim."
        )
    )
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
top5 = [
    {"descriptor": i, "rho": float(r["spearman"]), "p": float(r["p_spearman"]), "n": int(r["n"])}
    for i, r in top.iterrows()
]
write_metrics(
    NB,
    {
        "n_materials": int(len(table)),
        "n_unusable": int(len(unusable)),
        "n_descriptors": len(num_cols),
        "top5_spearman_log10_sigma": top5,
        "mape": {k: float(v) for k, v in mape.items()},
        "mlp_max_iter": int(mlp_max_iter),
        "mlp_groups_held_out": int(m_sigma["n_groups"]),
        "optional_sources": status,
    },
    profile=profile,
    seed=seed,
    wall_time_s=timer.elapsed,
)
display(Markdown(f"Wall time: {timer.elapsed:.0f} s."))
