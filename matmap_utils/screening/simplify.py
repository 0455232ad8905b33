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

Oxidation states (:mod:`matmap_utils.screening.oxidation`): as the paper — which read them from the
ICSD CIFs — each atom's sign decides its substitute, per site: stored species oxidation states,
else bond-valence analysis for ordered structures, else a charge-balanced composition guess.  A
structure with no valid assignment (typically an intermetallic) raises
:class:`~matmap_utils.screening.oxidation.OxidationStateError` under CAMNS/CANS and is reported by
the featurization.  ``oxidation="rule"`` keeps the earlier composition rule (:func:`rule_signs`:
halogens and O are anions; S/Se/Te without O; the most electronegative non-Li element; never
neutral) for measuring what the paper's assignment changes.
"""

from __future__ import annotations

from collections import defaultdict

from pymatgen.core import Composition, Element, Structure

from matmap_utils.screening.oxidation import OxidationStateError, element_symbol, site_signs

MODES = ("CAMN", "CAN", "CAMNS", "CANS")


SUBSTITUTE = {1: "Al", -1: "S", 0: "Mg"}


_HALOGENS = {"F", "Cl", "Br", "I"}


_CHALCOGENS = {"S", "Se", "Te"}


_element = element_symbol

#: How the oxidation-state signs are assigned: the paper's (per site) or the earlier rule.
OXIDATION = ("paper", "rule")


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


def ion_signs(structure: Structure, oxidation: str = "paper") -> tuple[list[dict[str, int]], str]:
    """Per-site signs (+1, −1, 0) of each species' oxidation state, and where they came from.

    ``oxidation="paper"``: :func:`matmap_utils.screening.oxidation.site_signs` (source
    ``"structure"``, ``"bond valence"`` or ``"composition guess"``; raises ``OxidationStateError``
    when no valid assignment exists).  ``oxidation="rule"``: species oxidation states when every
    species has one, else :func:`rule_signs` (source ``"rule"``).
    """
    if oxidation not in OXIDATION:
        raise ValueError(f"unknown oxidation-state assignment {oxidation!r}; choose from {OXIDATION}")
    if oxidation == "paper":
        return site_signs(structure)
    by_el = rule_signs(structure.composition.elements)
    source = "rule"
    if all(getattr(sp, "oxi_state", None) is not None for site in structure for sp in site.species):
        by_el, source = {}, "structure"
    out = []
    for site in structure:
        d = {}
        for sp in site.species:
            ox = getattr(sp, "oxi_state", None)
            d[_element(sp)] = by_el[_element(sp)] if source == "rule" else (0 if ox == 0 else (1 if ox > 0 else -1))
        out.append(d)
    return out, source


def element_signs(structure: Structure) -> tuple[dict[str, int], str]:
    """One sign per element (−1 when any of its sites is an anion, else +1 when any is a cation,
    else 0) from :func:`ion_signs`; the composition rule (source ``"rule"``) when no valid
    oxidation-state assignment exists — for the Sendek baseline, which needs an anion sublattice."""
    try:
        per_site, source = ion_signs(structure, "paper")
    except OxidationStateError:
        return rule_signs(structure.composition.elements), "rule"
    states: dict[str, set[int]] = defaultdict(set)
    for d in per_site:
        for el, sg in d.items():
            states[el].add(sg)
    return {el: (-1 if -1 in v else (1 if 1 in v else 0)) for el, v in states.items()}, source


def _site_species(site, site_sign: dict[str, int] | None, drop_li: bool) -> dict[str, float]:
    occ: dict[str, float] = defaultdict(float)
    for sp, x in site.species.items():
        el = _element(sp)
        if el == "Li":
            if not drop_li:
                occ["Li"] += x
        elif site_sign is not None:
            occ[SUBSTITUTE[site_sign[el]]] += x
        else:
            occ[el] += x
    return occ


def simplify(structure: Structure, mode: str = "CAMNS", signs=None, oxidation: str = "paper") -> Structure:
    """Return the simplified copy of ``structure`` for ``mode`` in :data:`MODES`.

    ``signs``: per-site dicts element → sign (:func:`ion_signs`; computed with ``oxidation`` when
    None).  Raises ``ValueError`` for an unknown mode, when nothing is left (a structure of Li only
    under CAN/CANS), and ``OxidationStateError`` when CAMNS/CANS find no valid oxidation states.
    """
    mode = mode.upper()
    if mode not in MODES:
        raise ValueError(f"unknown simplification {mode!r}; choose from {MODES}")
    if mode == "CAMN":
        return structure.copy()
    drop_li = mode in ("CAN", "CANS")
    substitute = mode in ("CAMNS", "CANS")
    if substitute and signs is None:
        signs, _ = ion_signs(structure, oxidation)
    species, coords = [], []
    for i, site in enumerate(structure):
        occ = _site_species(site, signs[i] if substitute else None, drop_li)
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


def simplify_all(structure: Structure, modes=MODES, oxidation: str = "paper") -> dict[str, Structure]:
    """All requested simplifications of one structure (signs computed once, only when needed)."""
    need = any(m.upper() in ("CAMNS", "CANS") for m in modes)
    signs = ion_signs(structure, oxidation)[0] if need else None
    return {m: simplify(structure, m, signs=signs, oxidation=oxidation) for m in modes}
