"""What a reader sees: results before code, applied by one rule to every executed notebook.

After papermill has run a notebook, :func:`prepare_for_reading` tags its cells for Jupyter Book
(the downloadable ``.ipynb`` keeps every cell and its source):

* ``remove-cell`` — papermill's ``parameters`` and ``injected-parameters`` cells, the imports cell
  (the first code cell after the parameters) and bookkeeping cells (those writing ``metrics.json``);
* ``hide-input`` — every other code cell: its output (figures, tables, computed text) shows, its
  code sits behind a "show code" toggle;
* a profile banner is inserted after the title: which profile built the page and, for any profile
  other than ``paper``, which of its settings differ from the paper's — so that no reader takes a
  CI-sized number for the paper's.
"""

from __future__ import annotations

from typing import Any

import nbformat

#: Cells whose source contains one of these are bookkeeping (removed from the page).
BOOKKEEPING = ("write_metrics(",)
BANNER_TAG = "matmap-profile-banner"


def _tags(cell) -> list[str]:
    return cell.setdefault("metadata", {}).setdefault("tags", [])


def _add(cell, tag: str) -> None:
    tags = _tags(cell)
    if tag not in tags:
        tags.append(tag)


def tag_cells(nb) -> None:
    """Add ``remove-cell`` / ``hide-input`` tags by the module's rule (idempotent)."""
    seen_parameters, imports_done = False, False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = _tags(cell)
        if "parameters" in tags or "injected-parameters" in tags:
            seen_parameters = True
            _add(cell, "remove-cell")
        elif seen_parameters and not imports_done:
            imports_done = True
            _add(cell, "remove-cell")
        elif any(k in cell.source for k in BOOKKEEPING):
            _add(cell, "remove-cell")
        elif "remove-cell" not in tags:
            _add(cell, "hide-input")


def banner_text(profile: str, differences: dict[str, tuple[Any, Any]]) -> str:
    """The banner's markdown: the profile and the settings that differ from the paper profile."""
    if profile == "paper":
        return (
            "```{note}\nBuilt with the **paper** profile (`params/paper.yaml`): full datasets and the "
            "papers' settings.\n```"
        )
    shown = "; ".join(f"`{k}` = {v!r} (paper: {p!r})" for k, (v, p) in sorted(differences.items()))
    return (
        f"```{{warning}}\nBuilt with the **{profile}** profile (`params/{profile}.yaml`), not the paper "
        "profile: numbers on this page come from small subsets and short runs and are not the papers'. "
        + (f"Settings that differ: {shown}." if shown else "")
        + "\n```"
    )


def insert_banner(nb, text: str) -> None:
    """Put the banner after the first markdown cell (the title), replacing an earlier banner."""
    nb.cells = [c for c in nb.cells if BANNER_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [BANNER_TAG]})
    first_md = next((k for k, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(first_md + 1, cell)


def profile_differences(params: dict, paper_params: dict) -> dict[str, tuple[Any, Any]]:
    """Parameters (other than ``profile``) whose value differs from the paper profile's."""
    return {
        k: (v, paper_params.get(k))
        for k, v in params.items()
        if k not in ("profile",) and k in paper_params and paper_params.get(k) != v
    }


def prepare_for_reading(path, params: dict, paper_params: dict) -> None:
    """Tag the executed notebook at ``path`` and insert its profile banner (in place)."""
    nb = nbformat.read(str(path), as_version=4)
    tag_cells(nb)
    profile = str(params.get("profile", "paper"))
    insert_banner(nb, banner_text(profile, profile_differences(params, paper_params)))
    nbformat.write(nb, str(path))
