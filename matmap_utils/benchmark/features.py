"""Composition and lattice features of the OBELiX baselines (Therrien et al. 2026, benchmark section).

The paper's random forest and MLP see, per entry: the amount of every element in the *unit-cell*
composition (column ``True Composition``, e.g. Li7.0La3.0Zr2.0O12.0 × Z — not normalized), the
space-group number and the six lattice parameters (standardized with the training statistics; a
tree model is indifferent to that).  :func:`obelix_features` rebuilds that matrix with pymatgen.

:func:`fraction_features` is our variant for the same models: element *fractions* of the cell
composition (so Li7La3Zr2O12 and a doubled cell look alike) with the same symmetry and lattice
columns; cross-validation inside the training split chooses between the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from matmap_utils.benchmark.obelix import LATTICE, split


def element_amounts(formula: str) -> dict[str, float]:
    """Element → amount of one formula (partial occupancies kept: Li6.4 stays 6.4).

    Raises ``ValueError`` naming the formula when pymatgen cannot read it.
    """
    try:
        return {str(k): float(v) for k, v in Composition(str(formula)).get_el_amt_dict().items()}
    except Exception as exc:  # noqa: BLE001 - re-raised with the formula
        raise ValueError(f"unreadable composition {formula!r}: {exc}") from None


def element_columns(formulas: Iterable[str]) -> list[str]:
    """The elements present in ``formulas``, in order of atomic number (fit on the training split)."""
    seen = set()
    for f in formulas:
        seen.update(element_amounts(f))
    return sorted(seen, key=lambda el: Composition(el).elements[0].Z)


def _amount_matrix(formulas: Sequence[str], elements: Sequence[str], normalize: bool) -> np.ndarray:
    X = np.zeros((len(formulas), len(elements)))
    col = {el: j for j, el in enumerate(elements)}
    for i, f in enumerate(formulas):
        amt = element_amounts(f)
        total = sum(amt.values()) if normalize else 1.0
        for el, v in amt.items():
            if el in col:  # an element unseen in training carries no learnable signal
                X[i, col[el]] = v / total
    return X


def _symmetry_lattice(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["Space group #", *LATTICE]
    missing = [c for c in cols if c not in frame]
    if missing:
        raise ValueError(f"OBELiX features: columns {missing} are missing from the table")
    out = frame[cols].apply(pd.to_numeric, errors="coerce")
    out.columns = ["spacegroup", *LATTICE]
    return out


def obelix_features(frame: pd.DataFrame, elements: Sequence[str]) -> pd.DataFrame:
    """The OBELiX paper's matrix: unit-cell element amounts (``True Composition``), space-group
    number, a, b, c (Å), alpha, beta, gamma (degrees).  ``elements``: :func:`element_columns` of the
    training split."""
    X = _amount_matrix(list(frame["True Composition"]), elements, normalize=False)
    comp = pd.DataFrame(X, index=frame.index, columns=[f"n_{el}" for el in elements])
    return pd.concat([comp, _symmetry_lattice(frame)], axis=1)


def fraction_features(frame: pd.DataFrame, elements: Sequence[str]) -> pd.DataFrame:
    """Element fractions of ``True Composition`` (sum 1) with the same symmetry and lattice columns
    (the ``Reduced Composition`` column holds a few formulas pymatgen cannot read, e.g. hydrates
    written with ``*``; the cell composition always parses)."""
    X = _amount_matrix(list(frame["True Composition"]), elements, normalize=True)
    comp = pd.DataFrame(X, index=frame.index, columns=[f"x_{el}" for el in elements])
    return pd.concat([comp, _symmetry_lattice(frame)], axis=1)


FEATURE_SETS = {"obelix": obelix_features, "fractions": fraction_features}


def feature_matrix(name: str, frame: pd.DataFrame, elements: Sequence[str]) -> pd.DataFrame:
    """Features ``name`` (a key of :data:`FEATURE_SETS`) of ``frame``."""
    if name not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {name!r}; choose one of {sorted(FEATURE_SETS)}")
    return FEATURE_SETS[name](frame, elements)


def split_inputs(task: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every feature set of :data:`FEATURE_SETS` for every entry of the OBELiX ``task``, with the
    element columns fitted on its training split only; returns ``({name: frame}, elements)``."""
    train, _ = split(task)
    elements = element_columns(train["True Composition"])
    return {name: feature_matrix(name, task, elements) for name in FEATURE_SETS}, elements
