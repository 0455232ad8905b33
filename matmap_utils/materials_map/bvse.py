"""Li-ion migration energies from bond-valence site energies (BVSE) and a percolation analysis.

The materials-map paper (Yamaguchi et al., Sci. Rep. 2023) colours its map by the Li migration
energy ME computed with the automated bond-valence force-field (BVFF) method of its ref. 20
(Nakayama et al., Jpn. J. Appl. Phys. 55, 01AH05, 2016): a bond-valence energy landscape of a Li
probe in the fixed framework, and a *percolation* search for the lowest energy at which the
Li-accessible region connects into an infinite path through the periodic crystal.  We compute the
same kind of quantity with ``bvlain`` (A. Dembitskiy, BVlain, github.com/dembart/BVlain): its
``Lain.bvse_distribution`` evaluates the BVSE landscape of a Li+ probe on a grid (Morse-type
bond-valence attraction to anions + screened Coulomb repulsion from cations, softBV parameters),
and ``Lain.percolation_barriers`` bisects the energy threshold at which the connected low-energy
region percolates in 1, 2 and 3 dimensions: ``E_1D <= E_2D <= E_3D`` (eV, relative to the
landscape minimum).

**ME = E_3D.**  The paper's ME is the barrier of long-range Li conduction used as a proxy of the
conductivity of (polycrystalline) ceramics; ref. 20's percolation algorithm asks for the energy at
which Li pathways connect through the whole crystal, and conduction in a randomly oriented
polycrystal needs a 3D-connected network.  E_1D and E_2D are kept in the table (the book compares
all three with the paper's Table 1).

Oxidation states: bvlain needs them; we try pymatgen's ``BVAnalyzer`` first (as bvlain does; through
:func:`matmap_utils.data.valences.bv_decorated`, the same result faster), then
``Composition.oxi_state_guesses`` (common oxidation states, then all of pymatgen's oxidation
states), and as a last resort nominal charges that are *not* charge-balanced
(:func:`nominal_oxidation_states`; hypothetical MP compositions such as LiMg3O4, Li2SnO6 or LiSO4
have no charge-balanced assignment).  Li must come out +1 and no ion neutral.  The method used is
in column ``oxi_method`` — filter on it to drop the nominal-charge barriers.

Failures are rows with a reason, never exceptions of the batch: no Li; disordered structure
(bvlain needs an ordered one); oxidation states not assignable; no BVSE parameters for an ion pair;
no percolating path below ``encut`` (E = inf → reported as NaN with the reason); timeout.

Implementation (``method`` setting): ``"fast"`` (default) is :mod:`matmap_utils.materials_map.bvse_fast`
— the same landscape on the same grid (numba) and the three percolation energies from one
union–find sweep, reported on bvlain's bisection grid, so that the numbers are bvlain's (all 687
barriers of 229 Li–O structures identical, ``tests/test_bvse_fast.py``) at ~1/14 of the time
(``benchmarks/bench_bvse.py``; the oxidation-state assignment below is then the larger cost);
``"bvlain"`` runs bvlain itself (the reference; its cache keys are those from before ``method``).

Grid: ``resolution`` (A) is the grid spacing; for large cells it is coarsened so that the grid has
at most ``max_grid_points`` points (memory and time scale with it), the spacing used is reported.
Results are cached per structure (JSON, keyed by :func:`matmap_utils.core.cache.hash_structure` of the
structure and the settings), failures included (timeouts too, keyed by the time limit; delete the
cache folder ``compute_cache_dir("bvse")`` to retry them).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bvlain import Lain
from scipy.stats import spearmanr

from matmap_utils.core.cache import CacheKind, atomic_write_json
from matmap_utils.core.parallel import ItemTimeout, parallel_map
from matmap_utils.data.valences import bv_decorated
from matmap_utils.materials_map import bvse_fast

VERSION = "1"


#: Default BVSE settings: bvlain's defaults except the grid spacing (0.3 A instead of 0.2 A:
#: barriers change by a few 0.01 eV, time drops ~5x) and k = 64 nearest framework ions per grid
#: point instead of 100 (the screened interactions beyond are negligible: same barriers on our
#: checks, ~1.5x faster).  ``method``: ``"fast"`` (:mod:`~matmap_utils.materials_map.bvse_fast`) or
#: ``"bvlain"`` (the reference); with ``"fast"``, ``percolation="exact"`` (not a default) returns
#: the critical energies themselves instead of bvlain's bisection values.
DEFAULT_SETTINGS: dict[str, Any] = {
    "method": "fast",
    "mobile_ion": "Li1+",
    "resolution": 0.3,
    "max_grid_points": 80_000,
    "r_cut": 10.0,
    "k": 64,
    "f": 0.74,
    "encut": 10.0,
}


#: Bisection tolerance (eV) of the percolation energies E_1D, E_2D, E_3D.
BISECTION_TOL_EV = 0.01

COLUMNS = ["E_1D", "E_2D", "E_3D", "ME", "reason", "oxi_method", "resolution"]


class MigrationError(ValueError):
    """A structure whose BVSE barrier cannot be computed (message = the reason)."""


def settings_key(settings: dict | None = None) -> dict:
    """The settings a cached row depends on.  ``method="bvlain"`` is left out: rows computed
    before the fast method existed were bvlain's, and keep their keys."""
    key = {"version": VERSION, **DEFAULT_SETTINGS, **(settings or {})}
    if key["method"] == "bvlain":
        del key["method"]
    return key


def _element_symbols(structure) -> set[str]:
    return {el.symbol for el in structure.composition.elements}


#: Oxidation-state methods tried in order (stored with cached rows: a cached "not assignable"
#: failure from an older list of methods is recomputed).
OXI_METHODS = (
    "BVAnalyzer",
    "composition guess",
    "composition guess (all oxidation states)",
    "nominal (not charge-balanced)",
)


_OXI_TAG = [*OXI_METHODS, "rev4"]


def nominal_oxidation_states(composition) -> dict[str, int]:
    """Last-resort charges for compositions that cannot be charge-balanced (e.g. hypothetical MP
    entries such as LiMg3O4 or peroxides): the most electronegative element takes its most negative
    common oxidation state, every other element its highest common one (pymatgen's tables)."""
    els = sorted(composition.elements, key=lambda e: e.X if e.X == e.X else 0.0)
    anion = els[-1]
    out = {}
    for el in els:
        common = el.common_oxidation_states or el.oxidation_states
        if el == anion and min(common, default=0) < 0:
            out[el.symbol] = int(min(common))
        else:
            pos = [s for s in common if s > 0]
            out[el.symbol] = int(max(pos)) if pos else int(max(el.oxidation_states, default=1))
    return out


def assign_oxidation_states(structure, nominal_fallback: bool = True):
    """Return ``(decorated structure, method)``; raise :class:`MigrationError` when impossible.

    Tries :data:`OXI_METHODS` in order; the nominal, not charge-balanced charges are the last
    resort (``nominal_fallback``) and are flagged in the method so that they can be filtered.
    """

    st = structure.copy()
    st.remove_oxidation_states()
    try:
        dec = bv_decorated(st, forbidden_species=["O-", "P3-"])
        method = "BVAnalyzer"
    except Exception as exc:  # noqa: BLE001 - fall back to composition guesses
        if isinstance(exc, ItemTimeout):  # the per-structure time limit is not a BVAnalyzer failure
            raise

        def usable(gs):  # bvlain has Morse parameters for integer anion charges only
            return [
                g
                for g in gs
                if all(v > 0 or float(v).is_integer() for v in g.values()) and all(v != 0 for v in g.values())
            ]

        try:
            guesses = usable(st.composition.oxi_state_guesses(max_sites=-1))
            method = "composition guess"
            if not guesses:
                guesses = usable(st.composition.oxi_state_guesses(max_sites=-1, all_oxi_states=True))
                method = "composition guess (all oxidation states)"
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, ItemTimeout):
                raise
            guesses = []
        if guesses:
            dec = st.copy()
            dec.add_oxidation_state_by_element(guesses[0])
        elif nominal_fallback:
            dec = st.copy()
            dec.add_oxidation_state_by_element(nominal_oxidation_states(st.composition))
            method = "nominal (not charge-balanced)"
        else:
            raise MigrationError(
                "oxidation states not assignable (BVAnalyzer and composition guesses failed)"
            ) from None
    li = {getattr(sp, "oxi_state", None) for site in dec for sp in site.species if sp.symbol == "Li"}
    if li != {1}:
        raise MigrationError(f"oxidation states not assignable (Li got {sorted(li)})")
    if not any((getattr(sp, "oxi_state", 0) or 0) < 0 for site in dec for sp in site.species):
        raise MigrationError("oxidation states not assignable (no anion: not an ionic solid)")
    if any(getattr(sp, "oxi_state", 0) in (0, None) for site in dec for sp in site.species):
        raise MigrationError("oxidation states not assignable (an ion came out neutral)")
    return dec, method


def grid_resolution(structure, settings: dict | None = None) -> float:
    """Grid spacing used for ``structure``: the base spacing, coarsened for big cells."""
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    a, b, c = structure.lattice.abc
    res = float(s["resolution"])
    n = (a // res) * (b // res) * (c // res)
    if n > s["max_grid_points"]:
        res = (a * b * c / s["max_grid_points"]) ** (1.0 / 3.0)
    return round(res, 4)


def bvse_barriers(structure, settings: dict | None = None) -> dict:
    """Percolation barriers E_1D, E_2D, E_3D (eV) of a Li+ probe in ``structure`` (``method``:
    :mod:`~matmap_utils.materials_map.bvse_fast` or bvlain, same numbers).

    Raises :class:`MigrationError` with the reason when they cannot be computed.  Returns also
    ``oxi_method`` and the grid ``resolution`` used.  An infinite barrier (no percolation below
    ``encut``) is returned as ``inf``.
    """
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    if "Li" not in _element_symbols(structure):
        raise MigrationError("no Li in the structure")
    if not structure.is_ordered:
        raise MigrationError("disordered structure (partial occupancies): bvlain needs an ordered structure")
    dec, method = assign_oxidation_states(structure)
    res = grid_resolution(structure, s)

    for attempt in range(2):
        try:
            energies = landscape_barriers(dec, res, s)
            break
        except KeyError as exc:  # e.g. O(-1) or C(4-) assigned: no softBV parameters for them
            if attempt == 0 and not method.startswith("nominal"):
                dec = structure.copy()
                dec.remove_oxidation_states()
                dec.add_oxidation_state_by_element(nominal_oxidation_states(dec.composition))
                method = "nominal (not charge-balanced)"
                continue
            raise MigrationError(f"no BVSE parameters for an ion pair with Li+ (charge {exc})") from None
    out = {k: float(v) for k, v in energies.items()}
    out.update({"oxi_method": method, "resolution": res})
    return out


def landscape_barriers(dec, resolution: float, settings: dict | None = None) -> dict:
    """E_1D, E_2D, E_3D (eV) of an oxidation-state-decorated structure at grid spacing
    ``resolution`` with ``settings["method"]`` (``"fast"`` or ``"bvlain"``); raises ``KeyError``
    when the force field has no parameters for an ion."""
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    if s["method"] == "fast":
        if s["mobile_ion"] != "Li1+":
            raise ValueError(f"the fast BVSE method has Li+ only, not {s['mobile_ion']!r} (use method='bvlain')")
        return bvse_fast.barriers(
            dec,
            resolution,
            r_cut=float(s["r_cut"]),
            k=int(s["k"]),
            f=float(s["f"]),
            encut=float(s["encut"]),
            percolation=s.get("percolation", "bvlain"),
        )
    if s["method"] != "bvlain":
        raise ValueError(f"BVSE method must be 'fast' or 'bvlain', not {s['method']!r}")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        calc = Lain(verbose=False)
        calc.read_structure(dec, oxi_check=False)
        calc.bvse_distribution(
            mobile_ion=s["mobile_ion"], r_cut=s["r_cut"], resolution=resolution, k=int(s["k"]), f=s["f"]
        )
        return percolation_barriers(calc, encut=s["encut"])


def percolation_barriers(calc, encut: float = 10.0) -> dict:
    """``Lain.percolation_barriers`` with the percolation dimension of each probed energy memoised.

    bvlain bisects the threshold separately for 1D, 2D and 3D percolation, starting each time from
    ``[0, encut]``; the three bisections share their first probes, so remembering the dimension
    found at each probe gives exactly bvlain's numbers (same probes, same bvlain functions) with
    fewer connected-component labelings.
    """
    calc.n_jobs, calc.backend = 1, "threading"
    data = calc.data.reshape(calc.size)
    data = data - data.min()
    memo: dict[float, int] = {}

    def dim_at(probe: float) -> int:
        if probe not in memo:
            labels, features = calc._connected_components(data, probe)
            memo[probe] = calc._percolation_dimension(labels, features) if len(features) > 0 else 0
        return memo[probe]

    out = {}
    for i, dim in enumerate((2, 4, 8)):
        emin, emax, barrier = float(data.min()), float(data.min()) + encut, np.inf
        while (emax - emin) > BISECTION_TOL_EV:
            probe = (emin + emax) / 2
            if dim_at(probe) >= dim:
                emax = probe
                barrier = round(emax, 4)
            else:
                emin = probe
        out[f"E_{i + 1}D"] = barrier
    return out


def _row(energies: dict | None, reason: str | None) -> dict:
    row = {c: np.nan for c in ("E_1D", "E_2D", "E_3D")}
    row.update({"ME": np.nan, "reason": reason or "", "oxi_method": "", "resolution": np.nan})
    if energies:
        for k in ("E_1D", "E_2D", "E_3D"):
            v = energies.get(k, np.nan)
            row[k] = v if v is not None and math.isfinite(v) else np.nan
        row["oxi_method"] = energies.get("oxi_method", "")
        row["resolution"] = energies.get("resolution", np.nan)
        row["ME"] = row["E_3D"]
        if not math.isfinite(row["ME"]):
            row["reason"] = reason or "no 3D percolating path below encut"
    return row


#: Cached BVSE rows, one JSON per structure; the version travels in :func:`settings_key`.
CACHE = CacheKind("bvse", folder="bvse", version=None)


def cache_path(structure, settings: dict | None = None) -> Path:
    """Cache file of one structure's barriers under the given settings."""
    return CACHE.path(CACHE.structure_key(structure, settings_key(settings)), ".json")


def _bvse_task(task: tuple) -> dict:
    """Worker: one structure → row dict (failures with a reason are rows too); caches the row."""

    structure, settings, path = task
    try:
        row = _row(bvse_barriers(structure, settings), None)
    except MigrationError as exc:
        row = _row(None, str(exc))
    if path is not None:
        atomic_write_json(path, {"row": row, "oxi_methods": _OXI_TAG})
    return row


def migration_table(
    structures: Sequence,
    keys: Sequence | None = None,
    *,
    settings: dict | None = None,
    n_jobs: int | None = None,
    timeout: float | None = 300.0,
    cache: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """BVSE barriers of many structures (parallel, per-structure timeout, cached).

    Returns a DataFrame indexed by ``keys`` (``material_id``) with columns :data:`COLUMNS`:
    ``E_1D``, ``E_2D``, ``E_3D``, ``ME`` (= ``E_3D``; NaN when unknown), ``reason`` (empty when ME
    is known), ``oxi_method``, ``resolution``.  Every structure gets a row.
    """

    structures = list(structures)
    keys = list(range(len(structures))) if keys is None else list(keys)
    if len(keys) != len(structures):
        raise ValueError(f"{len(keys)} keys for {len(structures)} structures")
    rows: dict[int, dict] = {}
    todo = []
    for i, st in enumerate(structures):
        if st is None:
            rows[i] = _row(None, "no structure")
            continue
        path = cache_path(st, settings) if cache else None
        if path is not None and path.exists():
            try:
                cached = json.loads(path.read_text())
                stale = (
                    cached["row"].get("reason", "").startswith(("oxidation states", "no BVSE parameters"))
                    and cached.get("oxi_methods") != _OXI_TAG
                )
                fresh_timeout = cached.get("timeout") is None or (timeout is not None and cached["timeout"] >= timeout)
                if fresh_timeout and not stale:
                    rows[i] = cached["row"]
                    continue
            except Exception:  # noqa: BLE001 - recompute a damaged entry
                pass
        todo.append((i, (st, settings, path)))
    if todo:
        outs = parallel_map(
            _bvse_task,
            [t for _, t in todo],
            keys=[i for i, _ in todo],
            n_jobs=n_jobs,
            timeout=timeout,
            desc="BVSE",
            progress=progress,
        )
        for (i, (_st, _, path)), o in zip(todo, outs):
            if o.ok:
                rows[i] = o.value
            else:
                reason = f"timeout after {timeout:g} s" if o.kind == "timeout" else o.error
                rows[i] = _row(None, reason)
                if path is not None and o.kind == "timeout":
                    atomic_write_json(path, {"row": rows[i], "timeout": timeout})
    df = pd.DataFrame(
        [rows[i] for i in range(len(structures))], columns=COLUMNS, index=pd.Index(keys, name="material_id")
    )
    return df


#: Table 1 of Yamaguchi et al. (Sci. Rep. 13, 16799, 2023): mp-id, formula, structure type and the
#: paper's BVFF migration energy ME (eV) — reference values transcribed from the paper.
PAPER_TABLE1 = pd.DataFrame(
    [
        ("mp-761986", "Li5La3Nb2O12", "Garnet", 0.983),
        ("mp-775628", "Li5La3(SbO6)2", "Garnet", 0.827),
        ("mp-1200057", "Li7La3(SnO6)2", "Garnet", 0.923),
        ("mp-554747", "Li5La3Nb2O12", "Garnet", 0.543),
        ("mp-774721", "Li5La3Nb2O12", "Garnet", 1.018),
        ("mp-559776", "Li5La3Ta2O12", "Garnet", 0.529),
        ("mp-774437", "Li5La3Nb2O12", "Garnet", 0.842),
        ("mp-942733", "Li7La3Zr2O12", "Garnet", 0.861),
        ("mp-779434", "Li5La3Nb2O12", "Garnet", 0.837),
        ("mp-10499", "LiZr2(PO4)3", "NASICON", 0.850),
        ("mp-759280", "LiZr2(PO4)3", "NASICON", 1.016),
        ("mp-773074", "LiZr2(PO4)3", "NASICON", 1.261),
        ("mp-681439", "LiZr2(PO4)3", "NASICON", 0.385),
        ("mp-541661", "LiZr2(PO4)3", "NASICON", 0.865),
        ("mp-1222522", "LiLa3Ti4O12", "Perovskite", 2.964),
        ("mp-768320", "LiLa5Ti8O24", "Perovskite", 0.760),
    ],
    columns=["material_id", "formula", "structure_type", "ME_paper"],
).set_index("material_id")


def compare_with_paper(mig: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Join our barriers with the paper's Table 1; Spearman rho (and n) of each barrier vs ME_paper."""

    cmp = PAPER_TABLE1.join(mig[["E_1D", "E_2D", "E_3D", "ME", "reason"]], how="left")
    stats = {}
    for col in ("E_1D", "E_2D", "E_3D"):
        ok = cmp[[col, "ME_paper"]].dropna()
        rho = float(spearmanr(ok[col], ok["ME_paper"]).statistic) if len(ok) >= 3 else float("nan")
        stats[col] = {"rho": rho, "n": int(len(ok))}
    return cmp, stats
