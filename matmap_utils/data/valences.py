"""Bond-valence oxidation states of structures: pymatgen's :class:`BVAnalyzer`, the same answers, faster.

:class:`~pymatgen.analysis.bond_valence.BVAnalyzer` (bond-valence sums, O'Keeffe & Brese 1991) is
how chapters 01 (the BVSE barriers) and 06 (the CAMNS/CANS oxidation signs of the 21,755-compound
MP pool) assign oxidation states.  :func:`bv_valences` and :func:`bv_decorated` return its answers:

* **ordered structures** (the pool and the BVSE inputs): :func:`matmap_utils.data.bv_ordered.ordered_valences`,
  the same algorithm on indices and floats instead of pymatgen's site and neighbour objects, bit for
  bit the same (tested against BVAnalyzer, including a truncated search; ~11x faster);
* **disordered structures**, other settings, and anything the reimplementation does not cover:
  pymatgen itself (:func:`pymatgen_valences`), without its O(N²) site lookup.  BVAnalyzer maps its
  per-class valences back to the sites through a dict keyed by ``PeriodicSite``, whose
  ``__hash__`` is the sum of the atomic numbers, so every same-element site compares coordinates
  with ``np.allclose``.  For the duration of the call only, sites hash by their atomic numbers *and*
  the exact bytes of their fractional coordinates (:func:`exact_site_hash`); a lookup that misses
  (a ``KeyError``: a site equal to another within tolerance but not bit for bit) reruns the plain
  analysis, so the result is always pymatgen's own.  The patch is process-wide while it lasts, so it
  is meant for the single-threaded workers and kernels of this project.

``benchmarks/bench_valences.py`` compares the two on MP structures and reports the speed-up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pymatgen.analysis.bond_valence import BVAnalyzer
from pymatgen.core import PeriodicSite, Structure

from matmap_utils.data.bv_ordered import DEFAULTS, ordered_valences

_LOCK = threading.RLock()
#: BVAnalyzer settings the ordered reimplementation takes (others go to pymatgen itself).
_FAST_KW = set(DEFAULTS) | {"forbidden_species"}


def _exact_hash(site: PeriodicSite) -> int:
    """Hash of a site: atomic numbers of its species and the bytes of its fractional coordinates."""
    return hash((sum(el.Z for el in site.species), site.frac_coords.tobytes()))


@contextmanager
def exact_site_hash() -> Iterator[None]:
    """Within the block, ``PeriodicSite`` hashes by species *and* exact fractional coordinates.

    Consistent with ``PeriodicSite.__eq__`` for bit-identical copies of a site (which is what
    BVAnalyzer looks up); two sites equal within tolerance but not bit for bit hash differently, so a
    lookup of one by the other raises ``KeyError`` — callers fall back to the plain analysis."""
    with _LOCK:
        original = PeriodicSite.__dict__["__hash__"]
        PeriodicSite.__hash__ = _exact_hash
        try:
            yield
        finally:
            PeriodicSite.__hash__ = original


def _ordered_fast(structure: Structure, analyzer_kw: dict) -> list[int] | None:
    """:func:`~matmap_utils.data.bv_ordered.ordered_valences` with ``analyzer_kw``, or None when it
    does not reproduce the case (disordered, another setting, anything unexpected): pymatgen decides."""
    kw = {k: v for k, v in analyzer_kw.items() if k != "charge_neutrality_tolerance"}  # disordered only
    if not structure.is_ordered or not set(kw) <= _FAST_KW:
        return None
    try:
        return ordered_valences(structure, **kw)
    except ValueError:
        raise  # pymatgen's own errors ("Valences cannot be assigned!", unknown BV parameters)
    except Exception:  # noqa: BLE001 - NotReproduced, or anything the plain analysis should report itself
        return None


def bv_valences(structure: Structure, **analyzer_kw) -> list:
    """``BVAnalyzer(**analyzer_kw).get_valences(structure)``, the same result, faster (module doc).

    Per site the integer oxidation state (a list per site for a disordered structure).  Raises what
    BVAnalyzer raises (``ValueError`` "Valences cannot be assigned!", unknown BV parameters)."""
    fast = _ordered_fast(structure, analyzer_kw)
    return fast if fast is not None else pymatgen_valences(structure, **analyzer_kw)


def pymatgen_valences(structure: Structure, **analyzer_kw) -> list:
    """pymatgen's own ``BVAnalyzer.get_valences`` under :func:`exact_site_hash` (disordered
    structures, and the fallback of :func:`bv_valences`)."""
    try:
        with exact_site_hash():
            return BVAnalyzer(**analyzer_kw).get_valences(structure)
    except KeyError:
        pass  # a site not found by its exact coordinates: pymatgen's own lookup decides
    return BVAnalyzer(**analyzer_kw).get_valences(structure)


def bv_decorated(structure: Structure, **analyzer_kw) -> Structure:
    """``BVAnalyzer(**analyzer_kw).get_oxi_state_decorated_structure(structure)``, faster (module doc)."""
    fast = _ordered_fast(structure, analyzer_kw)
    if fast is not None:
        decorated = structure.copy()
        decorated.add_oxidation_state_by_site(fast)
        return decorated
    try:
        with exact_site_hash():
            return BVAnalyzer(**analyzer_kw).get_oxi_state_decorated_structure(structure)
    except KeyError:
        pass
    return BVAnalyzer(**analyzer_kw).get_oxi_state_decorated_structure(structure)
