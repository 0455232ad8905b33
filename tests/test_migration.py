"""Tests of matmap_utils.materials_map.bvse: BVSE percolation barriers via bvlain, failures as rows, cache."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from structures_lib import li2o

from matmap_utils.materials_map import bvse as M

FAST = {"resolution": 0.4}


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "cache"))
    warnings.simplefilter("ignore")


def test_li2o_barriers_are_ordered_and_finite():
    e = M.bvse_barriers(li2o(), FAST)
    assert e["oxi_method"] == "BVAnalyzer"
    assert 0 < e["E_1D"] <= e["E_2D"] <= e["E_3D"] < 5
    # cubic: the Li network percolates in 3D at the same energy as in 1D
    assert e["E_3D"] == pytest.approx(e["E_1D"], abs=0.02)


def test_memoised_percolation_equals_bvlain():
    from bvlain import Lain

    dec, _ = M.assign_oxidation_states(li2o())
    calc = Lain(verbose=False)
    calc.read_structure(dec, oxi_check=False)
    calc.bvse_distribution(mobile_ion="Li1+", resolution=0.4, k=64)
    ref = calc.percolation_barriers(encut=10.0)
    ours = M.percolation_barriers(calc, encut=10.0)
    assert {k: float(v) for k, v in ref.items()} == ours


def test_supercell_gives_similar_barrier():
    st = li2o()
    sup = st.copy()
    sup.make_supercell([2, 1, 1])
    e1 = M.bvse_barriers(st, FAST)["E_3D"]
    e2 = M.bvse_barriers(sup, FAST)["E_3D"]
    assert e2 == pytest.approx(e1, abs=0.1)  # grids differ slightly between the two cells


def test_failures_are_rows_with_reasons():
    no_li = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.21), ["Mg", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    disordered = li2o()
    disordered.replace(1, {"Li": 0.5, "Na": 0.5})
    # Li metal: oxidation states cannot be assigned to a metal
    metal = Structure(Lattice.cubic(3.51), ["Li", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    df = M.migration_table(
        [li2o(), no_li, disordered, metal, None],
        ["ok", "noli", "dis", "metal", "none"],
        settings=FAST,
        n_jobs=1,
        progress=False,
    )
    assert list(df.columns) == M.COLUMNS
    assert len(df) == 5
    assert math.isfinite(df.loc["ok", "ME"]) and df.loc["ok", "reason"] == ""
    assert df.loc["ok", "ME"] == df.loc["ok", "E_3D"]
    assert "no Li" in df.loc["noli", "reason"]
    assert "disordered" in df.loc["dis", "reason"]
    assert "oxidation states" in df.loc["metal", "reason"]
    assert df.loc["none", "reason"] == "no structure"
    assert df.drop(index="ok")["ME"].isna().all()


def test_cache_is_used(monkeypatch):
    st = li2o()
    df1 = M.migration_table([st], ["a"], settings=FAST, n_jobs=1, progress=False)
    assert M.cache_path(st, FAST).exists()

    def boom(*a, **k):  # a second call must not recompute
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr(M, "bvse_barriers", boom)
    df2 = M.migration_table([st], ["a"], settings=FAST, n_jobs=1, progress=False)
    assert df2.loc["a", "ME"] == df1.loc["a", "ME"]


def test_timeout_becomes_a_row(monkeypatch):
    import time

    def slow(structure, settings=None):  # a barrier computation that never finishes in time
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 30:
            time.sleep(0.01)

    monkeypatch.setattr(M, "bvse_barriers", slow)
    df = M.migration_table([li2o()], ["slow"], n_jobs=1, timeout=0.2, progress=False, cache=False)
    assert df.loc["slow", "reason"].startswith("timeout")
    assert np.isnan(df.loc["slow", "ME"])


def test_coarse_grid_for_big_cells():
    st = Structure(Lattice.cubic(27.66), ["Li", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    res = M.grid_resolution(st, {"resolution": 0.3, "max_grid_points": 80_000})
    a = st.lattice.a
    assert res > 0.3 and (a // res) ** 3 <= 80_000 * 1.05
    assert M.grid_resolution(li2o()) == 0.3


@pytest.mark.mirror
def test_nasicon_from_the_mirror():
    from matmap_utils.data.registry import fetch
    from matmap_utils.data.structures import read_structure

    st = read_structure(fetch("mp_li/mp-10499.cif"))
    e = M.bvse_barriers(st, {"resolution": 0.4})
    assert 0.2 < e["E_3D"] < 1.5  # BVSE barriers of NASICON LiZr2(PO4)3 are a fraction of an eV


def test_cli_migrate(tmp_path, capsys):
    import pandas as pd
    from pymatgen.io.cif import CifWriter

    from matmap_utils.cli.main import main

    good = tmp_path / "li2o.cif"
    CifWriter(li2o()).write_file(good)
    bad = tmp_path / "bad.cif"
    bad.write_text("")
    out = tmp_path / "m.csv"
    assert main(["migrate", str(good), str(bad), "-o", str(out), "--resolution", "0.4", "--n-jobs", "1"]) == 0
    df = pd.read_csv(out, index_col=0)
    assert list(df.index) == ["li2o"] and df.loc["li2o", "ME"] > 0
    err = capsys.readouterr().err
    assert "1 of 2 processed, 1 failed" in err and "empty file" in err and "Traceback" not in err
    assert main(["migrate", str(bad)]) == 1
    assert main(["migrate", str(good), "--resolution", "-1"]) == 2  # user error, one line
