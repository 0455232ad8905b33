"""Figures and tables for the book: one style, legible at the book's content width, offline.

The rendered book shows a page's content in a column about :data:`CONTENT_WIDTH_PX` = 780 CSS px
wide; a wider image is shrunk to fit, and its fonts with it.  The helpers here keep what a reader
sees legible:

* :func:`set_style` — the book's matplotlib defaults (figure.dpi 110, so a figure
  :data:`FIG_WIDTH_IN` inches wide is shown at its natural size);
* :func:`panel_grid` — at most two panels per row at the content width;
* :func:`legibility_problems` — what a reader could not read in a matplotlib figure: text below
  9 pt at its rendered size, numeric axes without a label, colour bars without a label;
* :func:`format_table` / :func:`format_frame` — DataFrames as readable tables (significant figures,
  units in the headers, no 0…N index, p-values in scientific notation, integers as integers,
  wide tables scrolling inside their box, an empty table replaced by a sentence saying why);
* :func:`corr_heatmap` — an interactive (plotly) correlation matrix whose hover shows the pair,
  ρ, p and n;
* :func:`show_plotly` — a plotly figure as HTML that works offline: plotly.js inline, or one
  shared copy for the whole book (:func:`write_plotly_js`);
* :func:`interactive_table` — a searchable, sortable table (itables, offline): its bundle inline,
  or one shared copy for the whole book (:func:`write_itables_js`).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import seaborn as sns
from IPython.display import HTML, Markdown, display
from plotly.offline import get_plotlyjs

from matmap_utils.core import settings
from matmap_utils.core.cache import atomic_write_text
from matmap_utils.core.paths import repo_root

#: Width of the book's content column (CSS px) at which figures and tables must be readable.
CONTENT_WIDTH_PX = 780
#: Inline-figure resolution (``figure.dpi``): a figure FIG_WIDTH_IN wide is shown unscaled.
FIGURE_DPI = 110
#: Width of a full-width figure (inches) — 770 px at :data:`FIGURE_DPI`.
FIG_WIDTH_IN = 7.0
#: Smallest font (pt, at the rendered size, 96 CSS px per inch) a reader is asked to read.
MIN_FONT_PT = 9.0

#: Where the shared plotly.js is written (:func:`write_plotly_js`) and looked for by
#: :func:`show_plotly` (``plotlyjs="auto"``), relative to the repository root.
SHARED_PLOTLYJS = Path("book") / "_static" / "plotly.min.js"
#: Where the shared itables bundle is written (:func:`write_itables_js`) and looked for by
#: :func:`interactive_table` (``itablesjs="auto"``), relative to the repository root.
SHARED_ITABLESJS = Path("book") / "_static" / "itables_bundle.js"


# --------------------------------------------------------------------------------------------
# matplotlib
# --------------------------------------------------------------------------------------------


def set_style() -> None:
    """The book's matplotlib defaults (readable in HTML, colour-blind friendly)."""

    sns.set_theme(context="notebook", style="ticks", palette="colorblind")
    mpl.rcParams.update(
        {
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": 150,
            "figure.autolayout": False,
            "axes.titlesize": 11,
            "axes.labelsize": 10.5,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 9.5,
            "legend.title_fontsize": 10,
            "figure.titlesize": 12,
            "image.cmap": "viridis",
        }
    )


def panel_grid(
    n_panels: int, *, ncols: int = 2, panel_height: float = 3.0, width: float = FIG_WIDTH_IN, **kwargs
) -> tuple[plt.Figure, np.ndarray]:
    """A figure of ``n_panels`` axes, at most ``ncols`` (≤ 2) per row, :data:`FIG_WIDTH_IN` wide.

    Returns ``(fig, axes)`` with ``axes`` flat and exactly ``n_panels`` long (spare cells of the
    last row are removed).  Extra keyword arguments go to :func:`matplotlib.pyplot.subplots`.
    """
    if n_panels < 1:
        raise ValueError(f"panel_grid needs at least one panel, got {n_panels}")
    ncols = max(1, min(int(ncols), 2, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, panel_height * nrows), squeeze=False, **kwargs)
    flat = axes.ravel()
    for ax in flat[n_panels:]:
        ax.remove()
    return fig, flat[:n_panels]


def rendered_scale(fig: plt.Figure, *, content_px: int = CONTENT_WIDTH_PX, dpi: float | None = None) -> float:
    """Factor by which the book shrinks ``fig`` (1 when its tight bounding box fits the column)."""
    dpi = dpi or mpl.rcParams["figure.dpi"]
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    width_px = bbox.width * dpi
    return min(1.0, content_px / width_px) if width_px > 0 else 1.0


def _is_numeric_label(text: str) -> bool:
    t = text.replace("−", "-").replace("\N{MINUS SIGN}", "-").strip().strip("$")
    return bool(re.fullmatch(r"[-+]?[\d.,]+(e[-+]?\d+)?|10\^\{[-+−]?\d+\}|\\mathdefault\{.*\}", t))


def legibility_problems(
    fig: plt.Figure, *, content_px: int = CONTENT_WIDTH_PX, min_pt: float = MIN_FONT_PT, dpi: float | None = None
) -> list[str]:
    """What a reader could not read in ``fig`` at the book's content width.

    * a visible text (titles, labels, tick labels, legend entries, annotations) smaller than
      ``min_pt`` at its rendered size: size (pt) × dpi / 96 × shrink factor < ``min_pt``;
    * an axis with numeric tick labels but no label (units belong in the label);
    * a colour bar without a label.

    Returns one sentence per problem (empty: legible).
    """
    dpi = dpi or mpl.rcParams["figure.dpi"]
    scale = rendered_scale(fig, content_px=content_px, dpi=dpi)
    factor = dpi / 96.0 * scale
    problems: list[str] = []
    small: dict[str, float] = {}
    for t in fig.findobj(mpl.text.Text):
        if not t.get_visible() or not t.get_text().strip() or t.get_figure() is None:
            continue
        rendered = t.get_fontsize() * factor
        if rendered < min_pt - 1e-6:
            key = t.get_text().strip()[:30]
            small[key] = min(rendered, small.get(key, np.inf))
    if small:
        worst = sorted(small.items(), key=lambda kv: kv[1])[:5]
        problems.append(
            f"{len(small)} texts below {min_pt:g} pt at the rendered size (shrink ×{scale:.2f}): "
            + ", ".join(f"{k!r} {v:.1f} pt" for k, v in worst)
        )
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        cbar = getattr(ax, "_colorbar", None)
        if cbar is not None:
            if not (ax.get_ylabel().strip() or ax.get_xlabel().strip()):
                problems.append(f"colour bar of axes {k} has no label (units)")
            continue
        has_data = bool(ax.lines or ax.collections or ax.patches or ax.images)
        if not has_data:
            continue
        for name, axis, label in (("x", ax.xaxis, ax.get_xlabel()), ("y", ax.yaxis, ax.get_ylabel())):
            ticks = [t.get_text() for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            if ticks and all(_is_numeric_label(t) for t in ticks) and not label.strip():
                problems.append(f"axes {k} ({ax.get_title()[:30]!r}): numeric {name} axis without a label")
    return problems


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------

#: Column-name suffixes that carry a unit: suffix → unit shown in the header.
UNIT_SUFFIXES: dict[str, str] = {
    "_cm2_s": "cm²/s",
    "_S_cm": "S/cm",
    "_meV_atom": "meV/atom",
    "_kB_atom": "k_B/atom",
    "_eV_atom": "eV/atom",
    "_g_cm3": "g/cm³",
    "_km_s": "km/s",
    "_m_s": "m/s",
    "_A2": "Å²",
    "_A3": "Å³",
    "_GPa": "GPa",
    "_meV": "meV",
    "_eV": "eV",
    "_ps": "ps",
    "_fs": "fs",
    "_K": "K",
    "_A": "Å",
    "_s": "s",
}
_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_P_NAME = re.compile(r"^(p|p[_ -].*|.*[_ ]p|p-?value.*|.*_pvalue)$", re.IGNORECASE)


def header(column: str, units: Mapping[str, str] | None = None) -> str:
    """A readable header: ``D_cm2_s`` → ``D (cm²/s)``; ``units`` maps a column to its unit
    explicitly (``""``: none); other underscores become spaces."""
    name = str(column)
    if units and name in units:
        unit = units[name]
        return f"{name.replace('_', ' ')} ({unit})" if unit else name.replace("_", " ")
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return f"{name[: -len(suffix)].replace('_', ' ')} ({unit})"
    return name.replace("_", " ")


def sci(value: float, sig: int = 2) -> str:
    """``value`` in scientific notation with ``sig`` significant figures: 4.7 × 10⁻⁷."""
    if not np.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    mant, exp = f"{value:.{sig - 1}e}".split("e")
    exp_i = int(exp)
    return mant if exp_i == 0 else f"{mant} × 10{str(exp_i).translate(_SUPERSCRIPT)}"


def pvalue(p: float, sig: int = 2) -> str:
    """A p-value: scientific below 10⁻³, ``< 10⁻³⁰⁰`` where it underflowed to 0, NaN → ``—``."""
    if p is None or not np.isfinite(p):
        return "—"
    if p <= 0:
        return "< 10⁻³⁰⁰"
    return sci(p, sig) if p < 1e-3 else f"{p:.{sig}g}" if p < 0.1 else f"{p:.2f}"


def significant(value: float, sig: int = 3) -> str:
    """``value`` with ``sig`` significant figures, without an exponent for ``10⁻³ ≤ |value| < 10⁶``."""
    if not np.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    a = abs(value)
    if a < 1e-3 or a >= 1e6:
        return sci(value, sig)
    digits = sig - 1 - int(math.floor(math.log10(a)))
    return f"{value:,.{max(0, digits)}f}" if a >= 1e4 else f"{value:.{max(0, digits)}f}"


def _integer_valued(s: pd.Series) -> bool:
    v = pd.to_numeric(s, errors="coerce").dropna().to_numpy(float)
    return len(v) > 0 and bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)) and np.all(np.abs(v) < 1e15))


def _format_column(s: pd.Series, *, sig: int, is_p: bool, integer: bool | None) -> pd.Series:
    if pd.api.types.is_bool_dtype(s) or (s.dtype == object and s.dropna().map(type).eq(bool).all() and s.notna().any()):
        return s.map(lambda v: "—" if pd.isna(v) else ("yes" if v else "no"))
    if not pd.api.types.is_numeric_dtype(s):
        return s.map(lambda v: "—" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    x = pd.to_numeric(s, errors="coerce").astype(float)
    if is_p:
        return x.map(lambda v: pvalue(v, 2))
    if integer if integer is not None else _integer_valued(x):
        return x.map(lambda v: "—" if not np.isfinite(v) else (f"{int(v):,}" if abs(v) >= 1e4 else f"{int(v)}"))
    finite = x[np.isfinite(x) & (x != 0)].abs()
    use_sci = len(finite) > 0 and (finite.min() < 1e-3 or finite.max() >= 1e6)
    return x.map(lambda v: sci(v, sig) if use_sci and np.isfinite(v) and v != 0 else significant(v, sig))


def format_frame(
    df: pd.DataFrame,
    *,
    sig: int = 3,
    units: Mapping[str, str] | None = None,
    rename: Mapping[str, str] | None = None,
    p_columns: Iterable[str] | None = None,
    int_columns: Iterable[str] = (),
    sig_columns: Mapping[str, int] | None = None,
    index: bool | None = None,
) -> pd.DataFrame:
    """``df`` as strings a reader can read (the cells of :func:`format_table`).

    * floats with ``sig`` significant figures (``sig_columns`` per column); a column whose
      non-zero magnitudes reach below 10⁻³ or above 10⁶ is written in scientific notation
      throughout (never ``0.000003`` beside ``4.7 × 10⁻⁷``);
    * p-values (``p_columns``, default: columns named ``p``, ``p_*``, ``*_p``, ``p-value``) in
      scientific notation below 10⁻³, and an underflowed 0 as ``< 10⁻³⁰⁰``;
    * integer-valued columns (and ``int_columns``) as integers (``9``, not ``9.0``);
    * booleans as yes/no, missing values as ``—``;
    * headers with units (:func:`header`), ``rename`` first;
    * the index: dropped when it is a plain 0…N range (``index=None``), kept as the first column
      otherwise (``index=True`` forces it, ``False`` drops it).
    """
    out = df.copy()
    plain_range = isinstance(out.index, pd.RangeIndex) and out.index.name is None
    keep_index = (not plain_range) if index is None else index
    if keep_index:
        names = [n if n is not None else "" for n in out.index.names]
        out = out.reset_index(names=names if any(names) else None)
        if not any(names):
            out = out.rename(columns={"index": ""})
    else:
        out = out.reset_index(drop=True)
    p_set = set(p_columns) if p_columns is not None else {c for c in out.columns if _P_NAME.match(str(c))}
    ints = set(int_columns)
    cols = {}
    for c in out.columns:
        s = sig_columns.get(c, sig) if sig_columns else sig
        cols[c] = _format_column(out[c], sig=s, is_p=c in p_set, integer=True if c in ints else None)
    res = pd.DataFrame(cols, index=out.index)
    headers = {c: (rename or {}).get(c, c) for c in res.columns}
    return res.rename(columns={c: header(h, units) if h == c else h for c, h in headers.items()})


def _table_html(frame: pd.DataFrame, numeric: Sequence[bool], caption: str | None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    align = ['style="text-align:right"' if n else 'style="text-align:left"' for n in numeric]
    body = "".join(
        "<tr>" + "".join(f"<td {a}>{html.escape(str(v))}</td>" for a, v in zip(align, row)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        '<div class="matmap-table" style="overflow-x:auto;max-width:100%">'
        f'<table class="dataframe matmap" style="white-space:nowrap">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def format_table(
    df: pd.DataFrame | None,
    *,
    empty: str = "The table is empty.",
    caption: str | None = None,
    max_rows: int | None = None,
    **kwargs,
) -> HTML | Markdown:
    """A table a reader can read (:func:`format_frame`), scrolling inside its box when wide.

    An empty (or None) ``df`` gives the sentence ``empty`` instead — say *why* it is empty.
    ``max_rows`` shows the first rows and says how many are left out.  Display the result
    (``display(format_table(...))``, or as a cell's last expression).
    """
    if df is None or len(df) == 0 or df.shape[1] == 0:
        return Markdown(empty)
    shown = df if max_rows is None else df.head(max_rows)
    frame = format_frame(shown, **kwargs)
    src = shown.reset_index() if len(frame.columns) > shown.shape[1] else shown
    numeric = [pd.api.types.is_numeric_dtype(src[c]) and not pd.api.types.is_bool_dtype(src[c]) for c in src.columns]
    numeric = (numeric + [False] * len(frame.columns))[: len(frame.columns)]
    text = _table_html(frame, numeric, caption)
    if max_rows is not None and len(df) > max_rows:
        text += f"<p><em>First {max_rows} of {len(df)} rows.</em></p>"
    return HTML(text)


# --------------------------------------------------------------------------------------------
# plotly
# --------------------------------------------------------------------------------------------


def _asset_mode(mode: str, argument: str, shared: Path) -> str:
    """``"inline"`` or ``"shared"``: ``"auto"`` is ``"shared"`` only inside a book build
    (``MATMAP_SHARED_ASSETS=1``, set by ``matmap book`` for its kernels) and when the ``shared``
    copy exists; anywhere else — JupyterLab, ``matmap run``, a report page — the page carries its
    own copy, since nothing there would load the book's."""
    if mode not in ("auto", "inline", "shared"):
        raise ValueError(f"{argument} must be 'auto', 'inline' or 'shared', not {mode!r}")
    if mode == "auto":
        return "shared" if settings.get("MATMAP_SHARED_ASSETS") and shared.exists() else "inline"
    return mode


def shared_plotlyjs_path() -> Path:
    """Where the book's one copy of plotly.js lives (:data:`SHARED_PLOTLYJS` under the repo)."""
    return repo_root() / SHARED_PLOTLYJS


def write_plotly_js(dest: Path | str | None = None) -> Path:
    """Write the installed plotly.js (minified, offline) to ``dest`` (a file, or a folder that gets
    ``plotly.min.js``; default :func:`shared_plotlyjs_path`) unless it is already identical."""
    return _write_shared(get_plotlyjs(), dest, shared_plotlyjs_path())


def _write_shared(text: str, dest: Path | str | None, default: Path) -> Path:
    """Write a shared asset ``text`` to ``dest`` (a file, or a folder that gets ``default``'s name;
    ``None``: ``default``) unless it is already identical; returns the path."""
    path = Path(dest) if dest is not None else default
    if path.suffix != ".js":
        path = path / default.name
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)  # two builds at once never leave half a file
    return path


def plotly_html(fig: go.Figure, *, plotlyjs: str = "auto") -> str:
    """The HTML of a plotly figure.  ``plotlyjs``: ``"inline"`` embeds plotly.js (≈ 4.6 MB, works
    anywhere); ``"shared"`` leaves it out — the page must load the book's shared copy (see
    :func:`write_plotly_js`); ``"auto"``: see :func:`_asset_mode` (shared only inside a book build)."""
    plotlyjs = _asset_mode(plotlyjs, "plotlyjs", shared_plotlyjs_path())
    return fig.to_html(
        include_plotlyjs=plotlyjs == "inline",
        full_html=False,
        config={"displaylogo": False, "responsive": True},
    )


def show_plotly(fig: go.Figure, *, height: int | None = None, plotlyjs: str = "auto") -> None:
    """Display a plotly figure as HTML that needs no network (never a CDN; never ``fig.show()``).

    ``plotlyjs`` — see :func:`plotly_html`.  When plotly.js is inlined, only the first figure of a
    kernel (one notebook, one page) carries it; later figures on the page reuse it.
    """
    global _PLOTLYJS_INLINED
    if height is not None:
        fig.update_layout(height=height)
    mode = _asset_mode(plotlyjs, "plotlyjs", shared_plotlyjs_path())
    if mode == "inline" and _PLOTLYJS_INLINED:
        mode = "shared"  # already on this page
    display(HTML(plotly_html(fig, plotlyjs=mode)))
    _PLOTLYJS_INLINED = _PLOTLYJS_INLINED or mode == "inline"


_PLOTLYJS_INLINED = False


def corr_heatmap(
    r: pd.DataFrame,
    p: pd.DataFrame | None = None,
    n: pd.DataFrame | None = None,
    *,
    title: str = "",
    coefficient: str = "Spearman ρ",
    alpha: float | None = 0.2,
    lower: bool = True,
    height: int | None = None,
) -> go.Figure:
    """An interactive correlation matrix: colour = coefficient (−1…1), hover = pair, ρ, p, n.

    ``r``, ``p``, ``n`` are square DataFrames over the same columns (``p``, ``n`` optional).
    ``lower`` shows the lower triangle only; ``alpha`` marks pairs with p < alpha by a dot.
    """
    cols = [str(c) for c in r.columns]
    k = len(cols)
    z = r.to_numpy(float).copy()
    if lower:
        z[np.triu(np.ones((k, k), bool))] = np.nan  # the diagonal and the upper triangle
    pv = p.to_numpy(float) if p is not None else np.full((k, k), np.nan)
    nv = n.to_numpy(float) if n is not None else np.full((k, k), np.nan)
    hover = np.empty((k, k), dtype=object)
    for i in range(k):
        for j in range(k):
            nn = "—" if not np.isfinite(nv[i, j]) else f"{int(nv[i, j])}"
            rr = "—" if not np.isfinite(z[i, j]) else f"{z[i, j]:+.2f}"
            hover[i, j] = f"{cols[i]} × {cols[j]}<br>{coefficient} = {rr}<br>p = {pvalue(pv[i, j])}<br>n = {nn}"
    rows, cols_x = (slice(1, None), slice(None, -1)) if lower and k > 1 else (slice(None), slice(None))
    z, pv, hover = z[rows, cols_x], pv[rows, cols_x], hover[rows, cols_x]
    ylab, xlab = cols[rows], cols[cols_x]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=xlab,
            y=ylab,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            hoverongaps=False,
            colorbar={"title": {"text": f"{coefficient}<br>(no unit)"}},
        )
    )
    if alpha is not None and p is not None:
        yy, xx = np.nonzero(np.isfinite(z) & np.isfinite(pv) & (pv < alpha))
        fig.add_scatter(
            x=[xlab[j] for j in xx],
            y=[ylab[i] for i in yy],
            mode="markers",
            marker={"size": 4, "color": "black"},
            name=f"p < {alpha:g}",
            hoverinfo="skip",
        )
    size = height or int(min(900, max(420, 260 + 13 * k)))
    fig.update_layout(
        title={"text": title},
        height=size,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        xaxis={"tickangle": -60, "tickfont": {"size": 10}, "showgrid": False},
        yaxis={"autorange": "reversed", "tickfont": {"size": 10}, "showgrid": False, "scaleanchor": "x"},
        plot_bgcolor="white",
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    return fig


def corr_heatmap_groups(
    groups: Mapping[str, tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]],
    *,
    title: str = "",
    coefficient: str = "Spearman ρ",
    alpha: float | None = 0.2,
    height: int | None = None,
) -> go.Figure:
    """Several correlation matrices in one interactive figure, one at a time, chosen from a menu
    (e.g. one per chemistry subset).  ``groups`` maps a name to ``(r, p, n)`` as in
    :func:`corr_heatmap`; matrices are aligned on the union of their columns (missing: blank)."""
    if not groups:
        raise ValueError("corr_heatmap_groups needs at least one group")
    cols: list[str] = []
    for r, _, _ in groups.values():
        cols += [str(c) for c in r.columns if str(c) not in cols]

    def _align(m):
        return None if m is None else m.rename(index=str, columns=str).reindex(index=cols, columns=cols)

    fig = go.Figure()
    per_group = []
    for k, (r, p, n) in enumerate(groups.values()):
        sub = corr_heatmap(_align(r), _align(p), _align(n), coefficient=coefficient, alpha=alpha)
        per_group.append(len(sub.data))
        for tr in sub.data:
            tr.visible = k == 0
            fig.add_trace(tr)
    buttons, start = [], 0
    for (name, _), count in zip(groups.items(), per_group):
        vis = [False] * len(fig.data)
        vis[start : start + count] = [True] * count
        buttons.append({"label": name, "method": "update", "args": [{"visible": vis}]})
        start += count
    base = corr_heatmap(_align(next(iter(groups.values()))[0]), coefficient=coefficient, height=height)
    fig.update_layout(base.layout)
    fig.update_layout(
        title={"text": title},
        updatemenus=[
            {"buttons": buttons, "direction": "down", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"}
        ],
        margin={"t": 90},
    )
    return fig


# --------------------------------------------------------------------------------------------
# itables
# --------------------------------------------------------------------------------------------


# A classic script (it loads from file://, where Chromium refuses ES-module URLs: origin "null"),
# that defines the global itables' offline tables wait for — ``window._itables_<version>``, a
# promise of the DataTables module — as a getter: the bundle (and its CSS) is evaluated only on a
# page that shows a table, from a blob: URL, as itables' own offline ``init_notebook_mode`` does.
_ITABLES_LOADER = """/* itables {version} offline bundle (DataTables + CSS), one copy for the whole book.
   Written by matmap_utils.viz.write_itables_js; pages' tables wait for window.{key}. */
(function () {{
  "use strict";
  var key = {key_json}, ready = {ready_json};
  if (Object.getOwnPropertyDescriptor(window, key)) return;
  var JS = {js_json};
  var CSS = {css_json};
  var loading = null;
  function load() {{
    if (!loading) {{
      var style = document.createElement("style");
      style.textContent = CSS;
      document.head.appendChild(style);
      var url = URL.createObjectURL(new Blob([JS], {{ type: "text/javascript" }}));
      loading = import(url).then(function (mod) {{
        URL.revokeObjectURL(url);
        window.dispatchEvent(new Event(ready));
        return mod;
      }});
    }}
    return loading;
  }}
  Object.defineProperty(window, key, {{
    configurable: true,
    get: load,
    set: function (value) {{
      Object.defineProperty(window, key, {{ value: value, writable: true, configurable: true }});
    }},
  }});
}})();
"""


def shared_itablesjs_path() -> Path:
    """Where the book's one copy of itables' offline bundle lives (:data:`SHARED_ITABLESJS`)."""
    return repo_root() / SHARED_ITABLESJS


def itables_loader_js() -> str:
    """The text of the shared itables script (:func:`write_itables_js`): the installed itables'
    offline DataTables bundle and its CSS, loaded on first use by a page's table."""
    from itables import options  # lazy: itables is optional at import time
    from itables.javascript import _itables_ready_event, _itables_underscore_version

    bundle = Path(options.dt_bundle)
    key, ready = _itables_underscore_version(), _itables_ready_event()
    return _ITABLES_LOADER.format(
        version=ready.removeprefix("itables-").removesuffix("-ready"),
        key=key,
        key_json=json.dumps(key),
        ready_json=json.dumps(ready),
        js_json=json.dumps(bundle.read_text(encoding="utf-8"), ensure_ascii=False),
        css_json=json.dumps(bundle.with_suffix(".css").read_text(encoding="utf-8"), ensure_ascii=False),
    )


def write_itables_js(dest: Path | str | None = None) -> Path:
    """Write the shared itables script (:func:`itables_loader_js`, ≈ 0.74 MB) to ``dest`` (a file,
    or a folder that gets ``itables_bundle.js``; default :func:`shared_itablesjs_path`) unless it
    is already identical."""
    return _write_shared(itables_loader_js(), dest, shared_itablesjs_path())


def interactive_table_html(df, *, itablesjs: str = "auto", **kwargs) -> str:
    """The HTML of a searchable, sortable table (itables), offline.  ``itablesjs``: ``"inline"``
    puts itables' offline bundle (≈ 0.97 MB) before the table; ``"shared"`` leaves it out — the page
    must load the book's shared copy (:func:`write_itables_js`); ``"auto"``: see :func:`_asset_mode`
    (shared only inside a book build).  Options (``kwargs``) go to ``itables.to_html_datatable``."""
    from itables import options  # lazy: itables is optional at import time
    from itables.javascript import generate_init_offline_itables_html, to_html_datatable

    mode = _asset_mode(itablesjs, "itablesjs", shared_itablesjs_path())
    opts = {"maxBytes": 0, "lengthMenu": [10, 25, 100], "classes": "display compact"}
    opts.update(kwargs)
    init = generate_init_offline_itables_html(options.dt_bundle) if mode == "inline" else ""
    return init + to_html_datatable(df, connected=False, **opts)


def interactive_table(df, *, itablesjs: str = "auto", **kwargs) -> None:
    """Display a searchable, sortable table (itables) that needs no network: its JavaScript inline,
    or the book's shared copy (``itablesjs``, see :func:`interactive_table_html`).  When inlined,
    only the first table of a kernel (one notebook, one page) carries the bundle.

    Unlike ``itables.init_notebook_mode`` this does not change how later DataFrames display.
    """
    global _ITABLES_INIT
    mode = _asset_mode(itablesjs, "itablesjs", shared_itablesjs_path())
    if mode == "inline" and _ITABLES_INIT:
        mode = "shared"  # already on this page
    display(HTML(interactive_table_html(df, itablesjs=mode, **kwargs)))
    _ITABLES_INIT = _ITABLES_INIT or mode == "inline"


_ITABLES_INIT = False
