"""The screening filters of McHaffie et al. (2025, Sec. 3.3) and a verdict per compound.

* **Band gap, two stages.** The paper used the Materials Project gap where an MP entry exists and
  the MEGNet band-gap model otherwise, keeping Eg > 1 eV, and omitted intermetallics from its
  Table 2.  The MEGNet band-gap *regressor* was trained on materials with a positive gap and cannot
  say "metal", so where no MP gap is known a compound must pass MEGNet's metal classifier first:
  P(non-metal) ≥ 0.5 **and** MEGNet Eg > 1 eV (:func:`band_gap_filter`).
* **Novelty**: no labelled composition (every McHaffie entry, every OBELiX entry, with or without a
  structure) within 5 % in every element's atomic fraction (:func:`novel_against`).
* **Domain**: d_training above the 95th percentile of the training set's own nearest-neighbour
  distances is *out of domain* — a flag, not a filter (:func:`domain_flags`).
* **Verdict**: ``"candidate"`` or ``"not a candidate: <reasons>"`` (:func:`verdicts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from matmap_utils.screening.candidates import novelty_mask

#: Thresholds of the screening (eV; probabilities).
EG_MIN_EV = 1.0
P_NONMETAL_MIN = 0.5
P_SI_MIN = 0.5


def band_gap_filter(
    eg_mp, p_nonmetal, eg_megnet, *, eg_min: float = EG_MIN_EV, p_min: float = P_NONMETAL_MIN
) -> pd.DataFrame:
    """The two-stage band-gap filter for aligned Series (index = compound ids; NaN = unknown).

    Returns ``Eg`` (eV: MP where known, else MEGNet), ``Eg_source`` (``"MP"``, ``"MEGNet"``,
    ``"none"``), ``metal`` (MEGNet classifier P(non-metal) < ``p_min``; only consulted without an MP
    gap), ``passes_gap`` and ``gap_reason`` (None, ``"metal"``, ``"Eg ≤ 1 eV"`` or ``"no band gap"``).
    """
    eg_mp, p_nm, eg_mg = (pd.Series(x, dtype=float) for x in (eg_mp, p_nonmetal, eg_megnet))
    idx = eg_mp.index.union(p_nm.index).union(eg_mg.index)
    eg_mp, p_nm, eg_mg = eg_mp.reindex(idx), p_nm.reindex(idx), eg_mg.reindex(idx)
    has_mp = eg_mp.notna()
    out = pd.DataFrame(index=idx)
    out["Eg"] = eg_mp.where(has_mp, eg_mg)
    out["Eg_source"] = np.where(has_mp, "MP", np.where(eg_mg.notna(), "MEGNet", "none"))
    out["P_nonmetal"] = p_nm
    metal = ~has_mp & (p_nm < p_min)
    unknown = ~has_mp & (p_nm.isna() | eg_mg.isna())
    low = out["Eg"] <= eg_min
    reason = np.where(metal, "metal", np.where(unknown, "no band gap", np.where(low, f"Eg ≤ {eg_min:g} eV", None)))
    out["metal"] = metal
    out["gap_reason"] = pd.Series(reason, index=idx, dtype=object).where(lambda r: r.notna(), None)
    out["passes_gap"] = out["gap_reason"].isna()
    return out


def reference_compositions(formulas: Iterable) -> tuple[list[Composition], list[tuple[str, str]]]:
    """Compositions of labelled formulas (text or Composition) and ``(formula, reason)`` for those
    that do not parse (reported, skipped)."""
    comps, bad = [], []
    for f in formulas:
        if f is None or (isinstance(f, float) and np.isnan(f)):
            continue
        try:
            c = f if isinstance(f, Composition) else Composition(str(f).replace(" ", ""))
            if c.num_atoms <= 0:
                raise ValueError("empty composition")
            comps.append(c)
        except Exception as exc:  # noqa: BLE001 - one bad formula is reported, not fatal
            bad.append((str(f), f"{type(exc).__name__}: {exc}"))
    return comps, bad


def novel_against(reference: Sequence[Composition], query: Sequence, tol: float = 0.05) -> np.ndarray:
    """True where a query composition is novel against every reference composition
    (:func:`matmap_utils.screening.candidates.novelty_mask`, 5 % in every element by default)."""
    return novelty_mask(list(reference), list(query), tol=tol)


def domain_flags(d_train, threshold: float) -> np.ndarray:
    """True where d_training exceeds the domain threshold (out of domain)."""
    return np.asarray(d_train, dtype=float) > float(threshold)


def verdicts(frame: pd.DataFrame, p_si_min: float = P_SI_MIN) -> pd.Series:
    """``"candidate"`` or ``"not a candidate: <reasons>"`` per row of a frame with ``P_SI``,
    ``gap_reason`` (:func:`band_gap_filter`) and ``novel`` (missing columns are not checked)."""
    out = []
    for _, r in frame.iterrows():
        reasons = []
        if "gap_reason" in frame and pd.notna(r["gap_reason"]):
            reasons.append(str(r["gap_reason"]))
        if r["P_SI"] < p_si_min:
            reasons.append(f"P_SI < {p_si_min:g}")
        if "novel" in frame and not bool(r["novel"]):
            reasons.append("known composition")
        out.append("candidate" if not reasons else "not a candidate: " + ", ".join(reasons))
    return pd.Series(out, index=frame.index, dtype=object)


def filter_counts(screen: pd.DataFrame, p_si_min: float = P_SI_MIN) -> dict[str, int]:
    """How many compounds each filter removes, applied in the order gap → P_SI → novelty, and the
    candidates left (``screen``: :func:`band_gap_filter` columns, ``P_SI``, ``novel``)."""
    n0 = len(screen)
    g = screen[screen["passes_gap"]]
    p = g[g["P_SI"] >= p_si_min]
    c = p[p["novel"]]
    return {
        "n_screened": int(n0),
        "removed_metal": int(screen["gap_reason"].eq("metal").sum()),
        "removed_low_gap": int(screen["gap_reason"].astype(str).str.startswith("Eg").sum()),
        "removed_no_gap": int(screen["gap_reason"].eq("no band gap").sum()),
        "removed_p_si": int(len(g) - len(p)),
        "removed_not_novel": int(len(p) - len(c)),
        "n_candidates": int(len(c)),
    }


def enrichment(rank_fraction, positive, fractions: Sequence[float] = (0.01, 0.05, 0.10)) -> dict[float, float]:
    """Enrichment of positives in the top fraction f of a ranking: (share of the positives whose
    rank fraction — rank / pool size, 0 = best — is < f) / f; 1 = random, NaN without positives."""
    rf = np.asarray(rank_fraction, dtype=float)
    pos = np.asarray(positive, dtype=bool)
    if not pos.any():
        return dict.fromkeys(fractions, float("nan"))
    return {f: float((rf[pos] < f).mean() / f) for f in fractions}
