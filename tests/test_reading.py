"""Results before code: the build's one tagging rule and the profile banner."""

from __future__ import annotations

import nbformat

from matmap_utils.book import reading


def _nb():
    cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("profile = 'paper'\nlimit = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("profile = 'ci'\nlimit = 60", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("import numpy as np\nfrom matmap_utils.viz import set_style"),
        nbformat.v4.new_markdown_cell("Some text."),
        nbformat.v4.new_code_cell("fig = plot()"),
        nbformat.v4.new_code_cell("write_metrics(NB, metrics, profile=profile)\nmetrics"),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def test_every_code_cell_is_hidden_or_removed_by_one_rule():
    nb = _nb()
    reading.tag_cells(nb)
    reading.tag_cells(nb)  # idempotent
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert "remove-cell" in tags[1] and "remove-cell" in tags[2] and "remove-cell" in tags[3]
    assert tags[5] == ["hide-input"] and "remove-cell" in tags[6]
    assert tags[0] == [] and tags[4] == []  # prose untouched
    assert all("remove-cell" in t or "hide-input" in t for c, t in zip(nb.cells, tags) if c.cell_type == "code")


def test_banner_names_the_profile_and_what_differs(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(_nb(), str(path))
    reading.prepare_for_reading(
        path, {"profile": "ci", "limit": 60, "seed": 0}, {"profile": "paper", "limit": 0, "seed": 0}
    )
    reading.prepare_for_reading(
        path, {"profile": "ci", "limit": 60, "seed": 0}, {"profile": "paper", "limit": 0, "seed": 0}
    )
    nb = nbformat.read(str(path), as_version=4)
    banners = [c for c in nb.cells if reading.BANNER_TAG in c.metadata.get("tags", [])]
    assert len(banners) == 1 and nb.cells[1] is banners[0]  # right after the title, once
    assert "**ci** profile" in banners[0].source and "`limit` = 60 (paper: 0)" in banners[0].source
    assert "seed" not in banners[0].source
    assert "paper** profile" in reading.banner_text("paper", {})
