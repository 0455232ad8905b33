"""Tests of matmap_utils.materials_map.bvse_fast: the fast BVSE landscape and one-pass percolation
energies against bvlain (the reference) and against an independent brute-force percolation oracle."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from scipy.ndimage import generate_binary_structure
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from structures_lib import li2o

from matmap_utils.materials_map import bvse
from matmap_utils.materials_map import bvse_fast as F

FIXTURE = Path(__file__).parent / "fixtures" / "bvse" / "reference.json.gz"
sys.path.insert(0, str(FIXTURE.parent))
from make_reference import decode  # noqa: E402

RES = 0.4  # coarse grid: a few seconds for bvlain
DIMS = ("E_1D", "E_2D", "E_3D")


@pytest.fixture(autouse=True)
def _quiet(tmp_path, monkeypatch):
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "cache"))
    warnings.simplefilter("ignore")


def lifepo4() -> Structure:
    """Olivine LiFePO4 (Pnma): Li in 1D channels along b."""
    st = Structure.from_spacegroup(
        "Pnma",
        Lattice.orthorhombic(10.33, 6.01, 4.69),
        ["Li", "Fe", "P", "O", "O", "O"],
        [
            [0, 0, 0],
            [0.2822, 0.25, 0.9747],
            [0.0950, 0.25, 0.4182],
            [0.0967, 0.25, 0.7428],
            [0.4571, 0.25, 0.2060],
            [0.1656, 0.0465, 0.2848],
        ],
    )
    st.add_oxidation_state_by_element({"Li": 1, "Fe": 2, "P": 5, "O": -2})
    return st


def licoo2() -> Structure:
    """Layered LiCoO2 (R-3m, hexagonal setting): Li in 2D sheets between CoO2 layers."""
    st = Structure.from_spacegroup(
        "R-3m", Lattice.hexagonal(2.82, 14.05), ["Li", "Co", "O"], [[0, 0, 0.5], [0, 0, 0], [0, 0, 0.2604]]
    )
    st.add_oxidation_state_by_element({"Li": 1, "Co": 3, "O": -2})
    return st


def li2o_dec() -> Structure:
    st = li2o()
    st.add_oxidation_state_by_element({"Li": 1, "O": -2})
    return st


def bvlain_calc(dec: Structure, res: float = RES):
    from bvlain import Lain

    calc = Lain(verbose=False)
    calc.read_structure(dec, oxi_check=False)
    with contextlib.redirect_stdout(io.StringIO()):
        calc.bvse_distribution(mobile_ion="Li1+", r_cut=10.0, resolution=res, k=64, f=0.74)
    return calc


# --------------------------------------------------------------------------- against bvlain


@pytest.mark.parametrize("make", [li2o_dec, licoo2, lifepo4])
def test_landscape_and_barriers_equal_bvlain(make):
    dec = make()
    calc = bvlain_calc(dec)
    grid = F.bvse_grid(dec, RES)
    # bvlain's last plane along each axis repeats the first (fractional 1 = 0)
    ref = calc.data[:-1, :-1, :-1]
    assert grid.shape == ref.shape
    ok = np.abs(ref) < 1e6  # a cation on a grid point: bvlain ~1e15 (rounding), here inf
    np.testing.assert_allclose(grid[ok], ref[ok], rtol=1e-9, atol=1e-9)
    assert np.all(grid[~ok] > 1e6)
    assert F.barriers(dec, RES) == bvse.percolation_barriers(calc)


def test_dimensionality_of_known_conductors():
    e1 = F.barriers(lifepo4(), RES, percolation="exact")
    e2 = F.barriers(licoo2(), RES, percolation="exact")
    assert e1["E_1D"] < 1.0 and e1["E_2D"] > e1["E_1D"] + 0.5  # olivine: 1D channels along b
    assert e2["E_1D"] == pytest.approx(e2["E_2D"], abs=1e-9)  # layered: 2D sheets
    assert e2["E_2D"] < 2.0 and e2["E_3D"] > e2["E_2D"] + 1.0
    e0 = F.barriers(li2o_dec(), RES, percolation="exact")  # cubic: 1D = 2D = 3D
    assert e0["E_1D"] == pytest.approx(e0["E_3D"], abs=1e-9) and e0["E_3D"] < 2.0


def test_bvse_barriers_methods_agree():
    fast = bvse.bvse_barriers(li2o(), {"resolution": RES})
    ref = bvse.bvse_barriers(li2o(), {"resolution": RES, "method": "bvlain"})
    assert fast == ref
    assert bvse.settings_key()["method"] == "fast"
    with pytest.raises(ValueError, match="method"):
        bvse.landscape_barriers(li2o_dec(), RES, {"method": "nope"})


def test_missing_parameters_is_a_keyerror():
    st = li2o()
    st.add_oxidation_state_by_element({"Li": 1, "O": -1})  # no softBV Li+/O- pair
    with pytest.raises(KeyError):
        F.framework_terms(st)


# --------------------------------------------------------------------------- percolation oracle


def oracle_dims(grid: np.ndarray, threshold: float) -> int:
    """bvlain's criterion by brute force: label {E <= threshold} on the periodic 2x2x2 torus
    (26 neighbours) and return the largest number of the 8 images of a point in one component."""
    act = np.tile(grid <= threshold, (2, 2, 2))
    shape, n = act.shape, act.size
    ids = np.arange(n).reshape(shape)
    rows, cols = [], []
    for d in np.argwhere(generate_binary_structure(3, 3)) - 1:
        both = act & np.roll(act, shift=tuple(-d), axis=(0, 1, 2))
        rows.append(ids[both])
        cols.append(np.roll(ids, shift=tuple(-d), axis=(0, 1, 2))[both])
    r, c = np.concatenate(rows), np.concatenate(cols)
    _, lab = connected_components(coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)), directed=False)
    lab = lab.reshape(shape)
    best = 0
    for p in np.argwhere(grid <= threshold):
        imgs = [lab[tuple(p + np.array(t) * grid.shape)] for t in np.ndindex(2, 2, 2)]
        best = max(best, imgs.count(imgs[0]))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_sweep_equals_bruteforce_oracle(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 7, size=3))
    grid = rng.random(shape)
    e = F.percolation_energies(grid)
    values = np.sort(grid.ravel())
    want = {}
    for v in values:
        d = oracle_dims(grid, v)
        for dim, name in ((2, "E_1D"), (4, "E_2D"), (8, "E_3D")):
            if d >= dim and name not in want:
                want[name] = v - grid.min()
    assert {k: e[k] for k in DIMS} == pytest.approx(want, abs=0)
    for d in ("1D", "2D", "3D"):  # the lattice rank reaches a dimension no later than the mod-2 count
        assert e[f"Z_{d}"] <= e[f"E_{d}"]


def test_sweep_on_a_channel_with_one_saddle():
    grid = np.full((6, 5, 4), 3.0)
    grid[:, 2, 1] = 0.2  # a channel along a with one saddle
    grid[3, 2, 1] = 0.7
    e = F.percolation_energies(grid)
    assert e["E_1D"] == pytest.approx(0.5) and e["Z_1D"] == pytest.approx(0.5)
    assert e["E_2D"] == e["E_3D"] == pytest.approx(2.8)  # everything connects at 3.0
    assert F.bisection_barrier(e["E_1D"]) == 0.5078  # bvlain's bisection: first probe above 0.5


def test_bisection_barrier_replays_bvlain():
    step = 10.0 / 1024
    for e in [0.0, 0.004, step, 0.5, 1.2345, 9.98, 10.0 - step, 12.0]:
        b = F.bisection_barrier(e)
        if e >= 10.0 - step:
            assert b == math.inf
        else:
            assert b - step - 1e-4 <= e < b


# --------------------------------------------------------------------------- 240 MP Li–O structures


def _fixture_rows():
    data = json.loads(gzip.open(FIXTURE, "rt").read())
    return [r for r in data["rows"] if "E_3D" in r]


def _compare(rows) -> dict:
    diffs = {d: [] for d in DIMS}
    mismatched_inf = 0
    for r in rows:
        got = F.barriers(decode(r["structure"]), r["resolution"])
        for d in DIMS:
            ref = math.inf if r[d] is None else r[d]
            if math.isinf(ref) or math.isinf(got[d]):
                mismatched_inf += ref != got[d]
            else:
                diffs[d].append(abs(got[d] - ref))
    return {"diffs": {d: np.asarray(v) for d, v in diffs.items()}, "mismatched_inf": mismatched_inf}


def _assert_bounds(res: dict) -> None:
    assert res["mismatched_inf"] == 0
    for d in DIMS:
        assert np.median(res["diffs"][d]) <= 0.01, d
        assert res["diffs"][d].max() <= 0.05, d


def test_fixture_sample_matches_bvlain():
    rows = _fixture_rows()
    assert len(rows) >= 200
    _assert_bounds(_compare(rows[::12]))


@pytest.mark.slow
def test_all_fixture_structures_match_bvlain():
    _assert_bounds(_compare(_fixture_rows()))
