"""Fast bond-valence site energies (BVSE) of a Li+ probe and one-pass percolation energies.

Same physics and settings as ``bvlain`` (A. Dembitskiy, github.com/dembart/BVlain; the reference
kept in :mod:`matmap_utils.materials_map.bvse`, ``method="bvlain"``), written for speed:

**Landscape.**  The energy of a Li+ probe at a point r of the framework (all non-Li ions) is a sum
over the ``k`` nearest framework ions within ``r_cut`` (softBV force field, Chen & Adams 2017;
the BVFF of Yamaguchi et al.'s ref. 20):

* anions X (charge < 0), a Morse term  ``E = D0/2 [(exp(alpha (R_min - r)) - 1)^2 - 1]``
  with the Li+–X parameters ``R_min`` (A), ``alpha`` (1/A), ``D0`` (eV) of bvlain's softBV table;
* cations M (charge q > 0), screened Coulomb repulsion
  ``E = 14.4 q_Li q / sqrt(n_Li n_M) / r * erfc(r / (f (rc_Li + rc_M)))`` (eV, r in A; n the
  principal quantum numbers, rc covalent radii (ASE's table), f the screening factor);
* neutral framework atoms count among the ``k`` nearest but add nothing.

The grid is bvlain's: ``n_i = floor(L_i / resolution)`` points along each lattice vector at
fractional coordinates ``j / (n_i - 1)``, j = 0 … n_i - 1 — the planes j = 0 and j = n_i - 1 are
the same plane of the crystal, so we evaluate only the ``(n_1 - 1)(n_2 - 1)(n_3 - 1)`` distinct
points and treat the grid as periodic.  Neighbours: the periodic images of the framework within
``r_cut`` of the cell in a cell list; grid points are taken in blocks (~2 A) that share one list
of candidate ions (triangle inequality), and because the k-th neighbour distance d_k(x) is
1-Lipschitz in x, the d_k of the previous point brackets the current one: ions certainly among
the k nearest are summed at once and the k-th is selected among the few near d_k (no sort, no
k-d tree query per point).  Same numbers as bvlain's k-d tree (to ~1e-11 eV; a tie at the k-th
distance may pick another ion of the same distance, as the k-d tree's choice is arbitrary there).

**Percolation in one pass.**  bvlain labels the region ``E < E_probe`` of a 2×2×2 tiling of the
grid (26-connectivity, faces glued periodically) and bisects ``E_probe`` on [0, encut] to 0.01 eV,
once per dimension; a component "percolates in d dimensions" when it contains 2, 4 or 8 of the 8
images of one of its points in the 2×2×2 torus (d = 1, 2, 3).  Here the grid points are added in
order of increasing energy to a union–find structure over the periodic grid (26 neighbours, each
edge carrying its cell offset in Z^3), which keeps, for every cluster, the translation vectors of
the closed loops it contains (offset of a point relative to its root, "union-find with
potentials").  The image count in the 2×2×2 torus is the size of that translation lattice mod 2
(an F2 subspace of {0,1}^3: 1, 2, 4 or 8 elements), so the energy at which a cluster first reaches
2, 4, 8 images is bvlain's percolation energy — exact, for all three dimensions in one sweep,
instead of 3 × 10 connected-component labelings.  The true dimension of the lattice (its rank over
Z) is kept as well (``percolation="exact"``): it is larger than the mod-2 count only when the
cluster's translations are even combinations (e.g. a channel that repeats only every two cells, or
a net spanned by (1, 1, 0) and (1, -1, 0)), which bvlain counts as lower-dimensional.

``percolation="bvlain"`` (default) reproduces bvlain's reported numbers: the mod-2 image count,
and the critical energy rounded *up* to bvlain's bisection grid (steps of encut/1024 eV, the upper
end of the last bisection interval, ``inf`` beyond it); ``"exact"`` returns the critical energies
themselves (the energy of the grid point whose addition completes the percolating cluster) with the
Z-rank dimension.  Energies are relative to the landscape minimum (eV).
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
from bvlain import Lain
from pymatgen.core import Lattice

__all__ = [
    "MissingParameters",
    "bisection_barrier",
    "bvse_grid",
    "framework_terms",
    "grid_shape",
    "percolation_energies",
    "barriers",
]

COULOMB_EV_A = 14.4  # e^2 / (4 pi eps0) in eV A (the value bvlain/softBV use)
BLOCK_A = 2.0  # edge (A) of the blocks of grid points that share one neighbour-candidate list
BIN_A = 2.0  # edge (A) of the cell-list cubes used to find the candidates of a block


class MissingParameters(KeyError):
    """No softBV Morse parameters for a (mobile ion, anion, charge) combination."""


def framework_terms(structure, mobile: str = "Li", q_mobile: int = 1) -> dict[str, np.ndarray]:
    """Per framework ion (every site that is not ``mobile``): kind and force-field constants.

    Returns ``frac`` (n, 3) fractional coordinates wrapped into [0, 1), ``kind`` (n,) 1 = Morse
    (anion), 2 = screened Coulomb (cation), 0 = neutral (no energy), and ``p`` (n, 3): Morse
    ``(R_min, alpha, D0)`` or Coulomb ``(14.4 q_Li q / sqrt(n_Li n), f-free screening radius
    rc_Li + rc, 0)``.  ``structure`` must carry oxidation states (pymatgen species).  Raises
    :class:`MissingParameters` for an anion without Li+ parameters (e.g. O- or C4-).

    The constants are bvlain's own (its softBV tables, read by bvlain's ``Lain._get_params``; this
    module never opens a pickle itself), so the landscape is bvlain's by construction.
    """
    calc = Lain(verbose=False)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):  # bvlain prints "Oops..." before raising
        calc.read_structure(structure, oxi_check=False)
        try:
            calc._get_params(f"{mobile}{q_mobile}+")
        except KeyError as exc:
            raise MissingParameters(f"no Li+ parameters for {exc}") from None
    atoms = calc.atoms
    q = np.asarray(atoms.arrays["oxi_states"], dtype=float)
    n, rc = np.asarray(atoms.arrays["n"], dtype=float), np.asarray(atoms.arrays["r_c"], dtype=float)
    morse = np.column_stack([atoms.arrays["r_min"], atoms.arrays["alpha"], atoms.arrays["d0"]])
    coulomb = np.column_stack([COULOMB_EV_A * q_mobile * q / np.sqrt(calc.n_mi * n), calc.rc_mi + rc, np.zeros(len(q))])
    kind = np.where(q < 0, 1, np.where(q > 0, 2, 0)).astype(np.int64)
    p = np.where((kind == 1)[:, None], morse, np.where((kind == 2)[:, None], coulomb, 0.0))
    frac = np.mod(np.asarray(atoms.get_scaled_positions(wrap=False), dtype=float).reshape(-1, 3), 1.0)
    return {"frac": frac, "kind": kind, "p": np.nan_to_num(p, nan=0.0).reshape(-1, 3)}


def grid_shape(lattice, resolution: float) -> tuple[int, int, int]:
    """Distinct grid points along a, b, c: bvlain's ``floor(L / resolution)`` minus the duplicated
    end plane (fractional spacing ``1 / shape``)."""
    n = [int(length // resolution) - 1 for length in lattice.abc]
    if min(n) < 1:
        raise ValueError(f"grid resolution {resolution} A too coarse for the cell {lattice.abc}")
    return n[0], n[1], n[2]


def _images(frac: np.ndarray, lattice, r_cut: float) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian positions (and source ion index) of the periodic images that can lie within
    ``r_cut`` of a point of the unit cell [0, 1]^3 (a superset: a slab test per axis)."""
    heights = lattice.volume / np.linalg.norm(np.cross(lattice.matrix[[1, 2, 0]], lattice.matrix[[2, 0, 1]]), axis=1)
    reach = r_cut / heights  # r_cut in fractional units along each axis
    m = np.ceil(reach).astype(int) + 1
    rng = [np.arange(-mi, mi + 1) for mi in m]
    shifts = np.stack(np.meshgrid(*rng, indexing="ij"), axis=-1).reshape(-1, 3)
    f = (frac[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    src = np.tile(np.arange(len(frac)), len(shifts))
    keep = np.all((f >= -reach - 1e-9) & (f <= 1.0 + reach + 1e-9), axis=1)
    return f[keep] @ lattice.matrix, src[keep]


def _blocks(shape, lattice) -> tuple[np.ndarray, ...]:
    """Blocks of grid points with edges of ~:data:`BLOCK_A` A along each axis: inclusive index
    bounds ``lo``, ``hi`` (B, 3), centres (B, 3) (A) and radii ``rho`` (B,) (largest distance from
    the centre to a point of the block; the block is a parallelepiped, so it is at a corner)."""
    shape = np.asarray(shape)
    step = np.maximum(1, np.round(BLOCK_A * shape / np.asarray(lattice.abc)).astype(int))
    starts = np.stack(np.meshgrid(*[np.arange(0, n, b) for n, b in zip(shape, step)], indexing="ij"), -1).reshape(-1, 3)
    ends = np.minimum(starts + step, shape) - 1
    centres = (0.5 * (starts + ends) / shape) @ lattice.matrix
    corners = np.stack([np.where([(c >> ax) & 1 for ax in range(3)], starts, ends) for c in range(8)], axis=1)
    rho = np.linalg.norm((corners / shape) @ lattice.matrix - centres[:, None, :], axis=-1).max(axis=1)
    return starts.astype(np.int64), ends.astype(np.int64), centres, rho


def _bins(cart: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cell list of the images: cubes of edge :data:`BIN_A` A from ``origin``; the images of bin
    ``(i, j, l)`` (flat ``(i * dims[1] + j) * dims[2] + l``) are ``items[start[flat]:start[flat + 1]]``."""
    origin = cart.min(axis=0)
    ijk = np.floor((cart - origin) / BIN_A).astype(np.int64)
    dims = ijk.max(axis=0) + 1
    flat = (ijk[:, 0] * dims[1] + ijk[:, 1]) * dims[2] + ijk[:, 2]
    items = np.argsort(flat, kind="stable").astype(np.int64)
    start = np.searchsorted(flat[items], np.arange(int(np.prod(dims)) + 1)).astype(np.int64)
    return origin, dims.astype(np.int64), start, items


def bvse_grid(structure, resolution: float, *, r_cut: float = 10.0, k: int = 64, f: float = 0.74) -> np.ndarray:
    """BVSE of a Li+ probe (eV, absolute) on the distinct grid points, shape :func:`grid_shape`.

    ``structure``: pymatgen Structure with oxidation states; grid as bvlain's ``bvse_distribution``
    with the same ``resolution``, ``r_cut``, ``k`` and ``f`` (the point at fractional (i, j, l) /
    (n - 1) is ``grid[i, j, l]``).
    """
    terms = framework_terms(structure)
    lattice = structure.lattice
    shape = grid_shape(lattice, resolution)
    if len(terms["kind"]) == 0:
        return np.zeros(shape)
    cart, src = _images(terms["frac"], lattice, r_cut)
    blocks = _blocks(shape, lattice)
    bins = _bins(cart)
    energy = _kernels()["energy"](
        np.asarray(shape, dtype=np.int64),
        np.ascontiguousarray(lattice.matrix, dtype=float),
        np.ascontiguousarray(cart),
        src.astype(np.int64),
        terms["kind"],
        terms["p"],
        (int(k), float(r_cut), float(f), BIN_A),
        blocks,
        bins,
    )
    return energy.reshape(shape)


def percolation_energies(grid: np.ndarray) -> dict[str, float]:
    """Percolation energies (eV above the grid minimum) from one union–find sweep.

    Returns ``E_1D``, ``E_2D``, ``E_3D`` by bvlain's criterion (2, 4, 8 images of a point in the
    2×2×2 torus) and ``Z_1D``, ``Z_2D``, ``Z_3D`` by the rank of the cluster's translation lattice;
    ``inf`` when the grid never percolates in that dimension.  These are the critical energies
    themselves: percolation holds for every threshold *above* them (bvlain's ``E < E_probe``).
    """
    data = np.ascontiguousarray(grid, dtype=float)
    rel = (data - data.min()).ravel()
    order = np.argsort(rel, kind="stable")
    out = _kernels()["sweep"](order, rel, np.asarray(data.shape, dtype=np.int64))
    keys = ("E_1D", "E_2D", "E_3D", "Z_1D", "Z_2D", "Z_3D")
    return {key: float(v) for key, v in zip(keys, out)}


def bisection_barrier(critical: float, encut: float = 10.0, tol: float = 0.01) -> float:
    """The number bvlain's bisection reports for a percolation threshold ``critical``.

    bvlain halves [0, encut] until narrower than ``tol``, keeping the upper end whenever the
    region ``E < probe`` percolates, and returns ``round(upper end, 4)`` (``inf`` when no probe
    percolated).  Replayed here with the predicate ``critical < probe``.
    """
    lo, hi, barrier = 0.0, float(encut), math.inf
    while hi - lo > tol:
        probe = (lo + hi) / 2
        if critical < probe:
            hi = probe
            barrier = round(hi, 4)
        else:
            lo = probe
    return barrier


def barriers(
    structure,
    resolution: float,
    *,
    r_cut: float = 10.0,
    k: int = 64,
    f: float = 0.74,
    encut: float = 10.0,
    percolation: str = "bvlain",
) -> dict[str, float]:
    """``E_1D``, ``E_2D``, ``E_3D`` (eV) of a Li+ probe in an oxidation-state-decorated structure.

    ``percolation="bvlain"``: bvlain's image criterion and its bisection grid (same numbers as
    ``Lain.percolation_barriers(encut)``); ``"exact"``: critical energies with the Z-rank
    dimension, ``inf`` above ``encut``.
    """
    if percolation not in ("bvlain", "exact"):
        raise ValueError(f"percolation must be 'bvlain' or 'exact', not {percolation!r}")
    e = percolation_energies(bvse_grid(structure, resolution, r_cut=r_cut, k=k, f=f))
    if percolation == "bvlain":
        return {d: bisection_barrier(e[d], encut) for d in ("E_1D", "E_2D", "E_3D")}
    return {d: (e[f"Z_{d[2:]}"] if e[f"Z_{d[2:]}"] < encut else math.inf) for d in ("E_1D", "E_2D", "E_3D")}


# --------------------------------------------------------------------------- numba kernels
# Plain Python below; :func:`_kernels` compiles them with numba (module-level functions, so numba's
# on-disk cache is hit by every later process; nested closures would be recompiled each time).

_KERNELS = (
    "_pair",
    "_kth_smallest",
    "_point_energy",
    "_gather",
    "_grid_energy",
    "_find",
    "_span_add",
    "_basis_add",
    "_link",
    "_sweep",
)
_COMPILED = False


def _kernels() -> dict:
    """The compiled ``energy`` and ``sweep`` kernels (compiled or loaded from cache on first use)."""
    global _COMPILED
    if not _COMPILED:
        import numba  # lazy: compiling/loading the kernels costs ~1 s; only the fast BVSE path needs numba

        opts = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False)
        for name in _KERNELS:  # callees first: each kernel calls the compiled globals before it
            globals()[name] = numba.njit(**opts)(globals()[name])
        _COMPILED = True
        _warm_up()
    return {"energy": _grid_energy, "sweep": _sweep}


def _warm_up() -> None:
    """Call both kernels once on a tiny input: compiles them, or loads them from numba's cache
    (~0.5 s per process), so that timings of real structures do not include it."""
    lattice = Lattice.cubic(3.0)
    cart = np.array([[0.0, 0.0, 0.0], [1.5, 1.5, 1.5]])
    consts = (64, 10.0, 0.74, BIN_A)
    kind, p = np.array([1], dtype=np.int64), np.array([[2.0, 2.0, 1.0]])
    grid = _grid_energy(
        np.array([2, 2, 2]),
        lattice.matrix,
        cart,
        np.zeros(2, np.int64),
        kind,
        p,
        consts,
        _blocks((2, 2, 2), lattice),
        _bins(cart),
    )
    _sweep(np.argsort(grid), grid - grid.min(), np.array([2, 2, 2]))


def _pair(d, a, kind, p, f):
    """Energy (eV) of the probe with framework ion ``a`` at distance d (A): Morse or screened Coulomb."""
    kd = kind[a]
    if kd == 1:
        x = math.exp(p[a, 1] * (p[a, 0] - d)) - 1.0
        return 0.5 * p[a, 2] * (x * x - 1.0)
    if kd == 2:
        return p[a, 0] / d * math.erfc(d / (f * p[a, 1]))
    return 0.0


def _kth_smallest(values, work, n, kth):
    """The kth smallest (0-based) of ``values[:n]`` (quickselect on the scratch copy ``work``)."""
    work[:n] = values[:n]
    left, right = 0, n - 1
    while left < right:
        pivot = work[(left + right) // 2]
        i, j = left, right
        while i <= j:
            while work[i] < pivot:
                i += 1
            while work[j] > pivot:
                j -= 1
            if i <= j:
                work[i], work[j] = work[j], work[i]
                i += 1
                j -= 1
        if kth <= j:
            right = j
        elif kth >= i:
            left = i
        else:
            return work[kth]
    return work[kth]


def _point_energy(x, rx, cxyz, ca, cdc, n, kind, p, consts, t_ref, s, bufs):
    """Probe energy at x: sum over its k nearest candidates closer than r_cut.

    Candidates (coordinates ``cxyz``, ion ``ca``) are sorted by their distance ``cdc`` to the
    block centre, which lies ``rx`` from x.  The k-th neighbour distance d_k is 1-Lipschitz in x,
    so d_k(x) lies in [t_ref - s, t_ref + s] when t_ref = d_k(x') and s >= |x - x'|: ions closer
    than t_ref - s are certainly among the k nearest (summed at once), ions farther than
    t_ref + s certainly not (skipped: cdc > t_ref + s + rx), and the k-th is selected among the
    few in between.  Returns (energy, d_k(x) or inf when fewer than k ions lie within r_cut).  A
    tie at the k-th distance is broken by candidate order (the k-d tree's order is arbitrary too)."""
    k, r_cut, f = consts[0], consts[1], consts[2]
    dbuf, wd, wa, work = bufs
    x0, x1, x2 = x[0], x[1], x[2]
    for attempt in range(2):
        lo, hi = (max(0.0, t_ref - s), min(t_ref + s, r_cut)) if attempt == 0 else (0.0, r_cut)
        lo = min(lo, hi)
        t_end = np.searchsorted(cdc[:n], hi + rx, side="right")
        t_in = np.searchsorted(cdc[:n], lo - rx, side="left")
        for t in range(t_end):
            dbuf[t] = math.sqrt((cxyz[0, t] - x0) ** 2 + (cxyz[1, t] - x1) ** 2 + (cxyz[2, t] - x2) ** 2)
        e_in, n_in, nw = 0.0, t_in, 0
        for t in range(t_in):
            e_in += _pair(dbuf[t], ca[t], kind, p, f)
        for t in range(t_in, t_end):
            d = dbuf[t]
            if d < lo:
                e_in += _pair(d, ca[t], kind, p, f)
                n_in += 1
            elif d <= hi and d < r_cut:
                wd[nw], wa[nw] = d, ca[t]
                nw += 1
        need = int(k) - n_in
        if need > 0 and (nw >= need or hi >= r_cut):
            break  # else the reference was not valid (cannot happen in exact arithmetic): no window
    if nw <= need:  # fewer than k ions within r_cut: all of them
        for w in range(nw):
            e_in += _pair(wd[w], wa[w], kind, p, f)
        return e_in, (wd[:nw].max() if nw == need else np.inf)
    thr = _kth_smallest(wd, work, nw, need - 1)
    for w in range(nw):
        if wd[w] < thr:
            e_in += _pair(wd[w], wa[w], kind, p, f)
            need -= 1
    for w in range(nw):
        if need > 0 and wd[w] == thr:
            e_in += _pair(wd[w], wa[w], kind, p, f)
            need -= 1
    return e_in, thr


def _gather(c, reach, img, origin, dims, start, items, bin_a, cand, dc):
    """Images within ``reach`` of c (cell list): indices into ``cand``, distances into ``dc``."""
    nc = 0
    rng = np.empty((3, 2), np.int64)
    for ax in range(3):
        rng[ax, 0] = max(0, int(math.floor((c[ax] - reach - origin[ax]) / bin_a)))
        rng[ax, 1] = min(dims[ax] - 1, int(math.floor((c[ax] + reach - origin[ax]) / bin_a)))
    for i in range(rng[0, 0], rng[0, 1] + 1):
        for j in range(rng[1, 0], rng[1, 1] + 1):
            for m in range(rng[2, 0], rng[2, 1] + 1):
                flat = (i * dims[1] + j) * dims[2] + m
                for t in range(start[flat], start[flat + 1]):
                    a = items[t]
                    d = math.sqrt((img[a, 0] - c[0]) ** 2 + (img[a, 1] - c[1]) ** 2 + (img[a, 2] - c[2]) ** 2)
                    if d <= reach:
                        cand[nc], dc[nc] = a, d
                        nc += 1
    return nc


def _grid_energy(shape, lat, img, src, kind, p, consts, blocks, bins):
    """BVSE on the periodic grid, block by block.  Candidates of a block (centre c, radius rho):
    the images within min(r_cut, d_k(c) + rho) + rho of c — by the triangle inequality no point of
    the block has one of its k nearest ions within r_cut outside; d_k(c) comes from the images
    within min(r_cut, d_k(c_prev) + |c - c_prev| + rho) + rho (1-Lipschitz bound again)."""
    k, r_cut, f, bin_a = consts
    lo, hi, centres, rho = blocks
    origin, dims, start, items = bins
    nx, ny, nz = shape[0], shape[1], shape[2]
    out = np.zeros(nx * ny * nz)
    m_img = img.shape[0]
    cand, dc = np.empty(m_img, np.int64), np.empty(m_img)
    cxyz, ca, cdc = np.empty((3, m_img)), np.empty(m_img, np.int64), np.empty(m_img)
    bufs = (np.empty(m_img), np.empty(m_img), np.empty(m_img, np.int64), np.empty(m_img))
    work = bufs[3]
    x, xr, refs = np.empty(3), np.empty((3, 3)), np.empty(3)
    upper = r_cut
    for b in range(lo.shape[0]):
        c = centres[b]
        shift = 0.0
        if b > 0:
            shift = math.sqrt(
                (c[0] - centres[b - 1, 0]) ** 2 + (c[1] - centres[b - 1, 1]) ** 2 + (c[2] - centres[b - 1, 2]) ** 2
            )
        reach = min(r_cut, upper + shift + rho[b]) + rho[b]
        nc = _gather(c, reach, img, origin, dims, start, items, bin_a, cand, dc)
        dk = _kth_smallest(dc, work, nc, k - 1) if nc >= k else np.inf
        upper = min(dk, r_cut)
        keep = min(r_cut, dk + rho[b]) + rho[b] + 1e-9
        n_keep = 0
        for t in range(nc):
            if dc[t] <= keep:
                cand[n_keep], dc[n_keep] = cand[t], dc[t]
                n_keep += 1
        order = np.argsort(dc[:n_keep])
        for u in range(n_keep):
            t = order[u]
            a = cand[t]
            cxyz[0, u], cxyz[1, u], cxyz[2, u] = img[a, 0], img[a, 1], img[a, 2]
            ca[u], cdc[u] = src[a], dc[t]
        # Lipschitz references (d_k, point): last point, first point of the row, of the plane
        refs[:] = dk if dk < np.inf else r_cut
        for r in range(3):
            xr[r, :] = c
        for i in range(lo[b, 0], hi[b, 0] + 1):
            for j in range(lo[b, 1], hi[b, 1] + 1):
                for m in range(lo[b, 2], hi[b, 2] + 1):
                    g0, g1, g2 = i / nx, j / ny, m / nz
                    for ax in range(3):
                        x[ax] = g0 * lat[0, ax] + g1 * lat[1, ax] + g2 * lat[2, ax]
                    r = 0 if m > lo[b, 2] else (1 if j > lo[b, 1] else 2)
                    s = math.sqrt((x[0] - xr[r, 0]) ** 2 + (x[1] - xr[r, 1]) ** 2 + (x[2] - xr[r, 2]) ** 2) + 1e-9
                    rx = math.sqrt((x[0] - c[0]) ** 2 + (x[1] - c[1]) ** 2 + (x[2] - c[2]) ** 2) + 1e-9
                    e, thr = _point_energy(x, rx, cxyz, ca, cdc, n_keep, kind, p, consts, refs[r], s, bufs)
                    out[(i * ny + j) * nz + m] = e
                    if thr < np.inf:
                        for q in range(r + 1):  # this point now starts its row (and plane)
                            refs[q] = thr
                            xr[q, :] = x
    return out


def _find(parent, pot, x, tmp):
    """Root of x; ``tmp`` receives x's offset (in cells) relative to its root; compresses the path."""
    r = x
    t0 = t1 = t2 = 0
    while parent[r] != r:
        t0 += pot[r, 0]
        t1 += pot[r, 1]
        t2 += pot[r, 2]
        r = parent[r]
    tmp[0], tmp[1], tmp[2] = t0, t1, t2
    y = x
    while y != r and parent[y] != r:
        nxt = parent[y]
        u0, u1, u2 = pot[y, 0], pot[y, 1], pot[y, 2]
        parent[y] = r
        pot[y, 0], pot[y, 1], pot[y, 2] = t0, t1, t2
        t0, t1, t2 = t0 - u0, t1 - u1, t2 - u2
        y = nxt
    return r


def _span_add(mask, t):
    """F2 subspace of {0,1}^3 as an 8-bit membership mask (bit t: vector t in the span); add t."""
    if (mask >> t) & 1:
        return mask
    new = mask
    for s in range(8):
        if (mask >> s) & 1:
            new |= 1 << (s ^ t)
    return new


def _basis_add(basis, rank, r, v0, v1, v2):
    """Add the integer translation v to root r's lattice basis when it raises the rank."""
    m = rank[r]
    if (v0 == 0 and v1 == 0 and v2 == 0) or m == 3:
        return
    a0, a1, a2 = basis[r, 0, 0], basis[r, 0, 1], basis[r, 0, 2]
    if m == 1 and a1 * v2 - a2 * v1 == 0 and a2 * v0 - a0 * v2 == 0 and a0 * v1 - a1 * v0 == 0:
        return
    if m == 2:
        b0, b1, b2 = basis[r, 1, 0], basis[r, 1, 1], basis[r, 1, 2]
        if (a1 * b2 - a2 * b1) * v0 + (a2 * b0 - a0 * b2) * v1 + (a0 * b1 - a1 * b0) * v2 == 0:
            return
    basis[r, m, 0], basis[r, m, 1], basis[r, m, 2] = v0, v1, v2
    rank[r] = m + 1


def _link(p, q, o, parent, pot, size, mask, basis, rank, tp, tq):
    """Edge p -> (q shifted by cells o): merge the clusters or record the loop's translation.
    Returns the root of the (merged) cluster."""
    rp = _find(parent, pot, p, tp)
    rq = _find(parent, pot, q, tq)
    # q's image next to p lies at tp + o in rp's frame, and at tq in rq's frame
    v0, v1, v2 = tp[0] + o[0] - tq[0], tp[1] + o[1] - tq[1], tp[2] + o[2] - tq[2]
    if rp == rq:
        mask[rp] = _span_add(mask[rp], (v0 & 1) | ((v1 & 1) << 1) | ((v2 & 1) << 2))
        _basis_add(basis, rank, rp, v0, v1, v2)
        return rp
    if size[rp] < size[rq]:  # hang the smaller tree: rq's root sits at v in rp's frame
        rp, rq, v0, v1, v2 = rq, rp, -v0, -v1, -v2
    parent[rq] = rp
    pot[rq, 0], pot[rq, 1], pot[rq, 2] = v0, v1, v2
    size[rp] += size[rq]
    for t in range(8):
        if (mask[rq] >> t) & 1:
            mask[rp] = _span_add(mask[rp], t)
    for b in range(rank[rq]):
        _basis_add(basis, rank, rp, basis[rq, b, 0], basis[rq, b, 1], basis[rq, b, 2])
    return rp


def _sweep(order, rel, shape):
    """Add grid points by increasing energy (26 periodic neighbours each); the energies at which a
    cluster first has 2, 4, 8 images in the 2x2x2 torus, then first has rank 1, 2, 3."""
    nx, ny, nz = shape[0], shape[1], shape[2]
    n = nx * ny * nz
    parent, size, mask, rank = (
        np.full(n, -1, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
    )
    pot, basis = np.zeros((n, 3), np.int64), np.zeros((n, 3, 3), np.int64)
    out = np.full(6, np.inf)
    tp, tq, o, idx = np.zeros(3, np.int64), np.zeros(3, np.int64), np.zeros(3, np.int64), np.zeros(3, np.int64)
    best_f2 = best_z = 0
    for p in order:
        parent[p], size[p], mask[p] = p, 1, 1
        idx[0], idx[1], idx[2] = p // (ny * nz), (p // nz) % ny, p % nz
        for nb in range(27):
            if nb == 13:  # (0, 0, 0)
                continue
            q = 0
            for ax in range(3):
                c = idx[ax] + (nb // 3 ** (2 - ax)) % 3 - 1
                o[ax] = -1 if c < 0 else (1 if c >= shape[ax] else 0)
                q = q * shape[ax] + c - o[ax] * shape[ax]
            if parent[q] < 0:
                continue
            root = _link(p, q, o, parent, pot, size, mask, basis, rank, tp, tq)
            m, count = mask[root], 0
            while m:
                count += m & 1
                m >>= 1
            f2 = 0 if count == 1 else (1 if count == 2 else (2 if count == 4 else 3))
            while best_f2 < f2:
                out[best_f2] = rel[p]
                best_f2 += 1
            while best_z < rank[root]:
                out[3 + best_z] = rel[p]
                best_z += 1
        if best_f2 == 3 and best_z == 3:
            break
    return out
