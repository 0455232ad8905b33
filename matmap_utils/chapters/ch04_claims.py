"""Chapter 04: López et al.'s quantitative claims, tested on this book's data (the glue).

* :func:`correlation_claims` — every Li-only Spearman coefficient the paper quotes (Sec. 2.2,
  Fig. 2(c)) beside ours on the same protocol (Spearman ρ, two-sided p, percentile-bootstrap 95 %
  CI, n) with a computed verdict (:func:`verdict`) and the target difference stated per row;
* :func:`experimental_check` — MEGNet K, G and the M–E formulas against published elastic data
  of Li compounds (:data:`~matmap_utils.transport.elastic.EXPERIMENTAL_LI`);
* :func:`mlp_variants` — the paper's two MLP input sets (all descriptors; without the AIMD
  descriptors, every other input kept), leave-one-family-out, MAPE (Eq. 8) with a CI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats as sps

from matmap_utils.core.bootstrap import bootstrap_ci
from matmap_utils.screening.megnet.properties import moduli_gpa, pool_properties
from matmap_utils.transport import elastic, mlp, sse_md

#: The paper's Li-only Spearman coefficients with D (Sec. 2.2 and Fig. 2(c)): symbol, our column,
#: paper value, table ("sse": structure table vs log10 σ_RT; "md": MD table at 400–600 K vs log10 D;
#: None: no column here) and why a row without a column is not testable.
LI_CLAIMS = (
    ("H_V", "vickers_hardness_GPa", -0.43, "sse", ""),
    ("κ (Pugh)", "pugh_ratio", -0.56, "sse", ""),
    ("ν", "poisson_ratio", +0.55, "sse", ""),
    ("P_c", "cauchy_pressure_GPa", +0.48, "sse", ""),
    ("v_r", "velocity_ratio", +0.56, "sse", ""),
    ("F_vib", "Fvib_meV_atom", -0.42, "md", ""),
    ("S_vib", "Svib_kB_atom", +0.42, "md", ""),
    ("⟨ω30⟩(d)", "omega30_meV_d", -0.63, "md", ""),
    ("Γ", None, -0.47, None, "the lowest optical phonon at Γ (DFT, 0 K) is computed for no material here"),
)

TARGET_NOTE = {
    "sse": "here: measured log10 σ_RT (polycrystals, room temperature; M–E from MEGNet K, G) — there: AIMD D at 500 ± 100 K (DFT elastic tensors)",
    "md": "here: log10 D of MD runs at 400–600 K (CHGNet / DFT-AIMD, one value per material) — there: AIMD D at 500 ± 100 K",
    None: "—",
}


#: fewest materials a quoted correlation is tested on (below: "not testable here")
MIN_N = 8


def verdict(paper: float, lo: float, hi: float, n: int, min_n: int = MIN_N) -> str:
    """The computed verdict on a quoted correlation ``paper`` given our 95 % CI ``[lo, hi]``.

    * ``supported`` — the CI excludes 0 on the paper's side;
    * ``contradicted`` — the CI excludes the paper's value and does not lie on its side of 0
      (opposite sign, or compatible with no correlation but not with the quoted one);
    * ``inconclusive`` — the CI holds both 0 and the paper's value;
    * ``not testable here`` — fewer than ``min_n`` materials or no CI.
    """
    if n < min_n or not np.isfinite(lo) or not np.isfinite(hi):
        return "not testable here"
    same_side = lo > 0 if paper > 0 else hi < 0
    if same_side:
        return "supported"
    if not lo <= paper <= hi:
        return "contradicted"
    return "inconclusive"


def _spearman(x, y) -> float:
    return float(sps.spearmanr(x, y).statistic)


def claim_row(x: pd.Series, y: pd.Series, paper: float, *, n_boot: int, seed: int, min_n: int = MIN_N) -> dict:
    """ρ, p, bootstrap CI and verdict of one quoted correlation (pairwise-complete rows)."""
    d = pd.concat([x, y], axis=1).dropna()
    n = len(d)
    if n < 3 or d.iloc[:, 0].nunique() < 2:
        return {"rho": np.nan, "p": np.nan, "ci_lo": np.nan, "ci_hi": np.nan, "n": n, "verdict": "not testable here"}
    res = sps.spearmanr(d.iloc[:, 0], d.iloc[:, 1])
    ci = bootstrap_ci(_spearman, d.iloc[:, 0].to_numpy(), d.iloc[:, 1].to_numpy(), n_boot=n_boot, seed=seed)
    return {
        "rho": float(res.statistic),
        "p": float(res.pvalue),
        "ci_lo": ci.lo,
        "ci_hi": ci.hi,
        "n": n,
        "verdict": verdict(paper, ci.lo, ci.hi, n, min_n),
    }


def md_per_material(md: pd.DataFrame | None, window: tuple[float, float] = (400.0, 600.0)) -> pd.DataFrame:
    """Chapter 03's MD table at ``window`` (the paper's 500 ± 100 K), Li runs only, one row per
    material (mean of its runs): the table the vibrational claims are tested on."""
    if md is None or len(md) == 0:
        return pd.DataFrame(columns=["material", "log10_D"])
    f = sse_md.md_frame(md)
    f = f[f["temperature_K"].between(*window)]
    if "specie" in f:
        f = f[f["specie"] == "Li"]
    return f.drop(columns=["specie"], errors="ignore").groupby("material").mean(numeric_only=True).reset_index()


def correlation_claims(
    table: pd.DataFrame, md_mat: pd.DataFrame, *, target: str = "log10_sigma", n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """The claims table: one row per quoted Li-only coefficient, paper beside ours."""
    rows = []
    for symbol, col, paper, where, why in LI_CLAIMS:
        base = {"claim": f"Spearman(D, {symbol}), Li-based SSEs", "paper": paper, "column": col or "—"}
        if where == "sse" and col in table:
            res = claim_row(table[col], table[target], paper, n_boot=n_boot, seed=seed)
        elif where == "md" and col in md_mat:
            res = claim_row(md_mat[col], md_mat["log10_D"], paper, n_boot=n_boot, seed=seed)
            if res["verdict"] == "not testable here":
                why = f"only {res['n']} Li materials with this descriptor at 400–600 K ({MIN_N} needed)"
        else:
            res = {"rho": np.nan, "p": np.nan, "ci_lo": np.nan, "ci_hi": np.nan, "n": 0, "verdict": "not testable here"}
            why = why or f"no column {col} in the {where} table"
        rows.append(
            {
                **base,
                **res,
                "why_not_testable": why if res["verdict"] == "not testable here" else "",
                "target": TARGET_NOTE[where],
            }
        )
    return pd.DataFrame(rows).set_index("claim")


def claims_text(claims: pd.DataFrame) -> str:
    """One sentence counting the verdicts."""
    counts = claims["verdict"].value_counts()
    return (
        "Verdicts over the paper's quoted Li-only coefficients: "
        + ", ".join(f"**{v}** {n}" for v, n in counts.items())
        + "."
    )


def experimental_check(structures: pd.Series, formulas: pd.Series) -> pd.DataFrame:
    """MEGNet + formulas against :data:`~matmap_utils.transport.elastic.EXPERIMENTAL_LI`.

    Rock-salt and antifluorite cells are built at their room-temperature lattice constants; the
    garnet is the first OBELiX entry whose formula contains ``La3Zr2`` and ``Al`` (partially
    occupied, through MEGNet's occupancy-weighted embedding).  Returns one row per material with
    experimental and predicted K, G (GPa), their relative errors, and ν, κ, H_V both ways
    (experimental moduli through the same formulas).
    """
    ref = elastic.experimental_reference()
    cells, ids = {}, {}
    for e in elastic.EXPERIMENTAL_LI:
        kind, arg = e["structure"]
        if kind == "obelix":
            hit = formulas[formulas.astype(str).str.contains(arg) & formulas.astype(str).str.contains("Al")]
            if len(hit) == 0:
                continue
            ids[e["material"]] = hit.index[0]
            cells[e["material"]] = structures[hit.index[0]]
        else:
            cells[e["material"]] = elastic.prototype_structure(e["material"], kind, arg)
    pred, _ = pool_properties(pd.Series(cells), progress=False)
    kg = moduli_gpa(pred)
    rho = pd.Series({m: s.density for m, s in cells.items()})
    out = ref.join(kg, how="inner")
    out["density_g_cm3"] = rho.reindex(out.index)
    out["K_rel_err"] = out["K_VRH_GPa"] / out["K_exp_GPa"] - 1
    out["G_rel_err"] = out["G_VRH_GPa"] / out["G_exp_GPa"] - 1
    d_exp = elastic.elastic_descriptors(out["K_exp_GPa"], out["G_exp_GPa"], out["density_g_cm3"])
    d_pred = elastic.elastic_descriptors(out["K_VRH_GPa"], out["G_VRH_GPa"], out["density_g_cm3"])
    for c, short in (("poisson_ratio", "nu"), ("pugh_ratio", "pugh"), ("vickers_hardness_GPa", "HV_GPa")):
        out[f"{short}_exp"] = d_exp[c].to_numpy()
        out[f"{short}_megnet"] = d_pred[c].to_numpy()
    out["obelix_id"] = pd.Series(ids).reindex(out.index)
    return out


def experimental_summary(chk: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Mean absolute relative error of K, G (with bootstrap CIs over materials) and mean absolute
    errors of ν and κ."""
    out: dict[str, Any] = {"n_materials": int(len(chk))}
    for q in ("K", "G"):
        ci = bootstrap_ci(lambda e: float(np.mean(np.abs(e))), chk[f"{q}_rel_err"].to_numpy(), n_boot=n_boot, seed=seed)
        out[f"{q}_mean_abs_rel_err"] = ci.as_dict()
    out["nu_mean_abs_err"] = float((chk["nu_megnet"] - chk["nu_exp"]).abs().mean())
    out["pugh_mean_abs_err"] = float((chk["pugh_megnet"] - chk["pugh_exp"]).abs().mean())
    out["per_material"] = {
        m: {"K_exp": r["K_exp_GPa"], "K_megnet": r["K_VRH_GPa"], "G_exp": r["G_exp_GPa"], "G_megnet": r["G_VRH_GPa"]}
        for m, r in chk.iterrows()
    }
    return out


def experimental_text(chk: pd.DataFrame, summ: Mapping[str, Any]) -> str:
    """The paragraph under the experimental check."""
    k, g = summ["K_mean_abs_rel_err"], summ["G_mean_abs_rel_err"]
    hv = chk["HV_exp_GPa"].dropna()
    hv_note = ""
    if len(hv):
        m = hv.index[0]
        hv_note = (
            f" For {m} the measured Vickers hardness ({hv.iloc[0]:.1f} GPa) can test the hardness model itself: "
            f"Tian's formula gives {chk.loc[m, 'HV_GPa_exp']:.1f} GPa from the measured moduli and "
            f"{chk.loc[m, 'HV_GPa_megnet']:.1f} GPa from MEGNet's."
        )
    return (
        f"Over {summ['n_materials']} Li compounds, MEGNet's K is off by {100 * k['value']:.0f} % on average "
        f"(95 % CI {100 * k['ci_lo']:.0f}–{100 * k['ci_hi']:.0f} %) and G by {100 * g['value']:.0f} % "
        f"({100 * g['ci_lo']:.0f}–{100 * g['ci_hi']:.0f} %); the ratios López et al. correlate come out with "
        f"mean |Δν| = {summ['nu_mean_abs_err']:.3f} and |Δκ| = {summ['pugh_mean_abs_err']:.3f}." + hv_note
    )


def _mape_ci(y, pred, groups, *, n_boot: int, seed: int):
    ok = np.isfinite(pred)
    return bootstrap_ci(mlp.mape_mean_normalized, y[ok], pred[ok], groups=groups[ok], n_boot=n_boot, seed=seed)


def mlp_variants(
    mlp_df: pd.DataFrame,
    target: str,
    variants: Mapping[str, Sequence[str]],
    categorical: Sequence[str],
    *,
    max_iter: int,
    seed: int,
    max_groups: int | None,
    n_boot: int = 1000,
    n_jobs: int | None = None,
    known: Mapping[tuple[str, ...], pd.Series] | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Leave-one-family-out MAPE (Eq. 8) of the paper's MLP for each named input set, with a
    family-bootstrap 95 % CI (held-out predictions resampled by whole family).  Variants with the
    same inputs as an earlier one reuse its predictions, and so does a variant whose inputs (in the
    same order) are a key of ``known``: predictions of :func:`~matmap_utils.transport.mlp.mlp_group_cv`
    made with the same ``target``, ``categorical``, ``max_iter``, ``seed`` and ``max_groups``.  The
    other fits of all variants run as one batch on ``n_jobs`` processes (None: all cores)."""
    known = dict(known or {})
    first: dict[tuple[str, ...], str] = {}  # input set -> the first variant with it
    for name, inputs in variants.items():
        first.setdefault(tuple(sorted(inputs)), name)
    todo = [n for n in first.values() if tuple(variants[n]) not in known]
    specs = [{"df": mlp_df, "target": target, "numeric": list(variants[n]), "categorical": categorical} for n in todo]
    res = mlp.mlp_group_cv_batch(specs, max_iter=max_iter, seed=seed, max_groups=max_groups, n_jobs=n_jobs)
    fitted = {n: pred for n, (pred, _) in zip(todo, res)}
    fitted.update({n: known[tuple(variants[n])] for n in first.values() if n not in fitted})
    rows, preds = [], {}
    for name, inputs in variants.items():
        preds[name] = fitted[first[tuple(sorted(inputs))]]
        p = preds[name]
        y = mlp_df.loc[p.index, target].to_numpy(float)
        fam = mlp_df.loc[p.index, "family"].astype(str).to_numpy()
        ci = _mape_ci(y, p.to_numpy(float), fam, n_boot=n_boot, seed=seed)
        rows.append(
            {"variant": name, "n_inputs": len(inputs), "mape": ci.value, "ci_lo": ci.lo, "ci_hi": ci.hi, "n": ci.n}
        )
    return pd.DataFrame(rows).set_index("variant"), preds


def mape_difference(
    mlp_df: pd.DataFrame, target: str, a: pd.Series, b: pd.Series, *, n_boot: int = 1000, seed: int = 0
):
    """MAPE(a) − MAPE(b) on the same held-out rows, with a paired family-bootstrap 95 % CI."""
    ok = a.notna() & b.notna()
    y = mlp_df.loc[ok[ok].index, target].to_numpy(float)
    fam = mlp_df.loc[ok[ok].index, "family"].astype(str).to_numpy()
    return bootstrap_ci(
        lambda yy, pa, pb: mlp.mape_mean_normalized(yy, pa) - mlp.mape_mean_normalized(yy, pb),
        y,
        a[ok].to_numpy(float),
        b[ok].to_numpy(float),
        groups=fam,
        n_boot=n_boot,
        seed=seed,
    )
