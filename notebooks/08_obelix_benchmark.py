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
# # The OBELiX benchmark: the book's conductivity models on a split nobody here designed
#
# The chapters before this one reproduce three papers on their own terms.  OBELiX
# {cite}`therrien2025obelix` is a community benchmark:
# some six hundred Li solid electrolytes with an experimentally measured room-temperature ionic
# conductivity, composition, space group and lattice parameters for all of them, a CIF for about
# half, and an official train/test split built so that no publication contributes to both.  Its paper
# benchmarks seven model families on that split (the counts of this release are computed below).
#
# Here every model is trained on `train.csv` only, its hyperparameters are chosen by
# cross-validation inside `train.csv` (folds that keep each publication in one fold, like the
# official split), and it is scored **once** on `test.csv`: the OBELiX paper's random-forest and
# MLP baselines reimplemented from its description and code, AtomSets regressors on MEGNet
# {cite}`chen2019megnet` V0–V3 site features ([the screening chapter](06_atomsets_screening.ipynb)'s
# machinery), gradient boosting on the SSE descriptor table of López et al.
# {cite}`lopez2023universal` ([the correlogram chapter](04_correlograms.ipynb)'s machinery), and the
# train median as the trivial baseline. [The data chapter](00_data_overview.ipynb) describes the
# dataset itself.

# %% tags=["parameters"]
profile = "paper"
seed = 0
grid_size = "paper"
n_folds = 5
search_budget = 6
baselines = ["median", "rf", "mlp"]
paper_config_seeds = 20
paper_cv_seeds = 5
megnet_layers = [0, 1, 2, 3]
megnet_mode = "CAMN"
atomsets_readout = "set2set"
atomsets_hidden = 64
atomsets_members = 4
atomsets_epochs = 100
atomsets_lr = 0.001
sse_megnet = True
n_boot = 2000
repeat_decimals = 4
n_jobs = 0
torch_threads = 1

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from matmap_utils import viz
from matmap_utils.benchmark import models as bmodels
from matmap_utils.benchmark import noise, obelix
from matmap_utils.chapters import ch08_obelix_benchmark as ch08
from matmap_utils.chapters import results
from matmap_utils.chapters.results import Timer, write_metrics, write_table

# %%
NB = ch08.NB
timer = Timer()
viz.set_style()
n_jobs = None if not n_jobs else int(n_jobs)
if torch_threads:
    torch.set_num_threads(int(torch_threads))

# %% [markdown]
# ## The task as OBELiX defines it
#
# Read from the dataset's own code (`NRC-Mila/OBELiX`, `obelix/utils.py` and
# `benchmark/tuning.py`): the target is log10 of the conductivity in S/cm; the entries reported
# only as `"< 1E-10"` (or `"< 1E-8"`) S/cm are **kept with the value `1e-15` S/cm** (their target is the log of that value), not
# dropped; entries without a CIF stay in the task (the composition baselines use them), and the
# "CIF subset" of the test set are the entries whose CIF class is "Match" or "Close Match" — in this
# release exactly the test entries with a CIF.

# %%
task = obelix.task_frame()
train, test = obelix.split(task)
summary = obelix.task_summary(task)
display(Markdown(ch08.task_text(summary)))
folds = bmodels.group_folds(train["group"], n_folds, seed)

# %% [markdown]
# ## The OBELiX baselines, reimplemented
#
# The paper's random forest and MLP see the unit-cell element amounts, the space-group number and
# the six lattice parameters; their grids (`benchmark/tuning.py`) are used as they are in the paper
# profile.  Cross-validation also chooses between those amounts and element fractions (our variant).
# **Differences:** our folds keep publications apart (the paper's cross-validation folds were random), and the
# MLP sees all inputs standardized (the paper standardized the lattice parameters only). The search
# is `matmap_utils.benchmark.models.select`.  With `search_budget` set, each search evaluates that
# many points of its grid drawn at random (seeded; the same points for every feature set) instead of
# the whole grid; `search_budget = 0` runs the full grid, and the text after the SSE model below
# states which search ran.  The choices:

# %%
base_timer = Timer()
selected = ch08.fit_baselines(
    task, baselines, size=grid_size, folds=folds, seed=seed, n_jobs=n_jobs, budget=search_budget
)
preds = ch08.predict_baselines(task, selected)
t_baselines = base_timer.elapsed
display(Markdown(ch08.selection_text(selected)))

# %% [markdown]
# ## AtomSets on MEGNet V0–V3
#
# A structure is the set of its sites' MEGNet features (V0: the elemental embedding; V1–V3: the
# outputs of the first three graph convolutions of the pretrained formation-energy model), passed
# through per-site dense layers, a permutation-invariant readout and dense layers to one number,
# trained here on log10 σ (L1 loss; `matmap_utils.chapters.ch08_atomsets.AtomSetsRegressor` — the
# screening room's AtomSets network, trained as a regressor).  **Entries without a CIF** have no structure: their V0 set is one
# embedding row per element weighted by its amount in the cell composition, which is what a fully
# ordered structure's V0 set reduces to.  V1–V3 exist only where a CIF exists, so the structure
# model (its layer chosen by CV on the training entries with a CIF) falls back to the V0 model for
# the test entries without one.

# %%
as_timer = Timer()
sets, feat_fail = ch08.megnet_sets(task, megnet_layers, mode=megnet_mode, n_jobs=n_jobs)
as_params = dict(
    readout=atomsets_readout,
    hidden=atomsets_hidden,
    n_members=atomsets_members,
    epochs=atomsets_epochs,
    lr=atomsets_lr,
    seed=seed,
)
as_preds, as_cv, best_layer = ch08.fit_atomsets(task, sets, as_params, n_folds=n_folds, seed=seed, n_jobs=n_jobs)
preds.update(as_preds)
t_atomsets = as_timer.elapsed
display(ch08.atomsets_cv_display(as_cv))
display(Markdown(f"CV chose V{best_layer} for the structure model; {len(feat_fail)} structures failed featurization."))

# %% [markdown]
# ## Gradient boosting on the SSE descriptor table
#
# López et al.'s {cite}`lopez2023universal` structural–compositional descriptors
# ([the correlogram chapter](04_correlograms.ipynb)'s table, computed from the
# CIFs with occupancy-weighted averages over disordered sites), with MEGNet's band gap and
# formation energy and López et al.'s mechanical–elastic descriptors from MEGNet's bulk and shear moduli.
# Histogram gradient boosting keeps missing descriptors as they are.  The table needs a structure,
# so test entries without a CIF (and the few CIFs without Li sites) get the random forest's
# prediction.

# %%
sse_timer = Timer()
sse, sse_unusable = ch08.sse_table(task, megnet=sse_megnet, n_jobs=n_jobs)
preds["sse_hgb"], sse_sel, sse_cols = ch08.fit_sse(
    task, sse, preds["rf"], size=grid_size, n_folds=n_folds, seed=seed, n_jobs=n_jobs, budget=search_budget
)
t_sse = sse_timer.elapsed
display(Markdown(ch08.sse_text(sse, sse_cols, sse_unusable, sse_sel)))
display(Markdown(ch08.budget_text({**selected, "sse_hgb": sse_sel}, search_budget)))

# %% [markdown]
# ## Test-set scores
#
# Every model above was fixed before this cell.  MAE in log10 S/cm with percentile-bootstrap 95 %
# intervals (test entries resampled, `core.bootstrap`); ΔMAE is the paired difference to the
# reimplemented OBELiX random forest on the same resampled entries (negative: better than the RF).
# "CV MAE (train)" is the cross-validation error that chose the configuration (the structure
# models' on the training entries with a CIF).  The column "published MAE" is the OBELiX paper's
# number for the same model family and subset, quoted from the paper's parity figure (the source
# is printed under the table; "–": the paper gives no readable number for that family).  Those
# numbers are single runs of the paper's own configurations; how far such runs scatter is measured
# further down.

# %%
scores = ch08.score_all(task, preds, n_boot=n_boot, seed=seed)
cv_mae = ch08.cv_summary(selected, as_cv, best_layer, sse_sel)
display(viz.format_table(ch08.display_table(scores, cv_mae, "regression")))
display(Markdown(f"Published MAE: {ch08.PUBLISHED_SOURCE}."))

# %% [markdown]
# ### Classification view: σ ≥ 10⁻⁴ S/cm
#
# McHaffie et al. {cite}`mchaffie2025classification` ([the screening chapter](06_atomsets_screening.ipynb))
# classify "superionic" conductors at σ ≥ 10⁻⁴ S/cm.  The predicted log10 σ is the score: AUC-PR
# ranks the test entries by it, MCC thresholds it at the log of that conductivity.

# %%
display(viz.format_table(ch08.display_table(scores, cv_mae, "classification")))
display(Markdown(ch08.classification_note(task, preds)))

# %% [markdown]
# Predicted against measured log₁₀ σ on the test set, one panel per model (filled: entries with a
# CIF; grey lines: the superionic threshold), drawn by
# `matmap_utils.chapters.ch08_obelix_benchmark.parity_figure`.

# %%
fig = ch08.parity_figure(task, preds)
results.savefig(fig, NB, "parity")
plt.show()

# %% [markdown]
# ## The OBELiX paper's own configuration, rerun over seeds
#
# The paper's code (`NRC-Mila/OBELiX`, `benchmark/RF.py` and `benchmark/MLP.py`) records the
# hyperparameters that its cross-validation on the training split chose for the models trained on
# every training entry, and the inputs and scaling they saw (`matmap_utils.benchmark.paper_config`).
# Those choices were made on `train.csv`, so running them here spends nothing of the test set.
# Neither script fixes a random state: each published number is one draw from a distribution, of
# which this cell draws `paper_config_seeds` (consecutive seeds from `seed`).  The table puts our
# cross-validation-tuned model of each family (the table above) inside or outside that
# distribution's range.

# %%
pc_timer = Timer()
paper_kinds = [k for k in ch08.PAPER_CONFIG_NAMES if k in baselines]
paper_seeds = range(int(seed), int(seed) + int(paper_config_seeds))
paper_runs = ch08.paper_config_runs(task, paper_kinds, paper_seeds, n_jobs=n_jobs) if paper_config_seeds else {}
display(Markdown(ch08.paper_config_text(paper_runs, scores)))
if paper_runs:
    display(viz.format_table(ch08.paper_config_display(paper_runs, scores)))

# %% [markdown]
# ### The published numbers, placed in the seed distributions
#
# The paper's parity figure prints, for each of its two composition baselines, the test MAE on all
# test entries and on the CIF subset, and the mean ± SD of its cross-validation on the training
# split ("Cross-Val. MAE").  The figure's text does not name the panels' models; rerunning the
# scripts' own cross-validation (the training rows shuffled with NumPy's legacy generator, then five
# consecutive folds) shows which printed CV MAE belongs to which model.  It runs with
# `paper_cv_seeds` seeds, each of which also draws the folds: `train.csv` lists the rows in another
# order than the file the scripts read, so the paper's exact folds cannot be rebuilt, and the spread
# over fold draws is part of the comparison.

# %%
cv_seeds = range(int(seed), int(seed) + int(paper_cv_seeds))
paper_cv = ch08.paper_cv_runs(task, list(paper_runs), cv_seeds, n_jobs=n_jobs) if paper_cv_seeds else {}
pc_metrics = {**ch08.paper_config_metrics(paper_runs, paper_cv), "time_paper_config_s": pc_timer.elapsed}
display(Markdown(ch08.published_text(paper_runs, paper_cv, scores, cv_mae)))
if paper_runs:
    display(viz.format_table(ch08.published_display(paper_runs, paper_cv)))

# %% [markdown]
# ## Verdict

# %%
n_cens, share_rf = ch08.censored_share(task, preds["rf"])
display(Markdown(ch08.verdict_text(scores)))
display(Markdown(ch08.censored_text(n_cens, share_rf)))
effect = ch08.censored_effect(task, preds)
display(ch08.censored_display(effect))

# %%
display(Markdown(ch08.gap_text(scores, summary, share_rf)))

# %% [markdown]
# ## The measurements' own scatter: how low can an MAE go?
#
# Some materials were measured more than once: entries of the same composition and space group,
# reported by different publications.  Their spread is the irreproducibility of the measurement
# itself (synthesis, density, grain boundaries, what was called "room temperature"), which no model
# of the structure can predict.  The repeat groups are found and measured by
# `matmap_utils.benchmark.noise` over the whole release (train and test; the entries reported only as
# an upper bound, which are not measurements, left out); the intervals resample whole groups (`repeat_decimals` sets how
# equal two compositions must be).  Below: the widest groups, then every repeat group's entries as
# deviations from their group mean.

# %%
repeats = noise.repeat_groups(task, repeat_decimals)
floor = noise.noise_floor(task, n_boot=n_boot, seed=seed, decimals=repeat_decimals, repeats=repeats)
n_shared = noise.shared_compositions(task, decimals=repeat_decimals)
repeat_table = noise.group_table(repeats)
display(Markdown(ch08.noise_text(floor, effect, n_shared, summary["n_test"], repeat_table)))
display(ch08.noise_group_display(repeat_table))
fig = ch08.noise_figure(repeats, floor["floor_mae"])
results.savefig(fig, NB, "noise_floor")
plt.show()

# %%
metrics = ch08.metrics_dict(
    scores,
    cv_mae,
    {
        **summary,
        "best_layer": best_layer,
        "megnet_mode": megnet_mode,
        "censored_share_of_rf_error": share_rf,
        "time_baselines_s": t_baselines,
        "time_atomsets_s": t_atomsets,
        "time_sse_s": t_sse,
        **pc_metrics,
        "search_budget": int(search_budget or 0),
        **ch08.noise_metrics(floor, n_shared),
        **{f"{k}_grid_points_searched": s.n_points for k, s in {**selected, "sse_hgb": sse_sel}.items()},
    },
)
_ = write_metrics(NB, metrics, profile=profile, seed=seed, wall_time_s=timer.elapsed)
write_table(NB, "scores", scores)
_ = write_table(NB, "atomsets_cv", as_cv)

# %% [markdown]
# ## What we found

# %%
display(Markdown(ch08.found_text(scores, summary, share_rf, best_layer, floor, effect, paper_runs)))
