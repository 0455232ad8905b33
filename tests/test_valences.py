"""Bond-valence oxidation states (matmap_utils.data.valences, .bv_ordered): the same answers as pymatgen's BVAnalyzer."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.bond_valence import BVAnalyzer
from pymatgen.core import PeriodicSite

from matmap_utils.data import bv_ordered, datasets, valences


@pytest.fixture(scope="module")
def mp_structures():
    """30 ordered MP Li structures (seeded), plus the largest cells of a wider sample."""
    pool = datasets.load_mp_li(limit=120, seed=11)
    ordered = [s for s in pool["structure"] if s.is_ordered]
    big = sorted(ordered, key=len)[-8:]
    return ordered[:22] + big


def _plain(structure, **kw):
    try:
        return [int(v) for v in BVAnalyzer(**kw).get_valences(structure)]
    except ValueError as exc:
        return str(exc)


def _fast(structure, **kw):
    try:
        return [int(v) for v in valences.bv_valences(structure, **kw)]
    except ValueError as exc:
        return str(exc)


def test_bv_valences_equal_pymatgen_on_real_structures(mp_structures):
    assert max(len(s) for s in mp_structures) >= 60  # large cells: many same-element sites per bucket
    assigned = 0
    for s in mp_structures:
        plain = _plain(s, max_permutations=1000)
        assert _fast(s, max_permutations=1000) == plain, s.composition.reduced_formula
        assigned += isinstance(plain, list)
    assert assigned >= 20  # most are assignable: the comparison is of valences, not of errors


def test_bv_decorated_equals_pymatgen(mp_structures):
    for s in mp_structures[:10]:
        try:
            plain = BVAnalyzer(forbidden_species=["O-", "P3-"]).get_oxi_state_decorated_structure(s)
        except ValueError:
            with pytest.raises(ValueError):
                valences.bv_decorated(s, forbidden_species=["O-", "P3-"])
            continue
        fast = valences.bv_decorated(s, forbidden_species=["O-", "P3-"])
        assert [str(site.specie) for site in fast] == [str(site.specie) for site in plain]
        np.testing.assert_array_equal(fast.frac_coords, plain.frac_coords)


def test_exact_site_hash_is_scoped_and_restored(mp_structures):
    s = mp_structures[0]
    before = PeriodicSite.__dict__["__hash__"]
    a, b = s[0], s.copy()[0]
    with valences.exact_site_hash():
        assert hash(a) == hash(b)  # bit-identical copies: one bucket
        moved = PeriodicSite(a.species, a.frac_coords + 1e-12, a.lattice)
        assert moved == a and hash(moved) != hash(a)  # equal within tolerance: a KeyError, then the fallback
    with pytest.raises(RuntimeError), valences.exact_site_hash():
        raise RuntimeError("inside")
    assert PeriodicSite.__dict__["__hash__"] is before
    assert hash(a) == sum(el.Z for el in a.species)  # pymatgen's own hash again


def test_key_error_falls_back_to_plain_analysis(mp_structures, monkeypatch):
    s = next(x for x in mp_structures if isinstance(_plain(x), list))
    expected = _plain(s)
    real = BVAnalyzer.get_valences
    calls = []

    def flaky(self, structure):
        calls.append(PeriodicSite.__dict__["__hash__"] is valences._exact_hash)
        if calls[-1]:
            raise KeyError("site not found by exact coordinates")
        return real(self, structure)

    monkeypatch.setattr(BVAnalyzer, "get_valences", flaky)
    assert [int(v) for v in valences.pymatgen_valences(s)] == expected
    assert calls == [True, False]


def _ordered(structure, **kw):
    try:
        return bv_ordered.ordered_valences(structure, **kw)
    except ValueError as exc:
        return str(exc)


@pytest.mark.parametrize(
    "kw",
    [
        {"max_permutations": 1000},  # chapter 06's setting
        {"forbidden_species": ["O-", "P3-"], "max_permutations": 1000},  # chapter 01's BVSE decoration
        {"symm_tol": 0, "max_permutations": 1000},  # every site its own class
        {"max_radius": 3.0, "distance_scale_factor": 1.0, "max_permutations": 1000},
    ],
)
def test_ordered_reimplementation_equals_bvanalyzer(mp_structures, kw):
    """Valences, and the error message where none can be assigned, exactly as BVAnalyzer's."""
    got = [_ordered(s, **kw) for s in mp_structures]
    want = [_plain(s, **kw) for s in mp_structures]
    assert got == want
    assert sum(isinstance(w, list) for w in want) >= 20 and any(isinstance(w, str) for w in want)


def test_truncated_search_visits_nodes_in_pymatgen_order(mp_structures):
    """With a small ``max_permutations`` the answer depends on the order and the count of the
    visited nodes (pruned branches included): the reimplementation must stop where pymatgen stops."""
    changed = 0
    for s in mp_structures:
        full = _plain(s, max_permutations=1000)
        for cap in (0, 1, 3, 10):
            want = _plain(s, max_permutations=cap)
            assert _ordered(s, max_permutations=cap) == want, (s.composition.reduced_formula, cap)
            changed += want != full
    assert changed > 0  # the small caps do cut some searches short


def test_unknown_element_and_disorder(mp_structures):
    s = mp_structures[0].copy()
    s.replace(0, "Xe")  # no bond-valence parameters
    assert _ordered(s) == _plain(s) and "not in set of BV parameters" in _ordered(s)
    disordered = mp_structures[0].copy()
    disordered.replace(0, {"Li": 0.5, "Na": 0.5})
    with pytest.raises(bv_ordered.NotReproduced):
        bv_ordered.ordered_valences(disordered)
    assert valences._ordered_fast(disordered, {}) is None  # pymatgen's own analysis takes it
    assert valences._ordered_fast(mp_structures[1], {"charge_neutrality_tolerance": 1e-3}) is not None
