"""The rendered book in a real browser (matmap_utils.book.browser): planted defects on a small
hand-written site are each reported and a clean page passes; the CI-profile book has none."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import plotly.graph_objects as go
import pytest

from matmap_utils.book import browser
from matmap_utils.viz import write_plotly_js

needs_chromium = pytest.mark.skipif(
    browser.chromium_path() is None,
    reason="no Chromium on PATH: install it (apt-get install chromium) to check the rendered book",
)

#: A page shaped like the book theme's: a 780 px article inside a 1400 px window.
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body style="margin:0"><main><article class="bd-article" style="width:780px;margin-left:300px">
<h1>{title}</h1>{body}</article></main></body></html>"""

WIDE_TABLE = "<table><tr>" + "".join(f"<td>column_{k}_with_a_long_name</td>" for k in range(40)) + "</tr></table>"


def _figure_png(path: Path) -> int:
    """A real matplotlib figure, 600 px wide (6 in at 100 dpi); returns its width in px."""
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.plot([0, 1, 2], [1.0, 0.4, 0.8])
    ax.set_xlabel("time (ps)")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return 600


def _site(root: Path) -> Path:
    """The planted site: ``clean.html`` (which must pass) and one page per defect."""
    root.mkdir(parents=True, exist_ok=True)
    _figure_png(root / "fig.png")
    write_plotly_js(root / "_static")
    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[2, 1, 3]))
    plot = fig.to_html(full_html=False, include_plotlyjs=False, default_width="100%", default_height="300px")
    plotly_head = '<script src="_static/plotly.min.js"></script>'
    pages = {
        "clean": (
            plotly_head,
            "<p>The clean page quotes <code>PosixPath('/x')</code> as what a page must not print.</p>"
            '<img src="fig.png" alt="figure">'
            f'<div class="cell_output" style="overflow-x:auto">{WIDE_TABLE}</div>{plot}',
        ),
        "wide_table": ("", f"<p>A table wider than the column.</p>{WIDE_TABLE}"),
        "long_line": ("", '<p style="white-space:nowrap">' + "an unbreakable line of computed text " * 4 + "</p>"),
        "stderr": (
            "",
            '<div class="cell_output"><div class="output stderr"><pre>UserWarning: /home/u/x.py:3: planted</pre></div></div>',
        ),
        "posixpath": ("", "<div class=\"cell_output\"><pre>PosixPath('/x')</pre></div>"),
        "traceback": ("", '<div class="cell_output"><pre>Traceback (most recent call last):\n  File "x"</pre></div>'),
        "js_error": ("", "<p>text</p><script>console.error('planted console error'); notDefinedAnywhere();</script>"),
        "shrunk_image": ("", '<img src="fig.png" style="width:300px" alt="shrunk">'),
        "missing_image": ("", '<img src="no_such_figure.png" alt="missing">'),
        "plotly_without_js": ("", plot),
        # an itables table whose bundle never loaded (what a page shows without its _static copy)
        "table_without_js": ("", '<table id="itables_planted"><thead><tr><th>a</th></tr></thead></table>'),
    }
    for name, (head, body) in pages.items():
        (root / f"{name}.html").write_text(PAGE.format(title=name, head=head, body=body))
    # like the index.html that jupyter-book writes: it navigates away while being measured
    (root / "redirect.html").write_text('<meta http-equiv="Refresh" content="0; url=clean.html" />')
    (root / "broken_redirect.html").write_text('<meta http-equiv="Refresh" content="0; url=book/gone.html" />')
    return root


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(problems by page, pages checked) of the planted site, checked once."""
    if browser.chromium_path() is None:
        pytest.skip("no Chromium on PATH: install it (apt-get install chromium) to check the rendered book")
    root = _site(tmp_path_factory.mktemp("site"))
    problems = browser.check_book(root, search=False)
    by_page: dict[str, list[browser.Problem]] = {}
    for p in problems:
        by_page.setdefault(p.page, []).append(p)
    return by_page, browser.html_pages(root)


@needs_chromium
@pytest.mark.parametrize("page", ["clean.html", "redirect.html"])
def test_clean_page_passes(planted, page):
    by_page, pages = planted
    assert page in pages
    assert by_page.get(page, []) == []


@needs_chromium
@pytest.mark.parametrize(
    ("page", "check", "words"),
    [
        ("wide_table.html", "overflow", "table"),
        ("long_line.html", "overflow", "p is"),
        ("stderr.html", "stderr", "UserWarning"),
        ("posixpath.html", "repr", "PosixPath("),
        ("traceback.html", "traceback", "Traceback"),
        ("js_error.html", "console", "planted console error"),
        ("js_error.html", "exception", "notDefinedAnywhere"),
        ("shrunk_image.html", "image", "drawn at 300 px of its natural 600 px"),
        ("missing_image.html", "image", "did not load"),
        ("plotly_without_js.html", "plotly", "did not render"),
        ("broken_redirect.html", "redirect", "book/gone.html, which is not a page"),
        ("table_without_js.html", "table", "1 of 1 interactive tables did not render"),
    ],
)
def test_planted_defect_is_reported(planted, page, check, words):
    by_page, _ = planted
    found = [p for p in by_page.get(page, []) if p.check == check]
    assert found, f"{page}: no {check!r} problem among {by_page.get(page)}"
    assert any(words in p.detail for p in found), found


def test_page_problems_judges_measurements():
    """The judging rules without a browser: 70 % image scale, interactive figures exempt."""
    base = {"viewport": 1385, "scrollWidth": 1385, "content": {"left": 300, "right": 1080, "width": 780}}
    base |= {"wide": [], "plotly": [], "body": "", "quoted": [], "stderr": [], "plotlyLoaded": True}
    img = {"src": "a.png", "complete": True, "natural": 1000, "shown": True, "interactive": False}
    assert browser.page_problems("p", {**base, "images": [{**img, "width": 700}]}) == []
    assert [p.check for p in browser.page_problems("p", {**base, "images": [{**img, "width": 690}]})] == ["image"]
    assert browser.page_problems("p", {**base, "images": [{**img, "width": 100, "interactive": True}]}) == []
    wide = browser.page_problems("p", {**base, "images": [], "scrollWidth": 1600})
    assert [p.check for p in wide] == ["overflow"]


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("mean = np.float64(0.25) eV", "repr"),
        ("x = array([1, 2, 3])", "repr"),
        ("<matmap_utils.thing.Foo object at 0x7f00>", "repr"),
        ("Traceback (most recent call last):", "traceback"),
    ],
)
def test_text_patterns_catch_reprs(text, check):
    assert [p.check for p in browser.text_problems("p", text)] == [check]


@pytest.mark.parametrize("text", ["we build an array (a grid) of barriers", "use np.array(x) to convert", "arrays"])
def test_text_patterns_leave_prose_alone(text):
    assert browser.text_problems("p", text) == []


def test_distinctive_word_is_the_rarest_of_the_page():
    texts = {"a.html": "common material chapter superionic", "b.html": "common material chapter"}
    prose = {"a.html": "common material superionic superionic", "b.html": "common material"}
    words = browser.distinctive_words(texts, prose)
    assert words["a.html"] == "superionic"
    assert words["b.html"] in {"common", "material"}


def test_page_weights_count_own_images_not_shared_assets(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "theme.png").write_bytes(b"x" * 5000)
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "fig.png").write_bytes(b"x" * 1000)
    page = '<img src="_images/fig.png"><img src="_images/fig.png"><img src="_static/theme.png">'
    (tmp_path / "a.html").write_text(page)
    (tmp_path / "b.html").write_text("<p>no image</p>")
    weights = dict(browser.page_weights(tmp_path))
    assert weights == {"a.html": len(page) + 1000, "b.html": len("<p>no image</p>")}


def _sphinx_site(src: Path, out: Path) -> Path:
    """A two-page Sphinx site (the same searchtools.js as the book's)."""
    src.mkdir()
    (src / "conf.py").write_text('project = "t"\nhtml_theme = "basic"\n')
    (src / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n   chapter\n\nCommon words only.\n")
    (src / "chapter.rst").write_text("Chapter\n=======\n\nThe argyrodites conduct lithium quickly.\n")
    cmd = [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


@needs_chromium
def test_search_finds_each_page_and_a_broken_index_is_reported(tmp_path):
    pytest.importorskip("sphinx")
    html = _sphinx_site(tmp_path / "src", tmp_path / "html")
    with browser.Chromium() as chrome:
        assert browser.search_problems(chrome, html, {"chapter.html": "argyrodites"}) == []
        broken = tmp_path / "broken"
        shutil.copytree(html, broken)
        index = (broken / "searchindex.js").read_text()
        (broken / "searchindex.js").write_text(index.replace('"argyrodit"', '"nothingatall"'))
        problems = browser.search_problems(chrome, broken, {"chapter.html": "argyrodites"})
    assert [p.check for p in problems] == ["search"], problems


@pytest.mark.slow
@pytest.mark.mirror
@needs_chromium
def test_ci_book_renders_cleanly_in_a_browser(ci_book_html):
    """Every page of the CI-profile book, in headless Chromium at 1400 px: no console error, no
    horizontal overflow, images at >= 70 % of their size, plotly figures drawn, no repr or
    traceback, and the search finds every chapter."""
    problems = browser.check_book(ci_book_html)
    assert browser.html_pages(ci_book_html), "the build wrote no page"
    listing = "\n".join(f"{p.page} [{p.check}] {p.detail}" for p in problems)
    assert not problems, f"{len(problems)} problems on the rendered book:\n{listing}"


def test_redirect_pages_are_recognised_and_content_pages_are_not(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.html").write_text(PAGE.format(title="t", head="", body="<p>x</p>"))
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=book/intro.html" />')
    (tmp_path / "quoted.html").write_text("<meta http-equiv='refresh' content='5;url=book/intro.html#top'>")
    assert browser.redirect_target(tmp_path, "index.html") == "book/intro.html"
    assert browser.redirect_target(tmp_path, "quoted.html") == "book/intro.html#top"
    assert browser.redirect_target(tmp_path, "book/intro.html") is None
    assert browser.redirect_problems(tmp_path, "index.html", "book/intro.html") == []
    assert browser.redirect_problems(tmp_path, "quoted.html", "book/intro.html#top") == []
    assert browser.redirect_problems(tmp_path, "index.html", "https://example.org/x.html")
