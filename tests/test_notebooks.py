"""Every notebook declares a papermill `parameters` cell and runs end to end with params/ci.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matmap_utils.book import build, execute, profiles

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = execute.all_notebooks()


def test_there_are_notebooks():
    assert any(p.stem == "00_data_overview" for p in NOTEBOOKS)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell(nb):
    import jupytext

    text = nb.read_text()
    assert "cell_metadata_filter: -all" not in text, "this header strips the parameters tag"
    cells = jupytext.read(nb).cells
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{nb.name}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
    params = profiles.notebook_parameters(nb)
    assert {"profile", "seed"} <= set(params), f"{nb.name} must take `profile` and `seed` parameters"


@pytest.mark.parametrize("profile", ["ci", "paper"])
def test_profiles_only_name_declared_parameters(profile):
    prof = profiles.load_profile(profile)
    for nb in NOTEBOOKS:
        declared = set(profiles.notebook_parameters(nb))
        section = prof.get(nb.stem) or {}
        unknown = set(section) - declared
        assert not unknown, f"params/{profile}.yaml section {nb.stem} names undeclared {sorted(unknown)}"


def test_unknown_override_is_rejected():
    with pytest.raises(ValueError, match="no parameter"):
        profiles.merged_parameters(NOTEBOOKS[0], "ci", overrides={"no_such_parameter": 1})


def test_toc_lists_only_existing_notebooks():
    from matmap_utils.chapters.declarations import VARIANTS, page_source

    stems = {p.stem for p in NOTEBOOKS}
    listed = build.toc_notebooks()
    assert listed and {page_source(s)[0] for s in listed} <= stems
    assert set(VARIANTS) <= set(listed), "a declared page variant is missing from _toc.yml"
    assert page_source("07_candidate_report_llzo") == ("07_candidate_report", VARIANTS["07_candidate_report_llzo"][1])


def test_failing_notebook_reports_the_cell(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "params").mkdir()
    (root / "data").mkdir()
    (root / "data" / "registry.tsv.gz").write_bytes(b"")
    (root / "params" / "ci.yaml").write_text("_all: {profile: ci, seed: 0}\n")
    (root / "notebooks" / "99_boom.py").write_text(
        '# %% tags=["parameters"]\nprofile = "paper"\nseed = 0\n\n# %%\nx = 1\n\n# %%\nraise RuntimeError("kaboom " + profile)\n'
    )
    monkeypatch.setenv("MATMAP_ROOT", str(root))
    with pytest.raises(execute.NotebookFailed) as err:
        execute.execute_notebook("99_boom", profile="ci")
    assert "kaboom ci" in str(err.value) and "RuntimeError" in str(err.value)


@pytest.mark.slow
@pytest.mark.mirror
def test_smoke_all_notebooks_ci_profile(ci_notebooks):
    """Every notebook, and every page of the book, executed once per session with the CI profile
    (the ``ci_notebooks`` fixture of tests/_book_fixture.py; results in a temporary folder)."""
    from matmap_utils.chapters.declarations import page_source

    assert not ci_notebooks.failures, "\n\n".join(ci_notebooks.failures.values())
    ran = {page_source(p)[0] for p in ci_notebooks.metrics}
    assert ran == {nb.stem for nb in execute.all_notebooks()}
    for page, metrics in ci_notebooks.metrics.items():
        assert metrics is not None, f"{page} wrote no metrics.json under {ci_notebooks.results}"
        m = json.loads(metrics.read_text())
        assert m["profile"] == "ci" and m["wall_time_s"] > 0, f"{page}: {metrics}"
