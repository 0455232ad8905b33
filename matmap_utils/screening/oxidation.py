"""Oxidation-state signs for the CAMNS/CANS simplifications (McHaffie et al. 2025, Sec. 4.3).

The paper read each non-Li atom's oxidation state from its ICSD CIF and sent positive states to
Al, negative ones to S and 0 to Mg.  Public CIFs (OBELiX, MP) carry no oxidation states, so
:func:`site_signs` takes, in order:

1. ``"structure"`` — oxidation states stored on the species (a CIF with
   ``_atom_type_oxidation_number``, or a structure decorated by the user), per site;
2. ``"bond valence"`` — pymatgen's :class:`~pymatgen.analysis.bond_valence.BVAnalyzer` (bond-valence
   sums, O'Keeffe & Brese 1991) for ordered structures, per site, through
   :func:`matmap_utils.data.valences.bv_valences` (the same result, ~12x faster for ordered structures);
3. ``"composition guess"`` — for disordered structures, and for ordered ones where the
   bond-valence analysis finds no assignment: :func:`composition_signs`, a charge-balanced choice of
   each element's oxidation state among its ICSD oxidation states (pymatgen ``icsd_oxidation_states``),
   one element at most being mixed-valent;
4. otherwise :class:`OxidationStateError` (a structure with no valid assignment — typically an
   intermetallic such as Li15Au4 — is reported, not forced through an electronegativity rule).

Results are cached per structure (:data:`CACHE`): the bond-valence analysis costs ~2 ms per
structure on the 21,755-compound pool (pymatgen's own ~25 ms; seconds for a few large cells).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
from pymatgen.core import Composition, DummySpecies, Element, Species, Structure

from matmap_utils.core.cache import CacheKind, atomic_write_json, structure_fingerprint
from matmap_utils.data.valences import bv_valences

#: Settings of the assignment (hashed into the cache key).
SETTINGS = {"bv_max_permutations": 1000, "max_combinations": 2_000_000, "tol": 1e-3, "rel_tol": 0.05}
#: One JSON file per structure: ``{"signs": [{element: sign}, ...per site], "source": ...}`` or the error.
CACHE = CacheKind("oxidation_signs", folder="oxidation_signs", version=1)


class OxidationStateError(ValueError):
    """No valid oxidation-state assignment for a structure."""


def element_symbol(sp) -> str:
    """The element symbol of a species / element / string (dummy species are an error)."""
    if isinstance(sp, DummySpecies):
        raise ValueError(f"dummy species {sp} cannot be simplified")
    return sp.symbol if isinstance(sp, (Element, Species)) else Element(str(sp)).symbol


def _sign(x: float, tol: float = 1e-6) -> int:
    return 0 if abs(x) <= tol else (1 if x > 0 else -1)


def _states(el: str) -> tuple[int, ...]:
    e = Element(el)
    return tuple(sorted(set(e.icsd_oxidation_states or e.oxidation_states or (0,))))


def _sums(states: tuple[int, ...], n: int) -> set[int]:
    """Every total oxidation state that ``n`` atoms with ``states`` can reach."""
    reach = {0}
    for _ in range(n):
        reach = {r + s for r in reach for s in states}
    return reach


def _score(els, amts, ox) -> np.ndarray:
    """Electronegativity-weighted negative charge: larger when electronegative elements are the anions."""
    chi = np.array([Element(e).X if Element(e).X == Element(e).X else 0.0 for e in els])
    return -(np.asarray(ox) * (amts * chi)).sum(-1)


def composition_signs(
    composition: Composition, max_combinations: int = 2_000_000, tol: float = 1e-3, rel_tol: float = 0.05
) -> dict:
    """Charge-balanced oxidation-state signs of a composition (fractional amounts allowed).

    Step 1: one ICSD oxidation state per element with Σ amount × state = 0 (within ``tol`` × atoms;
    for fractional amounts — refined occupancies are rarely exactly neutral — within ``rel_tol`` ×
    Σ amount × ``|state|``).
    Step 2 (none found): one element mixed-valent — its total must be reachable by its atoms'
    integer states (for integer amounts; within the range of its states for fractional ones).
    Among balanced assignments the one putting the negative charge on the most electronegative
    elements wins.  Raises :class:`OxidationStateError` when none exists.
    """
    comp = composition.element_composition
    red = comp.reduced_composition
    els = sorted(str(e) for e in red.elements)
    amts = np.array([float(red[e]) for e in els])
    if len(els) == 1:  # an element: every site neutral (oxidation state 0 → Mg in the simplification)
        return {els[0]: 0}
    states = [_states(e) for e in els]
    if int(np.prod([len(s) for s in states], dtype=float)) > max_combinations:
        raise OxidationStateError(f"{red.reduced_formula}: too many oxidation-state combinations")
    limit = tol * max(1.0, amts.sum())
    integer = np.allclose(amts, np.round(amts), atol=1e-8)
    grid = np.array(list(itertools.product(*states)), dtype=float)
    allowed = limit if integer else np.maximum(limit, rel_tol * (np.abs(grid) @ amts))
    ok = np.abs(grid @ amts) <= allowed
    if ok.any():
        best = grid[ok][int(np.argmax(_score(els, amts, grid[ok])))]
        return {e: _sign(x) for e, x in zip(els, best)}
    cands = []
    for j in range(len(els)):
        others = [s for i, s in enumerate(states) if i != j]
        rest = np.array(list(itertools.product(*others)), dtype=float).reshape(-1, len(others))
        need = -(rest @ np.delete(amts, j))  # total oxidation state element j must carry
        if integer:
            reach = np.array(sorted(_sums(states[j], int(round(amts[j])))), dtype=float)
            good = np.isin(np.round(need, 6), reach)
        else:
            good = (need >= min(states[j]) * amts[j] - limit) & (need <= max(states[j]) * amts[j] + limit)
        for r, t in zip(rest[good], need[good]):
            cands.append(np.insert(r, j, t / amts[j]))
    if not cands:
        raise OxidationStateError(
            f"{red.reduced_formula}: no charge-balanced oxidation states (bond valence and composition guess failed)"
        )
    cands = np.array(cands)
    best = cands[int(np.argmax(_score(els, amts, cands)))]
    return {e: _sign(x) for e, x in zip(els, best)}


def _species_signs(structure: Structure) -> list[dict] | None:
    """Per-site signs from species oxidation states, or None when any species has none."""
    out = []
    for site in structure:
        d = {}
        for sp in site.species:
            ox = getattr(sp, "oxi_state", None)
            if ox is None or isinstance(sp, Element):
                return None
            d[element_symbol(sp)] = _sign(float(ox))
        out.append(d)
    return out


def _bond_valence_signs(structure: Structure, max_permutations: int) -> list[dict] | None:
    """Per-site signs from pymatgen's BVAnalyzer (ordered structures), or None when it fails."""
    try:
        valences = bv_valences(structure, max_permutations=max_permutations)
    except Exception:  # noqa: BLE001 - "Valences cannot be assigned", elements without BV parameters
        return None
    return [{element_symbol(site.specie): _sign(float(v))} for site, v in zip(structure, valences)]


def compute_site_signs(structure: Structure, settings: dict = SETTINGS) -> tuple[list[dict], str]:
    """``(signs, source)``: per site a dict element → sign (+1, −1, 0); source as in the module doc.

    Raises :class:`OxidationStateError` when nothing gives a valid assignment."""
    signs = _species_signs(structure)
    if signs is not None:
        return signs, "structure"
    if structure.is_ordered:
        signs = _bond_valence_signs(structure, settings["bv_max_permutations"])
        if signs is not None:
            return signs, "bond valence"
    by_el = composition_signs(structure.composition, settings["max_combinations"], settings["tol"], settings["rel_tol"])
    return [{element_symbol(sp): by_el[element_symbol(sp)] for sp in site.species} for site in structure], (
        "composition guess"
    )


def site_signs(structure: Structure, cache: bool = True) -> tuple[list[dict], str]:
    """:func:`compute_site_signs`, cached per structure (errors are cached too, and re-raised)."""
    path = CACHE.path(CACHE.key(structure_fingerprint(structure), SETTINGS), ".json")
    if cache and path.exists():
        rec = json.loads(path.read_text())
    else:
        try:
            signs, source = compute_site_signs(structure)
            rec = {"signs": signs, "source": source}
        except OxidationStateError as exc:
            rec = {"error": str(exc)}
        if cache:
            atomic_write_json(path, rec)
    if "error" in rec:
        raise OxidationStateError(rec["error"])
    return [{k: int(v) for k, v in d.items()} for d in rec["signs"]], rec["source"]
