"""Bond-valence oxidation states of an *ordered* structure: pymatgen's ``BVAnalyzer`` algorithm, without its objects.

:class:`~pymatgen.analysis.bond_valence.BVAnalyzer` (O'Keeffe & Brese 1991 bond-valence sums, a
maximum a posteriori choice among the ICSD oxidation states) spends most of its time building
Python objects, not computing: a ``PeriodicNeighbor`` per neighbour, an ``Element`` per bond,
numpy array copies at every node of its charge-balance search.  Profiled on 400 MP Li structures
(chapter 06's pool), those account for most of its ~24 ms per structure.

:func:`ordered_valences` runs the same steps on indices and plain floats, in the same order, with the
same arithmetic, so it returns pymatgen's answer bit for bit (tested against ``BVAnalyzer`` on real
MP structures; ``benchmarks/bench_valences.py`` compares thousands and reports the speed-up):

1. symmetry classes from spglib's ``equivalent_atoms`` (what ``get_symmetrized_structure`` groups
   by), ordered by decreasing electronegativity of their first site (a stable sort, as pymatgen);
2. per class, the bond-valence sum of its first site, V = Σ_j ± exp((R_ij − 1.015 d_ij) / 0.31)
   over its neighbours within ``max_radius`` (Å) in pymatgen's neighbour order, with
   R_ij = r_i + r_j − r_i r_j (√c_i − √c_j)² / (c_i r_i + c_j r_j) (O'Keeffe & Brese Eq. 3) and the
   sign + when the site is the less electronegative of the pair;
3. per class, the posterior of each ICSD oxidation state s, P(s | V) ∝ N(V; μ_s, σ_s) P(s),
   normalised; states below 1 % of the most probable are dropped;
4. the depth-first search over class valences, pruned when no completion can be charge neutral,
   stopping after ``max_permutations`` visited leaves/prunes, keeping the most probable assignment
   in which no element's classes differ by more than one unit.

Anything it does not reproduce exactly (a disordered structure, a non-integer ICSD state) is left to
the caller, which runs pymatgen itself (:func:`matmap_utils.data.valences.bv_valences`).
"""

from __future__ import annotations

import functools
import math
import operator
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from pymatgen.analysis.bond_valence import BV_PARAMS, ELECTRONEG, ICSD_BV_DATA, PRIOR_PROB
from pymatgen.core import Element, Site, Structure, get_el_sp
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

#: ``BVAnalyzer``'s defaults (pymatgen), the settings :func:`ordered_valences` accepts.
DEFAULTS = {"symm_tol": 0.1, "max_radius": 4, "max_permutations": 100_000, "distance_scale_factor": 1.015}
#: Coincidence tolerance of pymatgen's neighbour search (Å).
_NUMERICAL_TOL = 1e-8


class NotReproduced(Exception):
    """The structure or the settings are outside what :func:`ordered_valences` reproduces exactly."""


@functools.cache
def _state_table(symbol: str, forbidden: tuple[str, ...]) -> tuple[tuple[float, float, float, float], ...]:
    """``(oxidation state, mean BV sum, std, prior)`` of ``symbol``'s ICSD species, in the order of
    pymatgen's table (``forbidden`` species removed, zero states and zero spreads skipped)."""
    banned = [get_el_sp(sp) for sp in forbidden]
    data = {get_el_sp(sp): d for sp, d in ICSD_BV_DATA.items() if sp not in banned} if banned else ICSD_BV_DATA
    rows = []
    for sp, d in data.items():
        if sp.symbol == symbol and sp.oxi_state != 0 and d["std"] > 0:
            if float(sp.oxi_state) != int(sp.oxi_state):
                raise NotReproduced(f"non-integer ICSD oxidation state {sp}")
            rows.append((sp.oxi_state, d["mean"], d["std"], PRIOR_PROB[sp]))
    return tuple(rows)


@functools.cache
def _pair(symbol1: str, symbol2: str) -> tuple[float, int] | None:
    """``(R_12, sign)`` of a bond from ``symbol1`` to ``symbol2`` (Å; +1 when 1 is less
    electronegative), or None when the pair has no bond valence (same element, or neither in
    O'Keeffe & Brese's electronegative list) — pymatgen's ``calculate_bv_sum`` term by term."""
    el1, el2 = Element(symbol1), Element(symbol2)
    if not ((el1 in ELECTRONEG or el2 in ELECTRONEG) and el1 != el2):
        return None
    r1, r2 = BV_PARAMS[el1]["r"], BV_PARAMS[el2]["r"]
    c1, c2 = BV_PARAMS[el1]["c"], BV_PARAMS[el2]["c"]
    R = r1 + r2 - r1 * r2 * (math.sqrt(c1) - math.sqrt(c2)) ** 2 / (c1 * r1 + c2 * r2)
    return R, (1 if el1.X < el2.X else -1)


def symmetry_classes(structure: Structure, symm_tol: float) -> list[list[int]]:
    """Site indices grouped as ``SymmetrizedStructure.equivalent_indices`` groups them (one class
    per site when ``symm_tol`` is 0)."""
    if not symm_tol:
        return [[i] for i in range(len(structure))]
    eq = SpacegroupAnalyzer(structure, symm_tol).get_symmetry_dataset().equivalent_atoms
    uniq, inverse = np.unique(eq, return_inverse=True)
    classes: list[list[int]] = [[] for _ in range(len(uniq))]
    for i, k in enumerate(inverse):
        classes[k].append(i)
    return classes


def _neighbours(structure: Structure, i: int, r: float) -> tuple[np.ndarray, np.ndarray]:
    """(point indices, distances in Å) of site ``i``'s neighbours within ``r``, in the order and
    with the self-exclusion of pymatgen's ``Structure.get_neighbors``."""
    site = structure[i]
    _, points, _, dist = structure.get_neighbor_list(r=r, sites=[site], numerical_tol=_NUMERICAL_TOL)
    keep = dist > _NUMERICAL_TOL
    for j in np.flatnonzero(~keep):  # coincident points: kept only when they are another site
        other = structure[int(points[j])]
        keep[j] = (
            other.species != site.species
            or not np.allclose(other.coords, site.coords, atol=Site.position_atol)
            or other.properties != site.properties
        )
    return points[keep], dist[keep]


def bv_sum(structure: Structure, i: int, symbols: Sequence[str], r: float, scale: float):
    """Bond-valence sum of site ``i`` (valence units), pymatgen's ``calculate_bv_sum`` term for term."""
    total = 0
    points, dist = _neighbours(structure, i, r)
    me = symbols[i]
    for j, d in zip(points, dist):
        pair = _pair(me, symbols[j])
        if pair is not None:
            total += math.exp((pair[0] - d * scale) / 0.31) * pair[1]
    return total


def site_probabilities(symbol: str, v: float, forbidden: tuple[str, ...]) -> dict:
    """Normalised posterior of each oxidation state of ``symbol`` given the BV sum ``v``."""
    prob = {}
    for state, mean, std, prior in _state_table(symbol, forbidden):
        prob[state] = math.exp(-((v - mean) ** 2) / 2 / (std**2)) / std * prior
    try:
        return {k: p / sum(prob.values()) for k, p in prob.items()}
    except ZeroDivisionError:
        return dict.fromkeys(prob, 0)


def _search(valences, n_sites, probs, class_symbols, max_permutations: int):
    """The most probable charge-neutral class assignment (or None): pymatgen's pruned depth-first
    search, visiting and counting nodes in its order."""
    vmin = [min(v) for v in valences]
    vmax = [max(v) for v in valences]
    n = len(valences)
    hi_rest, lo_rest = [0.0] * (n + 1), [0.0] * (n + 1)
    for i in range(n - 1, -1, -1):
        hi_rest[i] = hi_rest[i + 1] + vmax[i] * n_sites[i]
        lo_rest[i] = lo_rest[i + 1] + vmin[i] * n_sites[i]
    state = {"count": 0, "best": None, "score": 0}
    assigned: list = []

    def evaluate():
        by_el = defaultdict(list)
        for k, v in enumerate(assigned):
            by_el[class_symbols[k]].append(v)
        if max(max(v) - min(v) for v in by_el.values()) > 1:
            return
        score = functools.reduce(operator.mul, [probs[k][v] for k, v in enumerate(assigned)])
        if score > state["score"]:
            state["best"], state["score"] = list(assigned), score

    def recurse(i: int, charge: float):
        if state["count"] > max_permutations:
            return
        if charge + hi_rest[i] < 0 or charge + lo_rest[i] > 0:
            state["count"] += 1
            return
        if i == n:
            evaluate()
            state["count"] += 1
            return
        for v in valences[i]:
            assigned.append(v)
            recurse(i + 1, charge + v * n_sites[i])
            assigned.pop()

    recurse(0, 0.0)
    return state["best"]


def ordered_valences(
    structure: Structure,
    *,
    symm_tol: float = DEFAULTS["symm_tol"],
    max_radius: float = DEFAULTS["max_radius"],
    max_permutations: int = DEFAULTS["max_permutations"],
    distance_scale_factor: float = DEFAULTS["distance_scale_factor"],
    forbidden_species: Sequence[str] | None = None,
) -> list[int]:
    """``BVAnalyzer(...).get_valences(structure)`` for an ordered structure (module doc): the
    integer oxidation state of every site.  Raises ``ValueError`` as pymatgen does ("Valences cannot
    be assigned!", elements without BV parameters, an element without ICSD states) and
    :class:`NotReproduced` for a disordered structure."""
    if not structure.is_ordered:
        raise NotReproduced("disordered structure")
    els = [Element(el.symbol) for el in structure.elements]
    if diff := set(els) - set(BV_PARAMS):
        raise ValueError(f"Structure contains elements not in set of BV parameters: {diff}")
    forbidden = tuple(str(sp) for sp in forbidden_species or ())
    symbols = [site.specie.symbol for site in structure]
    classes = sorted(symmetry_classes(structure, symm_tol), key=lambda c: -structure[c[0]].species.average_electroneg)
    valences, probs = [], []
    for c in classes:
        v = bv_sum(structure, c[0], symbols, max_radius, distance_scale_factor)
        prob = site_probabilities(symbols[c[0]], v, forbidden)
        probs.append(prob)
        order = sorted(prob, key=lambda s: -prob[s])
        valences.append([s for s in order if prob[s] > 0.01 * prob[order[0]]])
    best = _search(valences, [len(c) for c in classes], probs, [symbols[c[0]] for c in classes], max_permutations)
    if not best:
        raise ValueError("Valences cannot be assigned!")
    out = [0] * len(structure)
    for val, c in zip(best, classes):
        for i in c:
            out[i] = int(val)
    return out
