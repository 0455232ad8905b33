"""Every chapter of the book and what it reads from which upstream chapter.

A chapter reads an upstream chapter's results only through :func:`matmap_utils.chapters.results.read_upstream`,
which refuses an upstream that is not declared here — so this table *is* the book's dependency
graph: :mod:`matmap_utils.book.execute` re-executes a notebook when a declared upstream changed, and
runs the chapters in an order that respects it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    """One chapter: its notebook stem (``notebooks/<notebook>.py``), the study it belongs to and
    the upstream chapters whose ``results/`` it reads."""

    notebook: str
    study: str
    reads: tuple[str, ...] = ()


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("00_data_overview", "data"),
    Chapter("01_descriptors", "materials_map"),
    Chapter("02_autoencoder_map", "materials_map", reads=("01_descriptors",)),
    Chapter("03_aimd_trajectories", "transport"),
    Chapter("04_correlograms", "transport", reads=("03_aimd_trajectories",)),
    Chapter("05_clustering", "transport", reads=("04_correlograms",)),
    Chapter("06_atomsets_screening", "screening"),
    Chapter("07_candidate_report", "report", reads=("02_autoencoder_map", "06_atomsets_screening")),
    Chapter("08_obelix_benchmark", "benchmark"),
)

_BY_NAME = {c.notebook: c for c in CHAPTERS}

#: Pages executed from one notebook with different parameters: page stem → (notebook, parameters).
#: The candidate report (chapter 07) appears in the book once per reference material.
VARIANTS: dict[str, tuple[str, dict]] = {
    "07_candidate_report_lgps": ("07_candidate_report", {"structure": "mp-696128", "label": "LGPS"}),
    "07_candidate_report_li3incl6": ("07_candidate_report", {"structure": "mp-676109", "label": "Li3InCl6"}),
    "07_candidate_report_llzo": ("07_candidate_report", {"structure": "mp-942733", "label": "LLZO"}),
}


def page_source(stem: str) -> tuple[str, dict]:
    """``(notebook, parameter overrides)`` of a book page: a variant's, else the page's own notebook."""
    return VARIANTS.get(stem, (stem, {}))


def chapter(notebook: str) -> Chapter:
    """The declaration of ``notebook`` (a clear error for an undeclared one)."""
    try:
        return _BY_NAME[notebook]
    except KeyError:
        raise KeyError(f"{notebook} is not a declared chapter; add it to chapters/declarations.py") from None


def upstream_of(notebook: str) -> tuple[str, ...]:
    """Chapters ``notebook`` reads from, directly (empty for an undeclared notebook)."""
    c = _BY_NAME.get(page_source(notebook)[0])
    return c.reads if c else ()


def execution_order(notebooks: list[str]) -> list[str]:
    """``notebooks`` sorted so that every chapter runs after the upstream chapters it reads
    (stable: ties keep the given order, i.e. the ``NN_`` numbering)."""
    order, done = [], set()

    def visit(nb: str, path: tuple[str, ...] = ()) -> None:
        if nb in done:
            return
        if nb in path:
            raise ValueError(f"chapter dependency cycle: {' -> '.join((*path, nb))}")
        for up in upstream_of(nb):
            if up in notebooks:
                visit(up, (*path, nb))
        done.add(nb)
        order.append(nb)

    for nb in notebooks:
        visit(nb)
    return order
