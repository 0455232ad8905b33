"""Chapter 08 (OBELiX benchmark): the book's models on the OBELiX split, next to the dataset's baselines.

This module combines rooms: the task, baselines and scores of :mod:`matmap_utils.benchmark`, the
MEGNet V0–V3 site features and the AtomSets set model of :mod:`matmap_utils.screening`, and the SSE
descriptor table of :mod:`matmap_utils.transport` (with MEGNet's band gap, formation energy and
elastic moduli joined, as chapter 04 does).

The AtomSets models (MEGNet sets of the entries, AtomSets regression, their cross-validation in
parallel processes) live in :mod:`matmap_utils.chapters.ch08_atomsets`, the reruns of the OBELiX
paper's own configurations in :mod:`matmap_utils.chapters.ch08_paper_config`; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from matmap_utils.benchmark import features as bfeat
from matmap_utils.benchmark import metrics as bmetrics
from matmap_utils.benchmark import models as bmodels
from matmap_utils.benchmark.obelix import split
from matmap_utils.chapters.ch08_atomsets import (  # noqa: F401 - re-exported: the chapter's public names
    AtomSetsRegressor,
    SetData,
    composition_set,
    cv_atomsets,
    fit_atomsets,
    megnet_sets,
)
from matmap_utils.chapters.ch08_paper_config import (  # noqa: F401 - re-exported: the chapter's public names
    PAPER_CONFIG_NAMES,
    PUBLISHED,
    PUBLISHED_SOURCE,
    panel_match,
    paper_config_display,
    paper_config_found,
    paper_config_metrics,
    paper_config_runs,
    paper_config_text,
    paper_cv_runs,
    published_display,
    published_text,
)
from matmap_utils.screening.megnet.pool import pool_predictions
from matmap_utils.screening.megnet.properties import pool_properties
from matmap_utils.transport.elastic import elastic_descriptors
from matmap_utils.transport.sse_categories import descriptor_columns
from matmap_utils.transport.sse_descriptors import build_descriptor_table, join_megnet
from matmap_utils.viz import format_table, panel_grid

NB = "08_obelix_benchmark"

#: display names of the models, in table order
MODEL_NAMES = {
    "median": "Train median (trivial)",
    "rf": "Random forest, composition + lattice (OBELiX baseline, reimplemented)",
    "mlp": "MLP, composition + lattice (OBELiX baseline, reimplemented)",
    "atomsets_v0": "AtomSets on MEGNet V0 (structure or composition, all entries)",
    "atomsets_struct": "AtomSets on MEGNet V1–V3 (CIF) + V0 composition (no CIF)",
    "sse_hgb": "Gradient boosting on the SSE descriptor table (CIF) + RF (no CIF)",
}

#: the OBELiX paper's published test MAEs (log10 S/cm) per model family, (whole test set, CIF subset),
#: quoted from its parity figure (:data:`~matmap_utils.chapters.ch08_paper_config.PUBLISHED`, source
#: :data:`PUBLISHED_SOURCE`); families the figure gives no readable number for are absent
PUBLISHED_MAE: dict[str, tuple[float | None, float | None]] = {
    k: (float(v["whole"]), float(v["cif"])) for k, v in PUBLISHED.items()
}


# ----------------------------------------------------------------------------- composition baselines


def fit_baselines(
    task: pd.DataFrame,
    kinds: Sequence[str],
    *,
    size: str,
    folds,
    seed: int,
    n_jobs: int | None,
    budget: int | None = None,
) -> dict[str, bmodels.Selection]:
    """CV-select and refit each baseline ``kind`` on the training rows (both feature sets tried);
    ``budget`` grid points drawn with ``seed`` per search (None/0: the full grid)."""
    X_all, _ = bfeat.split_inputs(task)
    train, _ = split(task)
    out = {}
    for kind in kinds:
        sets = {k: v.loc[train.index] for k, v in X_all.items()}
        if kind == "median":
            sets = {"none": sets["obelix"]}
        out[kind] = bmodels.select(
            kind, sets, train["target"], folds, size=size, seed=seed, n_jobs=n_jobs, budget=budget
        )
    return out


def predict_baselines(task: pd.DataFrame, sel: Mapping[str, bmodels.Selection]) -> dict[str, pd.Series]:
    """Test-set predictions of every selected baseline (index = entry)."""
    X_all, _ = bfeat.split_inputs(task)
    _, test = split(task)
    preds = {}
    for kind, s in sel.items():
        X = X_all["obelix" if s.feature_set == "none" else s.feature_set].loc[test.index]
        preds[kind] = pd.Series(s.model.predict(np.asarray(X, float)), index=test.index)
    return preds


# ----------------------------------------------------------------------------- SSE descriptors


def sse_table(
    task: pd.DataFrame, *, megnet: bool = True, n_jobs: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """López et al.'s descriptor table of every entry with a CIF (target = OBELiX's log10 sigma);
    with ``megnet``, MEGNet's band gap and formation energy (S–C) and the 13 elastic descriptors
    from its K and G (M–E, :func:`matmap_utils.transport.elastic.elastic_descriptors`) are joined.
    Returns ``(table, unusable)``."""
    frame = task.assign(log10_sigma=task["target"], sigma_rt=task["sigma"])
    frame = frame[frame["cif_subset"]]
    table, unusable = build_descriptor_table(frame, n_jobs=n_jobs)
    if megnet:
        structs = frame.loc[table.index, "structure"]
        pred, fails = pool_predictions(structs, n_jobs=n_jobs)
        table, _ = join_megnet(table, pred, len(fails))
        props, _ = pool_properties(structs, n_jobs=n_jobs, progress=False)
        K = 10 ** props["log10_K_VRH_GPa"].reindex(table.index)
        G = 10 ** props["log10_G_VRH_GPa"].reindex(table.index)
        el = elastic_descriptors(K.to_numpy(), G.to_numpy(), table["density"].to_numpy())
        el.index = table.index
        table = table.join(el)
    return table, unusable


def fit_sse(
    task: pd.DataFrame,
    table: pd.DataFrame,
    rf_pred: pd.Series,
    *,
    size: str,
    n_folds: int,
    seed: int,
    n_jobs,
    budget: int | None = None,
) -> tuple[pd.Series, bmodels.Selection, list[str]]:
    """Gradient boosting on the numeric SSE descriptors (missing values kept as NaN), tuned on the
    training entries of ``table`` (``budget`` grid points, None/0: the full grid); test entries
    outside ``table`` get the RF's prediction."""
    cols = descriptor_columns(table)
    train, test = split(task)
    tr = [i for i in train.index if i in table.index]
    X = table.loc[tr, cols].astype(float)
    folds = bmodels.group_folds(train.loc[tr, "group"], n_folds, seed)
    sel = bmodels.select(
        "hgb", {"sse": X}, train.loc[tr, "target"], folds, size=size, seed=seed, n_jobs=n_jobs, budget=budget
    )
    te = [i for i in test.index if i in table.index]
    pred = rf_pred.reindex(test.index).copy()
    pred.loc[te] = sel.model.predict(table.loc[te, cols].astype(float).to_numpy())
    return pred, sel, cols


# ----------------------------------------------------------------------------- the table


def score_all(task: pd.DataFrame, preds: Mapping[str, pd.Series], *, n_boot: int, seed: int) -> pd.DataFrame:
    """Scores of every model on the whole test set and on its CIF subset (paired ΔMAE vs. the RF)."""
    _, test = split(task)
    subsets = {"whole": pd.Series(True, index=test.index), "cif": test["cif_subset"]}
    ordered = {k: preds[k] for k in MODEL_NAMES if k in preds}
    ref = "rf" if "rf" in ordered else None
    return bmetrics.score_table(test["target"], ordered, subsets, reference=ref, n_boot=n_boot, seed=seed)


def _ci(row, name: str, digits: int = 2) -> str:
    v = row.get(name)
    if v is None or pd.isna(v):
        return "–"
    lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    ci = "" if lo is None or pd.isna(lo) else f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{v:.{digits}f}{ci}"


def published_mae(model: str, subset: str) -> float | None:
    """The published test MAE of ``model``'s family on ``subset`` ("whole" or "cif"; :data:`PUBLISHED_MAE`),
    None where the paper gives none."""
    vals = PUBLISHED_MAE.get(model)
    return None if vals is None else vals[0 if subset == "whole" else 1]


def _published(model: str, subset: str) -> str:
    """The published number of ``model``'s family on ``subset``; "–" where the paper gives none."""
    v = published_mae(model, subset)
    return "–" if v is None else f"{v:.2f}"


def display_table(scores: pd.DataFrame, cv_mae: Mapping[str, float], view: str = "regression") -> pd.DataFrame:
    """The chapter's tables, one row per model, values with their 95 % intervals.

    ``view="regression"``: training-split CV MAE that chose the model, then per subset (all test
    entries, CIF subset) the test MAE, the paired ΔMAE vs. the reimplemented RF and the OBELiX
    paper's number.  ``view="classification"``: AUC-PR and MCC at sigma >= 1e-4 S/cm per subset.
    """
    if view not in ("regression", "classification"):
        raise ValueError(f"unknown view {view!r} (regression, classification)")
    out = []
    for model in dict.fromkeys(scores["model"]):
        row = {"model": MODEL_NAMES.get(model, model)}
        if view == "regression":
            row["CV MAE (train)"] = f"{cv_mae.get(model, np.nan):.2f}"
        for subset, label in (("whole", "all"), ("cif", "CIF")):
            r = scores[(scores["model"] == model) & (scores["subset"] == subset)]
            r = r.iloc[0].to_dict() if len(r) else {}
            if view == "regression":
                row[f"MAE ({label})"] = _ci(r, "mae")
                row[f"ΔMAE vs RF ({label})"] = _ci(r, "d_mae")
                row[f"published MAE ({label})"] = _published(model, subset)
            else:
                row[f"AUC-PR ({label})"] = _ci(r, "auc_pr")
                row[f"MCC ({label})"] = _ci(r, "mcc")
        out.append(row)
    return pd.DataFrame(out).set_index("model")


def best_of(scores: pd.DataFrame, subset: str, exclude: Sequence[str] = ("median",)) -> pd.Series:
    """The row of the lowest test MAE on ``subset`` (models in ``exclude`` left out)."""
    s = scores[(scores["subset"] == subset) & ~scores["model"].isin(exclude)].dropna(subset=["mae"])
    return s.sort_values("mae").iloc[0]


def _row(scores: pd.DataFrame, subset: str, model: str) -> pd.Series:
    return scores[(scores["subset"] == subset) & (scores["model"] == model)].iloc[0]


def _iv(r: pd.Series, m: str = "mae") -> str:
    return f"{r[m]:.2f} [{r[f'{m}_lo']:.2f}, {r[f'{m}_hi']:.2f}]"


OURS = ("atomsets_v0", "atomsets_struct", "sse_hgb")


def best_published(subset: str) -> tuple[str, float] | None:
    """(model family, MAE) of the lowest published OBELiX test MAE on ``subset`` ("whole" or "cif"),
    None when no number is quoted."""
    pub = {k: v for k in PUBLISHED_MAE if (v := published_mae(k, subset)) is not None}
    if not pub:
        return None
    kind = min(pub, key=pub.get)
    return kind, float(pub[kind])


def against_published(scores: pd.DataFrame, subset: str) -> str:
    """Our lowest test MAE on ``subset`` against the best published OBELiX number on the same entries:
    the difference, and whether the published value lies in our 95 % interval."""
    found = best_published(subset)
    if found is None:
        return "no published OBELiX number is quoted for it"
    kind, v = found
    b = best_of(scores, subset)
    d = float(b["mae"]) - v
    inside = b["mae_lo"] <= v <= b["mae_hi"]
    return (
        f"the best published OBELiX number on it is {v:.2f} (the paper's {SHORT_NAMES.get(kind, kind)}); our lowest, "
        f"{SHORT_NAMES.get(b['model'], b['model'])}'s {_iv(b)}, is {abs(d):.2f} {'below' if d < 0 else 'above'} it, "
        f"and the published value lies {'inside' if inside else 'outside'} that interval"
    )


def verdict_text(scores: pd.DataFrame) -> str:
    """Per subset: the lowest test MAE of all models, the trivial and the reimplemented-RF
    baselines, the published number (where found), and our own best model against the RF with the
    paired interval of the difference."""
    parts = []
    for subset, label in (("whole", "Whole test set"), ("cif", "CIF subset")):
        b, med, rf = best_of(scores, subset), _row(scores, subset, "median"), _row(scores, subset, "rf")
        pub_txt = against_published(scores, subset)
        ours = best_of(scores[scores["model"].isin(OURS)], subset)
        side = "below" if ours["d_mae_hi"] < 0 else "above" if ours["d_mae_lo"] > 0 else "indistinguishable from"
        parts.append(
            f"**{label}** ({int(b['n'])} entries): lowest MAE {_iv(b)} log10 S/cm "
            f"({MODEL_NAMES[b['model']]}); train median {_iv(med)}, reimplemented OBELiX random forest "
            f"{_iv(rf)}; {pub_txt}.  Our best own model, {MODEL_NAMES[ours['model']]}, is "
            f"{_iv(ours)}: ΔMAE vs. the RF {_iv(ours, 'd_mae')}, i.e. {side} the RF on this test set."
        )
    return "\n\n".join(parts)


def gap_text(scores: pd.DataFrame, summary: Mapping[str, int], censored_share_rf: float) -> str:
    """What it would take to close the gaps: the sizes of the test set and of its intervals, the
    share of the censored entries in the error, and the next steps for the structure models."""
    w = scores[scores["subset"] == "cif"].dropna(subset=["mae"])
    width = float(((w["mae_hi"] - w["mae_lo"]) / 2).median())
    return (
        f"**What it would take to close a gap.**  The test set is small ({summary['n_test']} entries, "
        f"{summary['n_test_cif']} with a CIF): the median half-width of an MAE interval on the CIF "
        f"subset is {width:.2f} log10 S/cm, so most differences between models are not resolved (see "
        f"the paired ΔMAE).  The {summary['n_test_censored']} '< 1E-10' test entries carry "
        f"{100 * censored_share_rf:.0f} % of the RF's absolute error although they are "
        f"{100 * summary['n_test_censored'] / summary['n_test']:.0f} % of the entries; their target −15 is "
        "a convention, not a measurement, so recognising near-insulators (a censored-regression loss, or "
        "a classifier before the regressor) is one lever that no encoding of the structure replaces.  The "
        f"structure models learn from the {summary['n_train_cif']} training entries with a CIF only "
        "(as did the OBELiX paper's graph networks); pre-training on a related property with many more "
        "labels (McHaffie et al. pre-trained on `is_metal`) is the next step for them."
    )


def censored_share(task: pd.DataFrame, pred: pd.Series) -> tuple[int, float]:
    """(number of censored test entries, their share of the model's total absolute error)."""
    _, test = split(task)
    err = (test["target"] - pred.reindex(test.index)).abs()
    return int(test["censored"].sum()), float(err[test["censored"]].sum() / err.sum())


def cv_summary(sel: Mapping[str, bmodels.Selection], atomsets_cv: pd.DataFrame, best_layer: int, sse_sel) -> dict:
    """Training-split CV MAE of the configuration each model was chosen with."""
    out = {k: s.cv_mae for k, s in sel.items()}
    v0 = atomsets_cv[atomsets_cv["model"] == "atomsets_v0"]
    st = atomsets_cv[(atomsets_cv["model"] == "atomsets_struct") & (atomsets_cv["layer"] == best_layer)]
    out["atomsets_v0"] = float(v0["cv_mae"].iloc[0])
    out["atomsets_struct"] = float(st["cv_mae"].iloc[0])
    if sse_sel is not None:
        out["sse_hgb"] = sse_sel.cv_mae
    return out


def censored_effect(task: pd.DataFrame, preds: Mapping[str, pd.Series]) -> pd.DataFrame:
    """MAE of every model on the test entries reported as "< 1E-10" (target -15) and on the rest:
    how much of the error the handful of censored entries carry."""
    _, test = split(task)
    rows = []
    for model, p in preds.items():
        p = p.reindex(test.index)
        for name, mask in (("censored", test["censored"]), ("measured", ~test["censored"])):
            rows.append(
                {
                    "model": model,
                    "entries": name,
                    "n": int(mask.sum()),
                    "mae": bmetrics.mae(test["target"][mask], p[mask]),
                }
            )
    return pd.DataFrame(rows).pivot(index="model", columns="entries", values="mae").reindex(list(preds))


def metrics_dict(scores: pd.DataFrame, cv_mae: Mapping[str, float], extra: Mapping) -> dict:
    """Every row of the table as flat ``metrics.json`` keys: ``<model>_<subset>_<metric>[_lo|_hi]``."""
    out = dict(extra)
    for _, r in scores.iterrows():
        key = f"{r['model']}_{r['subset']}"
        out[f"{key}_n"] = None if pd.isna(r.get("n")) else int(r["n"])
        for m in ("mae", "auc_pr", "mcc", "d_mae"):
            for suffix in ("", "_lo", "_hi"):
                v = r.get(f"{m}{suffix}")
                out[f"{key}_{m}{suffix}"] = None if v is None or pd.isna(v) else float(v)
        out[f"{key}_published_mae"] = published_mae(r["model"], r["subset"])
    for model, v in cv_mae.items():
        out[f"{model}_cv_mae"] = float(v)
    out["published_source"] = PUBLISHED_SOURCE
    return out


def parity_figure(task: pd.DataFrame, preds: Mapping[str, pd.Series]):
    """Predicted vs. measured log10 sigma on the test set, one panel per model (CIF entries filled)."""
    _, test = split(task)
    keys = [k for k in MODEL_NAMES if k in preds and k != "median"]
    fig, axes = panel_grid(len(keys), panel_height=3.2)
    y = test["target"]
    for ax, k in zip(axes, keys):
        p = preds[k].reindex(test.index)
        cif = test["cif_subset"]
        ax.scatter(y[cif], p[cif], s=12, label="CIF")
        ax.scatter(y[~cif], p[~cif], s=12, facecolors="none", edgecolors="C1", label="no CIF")
        ax.plot([-16, 0], [-16, 0], "k--", lw=0.8)
        ax.axhline(-4, color="grey", lw=0.5)
        ax.axvline(-4, color="grey", lw=0.5)
        ax.set(title=SHORT_NAMES.get(k, k), xlabel="measured log10 σ (S/cm)", ylabel="predicted log10 σ (S/cm)")
    axes[0].legend()
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- the reader's view

#: short model names for figure titles and narrow tables
SHORT_NAMES = {
    "median": "train median",
    "rf": "random forest",
    "mlp": "MLP",
    "atomsets_v0": "AtomSets V0",
    "atomsets_struct": "AtomSets V1–V3",
    "sse_hgb": "SSE boosting",
}


def _params(params: Mapping) -> str:
    items = [(k.split("__")[-1], v) for k, v in params.items()]
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in items) or "none"


def task_text(summary: Mapping[str, int]) -> str:
    """The split of this release: entries, CIFs, censored entries, superionic test entries, shared DOIs."""
    s = summary
    return (
        f"{s['n_train']} training and {s['n_test']} test entries ({s['n_train_cif']} and {s['n_test_cif']} with a "
        f"CIF); {s['n_train_censored']} training and {s['n_test_censored']} test entries are '< 1E-10' (target "
        f"−15); {s['n_test_superionic']} test entries have σ ≥ 10⁻⁴ S/cm; publications shared by train and test: "
        f"{s['n_shared_dois']}."
    )


def selection_text(selected: Mapping[str, bmodels.Selection]) -> str:
    """One line per baseline: the feature set and hyperparameters CV chose, and its CV MAE (log10 S/cm)."""
    return "\n".join(
        f"- {MODEL_NAMES.get(k, k)}: features `{s.feature_set}`, {_params(s.params)}; CV MAE "
        f"{s.cv_mae:.2f} ± {s.cv_std:.2f} log10 S/cm"
        for k, s in selected.items()
    )


def budget_text(selected: Mapping[str, bmodels.Selection], budget: int | None) -> str:
    """Which search ran for each tuned model: the full grid, or ``n`` of its ``N`` points drawn at
    random with the seed (the same points for every feature set); models without a grid are left out."""
    parts = []
    for k, s in selected.items():
        if s.grid_points <= 1:
            continue
        how = (
            f"{s.n_points} of {s.grid_points} grid points sampled at random (seed {s.sample_seed})"
            if s.sampled
            else f"the full grid of {s.grid_points} points"
        )
        parts.append(f"{SHORT_NAMES.get(k, k)}: {how}")
    head = (
        f"Search budget {int(budget)} per model and feature set"
        if budget
        else "Search budget 0: every model searched its full grid"
    )
    return f"{head} — " + "; ".join(parts) + ". `search_budget = 0` runs the full grid."


def atomsets_cv_display(cv: pd.DataFrame):
    """The AtomSets cross-validation table (MAE in log10 S/cm), one row per model and layer."""
    t = cv.assign(model=cv["model"].map(SHORT_NAMES), layer=cv["layer"].map(lambda v: f"V{int(v)}"))
    return format_table(
        t[["model", "layer", "cv_mae", "cv_std"]],
        rename={"layer": "MEGNet layer", "cv_mae": "CV MAE (log10 S/cm)", "cv_std": "SD over folds (log10 S/cm)"},
    )


def sse_text(sse: pd.DataFrame, cols: Sequence[str], unusable: pd.DataFrame, sel: bmodels.Selection) -> str:
    """The SSE table's size, the CIFs left out and the configuration CV chose."""
    n_noli = int(unusable["reason"].str.contains("Li sites").sum()) if len(unusable) else 0
    return (
        f"{len(sse)} entries with descriptors ({len(cols)} numeric columns); {n_noli} CIFs without Li sites left "
        f"out; CV chose {_params(sel.params)} (CV MAE {sel.cv_mae:.2f} ± {sel.cv_std:.2f} log10 S/cm)."
    )


def classification_note(task: pd.DataFrame, preds: Mapping[str, pd.Series]) -> str:
    """Why a model's MCC is exactly zero: a constant prediction never crosses the threshold (its
    AUC-PR is then the share of superionic test entries, the score of a random ranking)."""
    _, test = split(task)
    const = [k for k, p in preds.items() if p.reindex(test.index).nunique() <= 1]
    if not const:
        return "Every model ranks the test entries (no constant prediction)."
    share = float(test["superionic"].mean())
    names = ", ".join(SHORT_NAMES.get(k, k) for k in const)
    return (
        f"The {names} predicts one value for every test entry: it never crosses the threshold, so its MCC is 0 "
        f"by construction and its AUC-PR is that of a ranking that knows nothing (≈ the {share:.0%} share of "
        "superionic test entries). It is the floor, not a result."
    )


def censored_text(n_censored: int, share: float) -> str:
    """The censored test entries' share of the random forest's total absolute error."""
    return (
        f"The {n_censored} test entries reported as '< 1E-10' (target −15) carry {share:.0%} of the random "
        "forest's total absolute error; the MAE of each model on them and on the rest:"
    )


def censored_display(effect: pd.DataFrame):
    """:func:`censored_effect` as a formatted table (MAE in log10 S/cm)."""
    t = effect.set_axis([SHORT_NAMES.get(k, k) for k in effect.index], axis=0).rename_axis("model")
    t.columns.name = None
    return format_table(
        t, rename={"censored": "MAE, '< 1E-10' entries (log10 S/cm)", "measured": "MAE, measured entries (log10 S/cm)"}
    )


def found_text(
    scores: pd.DataFrame,
    summary: Mapping[str, int],
    censored_share_rf: float,
    best_layer: int,
    floor: Mapping | None = None,
    effect: pd.DataFrame | None = None,
    paper_runs: Mapping[str, pd.DataFrame] | None = None,
) -> str:
    """The chapter's "What we found": the best model per subset, our best against the RF with the
    paired interval, the censored entries' weight, the OBELiX paper's configurations rerun over seeds
    (``paper_runs``: :func:`paper_config_runs`), the measurements' own scatter (``floor``:
    :func:`matmap_utils.benchmark.noise.noise_floor`, with ``effect``: :func:`censored_effect`) and
    what the test set's size allows."""
    lines = []
    for subset, label in (("whole", "Whole test set"), ("cif", "CIF subset")):
        b, rf = best_of(scores, subset), _row(scores, subset, "rf")
        ours = best_of(scores[scores["model"].isin(OURS)], subset)
        side = (
            "better than"
            if ours["d_mae_hi"] < 0
            else "worse than"
            if ours["d_mae_lo"] > 0
            else "not distinguishable from"
        )
        best = (
            f"the reimplemented OBELiX random forest has the lowest MAE, {_iv(rf)} log10 S/cm"
            if b["model"] == "rf"
            else f"the lowest MAE is {SHORT_NAMES[b['model']]}'s {_iv(b)} log10 S/cm, the reimplemented OBELiX "
            f"random forest's {_iv(rf)}"
        )
        lines.append(
            f"- **{label}** ({int(b['n'])} entries): {best}. Our best own model ({SHORT_NAMES[ours['model']]}) is "
            f"{side} the RF (ΔMAE {_iv(ours, 'd_mae')})."
        )
    frac = summary["n_test_censored"] / summary["n_test"]
    lines.append(
        f"- **Censored entries.** {summary['n_test_censored']} '< 1E-10' test entries ({frac:.0%} of the test set) "
        f"carry {censored_share_rf:.0%} of the random forest's absolute error, "
        f"{censored_share_rf / frac if frac else float('nan'):.1f} times their share: their target is a "
        "convention, not a measurement, and it weighs on every model's MAE."
    )
    if paper_runs:
        lines.append(paper_config_found(paper_runs, scores))
    if floor is not None and effect is not None and floor["n_groups"] >= 2:
        best, best_mae = best_measured(effect)
        lines.append(
            f"- **Noise floor.** Repeated measurements of the same material scatter by "
            f"{floor['mad_from_median']:.2f} log10 S/cm (mean absolute deviation from their median; pooled SD "
            f"{floor['pooled_sd']:.2f}); the best MAE on the measured test entries ({SHORT_NAMES.get(best, best)}, "
            f"{best_mae:.2f}) is {best_mae / floor['floor_mae']:.1f} times the Gaussian floor "
            f"{floor['floor_mae']:.2f}: a model that knew every true conductivity would still be at about "
            f"{floor['floor_mae'] / best_mae:.0%} of that error; the rest is the models' to reduce."
        )
    pubs = "; ".join(
        f"{label}: {against_published(scores, subset)}" for subset, label in (("whole", "all"), ("cif", "CIF"))
    )
    lines.append(f"- **Against the OBELiX paper's published numbers.** {pubs}.")
    lines.append(
        f"- **Structure models.** Cross-validation chose MEGNet layer V{best_layer}; structure-based models learn "
        f"from {summary['n_train_cif']} training CIFs only.  The paper's figure gives no readable number for its "
        "graph networks, so the structure models meet the published numbers only through the random forest's."
    )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the noise floor


def best_measured(effect: pd.DataFrame) -> tuple[str, float]:
    """(model, MAE) of the lowest MAE on the measured test entries in ``effect``
    (:func:`censored_effect`), the trivial train median left out."""
    measured = effect["measured"].drop("median", errors="ignore").dropna()
    best = measured.idxmin()
    return best, float(measured[best])


def noise_text(floor: Mapping, effect: pd.DataFrame, n_shared: int, n_test: int, groups: pd.DataFrame) -> str:
    """The repeat groups' scatter (:func:`matmap_utils.benchmark.noise.noise_floor`; ``groups``:
    :func:`~matmap_utils.benchmark.noise.group_table`) next to the best model's MAE on the measured
    test entries (``effect``: :func:`censored_effect`)."""
    if floor["n_groups"] < 2:
        return "Fewer than two repeat groups: no noise floor can be estimated from this release."

    def iv(name: str) -> str:
        return f"{floor[name]:.2f} [{floor[f'{name}_lo']:.2f}, {floor[f'{name}_hi']:.2f}]"

    best, best_mae = best_measured(effect)
    wide = groups.iloc[0]
    cross = floor["n_cross_split"]
    cross_txt = "No repeat group has" if cross == 0 else f"{cross} repeat group{'s have' if cross > 1 else ' has'}"
    return (
        f"**{floor['n_entries']} measured entries in {floor['n_groups']} repeat groups** (the same composition, "
        f"atomic fractions rounded to {floor['decimals']} decimals, and the same space group; reported by "
        f"{floor['n_dois']} publications) scatter around their group mean by {iv('rms_from_mean')} log10 S/cm "
        f"(RMS, 95 % group-bootstrap interval) and around their group median by {iv('mad_from_median')} (mean "
        f"absolute deviation).  The widest group, {wide['composition']} (space group {wide['space_group']}, "
        f"{wide['n']} entries), spans {wide['range']:.1f} decades.  The pooled within-group SD is "
        f"{iv('pooled_sd')}: were the measurement errors Gaussian with this SD, a model that knew every "
        f"material's true conductivity would still show an MAE of {iv('floor_mae')} against single reported "
        f"values; predicting each entry by the mean of the other publications' values in its group, with no "
        f"such assumption, gives an MAE of {iv('loo_mae')}.  On the measured test entries (the '< 1E-10' ones left out) the lowest MAE is the "
        f"{SHORT_NAMES.get(best, best)}'s, {best_mae:.2f} log10 S/cm: {best_mae / floor['floor_mae']:.1f} "
        f"times that floor.  {cross_txt} members in both train and test, and {n_shared} of the {n_test} test "
        "entries share their composition (in any space group) with a training entry.  The widest groups:"
    )


def noise_metrics(floor: Mapping, n_shared: int) -> dict:
    """``metrics.json`` keys of the scatter: every statistic of ``floor`` as ``noise_<name>``, and the
    number of test entries whose composition a training entry shares."""
    return {**{f"noise_{k}": v for k, v in floor.items()}, "noise_n_test_shared_composition": int(n_shared)}


def noise_group_display(groups: pd.DataFrame, k: int = 6):
    """The ``k`` widest repeat groups of :func:`matmap_utils.benchmark.noise.group_table`."""
    return format_table(
        groups.head(k).reset_index(drop=True),
        rename={
            "space_group": "space group",
            "n": "entries",
            "n_dois": "publications",
            "range": "range (log10 S/cm)",
            "sd": "SD (log10 S/cm)",
        },
    )


def noise_figure(rep: pd.DataFrame, floor_mae: float):
    """Each repeat group's entries: deviation from the group mean against the group mean (log10 S/cm);
    the band is ± the Gaussian noise-floor MAE."""
    fig, (ax,) = panel_grid(1, panel_height=3.6)
    mean = rep["target"] - rep["dev_mean"]
    ax.axhspan(-floor_mae, floor_mae, color="0.9", label=f"± floor MAE ({floor_mae:.2f})")
    ax.scatter(mean, rep["dev_mean"], s=14)
    for _, d in rep.groupby("repeat_group"):
        m = float((d["target"] - d["dev_mean"]).iloc[0])
        ax.plot([m, m], [d["dev_mean"].min(), d["dev_mean"].max()], color="C0", lw=0.6, alpha=0.6)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="group mean log10 σ (S/cm)", ylabel="deviation from group mean (log10 S/cm)")
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    return fig
