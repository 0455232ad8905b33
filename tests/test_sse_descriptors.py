"""matmap_utils.transport.sse_descriptors on hand-made structures with known answers (ordered and disordered)."""

import math

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Element, Lattice, Structure

from matmap_utils.transport import sse_descriptors as sd

A = 4.62  # Li2O antifluorite lattice constant (Å)


def li2o(li_occ=1.0):
    species = [{"Li": li_occ}] if li_occ < 1 else ["Li"]
    return Structure.from_spacegroup(225, Lattice.cubic(A), ["O"] + species, [[0, 0, 0], [0.25, 0.25, 0.25]])


def test_ordered_antifluorite():
    s = li2o()
    d = sd.structure_descriptors(s, spacegroup=225, formula="Li2O")
    assert d["n_formula_units"] == 4
    assert d["volume_per_fu"] == pytest.approx(A**3 / 4)
    assert d["li_nn_distance"] == pytest.approx(A * math.sqrt(3) / 4, abs=1e-6)
    assert d["li_coordination"] == pytest.approx(4.0)
    assert d["li_li_min_distance"] == pytest.approx(A / 2, abs=1e-6)
    assert d["li_fraction"] == pytest.approx(2 / 3)
    assert d["n_symmetry_ops"] == 192 and d["spacegroup"] == 225
    assert d["std_lattice_constants"] == pytest.approx(0) and d["std_lattice_angles"] == pytest.approx(0)
    assert d["anion_charge"] == -2 and np.isnan(d["framework_cation_charge"])
    assert d["mobile_ion_mass"] == pytest.approx(float(Element("Li").atomic_mass))
    # polarizability from the library table: 8 Li + 4 O per cell, per formula unit
    a_li, a_o = sd._polarizability("Li"), sd._polarizability("O")
    assert d["crystal_polarizability"] == pytest.approx((8 * a_li + 4 * a_o) / 4)
    assert d["cm_polarizability_density"] == pytest.approx(4 * math.pi * (8 * a_li + 4 * a_o) / (3 * A**3))
    assert d["anion_class"] == "oxide" and not d["has_disorder"]


def test_partial_occupancy_is_weighted_not_dropped():
    s = li2o(0.5)
    d = sd.structure_descriptors(s, spacegroup=225, formula="LiO")
    assert d["has_disorder"] and d["li_site_occupancy"] == pytest.approx(0.5)
    assert d["li_fraction"] == pytest.approx(4 / 8)  # 4 Li (8 half-filled sites) + 4 O
    assert d["li_nn_distance"] == pytest.approx(A * math.sqrt(3) / 4, abs=1e-6)
    assert d["disordered_site_fraction"] == pytest.approx(8 / 12)


def test_split_li_sites_are_not_a_li_li_distance():
    s = Structure(
        Lattice.cubic(6.0), [{"Li": 0.5}, {"Li": 0.5}, "Cl"], [[0, 0, 0], [0.1, 0, 0], [0.5, 0.5, 0.5]]
    )  # split pair 0.6 Å apart
    d = sd.structure_descriptors(s, spacegroup=1)
    assert d["li_li_min_distance"] > sd.LI_LI_EXCLUSION
    assert d["li_li_min_distance"] == pytest.approx(5.4, abs=1e-6)  # to the periodic image
    assert d["anion_class"] == "halide"


def test_no_li_raises():
    s = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match="no Li"):
        sd.structure_descriptors(s)


@pytest.mark.parametrize(
    "amounts, cls, mixed",
    [
        ({"Li": 6, "P": 1, "S": 5, "Cl": 1}, "sulfide", True),
        ({"Li": 1, "B": 1, "H": 4}, "hydride", False),
        ({"Li": 1, "O": 1, "H": 1}, "oxide", False),
        ({"Li": 3, "In": 1, "Cl": 6}, "halide", False),
        ({"Li": 3, "N": 1}, "nitride", False),
    ],
)
def test_anion_class(amounts, cls, mixed):
    got, _, is_mixed = sd.anion_class(amounts)
    assert got == cls and is_mixed == mixed


def test_table_lists_every_unusable_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path))
    frame = pd.DataFrame(
        {
            "structure": [
                li2o(),
                None,
                li2o(),
                Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
            ],
            "log10_sigma": [-5.0, -3.0, np.nan, -4.0],
            "Space group #": [225, 225, 225, 221],
            "Reduced Composition": ["Li2O", "Li2O", "Li2O", "NaCl"],
            "Family": ["Halide", "x", "x", "y"],
        },
        index=pd.Index(["a", "b", "c", "d"], name="ID"),
    )
    table, unusable = sd.build_descriptor_table(frame, n_jobs=1)
    assert list(table.index) == ["a"]
    reasons = dict(zip(unusable["id"], unusable["reason"]))
    assert set(reasons) == {"b", "c", "d"}
    assert "no crystal structure" in reasons["b"] and "conductivity" in reasons["c"] and "no Li" in reasons["d"]
    assert table.loc["a", "family"] == "halides" and not table.loc["a", "superionic"]
    assert set(sd.descriptor_columns(table)) <= set(sd.CATEGORIES)
    # second call is served from the cache (same values)
    table2, _ = sd.build_descriptor_table(frame, n_jobs=1)
    pd.testing.assert_frame_equal(table, table2)


def test_categories_cover_every_descriptor():
    assert set(sd.DESCRIPTORS) <= set(sd.CATEGORIES)
    assert set(sd.CATEGORIES.values()) <= set(sd.CATEGORY_NAMES)
    assert sd.category("md_log10_D") == "D-V" and sd.subcategory("md_cv") == "vibrational (MD)"
    assert all(sd.subcategory(c) != "other" for c in sd.DESCRIPTORS)


@pytest.mark.mirror
def test_obelix_subset_from_the_mirror():
    from matmap_utils.data.datasets import load_obelix

    ob = load_obelix()
    sub = ob[ob["structure"].notna()].head(6)
    table, unusable = sd.build_descriptor_table(sub, n_jobs=1)
    assert len(table) + len(unusable) == len(sub)
    assert table["volume_per_fu"].gt(0).all() and table["li_fraction"].between(0, 1).all()
