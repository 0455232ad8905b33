"""Chapter 08: the OBELiX paper's own random forest and MLP, rerun over seeds, next to ours.

The paper's benchmark table could not be read here, but its code records the configuration each of
its composition baselines was run with (:mod:`matmap_utils.benchmark.paper_config`).  Rerunning that
configuration with many seeds gives the distribution a published single run was drawn from; our
cross-validation-tuned baselines (the chapter's table) are then placed inside or outside it.
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


def paper_config_metrics(runs: Mapping[str, pd.DataFrame]) -> dict:
    """``metrics.json`` keys ``paperconf_<kind>_<subset>_<stat>`` (stat: mean, sd, min, median, max)."""
    out = {}
    for kind, summ in runs.items():
        for subset, _ in SUBSETS:
            s = summ.loc[subset]
            for stat in ("mean", "sd", "min", "median", "max"):
                out[f"paperconf_{kind}_{subset}_{stat}"] = float(s[stat])
        out["paperconf_n_seeds"] = int(summ["n_seeds"].iloc[0])
    return out


def paper_config_found(runs: Mapping[str, pd.DataFrame], scores: pd.DataFrame) -> str:
    """The "What we found" line of the reruns ('' when none ran)."""
    if not runs:
        return ""
    bits = []
    for kind, summ in runs.items():
        w = summ.loc["whole"]
        ours = _ours(scores, kind, "whole")
        bits.append(
            f"{PAPER_CONFIG_NAMES.get(kind, kind)} {w['mean']:.2f} ± {w['sd']:.2f} over {int(w['n_seeds'])} seeds "
            f"(ours {ours:.2f}, {position(ours, w)} the seed range)"
        )
    return (
        "- **The paper's own configurations, rerun** (whole test set): "
        + "; ".join(bits)
        + ". One published run is one draw from such a distribution."
    )
