"""Tests of the CAMN/CAN/CAMNS/CANS structure simplifications."""

import pytest
from pymatgen.core import Lattice, Species, Structure

from matmap_utils.screening.simplify import ion_signs, rule_signs, simplify, simplify_all


def _li3ps4_like():
    # Li, P, S plus one disordered Li/Zr site and one La/Zr site
    return Structure(
        Lattice.cubic(6.0),
        ["Li", "P", "S", "S", {"Li": 0.5, "Zr": 0.5}, {"La": 0.5, "Zr": 0.5}],
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25], [0.75, 0.75, 0.25], [0.5, 0, 0], [0, 0.5, 0]],
    )


def test_rule_signs():
    assert rule_signs(["Li", "P", "S", "Cl"]) == {"Li": 1, "P": 1, "S": -1, "Cl": -1}
    assert rule_signs(["Li", "S", "O"]) == {"Li": 1, "S": 1, "O": -1}  # sulfate
    assert rule_signs(["Li", "N"]) == {"Li": 1, "N": -1}  # nitride
    assert rule_signs(["Li", "B", "H"])["H"] == -1  # hydride
    assert rule_signs(["Li", "B", "S"]) == {"Li": 1, "B": 1, "S": -1}


def test_modes_and_disordered_sites():
    s = _li3ps4_like()
    out = simplify_all(s)
    assert out["CAMN"] == s
    can = out["CAN"]
    assert len(can) == 5  # pure Li site removed
    assert can[3].species.as_dict() == {"Zr": 0.5}  # Li removed from the Li/Zr site
    camns = out["CAMNS"]
    assert len(camns) == 6
    assert {str(e) for e in camns.composition.elements} == {"Li", "Al", "S"}
    assert camns[4].species.as_dict() == {"Li": 0.5, "Al": 0.5}
    assert camns[5].species.as_dict() == {"Al": 1.0}  # La0.5Zr0.5 -> Al
    assert camns[1].species.as_dict() == {"Al": 1.0}  # P (cation) -> Al
    assert camns[2].species.as_dict() == {"S": 1.0}
    cans = out["CANS"]
    assert "Li" not in {str(e) for e in cans.composition.elements}
    assert cans[3].species.as_dict() == {"Al": 0.5}
    assert cans.lattice == s.lattice


def test_oxidation_states_from_structure_win():
    s = Structure(
        Lattice.cubic(5.0),
        [Species("Li", 1), Species("P", 0), Species("P", -1)],
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]],
    )
    signs, source = ion_signs(s)
    assert source == "structure"
    s2 = Structure(
        Lattice.cubic(5.0),
        [Species("Li", 1), Species("Ge", 0), Species("S", -2)],
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]],
    )
    camns = simplify(s2, "CAMNS")
    assert [sp.symbol for sp in camns.species] == ["Li", "Mg", "S"]


def test_errors():
    with pytest.raises(ValueError, match="unknown simplification"):
        simplify(_li3ps4_like(), "XYZ")
    with pytest.raises(ValueError, match="nothing left"):
        simplify(Structure(Lattice.cubic(3.0), ["Li"], [[0, 0, 0]]), "CAN")
