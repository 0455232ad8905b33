"""The OBELiX regression task: target, official split and CIF subset.

Therrien et al., "OBELiX: A Curated Dataset of Crystal Structures and Experimentally Measured
Ionic Conductivities for Lithium Solid-State Electrolytes", Digital Discovery (2026),
doi:10.1039/d5dd00441a (arXiv 2502.14234); data and code ``NRC-Mila/OBELiX``.

How the dataset's own code defines the task (read, not copied, at commit 4eaac88 of that
repository: ``obelix/utils.py``, ``data/scripts/preprocessing.py``, ``benchmark/tuning.py``):

* **Target**: log10 of the room-temperature ionic conductivity in S/cm (column ``Ionic
  conductivity (S cm-1)``, the total conductivity where both total and bulk were reported).
* **"< 1E-10" and "< 1E-8"** (37 of 599 entries, reported only as an upper bound) are replaced by
  1e-15 S/cm, i.e. a target of -15 — not dropped, not set to the bound.  The project's
  :func:`matmap_utils.data.datasets.load_obelix` reads them as the bound (1e-10), so this module
  re-derives the target from the raw column.
* **Entries without a CIF** stay in the task: the composition-and-lattice baselines (random forest,
  MLP) train and test on all of them.  The "CIF subset" of the test set are the entries whose CIF
  class is "Match" (a CIF of the reported structure) or "Close Match" (a CIF of a closely matching
  structure); in this release every close match also has its CIF, so the subset is exactly the
  entries with a CIF.
* **Split**: ``train.csv`` / ``test.csv`` of the release (478 / 121 entries), built so that no
  publication (DOI) contributes to both (checked in the tests).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from matmap_utils.data.datasets import load_obelix

#: texts that OBELiX replaces by :data:`UNSPECIFIED_LOW` (``obelix.utils.replace_text_IC``)
LOW_TEXTS = ("<1E-10", "<1E-8")

#: S/cm given to entries reported only as "< 1E-10" or "< 1E-8" (the dataset's default)
UNSPECIFIED_LOW = 1e-15

#: superionic threshold of McHaffie et al. (2025): sigma >= 1e-4 S/cm, as log10
SUPERIONIC_LOG10 = -4.0

#: raw column of the conductivity
SIGMA_COLUMN = "Ionic conductivity (S cm-1)"

#: lattice columns used by the OBELiX baselines
LATTICE = ("a", "b", "c", "alpha", "beta", "gamma")


def obelix_sigma(raw) -> float:
    """Conductivity in S/cm of one raw OBELiX value ("< 1E-10" → 1e-15, as the dataset's code).

    Raises ``ValueError`` for text that is neither a number nor one of :data:`LOW_TEXTS`, and for
    a missing or non-positive value (the task has no such entry).
    """
    text = str(raw).strip().replace(" ", "")
    if text.upper() in {t.upper() for t in LOW_TEXTS}:
        return UNSPECIFIED_LOW
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"OBELiX conductivity {raw!r} is neither a number nor one of {LOW_TEXTS}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"OBELiX conductivity {raw!r} is not a positive number")
    return value


def cif_class(has_cif: bool, close_match) -> str:
    """OBELiX's CIF class of an entry: "Close Match", "Match" or "No Match" (``which_cif_type``)."""
    if isinstance(close_match, str) and close_match.strip().lower() == "yes":
        return "Close Match"
    return "Match" if bool(has_cif) else "No Match"


def task_frame(ob: pd.DataFrame | None = None) -> pd.DataFrame:
    """The OBELiX task, one row per entry (index = OBELiX ``ID``).

    ``ob`` defaults to :func:`matmap_utils.data.datasets.load_obelix` (with structures).  Adds
    ``sigma`` (S/cm, OBELiX's definition), ``target`` (log10 sigma), ``censored`` (reported only as
    an upper bound), ``superionic`` (sigma >= 1e-4 S/cm), ``cif_class`` and ``cif_subset`` (Match or
    Close Match) and ``group`` (the DOI, for paper-disjoint folds).  Raises ``ValueError`` naming
    the entries without a split or with an unreadable conductivity.
    """
    ob = load_obelix() if ob is None else ob
    out = ob.copy()
    bad = []
    sig = []
    for idx, raw in out[SIGMA_COLUMN].items():
        try:
            sig.append(obelix_sigma(raw))
        except ValueError as exc:
            bad.append(f"{idx}: {exc}")
            sig.append(np.nan)
    if bad:
        raise ValueError(f"OBELiX all.csv: {len(bad)} unreadable conductivities, e.g. {bad[0]}")
    missing = out.index[~out["split"].isin(["train", "test"])].tolist()
    if missing:
        raise ValueError(f"OBELiX: {len(missing)} entries are in neither train.csv nor test.csv, e.g. {missing[:3]}")
    out["sigma"] = sig
    out["target"] = np.log10(out["sigma"].astype(float))
    out["censored"] = (
        out[SIGMA_COLUMN].astype(str).str.replace(" ", "").str.upper().isin([t.upper() for t in LOW_TEXTS])
    )
    out["superionic"] = out["target"] >= SUPERIONIC_LOG10
    has_cif = out["has_cif"] if "has_cif" in out else pd.Series(False, index=out.index)
    close = out["close match"] if "close match" in out else pd.Series(None, index=out.index)
    out["cif_class"] = [cif_class(h, c) for h, c in zip(has_cif, close)]
    out["cif_subset"] = out["cif_class"].isin(["Match", "Close Match"])
    doi = out["DOI"] if "DOI" in out else pd.Series(np.nan, index=out.index)
    out["group"] = [d if isinstance(d, str) and d.strip() else f"no-doi:{i}" for i, d in zip(out.index, doi)]
    return out


def split(task: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) rows of :func:`task_frame`, in the file order."""
    return task[task["split"] == "train"], task[task["split"] == "test"]


def shared_groups(task: pd.DataFrame) -> set[str]:
    """Publications (DOIs) that contribute to both train and test (empty for the official split)."""
    train, test = split(task)
    return set(train["group"]) & set(test["group"])


def task_summary(task: pd.DataFrame) -> dict[str, int]:
    """Counts a reader needs: entries per split, CIF subset, censored and superionic entries."""
    train, test = split(task)
    return {
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "n_train_cif": int(train["cif_subset"].sum()),
        "n_test_cif": int(test["cif_subset"].sum()),
        "n_train_censored": int(train["censored"].sum()),
        "n_test_censored": int(test["censored"].sum()),
        "n_test_superionic": int(test["superionic"].sum()),
        "n_shared_dois": len(shared_groups(task)),
    }
