"""Bond-valence oxidation states of structures: pymatgen's :class:`BVAnalyzer`, minus its O(N²) site lookup.

:class:`~pymatgen.analysis.bond_valence.BVAnalyzer` (bond-valence sums, O'Keeffe & Brese 1991) is
how chapters 01 (the BVSE barriers) and 06 (the CAMNS/CANS oxidation signs of the 21,755-compound
MP pool) assign oxidation states.  Profiled on 300 MP Li structures, ~40 % of its time is not bond
valence at all: after the search it maps its per-class valences back to the sites through a dict
keyed by ``PeriodicSite``, whose ``__hash__`` is the sum of the atomic numbers — every site of an
element lands in one bucket, so each insertion and lookup compares coordinates with ``np.allclose``
against all same-element sites before it (O(N²) ``allclose`` calls per structure).

:func:`bv_valences` and :func:`bv_decorated` run the same analysis while, for the duration of the
call only, sites hash by their atomic numbers *and* the exact bytes of their fractional
coordinates (:func:`exact_site_hash`).  The keys BVAnalyzer stores are copies of the structure's own
sites (the symmetrized structure copies the coordinates array), so every lookup finds its key
in one probe.  Should a site ever not be found that way (a ``KeyError``: a site equal to another
within pymatgen's tolerance but not bit for bit), the plain analysis runs again, so the result is
always pymatgen's own.  Equal to the plain ``BVAnalyzer`` on real structures (tested; and on 1,000 MP
structures in ``benchmarks/bench_valences.py``, which reports the speed-up).

The patch is process-wide while it lasts, so it is meant for the single-threaded workers and
kernels of this project: nothing else may hash sites into a long-lived dict or set meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pymatgen.analysis.bond_valence import BVAnalyzer
from pymatgen.core import PeriodicSite, Structure

_LOCK = threading.RLock()


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


def bv_valences(structure: Structure, **analyzer_kw) -> list:
    """``BVAnalyzer(**analyzer_kw).get_valences(structure)``, the same result, faster (module doc).

    Per site the integer oxidation state (a list per site for a disordered structure).  Raises what
    BVAnalyzer raises (``ValueError`` "Valences cannot be assigned!", unknown BV parameters)."""
    try:
        with exact_site_hash():
            return BVAnalyzer(**analyzer_kw).get_valences(structure)
    except KeyError:
        pass  # a site not found by its exact coordinates: pymatgen's own lookup decides
    return BVAnalyzer(**analyzer_kw).get_valences(structure)


def bv_decorated(structure: Structure, **analyzer_kw) -> Structure:
    """``BVAnalyzer(**analyzer_kw).get_oxi_state_decorated_structure(structure)``, faster (module doc)."""
    try:
        with exact_site_hash():
            return BVAnalyzer(**analyzer_kw).get_oxi_state_decorated_structure(structure)
    except KeyError:
        pass
    return BVAnalyzer(**analyzer_kw).get_oxi_state_decorated_structure(structure)
