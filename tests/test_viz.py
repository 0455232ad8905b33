"""The book's shared figure and table helpers (matmap_utils.viz): readable tables, legibility check,
interactive correlation heatmaps, plotly.js and itables' bundle inline or shared."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from matmap_utils import viz
from matmap_utils.book import browser
from matmap_utils.transport import correlations


@pytest.fixture(autouse=True)
def _style_and_close():
    viz.set_style()
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------- tables


def test_numbers_are_formatted_for_reading():
    assert viz.sci(4.7e-7) == "4.7 × 10⁻⁷"
    assert viz.sci(-1.23e5, 3) == "-1.23 × 10⁵"
    assert viz.pvalue(0.0) == "< 10⁻³⁰⁰"
    assert viz.pvalue(1.2e-5) == "1.2 × 10⁻⁵"
    assert viz.pvalue(0.034) == "0.034" and viz.pvalue(0.31) == "0.31" and viz.pvalue(np.nan) == "—"
    assert viz.significant(0.123456) == "0.123" and viz.significant(12.3456) == "12.3"
    assert viz.significant(12345.6) == "12,346" and viz.significant(2e-5) == "2.00 × 10⁻⁵"


def test_headers_carry_units():
    assert viz.header("D_cm2_s") == "D (cm²/s)"
    assert viz.header("temperature_K") == "temperature (K)"
    assert viz.header("Cv_kB_atom") == "Cv (k_B/atom)"
    assert viz.header("omega30_meV") == "omega30 (meV)"
    assert viz.header("disorder", {"disorder": "%"}) == "disorder (%)"
    assert viz.header("n_runs") == "n runs"


def test_format_frame_rules():
    df = pd.DataFrame(
        {
            "D_cm2_s": [3e-6, 4.7e-7, np.nan],
            "n": [9.0, 10.0, 3.0],
            "p_spearman": [0.0, 1.2e-5, 0.3],
            "ok": [True, False, True],
            "rho": [0.5, -0.25, 0.125],
        }
    )
    out = viz.format_frame(df)
    assert list(out.columns) == ["D (cm²/s)", "n", "p spearman", "ok", "rho"]
    # one notation per column: never 0.000003 beside 4.7e-07
    assert out["D (cm²/s)"].tolist() == ["3.00 × 10⁻⁶", "4.70 × 10⁻⁷", "—"]
    assert out["n"].tolist() == ["9", "10", "3"]  # counts as integers, not 9.0
    assert out["p spearman"].tolist() == ["< 10⁻³⁰⁰", "1.2 × 10⁻⁵", "0.30"]
    assert out["ok"].tolist() == ["yes", "no", "yes"]
    assert list(out.index) == [0, 1, 2]  # the plain 0…N index is not a column
    named = viz.format_frame(df.set_index(pd.Index(["a", "b", "c"], name="system")))
    assert named.columns[0] == "system" and named["system"].tolist() == ["a", "b", "c"]


def test_format_table_scrolls_and_explains_empty_results():
    wide = pd.DataFrame(np.arange(60.0).reshape(2, 30), columns=[f"c{i}" for i in range(30)])
    html = viz.format_table(wide).data
    assert "overflow-x:auto" in html and "<th>c29</th>" in html and ">59<" in html
    assert "<th>index</th>" not in html
    empty = viz.format_table(wide.iloc[:0], empty="No run has a solid framework: no fit.")
    assert empty.data == "No run has a solid framework: no fit."
    short = viz.format_table(wide, max_rows=1).data
    assert "First 1 of 2 rows" in short


# ---------------------------------------------------------------------------------------- figures


def test_legibility_check_flags_small_fonts_wide_figures_and_missing_labels():
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1])
    ax.set(xlabel="x (Å)", ylabel="y (eV)")
    assert viz.legibility_problems(fig) == []
    ax.set_title("tiny", fontsize=5)
    assert any("below" in p for p in viz.legibility_problems(fig))
    wide, ax2 = plt.subplots(figsize=(24, 3))  # shrunk more than threefold at the book's width
    ax2.plot([0, 1], [0, 1])
    ax2.set(xlabel="x", ylabel="y")
    assert any("shrink" in p for p in viz.legibility_problems(wide))
    bare, ax3 = plt.subplots(figsize=(5, 3))
    ax3.plot([0, 1], [0, 1])
    assert sum("without a label" in p for p in viz.legibility_problems(bare)) == 2
    img, ax4 = plt.subplots(figsize=(5, 3))
    im = ax4.imshow(np.eye(3))
    ax4.set(xlabel="i", ylabel="j")
    img.colorbar(im, ax=ax4)
    assert any("colour bar" in p for p in viz.legibility_problems(img))


def test_panel_grid_has_at_most_two_panels_per_row():
    fig, axes = viz.panel_grid(5)
    assert len(axes) == 5 and len(fig.axes) == 5
    assert fig.get_size_inches()[0] == pytest.approx(viz.FIG_WIDTH_IN)
    cols = {round(ax.get_position().x0, 3) for ax in axes}
    assert len(cols) == 2


def _corr(k: int = 30, n: int = 40, seed: int = 0) -> correlations.CorrResult:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k))
    x[:, 1] = x[:, 0] + 0.1 * rng.normal(size=n)
    df = pd.DataFrame(x, columns=[f"descriptor_number_{i}" for i in range(k)])
    return correlations.corr_matrix(df, "spearman")


def test_static_correlogram_of_the_top_columns_is_legible():
    res = _corr()
    corr = correlations.correlations_with(pd.DataFrame(res.r), "descriptor_number_0")
    cols = correlations.top_columns(corr, "descriptor_number_0", k=20)
    assert cols[0] == "descriptor_number_0" and len(cols) == 21 and cols[1] == "descriptor_number_1"
    fig, ax = plt.subplots(figsize=(viz.FIG_WIDTH_IN, viz.FIG_WIDTH_IN * 0.92))
    correlations.plot_correlogram(correlations.subset(res, cols), ax, title="t")
    fig.tight_layout()
    assert viz.legibility_problems(fig) == []


def test_target_matrix_is_legible_and_marks_significance():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(50, 26)), columns=[f"d{i}" for i in range(25)] + ["y"])
    df["d0"] = df["y"] + 0.1 * rng.normal(size=50)
    groups = {"all": correlations.correlations_with(df, "y"), "half": correlations.correlations_with(df.iloc[:25], "y")}
    r, p = correlations.target_matrix(groups)
    assert r.index[0] == "d0" and list(r.columns) == ["all", "half"]
    fig, ax = plt.subplots(figsize=(viz.FIG_WIDTH_IN, 1.6 + 0.24 * len(r)))
    correlations.plot_target_matrix(groups, ax)
    fig.tight_layout()
    assert viz.legibility_problems(fig) == []
    texts = [t.get_text() for t in ax.texts]
    assert any(t.endswith("**") for t in texts)


# ---------------------------------------------------------------------------------------- plotly


def test_corr_heatmap_hover_shows_pair_rho_p_and_n():
    res = _corr(k=4)
    fig = viz.corr_heatmap(res.r, res.p, res.n, title="t")
    heat = fig.data[0]
    # lower triangle only: the first row and the last column are dropped
    assert list(heat.y) == list(res.r.columns[1:]) and list(heat.x) == list(res.r.columns[:-1])
    text = heat.text[0][0]
    assert "descriptor_number_1 × descriptor_number_0" in text
    assert "Spearman ρ = +0." in text and "p = " in text and "n = 40" in text
    assert np.isnan(heat.z[0][1])  # the upper triangle stays blank
    assert fig.data[1].name == "p < 0.2" and len(fig.data[1].x) >= 1


def test_corr_heatmap_groups_switches_between_matrices():
    a, b = _corr(k=3), _corr(k=4, seed=2)
    fig = viz.corr_heatmap_groups({"A": (a.r, a.p, a.n), "B": (b.r, b.p, b.n)})
    buttons = fig.layout.updatemenus[0].buttons
    assert [bt.label for bt in buttons] == ["A", "B"]
    first = buttons[0].args[0]["visible"]
    assert first.count(True) >= 1 and len(first) == len(fig.data)
    assert [tr.visible for tr in fig.data] == first


def test_plotly_js_inline_or_shared(tmp_path, monkeypatch):
    fig = viz.corr_heatmap(_corr(k=3).r)
    inline = viz.plotly_html(fig, plotlyjs="inline")
    shared = viz.plotly_html(fig, plotlyjs="shared")
    assert len(inline) > 1_000_000 > 100_000 > len(shared)
    assert "cdn" not in shared.lower()
    monkeypatch.setenv("MATMAP_ROOT", str(tmp_path))
    assert len(viz.plotly_html(fig)) > 1_000_000  # "auto": no shared copy yet, so inline
    path = viz.write_plotly_js()
    assert path == tmp_path / "book" / "_static" / "plotly.min.js" and path.stat().st_size > 1_000_000
    # outside a book build (JupyterLab, matmap run, a report) nothing would load the shared copy
    monkeypatch.delenv("MATMAP_SHARED_ASSETS", raising=False)
    assert len(viz.plotly_html(fig)) > 1_000_000
    monkeypatch.setenv("MATMAP_SHARED_ASSETS", "1")  # what `matmap book` sets for its kernels
    assert len(viz.plotly_html(fig)) < 100_000  # "auto" now finds the shared copy
    with pytest.raises(ValueError, match="plotlyjs"):
        viz.plotly_html(fig, plotlyjs="cdn")


def test_show_plotly_inlines_plotly_js_once_per_page(monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr(viz, "display", lambda obj: shown.append(obj.data))
    monkeypatch.setattr(viz, "_PLOTLYJS_INLINED", False)
    monkeypatch.setenv("MATMAP_ROOT", str(tmp_path))  # no shared copy: inline
    fig = viz.corr_heatmap(_corr(k=3).r)
    viz.show_plotly(fig)
    viz.show_plotly(fig)
    assert len(shown[0]) > 1_000_000 and len(shown[1]) < 100_000


# ---------------------------------------------------------------------------------------- itables


def _table() -> pd.DataFrame:
    """A 30-row table (more than one page of 10, so the search box and the pager are shown)."""
    return viz.format_frame(pd.DataFrame(_corr(k=30).r).iloc[:, :3])


def test_itables_bundle_inline_or_shared(tmp_path, monkeypatch):
    df = _table()
    inline = viz.interactive_table_html(df, itablesjs="inline")
    shared = viz.interactive_table_html(df, itablesjs="shared")
    assert len(inline) > 900_000 > 100_000 > len(shared)
    assert "unpkg" not in shared and "https://" not in shared.replace("https://itables.org", "")
    monkeypatch.setenv("MATMAP_ROOT", str(tmp_path))
    assert len(viz.interactive_table_html(df)) > 900_000  # "auto": no shared copy yet, so inline
    path = viz.write_itables_js()
    assert path == tmp_path / "book" / "_static" / "itables_bundle.js"
    assert 600_000 < path.stat().st_size < len(inline)  # one copy, smaller than a page's inline one
    monkeypatch.delenv("MATMAP_SHARED_ASSETS", raising=False)
    assert len(viz.interactive_table_html(df)) > 900_000  # not in a book build: the page carries its own
    monkeypatch.setenv("MATMAP_SHARED_ASSETS", "1")
    assert len(viz.interactive_table_html(df)) < 100_000  # "auto" now finds the shared copy
    assert viz.write_itables_js(tmp_path / "elsewhere").name == "itables_bundle.js"
    with pytest.raises(ValueError, match="itablesjs"):
        viz.interactive_table_html(df, itablesjs="cdn")


def test_shared_itables_script_defines_what_the_tables_wait_for():
    """The tables of the installed itables await ``window._itables_<version>`` (or its ready event);
    the shared script defines exactly that global, from the installed bundle, unaltered."""
    from itables import options

    shared = viz.interactive_table_html(_table(), itablesjs="shared")
    key = re.search(r"await window\.(_itables_\w+)", shared).group(1)
    ready = re.search(r'addEventListener\("(itables-[^"]+-ready)"', shared).group(1)
    loader = viz.itables_loader_js()
    assert f"var key = {json.dumps(key)}, ready = {json.dumps(ready)};" in loader
    js = json.loads(re.search(r"^  var JS = (.*);$", loader, re.M).group(1))
    css = json.loads(re.search(r"^  var CSS = (.*);$", loader, re.M).group(1))
    bundle = Path(options.dt_bundle)
    assert js == bundle.read_text(encoding="utf-8") and "export{" in js
    assert css == bundle.with_suffix(".css").read_text(encoding="utf-8")


def test_interactive_table_inlines_the_bundle_once_per_page(monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr(viz, "display", lambda obj: shown.append(obj.data))
    monkeypatch.setattr(viz, "_ITABLES_INIT", False)
    monkeypatch.setenv("MATMAP_ROOT", str(tmp_path))  # no shared copy: inline
    viz.interactive_table(_table())
    viz.interactive_table(_table())
    assert len(shown[0]) > 900_000 and len(shown[1]) < 100_000


_RENDERED_JS = """(async () => {
  const want = document.querySelectorAll("table[id^=itables_]").length;
  for (let i = 0; i < 150 && document.querySelectorAll(".dt-container").length < want; i++)
    await new Promise((r) => setTimeout(r, 100));
  const input = document.querySelector(".dt-search input");
  const rows = () => document.querySelector(".dt-container tbody")?.rows.length ?? null;
  const before = rows();
  if (input) { input.value = "descriptor_number_17"; input.dispatchEvent(new Event("input")); }
  await new Promise((r) => setTimeout(r, 300));
  return {tables: want, rendered: document.querySelectorAll(".dt-container").length,
          styles: document.querySelectorAll("head style").length, before, after: rows()};
})()"""


@pytest.mark.skipif(browser.chromium_path() is None, reason="no Chromium on PATH (apt-get install chromium)")
def test_shared_itables_bundle_renders_tables_from_file_urls(tmp_path):
    """A chapter page (``book/executed/NN.html``, as in ``_build/html``) loading the book's one copy
    by a relative ``<script src>`` renders its tables from ``file://``; a page without a table does
    not evaluate the bundle (no DataTables CSS injected)."""
    viz.write_itables_js(tmp_path / "_static")
    df = _table()
    tables = viz.interactive_table_html(df, itablesjs="shared") + viz.interactive_table_html(df, itablesjs="shared")
    page = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>{t}</title>{h}</head><body>{b}</body></html>'
    (tmp_path / "book" / "executed").mkdir(parents=True)
    chapter = tmp_path / "book" / "executed" / "01_tables.html"
    chapter.write_text(page.format(t="tables", h='<script src="../../_static/itables_bundle.js"></script>', b=tables))
    (tmp_path / "plain.html").write_text(
        page.format(t="plain", h='<script src="_static/itables_bundle.js"></script>', b="<p>x</p>")
    )
    assert browser.check_book(tmp_path, search=False) == []
    with browser.Chromium() as chromium:
        results = {}
        for name in ("book/executed/01_tables.html", "plain.html"):
            session = chromium.open((tmp_path / name).as_uri())
            results[name] = chromium.evaluate(session, _RENDERED_JS, timeout_s=40)
            chromium.close_tab(session)
    shown = results["book/executed/01_tables.html"]
    assert shown["tables"] == shown["rendered"] == 2 and shown["styles"] == 1  # the CSS once
    assert shown["before"] == 10 and shown["after"] == 1  # paged by 10; the search box filters
    assert results["plain.html"]["styles"] == 0  # no table: the bundle was never evaluated
