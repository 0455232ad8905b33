"""How far apart two measurements of the same material are: the OBELiX noise floor.

OBELiX has entries of the same composition and space group reported by different publications
(usually different laboratories).  The scatter of log10 sigma inside such a *repeat group* is the
measurement's own irreproducibility (synthesis, density, grain boundaries, total vs. bulk), so no
model can predict a single reported value better than that scatter allows.  This module finds the
repeat groups and measures their scatter, all in log10 S/cm:

* ``rms_from_mean`` = ``sqrt(sum_i (y_i - mean_g(i))**2 / N)`` over the N entries of the G groups;
* ``mad_from_median`` = ``sum_i abs(y_i - median_g(i)) / N``;
* ``pooled_sd`` = ``sqrt(sum_i (y_i - mean_g(i))**2 / (N - G))``, the within-group standard deviation
  (one-way ANOVA's within-group mean square, unbiased for the measurement SD if all groups share it);
* ``floor_mae`` = ``pooled_sd * sqrt(2 / pi)``, the mean absolute error that a model which knew each
  material's true conductivity would still show against single measurements, *if* the measurement
  error is Gaussian with that SD (``E abs(e) = sigma * sqrt(2 / pi)``);
* ``loo_mae`` = ``sum_i abs(y_i - mean of the other entries of its group) / N``, the MAE of predicting
  each reported value by the other publications' mean: the same question without the Gaussian
  assumption, slightly above the floor because the others' mean is itself noisy
  (``y_i - mean_others = (y_i - mean_g) * n_g / (n_g - 1)``).

Entries reported only as an upper bound ("< 1E-10") are not measurements and are left out.  The
intervals are percentile-bootstrap intervals over *groups* (:func:`matmap_utils.core.bootstrap.bootstrap_ci`):
the entries of a group are not independent of each other.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from matmap_utils.core.bootstrap import bootstrap_ci

#: composition column that is parsed (the cell content; ``Reduced Composition`` has free text)
COMPOSITION_COLUMN = "True Composition"

#: space-group number column
SPACE_GROUP_COLUMN = "Space group #"

#: the statistics :func:`noise_floor` reports, in log10 S/cm
STATISTICS = ("rms_from_mean", "mad_from_median", "pooled_sd", "floor_mae", "loo_mae")


def composition_key(formula: str, decimals: int = 4) -> tuple[tuple[str, float], ...]:
    """Atomic fractions of ``formula``, sorted by element and rounded to ``decimals``.

    Equal for the same composition however it is written (element order, formula units per
    cell): ``Li7La3Zr2O12`` and ``La6Li14Zr4O24`` give the same key.  Raises ``ValueError``
    naming the formula when pymatgen cannot parse it or it contains a symbol that is no element.
    """
    try:
        frac = Composition(str(formula), strict=True).fractional_composition
    except Exception as exc:  # pymatgen raises ValueError, KeyError or CompositionError
        raise ValueError(f"composition {formula!r} cannot be parsed: {exc}") from None
    return tuple(sorted((str(el), round(float(x), decimals)) for el, x in frac.items()))


def composition_keys(frame: pd.DataFrame, decimals: int = 4) -> pd.Series:
    """:func:`composition_key` of every entry's :data:`COMPOSITION_COLUMN` (index kept); a formula
    that cannot be parsed raises ``ValueError`` naming the entry."""
    keys = {}
    for idx, formula in frame[COMPOSITION_COLUMN].items():
        try:
            keys[idx] = composition_key(formula, decimals)
        except ValueError as exc:
            raise ValueError(f"OBELiX entry {idx}: {exc}") from None
    return pd.Series(keys, index=frame.index, dtype=object)


def repeat_groups(task: pd.DataFrame, decimals: int = 4) -> pd.DataFrame:
    """Measured entries that share composition and space group with at least one other entry.

    ``task`` is :func:`matmap_utils.benchmark.obelix.task_frame` (columns ``target``, ``censored``,
    :data:`COMPOSITION_COLUMN`, :data:`SPACE_GROUP_COLUMN`, ``split``).  Returns those rows with
    ``repeat_group`` (an integer label), ``group_size``, ``dev_mean`` (target minus the group mean)
    and ``dev_median`` (absolute deviation from the group median), all in log10 S/cm.  Censored
    entries are dropped before grouping.  A formula that cannot be parsed raises ``ValueError``
    naming the entry.
    """
    measured = task[~task["censored"].astype(bool)]
    keys = [(c, int(sg)) for c, sg in zip(composition_keys(measured, decimals), measured[SPACE_GROUP_COLUMN])]
    labels = pd.Series(pd.factorize(pd.Series(keys, index=measured.index))[0], index=measured.index)
    size = labels.map(labels.value_counts())
    out = measured[size >= 2].copy()
    out["repeat_group"] = labels[size >= 2]
    out["group_size"] = size[size >= 2]
    grouped = out.groupby("repeat_group")["target"]
    out["dev_mean"] = out["target"] - grouped.transform("mean")
    out["dev_median"] = (out["target"] - grouped.transform("median")).abs()
    return out


def _rms(dev, inv_size, absmed) -> float:
    return float(np.sqrt(np.mean(dev**2)))


def _mad(dev, inv_size, absmed) -> float:
    return float(np.mean(absmed))


def _pooled(dev, inv_size, absmed) -> float:
    dof = len(dev) - float(np.sum(inv_size))  # N - G: each group's members sum 1/n_g to 1
    return float(np.sqrt(np.sum(dev**2) / dof)) if dof > 0 else float("nan")


def _floor(dev, inv_size, absmed) -> float:
    return _pooled(dev, inv_size, absmed) * math.sqrt(2.0 / math.pi)


def _loo(dev, inv_size, absmed) -> float:
    return float(np.mean(np.abs(dev) / (1.0 - inv_size)))  # n/(n-1) = 1/(1 - 1/n); groups have n >= 2


_STAT_FUNCS = {
    "rms_from_mean": _rms,
    "mad_from_median": _mad,
    "pooled_sd": _pooled,
    "floor_mae": _floor,
    "loo_mae": _loo,
}


def noise_floor(
    task: pd.DataFrame,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    decimals: int = 4,
    repeats: pd.DataFrame | None = None,
) -> dict:
    """The repeat groups' scatter (:data:`STATISTICS`, log10 S/cm) with group-bootstrap 95 % intervals.

    ``repeats``: :func:`repeat_groups` of ``task`` at ``decimals`` when the caller already has it
    (it is computed otherwise).

    Returns ``n_groups``, ``n_entries``, ``n_dois`` (publications among them), ``n_cross_split``
    (groups with members in both train and test; 0 for a split that keeps compositions apart) and,
    per statistic, ``<name>``, ``<name>_lo``, ``<name>_hi``.  With fewer than two groups every
    statistic is NaN.
    """
    rep = repeat_groups(task, decimals) if repeats is None else repeats
    out: dict = {
        "n_groups": int(rep["repeat_group"].nunique()),
        "n_entries": int(len(rep)),
        "n_dois": int(rep["group"].nunique()) if "group" in rep else 0,
        "n_cross_split": int((rep.groupby("repeat_group")["split"].nunique() > 1).sum()) if "split" in rep else 0,
        "decimals": int(decimals),
    }
    arrays = (
        rep["dev_mean"].to_numpy(float),
        1.0 / rep["group_size"].to_numpy(float),
        rep["dev_median"].to_numpy(float),
    )
    for name in STATISTICS:
        if out["n_groups"] < 2:
            out[name] = out[f"{name}_lo"] = out[f"{name}_hi"] = float("nan")
            continue
        iv = bootstrap_ci(_STAT_FUNCS[name], *arrays, n_boot=n_boot, seed=seed, groups=rep["repeat_group"].to_numpy())
        out[name], out[f"{name}_lo"], out[f"{name}_hi"] = iv.value, iv.lo, iv.hi
    return out


def shared_compositions(task: pd.DataFrame, decimals: int = 4) -> int:
    """Test entries whose composition (any space group) also occurs in the training split."""
    keys = composition_keys(task, decimals)
    seen = set(keys[task["split"] == "train"])
    return int(keys[task["split"] == "test"].isin(seen).sum())


def group_table(rep: pd.DataFrame) -> pd.DataFrame:
    """One row per repeat group of :func:`repeat_groups`, widest first: the composition as first
    reported, the space group, the number of entries and publications, and the range and SD of
    log10 sigma (S/cm)."""
    name = "Reduced Composition" if "Reduced Composition" in rep else COMPOSITION_COLUMN
    g = rep.groupby("repeat_group")
    out = pd.DataFrame(
        {
            "composition": g[name].first().astype(str).str.strip(),
            "space_group": g[SPACE_GROUP_COLUMN].first().astype(int),
            "n": g.size(),
            "n_dois": g["group"].nunique() if "group" in rep else np.nan,
            "range": g["target"].max() - g["target"].min(),
            "sd": g["target"].std(ddof=1),
        }
    )
    return out.sort_values(["range", "composition"], ascending=[False, True])
