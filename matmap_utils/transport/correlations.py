"""Correlation matrices with p-values, pairwise-complete, as in López et al. (2023), Figs. 1–2.

* Spearman (rank; ties get average ranks, as :func:`scipy.stats.spearmanr`) and Pearson
  coefficients with their two-sided p-values, computed by scipy for every pair of columns on the
  rows where *both* are present (pairwise-complete observations); ``n`` per pair is returned.
* A pair with fewer than ``min_periods`` complete rows, or a constant column on those rows, has
  NaN coefficient and p-value (never a spurious 0 or 1).
* Significance masks for the paper's convention (p < 0.2) and the conventional 0.05.
* The paper's MAPE (Eq. 8): mean absolute error normalised by the mean of the true values.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch
from scipy import stats as sps

PAPER_ALPHA = 0.2


CONVENTIONAL_ALPHA = 0.05


METHODS = ("spearman", "pearson")


@dataclass
class CorrResult:
    """Square matrices (DataFrames, columns × columns): coefficient, p-value, pair count."""

    method: str
    r: pd.DataFrame
    p: pd.DataFrame
    n: pd.DataFrame

    def mask(self, alpha: float = PAPER_ALPHA) -> pd.DataFrame:
        return significance_mask(self.p, alpha)

    def long(self) -> pd.DataFrame:
        """One row per unordered pair (i < j): x, y, r, p, n."""
        cols = list(self.r.columns)
        rows = []
        for a in range(len(cols)):
            for b in range(a + 1, len(cols)):
                x, y = cols[a], cols[b]
                rows.append({"x": x, "y": y, "r": self.r.iat[a, b], "p": self.p.iat[a, b], "n": int(self.n.iat[a, b])})
        return pd.DataFrame(rows, columns=["x", "y", "r", "p", "n"])


def _check_method(method: str) -> str:
    m = method.lower()
    if m not in METHODS:
        raise ValueError(f"unknown correlation method {method!r}; use one of {METHODS}")
    return m


def pair_corr(x, y, method: str = "spearman", min_periods: int = 3) -> tuple[float, float, int]:
    """(coefficient, two-sided p-value, n) of two 1-D arrays on their pairwise-complete rows."""
    method = _check_method(method)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length ({x.shape} vs {y.shape})")
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < max(3, min_periods):
        return np.nan, np.nan, n
    xs, ys = x[ok], y[ok]
    if np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return np.nan, np.nan, n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sps.spearmanr(xs, ys) if method == "spearman" else sps.pearsonr(xs, ys)
    return float(res[0]), float(res[1]), n


def _numeric(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == bool or str(out[c].dtype) == "boolean":
            out[c] = out[c].astype(float)
    bad = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])]
    if bad:
        raise ValueError(f"non-numeric columns cannot be correlated: {bad}")
    return out.astype(float)


def corr_matrix(df: pd.DataFrame, method: str = "spearman", *, min_periods: int = 3) -> CorrResult:
    """Correlation matrix of all columns of ``df`` with p-values and pairwise counts.

    Fast path: columns without missing values are ranked/handled by one call per pair anyway,
    so results are identical to calling scipy on each pair's complete rows.
    """
    method = _check_method(method)
    data = _numeric(df)
    cols = list(data.columns)
    k = len(cols)
    r = np.full((k, k), np.nan)
    p = np.full((k, k), np.nan)
    n = np.zeros((k, k), dtype=int)
    arr = data.to_numpy()
    for a in range(k):
        fa = np.isfinite(arr[:, a])
        n[a, a] = int(fa.sum())
        if n[a, a] >= max(3, min_periods) and np.ptp(arr[fa, a]) > 0:
            r[a, a], p[a, a] = 1.0, 0.0
        for b in range(a + 1, k):
            rr, pp, nn = pair_corr(arr[:, a], arr[:, b], method, min_periods)
            r[a, b] = r[b, a] = rr
            p[a, b] = p[b, a] = pp
            n[a, b] = n[b, a] = nn
    mk = lambda m: pd.DataFrame(m, index=cols, columns=cols)  # noqa: E731
    return CorrResult(method, mk(r), mk(p), mk(n))


def significance_mask(p: pd.DataFrame | np.ndarray, alpha: float = PAPER_ALPHA):
    """True where p < alpha (NaN p-values are not significant)."""
    if isinstance(p, pd.DataFrame):
        return p.lt(alpha) & p.notna()
    p = np.asarray(p, dtype=float)
    return np.isfinite(p) & (p < alpha)


def correlations_with(df: pd.DataFrame, target: str, *, min_periods: int = 3) -> pd.DataFrame:
    """Spearman and Pearson correlation of every other column with ``target``.

    One row per descriptor: ``spearman``, ``p_spearman``, ``pearson``, ``p_pearson``, ``n``,
    ``sig_paper`` (Spearman p < 0.2), ``sig_005`` (p < 0.05), ``disagree`` (the two methods differ
    in significance at 0.05 or in sign, or by more than 0.2 in value); sorted by ``|spearman|``.
    """
    if target not in df.columns:
        raise ValueError(f"target column {target!r} is not in the table")
    data = _numeric(df)
    y = data[target].to_numpy()
    rows = []
    for c in data.columns:
        if c == target:
            continue
        rs, ps, n = pair_corr(data[c].to_numpy(), y, "spearman", min_periods)
        rp, pp, _ = pair_corr(data[c].to_numpy(), y, "pearson", min_periods)
        rows.append({"descriptor": c, "spearman": rs, "p_spearman": ps, "pearson": rp, "p_pearson": pp, "n": n})
    out = pd.DataFrame(rows, columns=["descriptor", "spearman", "p_spearman", "pearson", "p_pearson", "n"])
    out["sig_paper"] = significance_mask(out["p_spearman"].to_numpy(), PAPER_ALPHA)
    out["sig_005"] = significance_mask(out["p_spearman"].to_numpy(), CONVENTIONAL_ALPHA)
    sig_s = significance_mask(out["p_spearman"].to_numpy(), CONVENTIONAL_ALPHA)
    sig_p = significance_mask(out["p_pearson"].to_numpy(), CONVENTIONAL_ALPHA)
    diff = (out["spearman"] - out["pearson"]).abs()
    out["disagree"] = (sig_s != sig_p) | (np.sign(out["spearman"]) != np.sign(out["pearson"])) | (diff > 0.2)
    out.loc[out["spearman"].isna() | out["pearson"].isna(), "disagree"] = False
    return out.reindex(out["spearman"].abs().sort_values(ascending=False).index).set_index("descriptor")


P_BINS = [(0.05, "p < 0.05"), (0.2, "0.05 ≤ p < 0.2"), (np.inf, "p ≥ 0.2")]


P_COLORS = {"p < 0.05": "#0072B2", "0.05 ≤ p < 0.2": "#E69F00", "p ≥ 0.2": "#BBBBBB"}


def p_bin(p: float) -> str:
    for lim, name in P_BINS:
        if np.isfinite(p) and p < lim:
            return name
    return "p ≥ 0.2"


def top_columns(corr: pd.DataFrame, target: str, k: int = 20, *, column: str = "spearman") -> list[str]:
    """``target`` and the ``k`` descriptors of :func:`correlations_with`'s ``corr`` with the largest
    ``|coefficient|`` — the columns a legible static correlogram shows."""
    d = corr.dropna(subset=[column])
    top = d.reindex(d[column].abs().sort_values(ascending=False).index).index[:k]
    return [target, *[c for c in top if c != target]]


def subset(res: CorrResult, columns: Sequence[str]) -> CorrResult:
    """The rows and columns ``columns`` (those present, in that order) of a correlation result."""
    cols = [c for c in columns if c in res.r.columns]
    return CorrResult(res.method, res.r.loc[cols, cols], res.p.loc[cols, cols], res.n.loc[cols, cols])


def _label(method: str) -> str:
    return {"spearman": "Spearman ρ", "pearson": "Pearson r"}.get(method, method)


def plot_correlogram(
    res: CorrResult,
    ax_r,
    ax_p=None,
    *,
    labels: Sequence[str] | None = None,
    title: str = "",
    alpha: float = PAPER_ALPHA,
    fontsize: float = 9.5,
) -> None:
    """Lower-triangle heatmap of the coefficients on ``ax_r``, a dot on every pair with p < ``alpha``
    (the paper's significance level, Fig. 1), and — on ``ax_p`` when given — of the p-values.

    Meant for up to ~25 columns at the book's width (tick labels ``fontsize`` pt); show a larger
    matrix as an interactive heatmap and a subset (:func:`top_columns`, :func:`subset`) here.
    """
    k = len(res.r)
    mask = np.triu(np.ones((k, k), dtype=bool))
    lab = list(labels) if labels is not None else [str(c) for c in res.r.columns]
    coef = _label(res.method)
    sns.heatmap(
        res.r.to_numpy(),
        mask=mask,
        vmin=-1,
        vmax=1,
        cmap="RdBu_r",
        square=True,
        ax=ax_r,
        xticklabels=lab,
        yticklabels=lab,
        cbar_kws={"shrink": 0.7, "label": f"{coef} (no unit)"},
    )
    sig = res.mask(alpha).to_numpy() & ~mask
    yy, xx = np.nonzero(sig)
    # dot area ~ 1/6 of a cell, whatever the figure size
    bbox = ax_r.get_window_extent().transformed(ax_r.figure.dpi_scale_trans.inverted())
    cell_pt = 72 * min(bbox.width, bbox.height) / max(k, 1)
    ax_r.scatter(xx + 0.5, yy + 0.5, s=max(4.0, (0.3 * cell_pt) ** 2), c="k", marker="o", linewidths=0)
    ax_r.set_title((title + "\n" if title else "") + f"{coef}; dots: p < {alpha:g}")
    if ax_p is not None:
        sns.heatmap(
            res.p.to_numpy(),
            mask=mask,
            vmin=0,
            vmax=1,
            cmap="viridis_r",
            square=True,
            ax=ax_p,
            xticklabels=lab,
            yticklabels=lab,
            cbar_kws={"shrink": 0.7, "label": "p-value (no unit)"},
        )
        ax_p.set_title((title + "\n" if title else "") + "two-sided p-value")
    for ax in (ax_r, ax_p):
        if ax is not None:
            ax.tick_params(labelsize=fontsize)


def plot_target_bars(
    corr: pd.DataFrame,
    ax,
    *,
    column: str = "spearman",
    pcol: str = "p_spearman",
    title: str = "",
    fontsize: float = 9.5,
) -> None:
    """Horizontal bars of each descriptor's correlation with the target, coloured by p-value bin;
    the legend sits below the axes (outside the bars)."""
    d = corr.dropna(subset=[column]).sort_values(column)
    colors = [P_COLORS[p_bin(p)] for p in d[pcol]]
    ax.barh(range(len(d)), d[column], color=colors)
    ax.set_yticks(range(len(d)))
    ax.set_yticklabels(d.index, fontsize=fontsize)
    ax.set_ylim(-0.6, len(d) - 0.4)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel(f"{_label(column.split('_')[0]) if column in METHODS else column} with the target (no unit)")
    ax.set_title(title)
    ax.legend(
        handles=[Patch(color=c, label=n) for n, c in P_COLORS.items()],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.08),
        ncol=3,
        frameon=False,
    )


def target_matrix(
    corrs: dict[str, pd.DataFrame], *, column: str = "spearman", pcol: str = "p_spearman"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(coefficients, p-values): descriptors × groups from :func:`correlations_with` tables per
    group, rows in the order of the first group's coefficient (largest first)."""
    r = pd.DataFrame({g: c[column] for g, c in corrs.items()})
    p = pd.DataFrame({g: c[pcol] for g, c in corrs.items()})
    order = r.iloc[:, 0].sort_values(ascending=False, na_position="last").index
    return r.loc[order], p.loc[order]


def plot_target_matrix(
    corrs: dict[str, pd.DataFrame],
    ax,
    *,
    column: str = "spearman",
    pcol: str = "p_spearman",
    fontsize: float = 9.5,
) -> None:
    """Fig. 2(b,c) in one legible panel: descriptors (rows) × groups (columns), colour and number =
    the coefficient with the target, ``*`` p < 0.2 (the paper's level), ``**`` p < 0.05."""
    r, p = target_matrix(corrs, column=column, pcol=pcol)
    stars = np.where(p.to_numpy() < CONVENTIONAL_ALPHA, "**", np.where(p.to_numpy() < PAPER_ALPHA, "*", ""))
    annot = np.array(
        [
            [("" if not np.isfinite(v) else f"{v:+.2f}{s}") for v, s in zip(rv, sv)]
            for rv, sv in zip(r.to_numpy(), stars)
        ]
    )
    sns.heatmap(
        r.to_numpy(float),
        vmin=-1,
        vmax=1,
        cmap="RdBu_r",
        ax=ax,
        annot=annot,
        fmt="",
        annot_kws={"fontsize": fontsize - 0.5},
        xticklabels=list(r.columns),
        yticklabels=list(r.index),
        cbar_kws={"label": f"{_label(column)} with the target (no unit)", "shrink": 0.6},
    )
    ax.tick_params(labelsize=fontsize)
    ax.xaxis.tick_top()
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=0)
    ax.set_title(
        f"* p < {PAPER_ALPHA:g}, ** p < {CONVENTIONAL_ALPHA:g}; blank: not computable", fontsize=fontsize, pad=12
    )
