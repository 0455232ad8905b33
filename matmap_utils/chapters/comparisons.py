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
import re
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
    paper_value: float | None
    source: str
    key: str
    same_protocol: bool
    why: str
    ci: tuple[str, str] | None = None
    n: str | int | None = None
    #: dotted path of the paper's value when the chapter stores its quotation in metrics.json
    paper_key: str | None = None


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
        why="BVSE on today's MP structures; the paper's structures and BVSE settings differ",
        ci=("spearman_rho_table1_ci95.lo", "spearman_rho_table1_ci95.hi"),
        n="n_table1",
    ),
    *(
        Comparison(
            "02_autoencoder_map",
            "Yamaguchi et al. 2023",
            fig,
            f"test R² of the {what} (W = 0.1; split grouped by chemical system, mean over seeds)",
            paper,
            f"Results, {fig} ({'exceeded ' if paper == 0.8 else ''}{paper})",
            f"seed_study.grouped.{key}.mean",
            same_protocol=False,
            why="chemical-system-grouped splits over several seeds, not one random 80/20 split; "
            "descriptors and ME rebuilt from today's MP structures",
            ci=(f"seed_study.grouped.{key}.ci95_lo", f"seed_study.grouped.{key}.ci95_hi"),
            n=f"seed_study.grouped.{key}.n_seeds",
        )
        for fig, what, key, paper in (
            ("Fig. 3a", "compositional reconstruction", "r2_comp", 0.8),
            ("Fig. 3b", "structural reconstruction", "r2_struct", 0.8),
            ("Fig. 3c", "migration-energy head", "r2_me", 0.29),
        )
    ),
)


def _obelix(panel: str, quantity: str, key: str, ci: tuple[str, str], n: str, paper_key: str, why: str) -> Comparison:
    """A chapter 08 comparison with panel ``panel`` of the OBELiX paper's parity figure (the paper's
    values are stored in the chapter's metrics.json, quoted from ``ch08_paper_config.PUBLISHED``)."""
    return Comparison(
        "08_obelix_benchmark",
        "Therrien et al. 2026 (OBELiX)",
        f"parity figure, panel ({panel})",
        quantity,
        None,
        f"panel ({panel}), quoted in chapter 08",
        key,
        same_protocol=False,
        why=why,
        ci=ci,
        n=n,
        paper_key=paper_key,
    )


#: what differs from the paper, per kind of chapter 08 value
_OBELIX_WHY = {
    "tuned": "hyperparameters re-chosen by publication-grouped CV on train.csv; one seed",
    "paperconf": "the paper's hyperparameters, inputs and scaling; element columns from the training split only; "
    "the paper's number is one run of unrecorded seed",
    "cv": "folds cut as the scripts cut them, but drawn per seed from train.csv's row order (the scripts read "
    "train_idx.csv, which orders the rows differently), so they hold other entries",
}


def obelix_comparisons() -> list[Comparison]:
    """Chapter 08 against the OBELiX paper's parity figure: per model family (panel) and test subset,
    our tuned reimplementation (bootstrap CI) and the paper's configuration rerun over seeds (interval
    of single runs); per family, the scripts' cross-validation rerun against the printed CV MAE."""
    out = []
    for kind, name, panel in (("rf", "random forest", "a"), ("mlp", "MLP", "b")):
        for subset, label in (("whole", "all test entries"), ("cif", "CIF subset")):
            k, pub = f"{kind}_{subset}", f"{kind}_{subset}_published_mae"
            head = f"test MAE (log10 S/cm), {label}: {name}"
            out.append(
                _obelix(
                    panel,
                    f"{head}, our reimplementation, tuned by cross-validation",
                    f"{k}_mae",
                    (f"{k}_mae_lo", f"{k}_mae_hi"),
                    f"{k}_n",
                    pub,
                    _OBELIX_WHY["tuned"],
                )
            )
            out.append(
                _obelix(
                    panel,
                    f"{head}, the paper's configuration, mean over seeds (interval: 2.5–97.5 % of single runs)",
                    f"paperconf_{k}_mean",
                    (f"paperconf_{k}_q025", f"paperconf_{k}_q975"),
                    "paperconf_n_seeds",
                    pub,
                    _OBELIX_WHY["paperconf"],
                )
            )
        out.append(
            _obelix(
                panel,
                f"5-fold CV MAE on the training split (log10 S/cm): {name}, the scripts' folds, mean "
                "over seeds (interval: range over seeds, each drawing its folds)",
                f"paperconf_{kind}_cv_mean",
                (f"paperconf_{kind}_cv_min", f"paperconf_{kind}_cv_max"),
                "paperconf_cv_n_seeds",
                f"published_{kind}_cv_mean",
                _OBELIX_WHY["cv"],
            )
        )
    return out


def _get(metrics: dict, dotted: str | int | None) -> Any:
    if dotted is None or isinstance(dotted, int):
        return dotted
    parts = dotted.split(".")
    node: Any = metrics
    while parts:
        if not isinstance(node, dict):
            return None
        # the longest run of parts that is a key (names such as "≈ 4.5 %" may hold dots)
        for k in range(len(parts), 0, -1):
            if ".".join(parts[:k]) in node:
                node, parts = node[".".join(parts[:k])], parts[k:]
                break
        else:
            return None
    return node


def read_metrics(chapter: str) -> dict | None:
    """The chapter's latest ``metrics.json`` (None when it has not run)."""
    path = results_dir(chapter) / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(paper: float | None, value: float | None, lo: float | None, hi: float | None) -> str:
    """``within CI`` when the paper's value lies in our 95 % CI, ``outside CI`` otherwise,
    ``no CI`` when we have none, ``not computed`` when the build produced no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not computed in this build"
    if paper is None:
        return "no paper value"
    if lo is None or hi is None or any(isinstance(x, float) and math.isnan(x) for x in (lo, hi)):
        return "no CI computed"
    return "within CI" if lo <= paper <= hi else "outside CI"


#: Chapters that store their paper comparisons in metrics.json (each entry: the paper's quoted value,
#: ours, a bootstrap CI, n and why the protocol differs): (chapter, study, where, value field).
CLAIM_TABLES = (
    ("04_correlograms", "López et al. 2023", "Fig. 2(c), Li-only Spearman", "rho"),
    ("05_clustering", "López et al. 2023", "Figs. 3-4, PCA and k-means", "ours"),
)

#: Chapter 06 stores ``ci_<scheme>_<model>_<metric>_{value,lo,hi,paper}`` for each comparison with
#: McHaffie et al.'s k-fold, LOCO and test scores (paper values quoted in chapters/ch06_*).
_MCHAFFIE_KEY = re.compile(r"^ci_(kfold|loco|test)_(.+)_(auc_pr|mcc)_value$")


def _number(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def claim_comparisons(chapter: str, study: str, where: str, value_field: str) -> list[Comparison]:
    """Comparisons from a chapter's ``metrics["claims"]`` (only claims with a numeric paper value)."""
    claims = (read_metrics(chapter) or {}).get("claims", {})
    out = []
    for name, c in claims.items():
        if not isinstance(c, dict) or _number(c.get("paper")) is None:
            continue
        why = c.get("why") or c.get("difference") or c.get("target") or ""
        base = f"claims.{name}"
        out.append(
            Comparison(
                chapter,
                study,
                where,
                name,
                None,
                "quoted in the chapter",
                f"{base}.{value_field}",
                False,
                why,
                ci=(f"{base}.ci_lo", f"{base}.ci_hi"),
                n=f"{base}.n",
                paper_key=f"{base}.paper",
            )
        )
    return out


def mchaffie_comparisons() -> list[Comparison]:
    """Comparisons of chapter 06 with McHaffie et al.'s Table 2-3 scores (one per stored key)."""
    m = read_metrics("06_atomsets_screening") or {}
    out = []
    for key in m:
        hit = _MCHAFFIE_KEY.match(key)
        if not hit or _number(m.get(key.replace("_value", "_paper"))) is None:
            continue
        scheme, model, metric = hit.groups()
        stem = key[: -len("_value")]
        out.append(
            Comparison(
                "06_atomsets_screening",
                "McHaffie et al. 2025",
                f"{scheme} validation",
                f"{metric.replace('_', '-').upper()} of {model}",
                None,
                "quoted in chapter 06",
                key,
                same_protocol=scheme != "test",
                why="" if scheme != "test" else "our ensemble and screening pool differ from the paper's",
                ci=(f"{stem}_lo", f"{stem}_hi"),
                paper_key=f"{stem}_paper",
            )
        )
    return out


def all_comparisons() -> list[Comparison]:
    """The declared comparisons plus those the chapters store in their metrics."""
    out = list(COMPARISONS)
    for chapter, study, where, field in CLAIM_TABLES:
        out += claim_comparisons(chapter, study, where, field)
    return out + mchaffie_comparisons() + obelix_comparisons()


def comparison_rows(comparisons=None) -> list[dict]:
    """One row per comparison (default :func:`all_comparisons`) with our value, CI, n and verdict."""
    comparisons = all_comparisons() if comparisons is None else comparisons
    rows, cache = [], {}
    for c in comparisons:
        if c.chapter not in cache:
            cache[c.chapter] = read_metrics(c.chapter) or {}
        m = cache[c.chapter]
        paper = _number(_get(m, c.paper_key)) if c.paper_key else c.paper_value
        value = _number(_get(m, c.key))
        lo, hi = (_number(_get(m, c.ci[0])), _number(_get(m, c.ci[1]))) if c.ci else (None, None)
        rows.append(
            {
                "study": c.study,
                "where": c.where,
                "quantity": c.quantity,
                "paper": paper,
                "source": c.source,
                "ours": value,
                "ci": None if lo is None or hi is None else (lo, hi),
                "n": _get(m, c.n),
                "profile": m.get("profile"),
                "same_protocol": "yes" if c.same_protocol else f"no — {c.why}",
                "verdict": verdict(paper, value, lo, hi),
            }
        )
    return rows
