"""Baselines of the screening: Sendek et al.'s five structural features and a logistic regression on them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pymatgen.core import Element
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler

from matmap_utils.core.parallel import parallel_map
from matmap_utils.screening.cv import run_cv
from matmap_utils.screening.simplify import element_signs

SENDEK_FEATURES = ("LLB", "SBI", "AFC", "LASD", "LLSD")


def _radius(el: str, kind: str) -> float:

    e = Element(el)
    if kind == "anion":
        r = e.average_anionic_radius
        if r and float(r) > 0:
            return float(r)
        r = e.average_ionic_radius
        return float(r) if r and float(r) > 0 else float(e.atomic_radius or 1.5)
    r = e.atomic_radius or e.atomic_radius_calculated
    return float(r) if r else 1.5


def sendek_features(
    structure,
    signs: dict[str, int] | None = None,
    *,
    r_max: float = 6.0,
    bond_tol: float = 1.2,
    li_li_cutoff: float = 3.0,
) -> dict[str, float]:
    """Occupancy-weighted Sendek et al. (2017) features of a (possibly disordered) structure.

    Bonds: Li–Li within ``li_li_cutoff`` (Å); framework bonds: distance ≤ ``bond_tol`` × (sum of
    atomic radii).  Anion–anion neighbours (AFC): distance ≤
    1.1 × (sum of anionic radii).  Site weights are occupancies, so a half-occupied Li site counts
    half a Li.  Ionicity of a bond: 1 − exp(−(Δχ)²/4) (Pauling).  LASD/LLSD: occupancy-weighted
    mean over Li sites of the shortest distance to an anion / to another Li site.
    """

    if signs is None:
        signs, _ = element_signs(structure)
    anions = {e for e, s in signs.items() if s < 0 and e != "Li"}
    n = len(structure)
    occ = [
        {(sp.symbol if hasattr(sp, "symbol") else str(sp)): float(x) for sp, x in site.species.items()}
        for site in structure
    ]
    li = np.array([o.get("Li", 0.0) for o in occ])
    an = np.array([sum(v for k, v in o.items() if k in anions) for o in occ])
    fw = np.array([sum(v for k, v in o.items() if k != "Li") for o in occ])
    if li.sum() == 0:
        raise ValueError(f"{structure.composition.reduced_formula}: no Li")
    i_idx, j_idx, _, dist = structure.get_neighbor_list(r_max)
    keep = dist > 0.3  # ignore split/overlapping partial sites
    i_idx, j_idx, dist = i_idx[keep], j_idx[keep], dist[keep]
    # dominant element per site, for radii and electronegativity
    main = [max(o, key=o.get) for o in occ]
    fw_el = [
        max(((k, v) for k, v in o.items() if k != "Li"), key=lambda kv: kv[1])[0] if fw[s] > 0 else None
        for s, o in enumerate(occ)
    ]
    rad = np.array([_radius(m, "atom") for m in main])
    r_an = np.array([_radius(fw_el[s], "anion") if an[s] > 0 else 0.0 for s in range(n)])
    chi = np.array([Element(fw_el[s]).X if fw_el[s] else np.nan for s in range(n)])
    # LLB: Li-Li bonds per Li
    ll_bond = dist <= li_li_cutoff
    llb_num = np.sum(li[i_idx] * li[j_idx] * ll_bond)
    llb = float(llb_num / li.sum())
    # SBI: framework bonds (non-Li) ionicity
    fb = (fw[i_idx] > 0) & (fw[j_idx] > 0) & (dist <= bond_tol * (rad[i_idx] + rad[j_idx]))
    dchi = np.abs(chi[i_idx] - chi[j_idx])
    w = fw[i_idx] * fw[j_idx] * fb
    ion = 1 - np.exp(-(np.nan_to_num(dchi) ** 2) / 4)
    sbi = float((w * ion).sum() / w.sum()) if w.sum() > 0 else 0.0
    # AFC: anion neighbours per anion
    aa = (an[i_idx] > 0) & (an[j_idx] > 0) & (dist <= 1.1 * (r_an[i_idx] + r_an[j_idx]))
    afc = float(np.sum(an[i_idx] * an[j_idx] * aa) / an.sum()) if an.sum() > 0 else 0.0
    # shortest distances from Li sites
    lasd_s, llsd_s = np.full(n, np.nan), np.full(n, np.nan)
    for s in np.where(li > 0)[0]:
        m = i_idx == s
        d_an = dist[m & (an[j_idx] > 0)]
        d_li = dist[m & (li[j_idx] > 0)]
        if len(d_an):
            lasd_s[s] = d_an.min()
        if len(d_li):
            llsd_s[s] = d_li.min()
    wli = li / li.sum()
    lasd = float(np.nansum(wli * lasd_s) / np.sum(wli[~np.isnan(lasd_s)])) if np.any(~np.isnan(lasd_s)) else r_max
    llsd = float(np.nansum(wli * llsd_s) / np.sum(wli[~np.isnan(llsd_s)])) if np.any(~np.isnan(llsd_s)) else r_max
    return {"LLB": llb, "SBI": sbi, "AFC": afc, "LASD": lasd, "LLSD": llsd}


def _sendek_one(structure):
    return sendek_features(structure)


def sendek_frame(structures: Sequence, keys: Sequence[str], n_jobs: int | None = 1) -> pd.DataFrame:
    """Sendek features for many structures (``parallel_map``); failures become NaN rows + ``error``."""

    outs = parallel_map(_sendek_one, list(structures), keys=list(keys), n_jobs=n_jobs, progress=False)
    rows = []
    for o in outs:
        rows.append(
            {
                "key": o.key,
                **(o.value or {k: np.nan for k in SENDEK_FEATURES}),
                "error": None if o.error is None else str(o.error),
            }
        )
    return pd.DataFrame(rows).set_index("key")


def logistic_model(C: float) -> Pipeline:
    """The baseline classifier: median imputation of missing Sendek features, MinMax scaling to
    [0, 1] and an L2-penalized logistic regression (scikit-learn defaults except ``C``, as McHaffie
    et al. 2025, Sec. 4.3).  Imputation and scaling are steps of the pipeline, so ``fit`` learns
    them from the training rows only — test or validation rows never influence them."""
    return make_pipeline(SimpleImputer(strategy="median"), MinMaxScaler(), LogisticRegression(C=C, max_iter=2000))


def logistic_baseline(
    X: np.ndarray, y: np.ndarray, folds, *, Cs=(0.01, 0.1, 1.0, 10.0, 100.0), seed: int = 0, n_shuffles: int = 100
) -> tuple[float, pd.DataFrame]:
    """Logistic regression (:func:`logistic_model`; ``X`` may hold NaN for features that could not be
    computed — imputed inside each fold from its training rows) per fold for each C; return
    (best C, its CV frame)."""

    X = np.asarray(X, float)
    best = None
    for C in Cs:

        def fp(tr, va, k, C=C):
            m = logistic_model(C)
            m.fit(X[tr], y[tr])
            return m.predict_proba(X[va])[:, 1]

        cv = run_cv(folds, y, fp, n_shuffles=n_shuffles, seed=seed)
        score = cv["auc_pr"].mean()
        if best is None or score > best[0]:
            best = (score, C, cv)
    return best[1], best[2]
