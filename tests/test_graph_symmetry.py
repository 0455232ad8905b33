"""Equivalent-atom reduction of crystal graphs and the fused softplus kernels of MEGNet inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matmap_utils.screening.megnet import kernels as mk
from matmap_utils.screening.megnet import model
from matmap_utils.screening.megnet import symmetry as gs

pytestmark = pytest.mark.skipif(not gs.available(), reason="numba is not installed")


def _graph(structure, cutoff=5.0):
    from matmap_utils.screening.megnet.graph import graph_from_arrays, structure_arrays

    return graph_from_arrays(structure_arrays(structure), cutoff)


def _rocksalt():
    from pymatgen.core import Lattice, Structure

    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.03), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def _spinel_like():
    """LiMn2O4 in its cubic cell: 56 atoms, 3 Wyckoff orbits (8a Li, 16d Mn, 32e O)."""
    from pymatgen.core import Lattice, Structure

    return Structure.from_spacegroup(
        "Fd-3m", Lattice.cubic(8.24), ["Li", "Mn", "O"], [[0.125, 0.125, 0.125], [0.5, 0.5, 0.5], [0.263, 0.263, 0.263]]
    )


# ------------------------------------------------------------------------------------ partition
def test_orbits_of_symmetric_cells_are_found():
    g = _graph(_rocksalt())
    assert g.n_sites == 8
    classes, n = gs.equivalence_classes(g.site_labels(), g.index1, g.index2, g.distance)
    assert n == 2
    z = g.z
    for c in range(n):  # each class is one species, and Li and F are not merged
        assert len(set(z[classes == c].tolist())) == 1
    sp = _spinel_like()
    g = _graph(sp)
    assert g.n_sites == 56
    assert gs.equivalence_classes(g.site_labels(), g.index1, g.index2, g.distance)[1] == 3


def test_supercell_has_the_classes_of_its_cell_and_distortion_splits_them():
    s = _rocksalt()
    big = s.copy()
    big.make_supercell([2, 1, 1])
    g = _graph(big)
    assert gs.equivalence_classes(g.site_labels(), g.index1, g.index2, g.distance)[1] == 2
    moved = big.copy()
    moved.translate_sites([0], [0.02, 0.0, 0.0], frac_coords=False)
    g = _graph(moved)
    n = gs.equivalence_classes(g.site_labels(), g.index1, g.index2, g.distance)[1]
    assert 2 < n < len(moved)  # the moved atom and its neighbours split off, not everything


def test_labels_split_classes():
    """Same geometry, different species on one sublattice position: not equivalent."""
    s = _rocksalt()
    s.replace(0, "Na")
    g = _graph(s)
    classes, n = gs.equivalence_classes(g.site_labels(), g.index1, g.index2, g.distance)
    assert n > 2 and classes[0] != classes[1]


def test_quotient_weights_count_every_atom_and_bond():
    g = _graph(_spinel_like())
    r = g.reduced()
    assert r.is_reduced and r.n_sites == 3 and r.n_atoms == 56
    assert r.node_weight.sum() == 56
    # each kept bond stands for bond_weight bonds of its representative, x node_weight atoms
    assert np.isclose((r.node_weight[r.index1] * r.bond_weight).sum(), g.n_bonds)
    # per node, the weighted bond count is the representative's coordination within the cutoff
    deg = np.bincount(g.index1, minlength=g.n_sites)
    rep_of = {int(c): int(np.flatnonzero(r.expand == c)[0]) for c in range(r.n_sites)}
    for c, i in rep_of.items():
        assert r.bond_weight[r.index1 == c].sum() == deg[i]
    np.testing.assert_array_equal(np.bincount(r.expand), r.node_weight.astype(int))


def test_disordered_sites_are_labelled_by_composition():
    from pymatgen.core import Lattice, Structure

    lat = Lattice.cubic(4.2)
    s = Structure(
        lat,
        [{"Li": 0.5, "Na": 0.5}, {"Li": 0.5, "Na": 0.5}, "Cl", "Cl"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0], [0, 0.5, 0]],
    )
    lab = _graph(s).site_labels()
    assert lab[0] == lab[1] and lab[2] == lab[3] and lab[0] != lab[2]
    s2 = Structure(
        lat,
        [{"Li": 0.5, "Na": 0.5}, {"Li": 0.25, "Na": 0.75}, "Cl", "Cl"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0], [0, 0.5, 0]],
    )
    lab2 = _graph(s2).site_labels()
    assert lab2[0] != lab2[1]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="out of range"):
        gs.equivalence_classes([1, 1], [0, 2], [1, 0], [1.0, 1.0])
    with pytest.raises(ValueError, match="bond lengths"):
        gs.equivalence_classes([1, 1], [0, 1], [1, 0], [-1.0, 1.0])


# ------------------------------------------------------------------------------------ kernels
@pytest.mark.skipif(not mk.available(), reason="numba is not installed")
def test_softplus_kernel_matches_float64_softplus():
    x = torch.linspace(-100, 100, 400_001, dtype=torch.float32)[:, None].contiguous()
    bias = torch.tensor([0.25])
    ref = torch.nn.functional.softplus(x.double() + 0.25)
    out = mk.softplus_bias_(x.clone(), bias, -0.5)
    # within float32 rounding: 1e-6 absolute near 0, 2.5e-7 relative (2 ulp) for large values
    err = (out.double() - (ref - 0.5)).abs()
    assert (err <= 1e-6 + 2.5e-7 * ref.abs()).all(), f"max error {err.max().item():.2e}"
    rng = np.random.default_rng(0)
    h = torch.from_numpy(rng.normal(0, 4, (333, 64)).astype(np.float32))
    b = torch.from_numpy(rng.normal(0, 1, 64).astype(np.float32))
    torch_ref = torch.nn.functional.softplus(h + b)
    np.testing.assert_allclose(mk.softplus_bias_(h.clone(), b).numpy(), torch_ref.numpy(), atol=1e-6, rtol=0)


def test_log1p_coefficients_are_reproducible():
    np.testing.assert_allclose(mk.fit_log1p_coefficients(), np.array(mk.LOG1P_Q, dtype=np.float32), rtol=1e-6)
    t = np.linspace(1e-6, 1, 10_001)
    q = np.polynomial.polynomial.polyval(t, mk.LOG1P_Q)
    assert np.abs(t * q - np.log1p(t)).max() < 1e-7


@pytest.mark.skipif(not mk.available(), reason="numba is not installed")
def test_edge_kernel_equals_torch_gathers():
    rng = np.random.default_rng(1)
    f = lambda *s: torch.from_numpy(rng.normal(0, 2, s).astype(np.float32))  # noqa: E731
    h, a, b, c = f(500, 64), f(40, 64), f(40, 64), f(3, 64)
    i1, i2, g = (torch.from_numpy(rng.integers(0, n, 500)) for n in (40, 40, 3))
    expected = torch.nn.functional.softplus(h + a[i1] + b[i2] + c[g])
    got = mk.edge_softplus_(h.clone(), a, i1, b, i2, c, g)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=2e-6, rtol=0)


# ------------------------------------------------------------------------------------ MEGNet
@pytest.mark.mirror
@pytest.mark.parametrize("name", ["formation_energy", "band_gap"])
def test_megnet_on_quotient_graph_equals_full_graph(name, monkeypatch):
    """Predictions and V0..V3 of every site are the same with and without the reduction (and
    with and without the fused kernels) on symmetric, distorted and disordered structures.

    Tolerance: the fixture tolerance 1e-4.  Measured against a float64 evaluation of the full
    graph, every float32 variant is off by up to 4e-5 in V3 of the 56-atom cells (rounding
    through three blocks) and the reduced graph is slightly *closer* (2.4e-5 vs 3.6e-5)."""
    from pymatgen.core import Lattice, Structure

    from matmap_utils.screening.megnet.model import load_model

    monkeypatch.setattr(model, "FAST_MIN_BONDS", 0)  # small run: use the kernels all the same
    moved = _spinel_like()
    moved.translate_sites([3], [0.05, 0.02, 0.0], frac_coords=False)
    dis = Structure(
        Lattice.cubic(4.2),
        [{"Li": 0.5, "Na": 0.5}, {"Li": 0.5, "Na": 0.5}, "Cl", "Cl"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0], [0, 0.5, 0]],
    )
    structures = [_rocksalt(), _spinel_like(), moved, dis]
    m = load_model(name)
    saved = m.reduce_graphs, m._fused
    try:
        runs = {}
        for reduce in (False, True):
            for fused in (False, True):
                m.reduce_graphs, m._fused = reduce, fused and mk.available()
                graphs = [m.structure_to_graph(s) for s in structures]
                runs[reduce, fused] = m.run_graphs(graphs, (0, 1, 2, 3))
    finally:
        m.reduce_graphs, m._fused = saved
    p0, f0 = runs[False, False]
    assert np.ptp(p0) > 0.05  # the structures differ, so the comparison can fail
    for key, (p, f) in runs.items():
        np.testing.assert_allclose(p, p0, atol=1e-4, rtol=0, err_msg=str(key))
        for a, b in zip(f, f0):
            for k in range(4):
                assert a[k].shape == b[k].shape
                np.testing.assert_allclose(a[k], b[k], atol=1e-4, rtol=0, err_msg=f"{key} V{k}")


@pytest.mark.mirror
def test_reduced_graph_keeps_isolated_atom_count():
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(14.0), ["Li", "F", "Li"], [[0, 0, 0], [0.12, 0, 0], [0.5, 0.5, 0.5]])
    g = _graph(s)
    assert g.reduced().n_isolated == g.n_isolated == 1


@pytest.mark.mirror
def test_small_runs_skip_the_kernels_until_they_are_loaded(monkeypatch):
    """A one-structure call in a fresh process evaluates the full graph with torch ops (the
    kernels' one-time load would cost more than they save); once loaded, they are used."""
    from matmap_utils.screening.megnet.model import load_model

    m = load_model("formation_energy")
    seen = []
    real = model.MEGNetModel._batch_tensors

    def spy(self, graphs):
        out = real(self, graphs)
        seen.append((out["weighted"], any(g.is_reduced for g in graphs)))
        return out

    monkeypatch.setattr(model.MEGNetModel, "_batch_tensors", spy)
    monkeypatch.setattr(model, "_KERNELS_USED", False)
    g = m.structure_to_graph(_spinel_like())
    assert g.n_bonds < model.FAST_MIN_BONDS
    m.run_graphs([g])
    assert seen[-1] == (False, False)
    monkeypatch.setattr(model, "FAST_MIN_BONDS", g.n_bonds)  # a big enough run loads them
    m.run_graphs([g])
    assert seen[-1] == (True, True) and model._KERNELS_USED
    monkeypatch.setattr(model, "FAST_MIN_BONDS", 10**9)  # and later small runs use them
    m.run_graphs([g])
    assert seen[-1] == (True, True)
