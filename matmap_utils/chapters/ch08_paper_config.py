"""Chapter 08: the OBELiX paper's own random forest and MLP, rerun over seeds, next to ours and its published numbers.

The paper's code records the configuration each of its composition baselines was run with
(:mod:`matmap_utils.benchmark.paper_config`).  Rerunning that configuration with many seeds gives the
distribution a published single run was drawn from; the published numbers (:data:`PUBLISHED`) and our
cross-validation-tuned baselines (the chapter's table) are then placed inside or outside it, and the
scripts' own cross-validation is repeated to check which published panel belongs to which model.
Re-exported by :mod:`matmap_utils.chapters.ch08_obelix_benchmark`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from matmap_utils.benchmark import features as bfeat
from matmap_utils.benchmark import paper_config
from matmap_utils.benchmark.obelix import split

#: the paper's configurations rerun here, with their display names
PAPER_CONFIG_NAMES = {"rf": "random forest", "mlp": "MLP"}
SUBSETS = (("whole", "all"), ("cif", "CIF"))

#: The OBELiX paper's published numbers for its composition baselines (log10 S/cm), quoted from its
#: parity figure: ``paper/figures/parity.svg`` of ``NRC-Mila/OBELiX`` (added 2025-05-15; read at
#: commit ec579bb), whose two text panels print "Cross-Val. MAE: <mean> ± <SD>" and "Test MAE:
#: <all test entries>(<CIF subset>)" — the order of the paper's ``test`` function, which scores the
#: CIF subset and the whole test set.  The panels' model names are not in the figure's text; panel (a)
#: is the random forest and (b) the MLP because the scripts' own cross-validation of the two
#: configurations (:func:`paper_cv_runs`, shown in the chapter) reproduces their printed CV MAEs, and
#: a third-party summary of the paper's table pairs the same test MAEs with the same models.  The
#: figure's other panels (the graph networks) are embedded as outlines without text: no number of
#: theirs is quoted.
PUBLISHED: dict[str, dict[str, float | str]] = {
    "rf": {"panel": "a", "whole": 1.59, "cif": 1.85, "cv_mean": 1.04, "cv_sd": 0.06},
    "mlp": {"panel": "b", "whole": 1.72, "cif": 2.10, "cv_mean": 1.35, "cv_sd": 0.27},
}
PUBLISHED_SOURCE = (
    "Therrien et al., OBELiX (arXiv 2502.14234; Digital Discovery 2026), parity figure "
    "(paper/figures/parity.svg of NRC-Mila/OBELiX, commit ec579bb), panels (a) RF and (b) MLP"
)


def paper_config_runs(
    task: pd.DataFrame, kinds: Sequence[str], seeds: Sequence[int], *, n_jobs: int | None = None
) -> dict[str, pd.DataFrame]:
    """Per ``kind``: the test-MAE summary over ``seeds`` (:func:`~matmap_utils.benchmark.paper_config.seed_summary`,
    rows "whole" and "cif") of the OBELiX paper's configuration trained on the training split."""
    train, test = split(task)
    X = bfeat.split_inputs(task)[0]["obelix"]
    X_train, X_test = X.loc[train.index], X.loc[test.index]
    subsets = {"whole": pd.Series(True, index=test.index), "cif": test["cif_subset"].astype(bool)}
    out = {}
    for kind in kinds:
        preds = paper_config.rerun(kind, X_train, train["target"], X_test, seeds, n_jobs=n_jobs)
        out[kind] = paper_config.seed_summary(preds, test["target"], subsets)
    return out


def paper_cv_runs(
    task: pd.DataFrame, kinds: Sequence[str], seeds: Sequence[int], *, n_jobs: int | None = None
) -> dict[str, pd.DataFrame]:
    """Per ``kind``: the scripts' 5-fold cross-validation on the training split, once per seed
    (:func:`~matmap_utils.benchmark.paper_config.paper_cv`: ``mean`` and ``sd`` of the fold MAEs,
    log10 S/cm; each seed also draws the folds).  The rows are taken in ``train.csv``'s order; the
    scripts read ``train_idx.csv``, which lists them in another order, so even the scripts' own fold
    seed would give folds of other entries than the paper's."""
    train, _ = split(task)
    X = bfeat.split_inputs(task)[0]["obelix"].loc[train.index]
    return {k: paper_config.paper_cv(k, X, train["target"], seeds, n_jobs=n_jobs) for k in kinds}


def _ours(scores: pd.DataFrame, kind: str, subset: str) -> float:
    r = scores[(scores["model"] == kind) & (scores["subset"] == subset)]
    return float(r["mae"].iloc[0]) if len(r) else float("nan")


def position(value: float, s: pd.Series) -> str:
    """Where ``value`` lies against a seed summary row ``s``: below its minimum, inside its range, or
    above its maximum."""
    if pd.isna(value):
        return "not run"
    return "below" if value < s["min"] else "above" if value > s["max"] else "inside"


def _where(whole: str, cif: str) -> str:
    """The phrase for two positions, e.g. "inside both ranges"."""
    if whole == cif:
        return f"{whole} both ranges"
    return f"{whole} the first range and {cif} the second"


def paper_config_display(runs: Mapping[str, pd.DataFrame], scores: pd.DataFrame) -> pd.DataFrame:
    """One row per rerun configuration: per subset, the mean ± SD of its test MAE over seeds with
    the range, and our cross-validation-tuned model of the same family on the same test entries."""
    rows = []
    for kind, summ in runs.items():
        row = {
            "model": f"{PAPER_CONFIG_NAMES.get(kind, kind)} (paper's hyperparameters)",
            "seeds": int(summ["n_seeds"].iloc[0]),
        }
        for subset, label in SUBSETS:
            s = summ.loc[subset]
            row[f"MAE ({label}), mean ± SD"] = f"{s['mean']:.2f} ± {s['sd']:.2f}"
            row[f"range ({label})"] = f"{s['min']:.2f}–{s['max']:.2f}"
            ours = _ours(scores, kind, subset)
            row[f"ours, CV-tuned ({label})"] = f"{ours:.2f} ({position(ours, s)})"
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def paper_config_text(runs: Mapping[str, pd.DataFrame], scores: pd.DataFrame) -> str:
    """The reruns in words: each configuration's seed distribution on the whole test set and the CIF
    subset, where our tuned model lies in it, and how far one run can move."""
    if not runs:
        return "No configuration of the OBELiX paper was rerun (`paper_config_seeds = 0`)."
    parts = []
    for kind, summ in runs.items():
        w, c = summ.loc["whole"], summ.loc["cif"]
        ours_w, ours_c = _ours(scores, kind, "whole"), _ours(scores, kind, "cif")
        parts.append(
            f"The paper's {PAPER_CONFIG_NAMES.get(kind, kind)}, trained {int(w['n_seeds'])} times with different "
            f"seeds, scores a test MAE of {w['mean']:.2f} ± {w['sd']:.2f} log10 S/cm on all {int(w['n'])} test "
            f"entries (mean ± SD over seeds; single runs from {w['min']:.2f} to {w['max']:.2f}) and "
            f"{c['mean']:.2f} ± {c['sd']:.2f} on the {int(c['n'])} with a CIF ({c['min']:.2f}–{c['max']:.2f}).  "
            f"Our cross-validation-tuned {PAPER_CONFIG_NAMES.get(kind, kind)} ({ours_w:.2f} and {ours_c:.2f}) lies "
            f"{_where(position(ours_w, w), position(ours_c, c))}."
        )
    spread = {k: float(s.loc["whole", "max"] - s.loc["whole", "min"]) for k, s in runs.items()}
    widest = max(spread, key=spread.get)
    parts.append(
        f"Neither of the paper's scripts fixes a random state, so each published number is one such draw: "
        f"for the {PAPER_CONFIG_NAMES.get(widest, widest)} the seed alone moves the whole-test-set MAE by up to "
        f"{spread[widest]:.2f} log10 S/cm, which is how far apart two honest single runs can be."
    )
    return "\n\n".join(parts)


def paper_config_metrics(runs: Mapping[str, pd.DataFrame], cv: Mapping[str, pd.DataFrame] | None = None) -> dict:
    """``metrics.json`` keys ``paperconf_<kind>_<subset>_<stat>`` (stat: mean, sd, min, median, max,
    q025, q975), the CV rerun ``paperconf_<kind>_cv_<stat>`` (mean, min and max over seeds of the fold
    mean; ``sd``: mean fold SD) and the quotations ``published_<kind>_<whole|cif|cv_mean|cv_sd>``."""
    out = {}
    for kind, summ in runs.items():
        for subset, _ in SUBSETS:
            s = summ.loc[subset]
            for stat in ("mean", "sd", "min", "median", "max", "q025", "q975"):
                out[f"paperconf_{kind}_{subset}_{stat}"] = float(s[stat])
        out["paperconf_n_seeds"] = int(summ["n_seeds"].iloc[0])
    for kind, c in (cv or {}).items():
        m = c["mean"]
        out |= {
            f"paperconf_{kind}_cv_{k}": float(v) for k, v in (("mean", m.mean()), ("min", m.min()), ("max", m.max()))
        }
        out[f"paperconf_{kind}_cv_sd"] = float(c["sd"].mean())
        out["paperconf_cv_n_seeds"] = len(c)
    for kind, pub in PUBLISHED.items():
        out |= {f"published_{kind}_{k}": float(pub[k]) for k in ("whole", "cif", "cv_mean", "cv_sd")}
    return out


def paper_config_found(runs: Mapping[str, pd.DataFrame], scores: pd.DataFrame) -> str:
    """The "What we found" line of the reruns ('' when none ran)."""
    if not runs:
        return ""
    bits = []
    for kind, summ in runs.items():
        w = summ.loc["whole"]
        ours = _ours(scores, kind, "whole")
        pub = PUBLISHED.get(kind)
        pub_txt = "" if pub is None else f"; published {pub['whole']:.2f}, {position(float(pub['whole']), w)} it"
        bits.append(
            f"{PAPER_CONFIG_NAMES.get(kind, kind)} {w['mean']:.2f} ± {w['sd']:.2f} over {int(w['n_seeds'])} seeds "
            f"(ours {ours:.2f}, {position(ours, w)} the seed range{pub_txt})"
        )
    return (
        "- **The paper's own configurations, rerun** (whole test set): "
        + "; ".join(bits)
        + ". One published run is one draw from such a distribution."
    )


def _cv(cv: pd.DataFrame) -> str:
    """A CV rerun as "<mean over seeds> ± <mean fold SD>", with the range of the seeds' means when
    there are several."""
    m = cv["mean"]
    rng = f" ({m.min():.2f}–{m.max():.2f})" if len(m) > 1 else ""
    return f"{m.mean():.2f} ± {cv['sd'].mean():.2f}{rng}"


def published_display(runs: Mapping[str, pd.DataFrame], cv: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per model family the paper's figure gives numbers for: the published test MAE per subset
    with where it lies in the rerun's seed range, and the published cross-validation MAE next to the
    scripts' cross-validation rerun here (mean over seeds ± mean SD over folds)."""
    rows = []
    for kind, pub in PUBLISHED.items():
        if kind not in runs:
            continue
        row = {"model": f"{PAPER_CONFIG_NAMES[kind]} (panel {pub['panel']})"}
        for subset, label in SUBSETS:
            s = runs[kind].loc[subset]
            row[f"published ({label})"] = f"{pub[subset]:.2f} ({position(pub[subset], s)})"
            row[f"seed range ({label})"] = f"{s['min']:.2f}–{s['max']:.2f}"
        row["published CV MAE"] = f"{pub['cv_mean']:.2f} ± {pub['cv_sd']:.2f}"
        row["CV MAE, scripts' folds, rerun"] = _cv(cv[kind]) if kind in cv else "not run"
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def panel_match(cv: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """For each published panel: the rerun configuration whose cross-validation MAE (mean over seeds)
    lies nearest the panel's printed CV MAE — the check of which model a panel shows."""
    means = {k: float(v["mean"].mean()) for k, v in cv.items()}
    return {k: min(means, key=lambda m: abs(means[m] - float(pub["cv_mean"]))) for k, pub in PUBLISHED.items() if means}


def published_text(
    runs: Mapping[str, pd.DataFrame],
    cv: Mapping[str, pd.DataFrame],
    scores: pd.DataFrame,
    cv_mae: Mapping[str, float],
) -> str:
    """The published numbers in words: each inside or outside the rerun's seed range, the printed CV
    MAEs against the scripts' CV rerun (:func:`panel_match`: which model each panel shows), and what
    random folds promise against what the publication-disjoint test set delivers (``cv_mae``: the
    chapter's publication-grouped CV MAE per model)."""
    kinds = [k for k in PUBLISHED if k in runs]
    if not kinds:
        return "The paper's configurations were not rerun, so its published numbers are not placed here."
    parts = []
    for k in kinds:
        pub, w, c = PUBLISHED[k], runs[k].loc["whole"], runs[k].loc["cif"]
        where = _where(position(pub["whole"], w), position(pub["cif"], c))
        parts.append(
            f"The paper's {PAPER_CONFIG_NAMES[k]} (panel {pub['panel']}) is published at {pub['whole']:.2f} on all "
            f"test entries and {pub['cif']:.2f} on the CIF subset: {where} of the rerun "
            f"({w['min']:.2f}–{w['max']:.2f} and {c['min']:.2f}–{c['max']:.2f})."
        )
    if all(k in cv for k in kinds):
        n = len(cv[kinds[0]])
        checks = "; ".join(
            f"{PAPER_CONFIG_NAMES[k]} {_cv(cv[k])} (printed in panel {PUBLISHED[k]['panel']}: "
            f"{PUBLISHED[k]['cv_mean']:.2f} ± {PUBLISHED[k]['cv_sd']:.2f})"
            for k in kinds
        )
        match = panel_match({k: cv[k] for k in kinds})
        ok = all(match[k] == k for k in kinds)
        verdict = (
            "each panel's printed CV MAE lies nearest the configuration it is assigned to"
            if ok
            else "the printed CV MAEs do not single out the assigned configurations: the panel assignment is unconfirmed"
        )
        parts.append(
            f"The scripts' own cross-validation on the training split, rerun with {n} seed{'s' if n > 1 else ''}, "
            f"each drawing its folds (mean over seeds ± SD over folds, range of the seeds' means): {checks}; {verdict}."
        )
    if "rf" in kinds and "rf" in cv and "rf" in cv_mae:
        parts.append(
            "Random folds put entries of one publication on both sides of a split.  On them the paper's random "
            f"forest reaches {cv['rf']['mean'].mean():.2f}; on the test set, whose publications are all unseen, "
            f"{runs['rf'].loc['whole', 'mean']:.2f} (mean over seeds).  Our folds keep publications apart: they "
            f"predicted {cv_mae['rf']:.2f} for our tuned forest, which scores {_ours(scores, 'rf', 'whole'):.2f}."
        )
    return "\n\n".join(parts)
