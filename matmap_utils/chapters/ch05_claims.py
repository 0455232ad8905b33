"""Chapter 05: López et al.'s claims about PCA loadings and k-means classes, tested (the glue).

The paper (Sec. 2.4–2.5, Figs. 4–5) says that PC1 is "elastic–vibrational", PC2 "vibrational" and
PC3 "structural" with ≈ 4 % of the variance, that elbow and silhouette point to k = 6, and that the
mobile-ion families do not organise the classes (Li-based SSEs spread over 4 of 6 clusters and share
them with Na, halide and O conductors).  :func:`claims_table` puts each beside ours with a value, a
bootstrap 95 % CI over materials, n and a computed verdict; the differences in data (Li-only
materials, OBELiX families in place of mobile ions, measured σ instead of AIMD D) are stated per row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score

from matmap_utils.core.bootstrap import bootstrap_ci

#: the share of a PC's squared loadings a category group must carry to "dominate" it
DOMINANT_SHARE = 0.5
#: adjusted mutual information below which a labelling does not organise the classes
WEAK_AMI = 0.3


def _pc_shares(Z: np.ndarray, mask: np.ndarray, pc: int) -> float:
    """Share of PC ``pc``'s squared loadings on the columns in ``mask`` (PCA by SVD of centred Z)."""
    X = Z - Z.mean(axis=0)
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    return float((vt[pc] ** 2)[mask].sum())


def _pc_variance(Z: np.ndarray, pc: int) -> float:
    s = np.linalg.svd(Z - Z.mean(axis=0), compute_uv=False) ** 2
    return float(s[pc] / s.sum())


def _verdict_share(lo: float, hi: float, threshold: float) -> str:
    if not np.isfinite(lo):
        return "not testable here"
    return "supported" if lo > threshold else ("contradicted" if hi < threshold else "inconclusive")


def _row(claim, paper, value, lo, hi, n, verdict, why, note) -> dict:
    return {
        "claim": claim,
        "paper": str(paper),
        "ours": value,
        "ci_lo": lo,
        "ci_hi": hi,
        "n": n,
        "verdict": verdict,
        "why": why,
        "difference": note,
    }


def pca_claims(Z: pd.DataFrame, cats: Mapping[str, str], *, n_boot: int = 1000, seed: int = 0) -> list[dict]:
    """PC1 elastic–vibrational, PC2 vibrational (share of squared loadings > 1/2, CI from
    resampling materials and refitting the PCA) and PC3 ≈ 4 % of the variance."""
    arr = Z.to_numpy(float)
    cols = list(Z.columns)
    note = "ours: Li-only OBELiX structures, M–E from MEGNet, D–V only where present; theirs: 61 SSEs, DFT/AIMD"
    rows = []
    for pc, label, groups in (
        (0, "PC1 is elastic–vibrational (M–E + D–V)", ("M-E", "D-V")),
        (1, "PC2 is vibrational (D–V)", ("D-V",)),
    ):
        mask = np.array([cats.get(c) in groups for c in cols])
        base = f"baseline (equal loadings) {mask.mean():.2f}; dominant = share > {DOMINANT_SHARE}"
        if not mask.any():
            rows.append(
                _row(
                    label,
                    "dominant",
                    np.nan,
                    np.nan,
                    np.nan,
                    len(Z),
                    "not testable here",
                    f"no {'/'.join(groups)} descriptor passes the missing-value filter",
                    note,
                )
            )
            continue
        ci = bootstrap_ci(
            lambda *c, m=mask, k=pc: _pc_shares(np.column_stack(c), m, k), *arr.T, n_boot=n_boot, seed=seed
        )
        rows.append(
            _row(
                label,
                "dominant",
                ci.value,
                ci.lo,
                ci.hi,
                len(Z),
                _verdict_share(ci.lo, ci.hi, DOMINANT_SHARE),
                base,
                note,
            )
        )
    ci = bootstrap_ci(lambda *c: _pc_variance(np.column_stack(c), 2), *arr.T, n_boot=n_boot, seed=seed)
    verdict = "supported" if ci.lo <= 0.04 <= ci.hi else "contradicted"
    rows.append(
        _row(
            "PC3 carries ≈ 4 % of the variance",
            0.04,
            ci.value,
            ci.lo,
            ci.hi,
            len(Z),
            verdict,
            f"{Z.shape[1]} descriptors here, 54 there: a share depends on how many there are",
            note,
        )
    )
    return rows


def _spread(labels: np.ndarray, fam: np.ndarray) -> float:
    """Fraction of families (≥ 2 members in the sample) whose members fall in ≥ 2 clusters."""
    frame = pd.DataFrame({"k": labels, "f": fam})
    sizes = frame.groupby("f")["k"].agg(["size", "nunique"])
    sizes = sizes[sizes["size"] >= 2]
    return float((sizes["nunique"] >= 2).mean()) if len(sizes) else np.nan


def class_claims(
    labels: pd.Series,
    table: pd.DataFrame,
    k_chosen: int,
    why_k: str,
    fam: pd.Series,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """k = 6, families spread over several clusters, and chemistry not organising the classes."""
    note = "ours: OBELiX families / anion classes of Li conductors stand in for their mobile-ion families"
    k_verdict = "supported" if k_chosen == 6 else "contradicted"
    rows = [
        _row(
            "elbow + silhouette choose k = 6",
            6,
            float(k_chosen),
            np.nan,
            np.nan,
            len(labels),
            k_verdict,
            why_k,
            note + "; the paper's 6 also equals its number of mobile-ion families",
        )
    ]
    grp = fam.reindex(labels.index).astype(str).to_numpy()
    lab = labels.to_numpy()
    main = grp != "other (< 5)"
    ci = bootstrap_ci(_spread, lab[main], grp[main], n_boot=n_boot, seed=seed)
    rows.append(
        _row(
            "families spread over several clusters (Li: 4 of 6; Na, halide, O: 3 of 6)",
            1.0,
            ci.value,
            ci.lo,
            ci.hi,
            int(main.sum()),
            _verdict_share(ci.lo, ci.hi, 0.5),
            "share of families (≥ 5 members) found in ≥ 2 clusters; supported if > 1/2",
            note,
        )
    )
    for g in ("family", "anion_class"):
        gl = table[g].reindex(labels.index).fillna("unknown").astype(str).to_numpy()
        ci = bootstrap_ci(lambda a, b: adjusted_mutual_info_score(b, a), lab, gl, n_boot=n_boot, seed=seed)
        verdict = "supported" if ci.hi < WEAK_AMI else ("contradicted" if ci.lo > WEAK_AMI else "inconclusive")
        rows.append(
            _row(
                f"the chemistry ({g}) does not organise the classes (AMI)",
                f"< {WEAK_AMI}",
                ci.value,
                ci.lo,
                ci.hi,
                len(labels),
                verdict,
                f"adjusted mutual information of classes and {g}; weak if < {WEAK_AMI}",
                note,
            )
        )
    return rows


def claims_table(pca_rows: list[dict], class_rows: list[dict]) -> pd.DataFrame:
    """The chapter's claims table (one row per claim)."""
    return pd.DataFrame(pca_rows + class_rows).set_index("claim")


def claims_metrics(tab: pd.DataFrame) -> dict:
    """The claims table for ``metrics.json`` (NaN → None)."""
    out = {}
    for c, r in tab.iterrows():
        out[c] = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
    return out
