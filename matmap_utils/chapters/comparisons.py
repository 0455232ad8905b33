"""Every comparison of the book with a paper, declared once and read from ``metrics.json``.

A chapter declares its comparisons here (:data:`COMPARISONS`): the study, the figure or table,
the quantity, the paper's value with its source, the ``metrics.json`` keys that hold our value and
its 95 % confidence interval, and whether the protocol is the same.  The "Paper vs. book" page
(:func:`matmap_utils.book.pages.paper_vs_book_md`) is generated from these declarations and the
chapters' latest results — no number on it is typed.  A key that a build did not produce shows as
"not computed in this build" rather than disappearing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from matmap_utils.chapters.results import results_dir


@dataclass(frozen=True)
class Comparison:
    """One number of a paper next to ours.

    ``key``: dotted path of our value in the chapter's ``metrics.json``; ``ci``: dotted paths of
    the lower and upper 95 % bounds (None when the chapter computes none — the page says so);
    ``n``: dotted path (or literal int) of the sample size; ``paper_value``: the paper's number
    (quoted) and ``source``: where in the paper it is; ``same_protocol`` and ``why``: whether our
    protocol matches the paper's, and what differs.
    """

    chapter: str
    study: str
    where: str
    quantity: str
    paper_value: float
    source: str
    key: str
    same_protocol: bool
    why: str
    ci: tuple[str, str] | None = None
    n: str | int | None = None


#: The declared comparisons, chapter by chapter.
COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "01_descriptors",
        "Yamaguchi et al. 2023",
        "Table 1",
        "Spearman ρ of our E_3D against the paper's 16 migration energies",
        1.0,
        "Table 1 (the paper's own values: ρ = 1 by definition)",
        "spearman_rho_table1.E_3D",
        same_protocol=False,
        why="bvlain BVSE on today's MP structures; the paper's structures and BVSE settings differ",
        n="n_table1",
    ),
)


def _get(metrics: dict, dotted: str | int | None) -> Any:
    if dotted is None or isinstance(dotted, int):
        return dotted
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def read_metrics(chapter: str) -> dict | None:
    """The chapter's latest ``metrics.json`` (None when it has not run)."""
    path = results_dir(chapter) / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(paper: float, value: float | None, lo: float | None, hi: float | None) -> str:
    """``within CI`` when the paper's value lies in our 95 % CI, ``outside CI`` otherwise,
    ``no CI`` when we have none, ``not computed`` when the build produced no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not computed in this build"
    if lo is None or hi is None or any(isinstance(x, float) and math.isnan(x) for x in (lo, hi)):
        return "no CI computed"
    return "within CI" if lo <= paper <= hi else "outside CI"


def comparison_rows(comparisons=COMPARISONS) -> list[dict]:
    """One row per declared comparison with our value, CI, n and the verdict."""
    rows, cache = [], {}
    for c in comparisons:
        if c.chapter not in cache:
            cache[c.chapter] = read_metrics(c.chapter) or {}
        m = cache[c.chapter]
        value = _get(m, c.key)
        lo, hi = (_get(m, c.ci[0]), _get(m, c.ci[1])) if c.ci else (None, None)
        rows.append(
            {
                "study": c.study,
                "where": c.where,
                "quantity": c.quantity,
                "paper": c.paper_value,
                "source": c.source,
                "ours": value,
                "ci": None if lo is None or hi is None else (lo, hi),
                "n": _get(m, c.n),
                "profile": m.get("profile"),
                "same_protocol": "yes" if c.same_protocol else f"no — {c.why}",
                "verdict": verdict(c.paper_value, value, lo, hi),
            }
        )
    return rows
