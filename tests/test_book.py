"""Book pipeline pieces: generated pages and the offline-HTML check."""

from __future__ import annotations

import time

import pytest

from matmap_utils.book import build, execute
from matmap_utils.book import pages as bookpages


def test_external_assets_detected(tmp_path):
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example.com/x.js"></script>'
        '<link rel="stylesheet" href="//cdn.example.com/x.css">'
        '<a href="https://doi.org/10.1">ok</a><script src="_static/local.js"></script>'
    )
    hits = build.external_assets(tmp_path)
    assert len(hits) == 2 and all(p == "a.html" for p, _ in hits)
    (tmp_path / "a.html").write_text('<script src="_static/x.js"></script><link rel="canonical" href="https://x.org">')
    assert build.external_assets(tmp_path) == []


def test_data_provenance_page_lists_every_source():
    from matmap_utils.data.registry import registry, sources

    md = bookpages.data_provenance_md()
    for _key, meta in sources().items():
        assert meta["title"] in md and meta["licence"] in md
    assert f"{(registry()['source'] == 'mp_li').sum():,}" in md


def test_reproducibility_page_has_versions_and_timings():
    load = {"mean": 1.93, "max": 2.5, "samples": 3}
    rows = [{"notebook": "00_data_overview", "seconds": 12.3, "executed_now": True, "load": load}]
    md = bookpages.reproducibility_md("ci", rows)
    assert "| 00_data_overview | 12 | executed | 1.9 |" in md
    assert "| torch |" in md and "`ci` profile" in md.replace("**", "")


def test_library_dependencies_follow_imports_transitively():
    deps = execute.library_dependencies("from matmap_utils.data import datasets\nimport numpy\n")
    rel = {str(p.relative_to(p.parents[2]) if p.parent.name == "core" else p.relative_to(p.parents[1])) for p in deps}
    names = {p.name for p in deps}
    assert {"datasets.py", "registry.py", "structures.py", "cache.py", "paths.py", "parallel.py"} <= names
    assert "data/__init__.py" in rel  # the parent package runs on import too
    assert not any(p.parent.name in ("book", "screening", "transport", "materials_map") for p in deps)
    only_init = {p.name for p in execute.library_dependencies("import numpy as np\n")}
    assert only_init == {"__init__.py"}


def test_chapter_declarations_match_the_notebooks_and_order_them():
    from matmap_utils.chapters import declarations

    stems = [p.stem for p in execute.all_notebooks()]
    assert sorted(c.notebook for c in declarations.CHAPTERS) == sorted(stems)
    order = declarations.execution_order(list(reversed(stems)))
    for c in declarations.CHAPTERS:
        for up in c.reads:
            assert order.index(up) < order.index(c.notebook)


def test_notebooks_read_only_declared_upstream_results():
    """A notebook that names another chapter's results folder must declare that chapter."""
    import re

    from matmap_utils.chapters import declarations

    for nb in execute.all_notebooks():
        text = nb.read_text()
        named = set(re.findall(r"""["'](\\d\\d_[a-z_]+)["']""", text)) - {nb.stem}
        assert named <= set(declarations.upstream_of(nb.stem)), f"{nb.name} reads undeclared {named}"


def test_reading_an_undeclared_upstream_is_refused():
    from matmap_utils.chapters.results import read_upstream

    with pytest.raises(ValueError, match="does not declare"):
        read_upstream("01_descriptors", "06_atomsets_screening", "anything")


def test_paper_vs_book_page_reads_declared_comparisons(tmp_path, monkeypatch):
    import json

    from matmap_utils.chapters import comparisons as C

    monkeypatch.setenv("MATMAP_RESULTS", str(tmp_path))
    (tmp_path / "99_demo").mkdir()
    (tmp_path / "99_demo" / "metrics.json").write_text(
        json.dumps({"profile": "ci", "auc": {"value": 0.8, "lo": 0.7, "hi": 0.9}, "n": 40})
    )
    decl = [
        C.Comparison(
            "99_demo", "Demo 2025", "Table 2", "AUC", 0.85, "Table 2", "auc.value", True, "", ("auc.lo", "auc.hi"), "n"
        ),
        C.Comparison(
            "99_demo", "Demo 2025", "Table 2", "AUC", 0.95, "Table 2", "auc.value", True, "", ("auc.lo", "auc.hi"), "n"
        ),
        C.Comparison("99_demo", "Demo 2025", "Fig. 3", "R²", 0.8, "Fig. 3", "r2", False, "other data"),
        C.Comparison("98_none", "Demo 2025", "Fig. 4", "x", 1.0, "Fig. 4", "x", True, "", None, 10),
    ]
    rows = C.comparison_rows(decl)
    assert [r["verdict"] for r in rows] == [
        "within CI",
        "outside CI",
        "not computed in this build",
        "not computed in this build",
    ]
    assert rows[0]["ci"] == (0.7, 0.9) and rows[0]["n"] == 40 and rows[2]["same_protocol"] == "no — other data"
    monkeypatch.setattr(C, "COMPARISONS", tuple(decl))
    monkeypatch.setattr(bookpages, "comparison_rows", lambda: C.comparison_rows(decl))
    md = bookpages.paper_vs_book_md()
    assert "| Demo 2025 | Table 2 | AUC | 0.85 (Table 2) | 0.8 | [0.7, 0.9] | 40 | yes | within CI |" in md


def test_api_reference_lists_every_public_module():
    import pkgutil

    import matmap_utils

    listed = {m for mods in bookpages.api_modules().values() for m in mods}
    public = {
        m.name
        for m in pkgutil.walk_packages(matmap_utils.__path__, "matmap_utils.")
        if not m.name.split(".")[-1].startswith("_")
    }
    assert public - listed == set(), "add the room to book.pages.API_ROOMS"
    md = bookpages.api_reference_md()
    assert md.count(".. automodule::") == len(listed) and ".. automodule:: matmap_utils.core.cache" in md


def test_load_sampler_reports_the_load_seen_while_the_block_ran(monkeypatch):
    """The build records the load average a notebook ran under: mean and maximum of samples taken
    while it ran (first at the start, last at the end)."""
    seen = iter([1.0, 3.0, 2.0, 6.0])
    monkeypatch.setattr(execute.os, "getloadavg", lambda: (next(seen, 6.0), 0.0, 0.0))
    with execute.LoadSampler(every=0.05) as load:
        time.sleep(0.12)
    s = load.summary()
    assert s["samples"] >= 3 and s["max"] == 6.0
    assert s["mean"] == round(sum(load.samples) / len(load.samples), 2) and 1.0 <= s["mean"] < 6.0
