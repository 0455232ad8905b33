"""Structure simplifications of McHaffie et al. (2025), applied before graph construction.

* ``CAMN``  — the structure as it is (cations, anions, mobile Li, neutral atoms).
* ``CAN``   — Li removed.
* ``CAMNS`` — every non-Li species replaced by a representative: cation (oxidation state > 0)
  -> Al, anion (< 0) -> S, neutral (0) -> Mg; Li kept.
* ``CANS``  — the CAMNS substitution and Li removed.

Disordered sites: each species of a site is substituted separately and occupancies of species that
become the same element are added (a La0.5Zr0.5 site becomes Al1.0; a Li0.5Zr0.5 site becomes
Li0.5Al0.5 in CAMNS and Al0.5 in CANS).  A site left with no species (pure Li in CAN/CANS) is
removed.

Oxidation states: the paper read them from the ICSD CIFs.  The public CIFs we use (OBELiX, MP)
carry none, so :func:`ion_signs` takes, in order: the oxidation states stored on the species (a CIF
with ``_atom_type_oxidation_number``, or a structure decorated by the user), else a
composition-level rule: halogens and O are anions; without O, S/Se/Te are anions; the most
electronegative non-Li element is always an anion; all other elements are cations.  Neutral atoms
(-> Mg) therefore only arise from explicit oxidation states of 0.  This differs from the paper for
compounds whose CIF assigns per-site states a composition rule cannot see (e.g. the P0/P1- atoms of
LiP5, or mixed-valence anions).
"""

from __future__ import annotations

from collections import defaultdict

from pymatgen.core import Composition, DummySpecies, Element, Species, Structure

MODES = ("CAMN", "CAN", "CAMNS", "CANS")


SUBSTITUTE = {1: "Al", -1: "S", 0: "Mg"}


_HALOGENS = {"F", "Cl", "Br", "I"}


_CHALCOGENS = {"S", "Se", "Te"}


def _element(sp) -> str:
    if isinstance(sp, DummySpecies):
        raise ValueError(f"dummy species {sp} cannot be simplified")
    return sp.symbol if isinstance(sp, (Element, Species)) else Element(str(sp)).symbol


def rule_signs(elements) -> dict[str, int]:
    """Composition-level oxidation-state signs (see module docstring); Li is +1."""
    els = sorted({str(e) for e in elements})
    others = [e for e in els if e != "Li"]
    signs = {e: 1 for e in els}
    if others:
        chi = {e: (Element(e).X if Element(e).X == Element(e).X else 0.0) for e in others}
        signs[max(others, key=lambda e: (chi[e], e))] = -1
    for e in others:
        if e in _HALOGENS or e == "O":
            signs[e] = -1
        elif e in _CHALCOGENS and "O" not in els:
            signs[e] = -1
    if "Li" in signs:
        signs["Li"] = 1
    return signs


def ion_signs(structure: Structure) -> tuple[dict[str, int], str]:
    """Sign (+1, -1, 0) of the oxidation state of each element, and where it came from.

    Returns ``(signs, source)`` with source ``"structure"`` (species oxidation states) or ``"rule"``.
    Species oxidation states are per element here; an element present with both signs is an error.
    """
    states: dict[str, set[int]] = defaultdict(set)
    has_oxi = True
    for site in structure:
        for sp in site.species:
            ox = getattr(sp, "oxi_state", None)
            if ox is None or isinstance(sp, Element):
                has_oxi = False
                break
            states[_element(sp)].add(0 if ox == 0 else (1 if ox > 0 else -1))
        if not has_oxi:
            break
    if has_oxi and states:
        out = {}
        for el, s in states.items():
            if len(s) > 1:
                # e.g. P0 and P1- in one CIF: keep per-site information by majority sign
                out[el] = -1 if -1 in s else (1 if 1 in s else 0)
            else:
                out[el] = s.pop()
        return out, "structure"
    return rule_signs(structure.composition.elements), "rule"


def simplify(structure: Structure, mode: str = "CAMNS", signs: dict[str, int] | None = None) -> Structure:
    """Return the simplified copy of ``structure`` for ``mode`` in :data:`MODES`.

    Raises ``ValueError`` for an unknown mode, or when nothing is left (a structure of Li only
    under CAN/CANS).
    """
    mode = mode.upper()
    if mode not in MODES:
        raise ValueError(f"unknown simplification {mode!r}; choose from {MODES}")
    if mode == "CAMN":
        return structure.copy()
    drop_li = mode in ("CAN", "CANS")
    substitute = mode in ("CAMNS", "CANS")
    if substitute and signs is None:
        signs, _ = ion_signs(structure)
    species, coords, _props = [], [], []
    for site in structure:
        occ: dict[str, float] = defaultdict(float)
        for sp, x in site.species.items():
            el = _element(sp)
            if el == "Li":
                if drop_li:
                    continue
                occ["Li"] += x
            elif substitute:
                occ[SUBSTITUTE[signs[el]]] += x
            else:
                occ[el] += x
        if not occ:
            continue
        occ = {k: min(v, 1.0) for k, v in occ.items()}
        total = sum(occ.values())
        if total > 1.0 + 1e-8:  # e.g. Li + merged species over-full after rounding
            occ = {k: v / total for k, v in occ.items()}
        species.append(Composition(occ))
        coords.append(site.frac_coords)
    if not species:
        raise ValueError(f"{structure.composition.reduced_formula}: nothing left after {mode} simplification")
    return Structure(structure.lattice, species, coords, coords_are_cartesian=False)


def simplify_all(structure: Structure, modes=MODES) -> dict[str, Structure]:
    """All requested simplifications of one structure (signs computed once)."""
    signs, _ = ion_signs(structure)
    return {m: simplify(structure, m, signs=signs) for m in modes}
