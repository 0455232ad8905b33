"""Equivalent atoms of a crystal graph, and the smaller graph a message-passing network needs.

A message-passing network with mean (or attention) pooling, such as MEGNet, gives two atoms the
same features at every layer whenever their neighbourhoods cannot be told apart by message
passing: same species, and the same multiset of (neighbour class, bond length) — recursively.
The coarsest such partition is the stable colouring of 1-dimensional Weisfeiler–Lehman
refinement with bond lengths as edge labels.  It contains every symmetry orbit of the crystal
(atoms related by a space-group operation or a lattice translation of a supercell), found here
from the graph alone, without a symmetry search.

On that partition the network can run on a *quotient graph*: one node per class (weight = the
number of atoms it stands for) and, from each class's first atom, one bond per distinct
(neighbour class, bond length) (weight = how many bonds it stands for).  Means over a node's
bonds, over a graph's atoms and over its bonds, and softmax attention become weighted sums, and
the result equals the full computation up to float rounding (by induction over the layers: equal
inputs, equal weighted messages).  On the 21,755 Materials Project Li compounds of the mirror:
1.51x fewer nodes and 1.60x fewer bonds in total (at 5 Å and at 4 Å); per structure the bond
reduction has median 2.0x, 90th percentile 7.6x and maximum 97x, while 43 % of the structures
(low symmetry in their primitive cell) have no two equivalent atoms.  Finding the classes and
quotient bonds takes 0.16 ms per structure (median).

Bond lengths are compared after rounding to ``quantum`` (default 1e-5 Å); two lengths that
differ by less than that but fall on either side of a rounding edge only make the partition
finer, which is always safe.  The refinement hashes multisets with 64-bit mixing (splitmix64)
of the labels; a false merge needs a 64-bit collision (probability about n²/2⁶⁴).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QUANTUM", "equivalence_classes", "quotient_bonds", "Quotient", "quotient"]


#: Bond lengths equal after rounding to this (Å) count as equal.
QUANTUM = 1e-5


_KERNELS = None


def _hash_kernels(numba, opts):
    """numba kernels ``mix`` (splitmix64 finaliser of a uint64) and ``dense_first_seen`` (keys
    renumbered 0, 1, 2, ... in order of first appearance, and how many distinct)."""
    u64 = np.uint64

    @numba.njit(**opts)
    def mix(x):  # splitmix64 finaliser
        z = x + u64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> u64(30))) * u64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> u64(27))) * u64(0x94D049BB133111EB)
        return z ^ (z >> u64(31))

    @numba.njit(**opts)
    def dense_first_seen(keys):
        """Renumber ``keys`` 0, 1, 2, ... in order of first appearance."""
        n = keys.shape[0]
        order = np.argsort(keys, kind="mergesort")
        tmp = np.empty(n, np.int64)
        k = -1
        for t in range(n):
            if t == 0 or keys[order[t]] != keys[order[t - 1]]:
                k += 1
            tmp[order[t]] = k
        remap = np.full(k + 1, -1, np.int64)
        out = np.empty(n, np.int64)
        c = 0
        for i in range(n):
            if remap[tmp[i]] < 0:
                remap[tmp[i]] = c
                c += 1
            out[i] = remap[tmp[i]]
        return out, c

    return mix, dense_first_seen


def _refine_kernel(numba, opts, mix, dense_first_seen):
    """numba kernel ``refine(init, index1, index2, dq) -> (colour, n_colours)``: 1-WL colour
    refinement with quantized bond lengths ``dq`` as edge labels, until the colouring is stable."""
    u64 = np.uint64

    @numba.njit(**opts)
    def refine(init, index1, index2, dq):
        n = init.shape[0]
        color, ncol = dense_first_seen(init.astype(np.uint64))
        sig = np.empty(n, np.uint64)
        key = np.empty(n, np.uint64)
        for _ in range(n + 1):
            sig[:] = 0
            for b in range(index1.shape[0]):
                lab = mix(u64(color[index2[b]]) * u64(0x100000001B3) ^ mix(u64(dq[b])))
                sig[index1[b]] += lab
            for i in range(n):
                key[i] = mix(u64(color[i]) ^ mix(sig[i] + u64(0x632BE59BD9B4E019)))
            new, nnew = dense_first_seen(key)
            color = new
            if nnew == ncol:
                break
            ncol = nnew
        return color, ncol

    return refine


def _qbonds_kernel(numba, opts):
    """numba kernel ``qbonds(color, ncol, index1, index2, dq) -> (rep, first, count)``: each
    class's first atom, and the bonds of those atoms grouped by (class, neighbour class, length)."""

    @numba.njit(**opts)
    def qbonds(color, ncol, index1, index2, dq):
        n = color.shape[0]
        rep = np.full(ncol, -1, np.int64)
        for i in range(n):
            if rep[color[i]] < 0:
                rep[color[i]] = i
        sel = np.empty(index1.shape[0], np.int64)
        m = 0
        for b in range(index1.shape[0]):
            if rep[color[index1[b]]] == index1[b]:
                sel[m] = b
                m += 1
        sel = sel[:m]
        keys = np.empty(m, np.int64)
        shift = np.int64(ncol)
        for t in range(m):
            b = sel[t]
            keys[t] = (color[index1[b]] * shift + color[index2[b]]) * np.int64(1 << 24) + dq[b]
        order = np.argsort(keys, kind="mergesort")
        first = np.empty(m, np.int64)
        count = np.empty(m, np.int64)
        g = -1
        for t in range(m):
            if t == 0 or keys[order[t]] != keys[order[t - 1]]:
                g += 1
                first[g] = sel[order[t]]
                count[g] = 0
            count[g] += 1
        return rep, first[: g + 1], count[: g + 1]

    return qbonds


def _kernels():
    """numba kernels ``(refine, qbonds)`` (compiled once, cached on disk); ``False`` when numba is
    unavailable."""
    global _KERNELS
    if _KERNELS is None:
        try:
            import numba  # lazy: optional accelerator; its import and compilation cost seconds

            opts = dict(cache=True, nogil=True)
            mix, dense_first_seen = _hash_kernels(numba, opts)
            _KERNELS = (_refine_kernel(numba, opts, mix, dense_first_seen), _qbonds_kernel(numba, opts))
        except Exception:  # noqa: BLE001 - numba missing or broken: no reduction
            _KERNELS = False
    return _KERNELS


def available() -> bool:
    return bool(_kernels())


def _dq(distance: np.ndarray, quantum: float) -> np.ndarray:
    dq = np.rint(np.asarray(distance, dtype=np.float64) / quantum).astype(np.int64)
    if dq.size and (dq.min() < 0 or dq.max() >= 1 << 24):
        raise ValueError(f"bond lengths must lie in [0, {(1 << 24) * quantum:g}) Å for quantum {quantum}")
    return dq


def equivalence_classes(init_labels, index1, index2, distance, quantum: float = QUANTUM):
    """Stable Weisfeiler–Lehman colouring of a directed graph with bond-length labels.

    ``init_labels`` (one integer per node; equal ↔ same input features), bonds ``index1 → index2``
    with lengths ``distance``.  Returns ``(classes, n_classes)``: ``classes[i]`` in 0..n-1,
    numbered in order of first appearance (the first node of each class is its representative).
    """
    k = _kernels()
    if not k:
        raise RuntimeError("numba is needed for the equivalence classes")
    init = np.ascontiguousarray(init_labels, dtype=np.int64)
    i1 = np.ascontiguousarray(index1, dtype=np.int64)
    i2 = np.ascontiguousarray(index2, dtype=np.int64)
    if i1.size and (min(i1.min(), i2.min()) < 0 or max(i1.max(), i2.max()) >= init.size):
        raise ValueError("bond indices out of range")
    color, n = k[0](init, i1, i2, _dq(distance, quantum))
    return color, int(n)


def quotient_bonds(classes, n_classes: int, index1, index2, distance, quantum: float = QUANTUM):
    """Bonds of the quotient graph: from each class's representative, one per distinct
    (neighbour class, bond length).  Returns ``(rep, bonds, count)``: the representative node of
    each class, the original index of the bond kept for each quotient bond, and how many of the
    representative's bonds it stands for."""
    k = _kernels()
    if not k:
        raise RuntimeError("numba is needed for the quotient graph")
    i1 = np.ascontiguousarray(index1, dtype=np.int64)
    i2 = np.ascontiguousarray(index2, dtype=np.int64)
    return k[1](np.ascontiguousarray(classes, dtype=np.int64), int(n_classes), i1, i2, _dq(distance, quantum))


@dataclass
class Quotient:
    """A graph reduced to its equivalence classes (see the module docstring)."""

    classes: np.ndarray  # int64 (n_nodes,): class of each original node
    rep: np.ndarray  # int64 (n_classes,): representative (first) node of each class
    node_weight: np.ndarray  # float32 (n_classes,): atoms per class
    bonds: np.ndarray  # int64 (n_qbonds,): original index of each kept bond
    bond_count: np.ndarray  # float32 (n_qbonds,): bonds of the representative it stands for

    @property
    def n_classes(self) -> int:
        return int(self.rep.shape[0])


def quotient(init_labels, index1, index2, distance, quantum: float = QUANTUM) -> Quotient:
    """Equivalence classes and the quotient bonds of one graph."""
    classes, n = equivalence_classes(init_labels, index1, index2, distance, quantum)
    rep, bonds, count = quotient_bonds(classes, n, index1, index2, distance, quantum)
    weight = np.bincount(classes, minlength=n).astype(np.float32)
    return Quotient(classes, rep, weight, bonds, count.astype(np.float32))
