"""matmap_utils.transport.sse_descriptors (and its catalogue sse_categories and MD join sse_md) on
hand-made structures and tables with known answers (ordered and disordered)."""

import math

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Element, Lattice, Structure

from matmap_utils.transport import sse_categories as sc
from matmap_utils.transport import sse_descriptors as sd
from matmap_utils.transport import sse_md

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
    assert set(sc.descriptor_columns(table)) <= set(sc.CATEGORIES)
    # second call is served from the cache (same values)
    table2, _ = sd.build_descriptor_table(frame, n_jobs=1)
    pd.testing.assert_frame_equal(table, table2)


def test_categories_cover_every_descriptor():
    assert set(sc.DESCRIPTORS) <= set(sc.CATEGORIES)
    assert set(sc.CATEGORIES.values()) <= set(sc.CATEGORY_NAMES)
    assert sc.category("md_log10_D") == "D-V" and sc.subcategory("md_cv") == "vibrational (MD)"
    assert all(sc.subcategory(c) != "other" for c in sc.DESCRIPTORS)
    assert sc.category("formula") is None and sc.subcategory("formula") == "other"
    tab = sc.category_table(["li_fraction", "bvse_barrier_3d"])
    assert tab["category"].tolist() == ["S-C", "D-V"]
    assert tab["category_name"].tolist() == ["structural–compositional", "diffusive–vibrational"]


def test_li_environment_and_charges_of_antifluorite_pieces():
    s = li2o()
    li_occ = np.array([1.0 if site.specie.symbol == "Li" else 0.0 for site in s])
    d_nn, cn, li_li = sd.li_environment(s, li_occ, 1.0 - li_occ)
    assert d_nn == pytest.approx(A * math.sqrt(3) / 4, abs=1e-6) and cn == pytest.approx(4.0)
    assert li_li == pytest.approx(A / 2, abs=1e-6)
    # half-occupied O sites: the coordination number counts anion occupancy, not sites
    _, cn_half, _ = sd.li_environment(s, li_occ, 0.5 * (1.0 - li_occ))
    assert cn_half == pytest.approx(2.0)
    # Li3PS4: S −2, Li +1 → P +5 by charge balance; Li2O has no other cation
    assert sd.nominal_charges({"Li": 3.0, "P": 1.0, "S": 4.0}, ["S"]) == pytest.approx((-2.0, 5.0))
    q_o, q_fw = sd.nominal_charges({"Li": 8.0, "O": 4.0}, ["O"])
    assert q_o == -2 and np.isnan(q_fw)


def test_join_megnet_and_bvse_rename_and_count():
    table = pd.DataFrame({"formula": ["a", "b", "c"]}, index=pd.Index([10, 11, 12], name="id"))
    pred = pd.DataFrame({"band_gap_eV": [1.0, np.nan], "formation_energy_eV_atom": [-1.5, -2.0]}, index=[10, 12])
    out, status = sd.join_megnet(table, pred, n_failed=1)
    assert out.loc[10, "megnet_band_gap"] == 1.0 and np.isnan(out.loc[11, "megnet_formation_energy"])
    assert status == "added: band gap and formation energy for 1 materials (1 failed)"
    bar = pd.DataFrame(
        {"E_1D": [0.2, np.nan, 0.1], "E_2D": [0.3, np.nan, 0.2], "E_3D": [0.4, np.nan, np.nan]},
    )
    bar["reason"] = ["", "disordered structure", "no 3D path"]
    out, status = sd.join_bvse(table, bar)
    assert out["bvse_barrier_3d"].tolist()[0] == 0.4 and out.index.equals(table.index)
    assert status.startswith("added: E_3D for 1 materials; missing: ")
    assert "1× disordered structure" in status and "1× no 3D path" in status
    assert {sc.category(c) for c in sd.BVSE_COLUMNS.values()} == {"D-V"}
    assert {sc.category(c) for c in sd.MEGNET_COLUMNS.values()} == {"S-C"}


def test_join_mchaffie_by_icsd_code():
    table = pd.DataFrame({"icsd": [1.0, 2.0, np.nan]}, index=["a", "b", "c"])
    mch = pd.DataFrame({"icsd": [2, 1, 1], "superionic": [True, False, True], "loco_cluster": [3, 4, 5]})
    out = sd.join_mchaffie(table, mch)
    assert out["mchaffie_superionic"].tolist()[:2] == [False, True]  # first match of code 1
    assert out["loco_cluster"].tolist()[:2] == [4, 3] and out["mchaffie_superionic"].isna().iloc[2]


def _md_table():
    return pd.DataFrame(
        {
            "system": ["Li10GeP2S12", "Li10GeP2S12", "Li10GeP2S12", "Li3PS4"],
            "reduced_formula": ["Li10GeP2S12", "Li10GeP2S12", "Li10GeP2S12", "Li3PS4"],
            "specie": ["Li"] * 4,
            "temperature_K": [500.0, 600.0, 800.0, 500.0],
            "D_cm2_s": [1e-6, 1e-5, 1e-4, 1e-7],
            "omega_mean_meV": [10.0, 12.0, 99.0, 8.0],
            "omega30_meV_d": [5.0, 7.0, 9.0, np.nan],
            "n_runs": [1, 1, 1, 1],
        }
    )


def test_md_frame_keeps_targets_and_vibrations_only():
    f = sse_md.md_frame(_md_table())
    assert f["log10_D"].tolist() == pytest.approx([-6, -5, -4, -7])
    assert "n_runs" not in f and "D_cm2_s" not in f
    assert sse_md.md_vibrational_columns(f) == ["omega_mean_meV", "omega30_meV_d"]


def test_md_frame_censors_unresolved_diffusion_at_the_detection_limit():
    md = _md_table().assign(tmax_ps=[2.0, 2.0, 2.0, 2.0])
    md.loc[3, "D_cm2_s"] = -3e-8  # a frozen run: noise around zero
    f = sse_md.md_frame(md)
    lim = 1.0 / (6 * 2.0) * 1e-4  # 1 Å² in 2 ps, in cm²/s
    assert f["D_censored"].tolist() == [True, False, False, True]  # 1e-6 < lim ≈ 8.3e-6 is unresolved too
    assert f["log10_D"].iloc[3] == pytest.approx(np.log10(lim)) and f["log10_D"].iloc[1] == pytest.approx(-5)
    assert sse_md.detection_limit_cm2_s([4.0]).iloc[0] == pytest.approx(lim / 2)


def test_join_md_descriptors_averages_the_temperature_window():
    table = pd.DataFrame({"formula": ["Li20Ge2P4S24", "Li2O"]}, index=["a", "b"])
    out, status = sse_md.join_md_descriptors(table, _md_table())
    # 500 and 600 K runs of LGPS are averaged; the 800 K run lies outside 400–600 K
    assert out.loc["a", "md_omega_mean_meV"] == pytest.approx(11.0)
    assert out.loc["a", "md_log10_D"] == pytest.approx(-5.5)
    assert out.loc["b"].filter(like="md_").isna().all()
    assert status.startswith("added: 2 MD columns at 400–600 K for 1 materials")
    same, why = sse_md.join_md_descriptors(table, None)
    assert same is table and why.startswith("skipped")


@pytest.mark.mirror
def test_obelix_subset_from_the_mirror():
    from matmap_utils.data.datasets import load_obelix

    ob = load_obelix()
    sub = ob[ob["structure"].notna()].head(6)
    table, unusable = sd.build_descriptor_table(sub, n_jobs=1)
    assert len(table) + len(unusable) == len(sub)
    assert table["volume_per_fu"].gt(0).all() and table["li_fraction"].between(0, 1).all()
