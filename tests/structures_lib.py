"""Small hand-made test structures shared by several test files."""

from __future__ import annotations

from pymatgen.core import Lattice, Structure


def li2o() -> Structure:
    """Antifluorite Li2O (Fm-3m, a = 4.61 A), conventional cell."""
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.61), ["O", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]])
