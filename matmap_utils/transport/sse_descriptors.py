"""Solid-electrolyte descriptor table (López et al. 2023, Table 1) for structures with conductivities.

One row per material, computed from its (possibly partially occupied) crystal structure, with the
columns grouped into the paper's Table 1 categories (the catalogue is
:mod:`matmap_utils.transport.sse_categories`):

* ``"S-C"`` structural–compositional: volume per formula unit, number of formula units, lattice
  constants and angles, symmetry, Li environment, charges, polarizability, composition, anion;
  MEGNet band gap and formation energy (the paper's E_g is in S–C), joined by :func:`join_megnet`.
* ``"D-V"`` diffusive–vibrational: BVSE migration barriers (static but diffusive), joined by
  :func:`join_bvse`, and the AIMD descriptors of chapter 03 where a material was simulated
  (:mod:`matmap_utils.transport.sse_md`). The predictions and barriers themselves come from the
  other studies' packages; chapter 04 (:mod:`matmap_utils.chapters.ch04_correlograms`) computes
  them and passes the tables here.
* ``"M-E"`` mechanical–elastic: none can be computed from the public data (no elastic tensors);
  the category is listed so that tables and figures say it is empty.

Partially occupied structures (most OBELiX CIFs) are **not ordered**: every quantity is an
occupancy-weighted average over the disordered sites —

* a site's element amounts are its occupancies (``site.species``), so compositions, masses and
  polarizabilities are occupancy-weighted;
* the Li environment is averaged over the Li-containing sites weighted by their Li occupancy; a
  neighbour's anion occupancy weights its contribution to the coordination number;
* split positions closer than :data:`LI_LI_EXCLUSION` (1.6 Å) are treated as mutually exclusive
  (never simultaneously occupied) and are ignored for the shortest Li–Li distance.

Element data come from libraries, not typed here: atomic masses and common oxidation states from
pymatgen, static dipole polarizabilities (CRC Handbook, Å^3) from matminer's Magpie tables.

Results are cached per structure (content hash of structure + settings + :data:`VERSION`) as JSON
under ``compute_cache_dir("sse_descriptors")``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

import numpy as np
import pandas as pd
from pymatgen.core import Composition, Element
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from pymatgen.symmetry.groups import SpaceGroup

from matmap_utils.core.cache import CacheKind, atomic_write_json
from matmap_utils.core.parallel import parallel_map
from matmap_utils.transport.sse_categories import DESCRIPTORS, normalize_family

VERSION = "sse-descriptors-1"


#: shortest distance between two Li positions that can be occupied at the same time (Å)
LI_LI_EXCLUSION = 1.6


#: a neighbour anion within ``NN_SHELL_FACTOR * d_nn`` of a Li site counts in its coordination number
NN_SHELL_FACTOR = 1.3


#: neighbour-search radius (Å)
NN_RADIUS = 6.0


_CHALCOGENS = {"O": "oxide", "S": "sulfide", "Se": "sulfide", "Te": "sulfide"}


_HALOGENS = {"F", "Cl", "Br", "I"}


@cache
def _polarizability(symbol: str) -> float:
    """Static dipole polarizability of the free atom (Å^3, CRC Handbook via matminer/Magpie)."""

    return float(_magpie().get_elemental_property(Element(symbol), "Polarizability"))


@lru_cache(maxsize=1)
def _magpie():
    from matminer.utils.data import MagpieData  # lazy: matminer is an optional, slow-to-import dependency

    return MagpieData()


@cache
def _anion_charge(symbol: str) -> int:
    """Most negative common oxidation state (pymatgen) — O −2, S −2, N −3, Cl −1, H −1."""

    states = Element(symbol).common_oxidation_states or Element(symbol).oxidation_states
    return int(min(states))


def anion_elements(elements: Iterable[str]) -> list[str]:
    """Anions of a Li conductor: chalcogens, halogens, N; H (hydride) unless O or N is present."""
    els = set(elements)
    anions = [e for e in els if e in _CHALCOGENS or e in _HALOGENS or e == "N"]
    if "H" in els and not els & {"O", "N"}:
        anions.append("H")
    if not anions:  # e.g. intermetallic-like Li compounds: most electronegative element
        anions = [max(els, key=lambda e: Element(e).X if not math.isnan(Element(e).X) else -1)]
    return sorted(anions)


def anion_class(amounts: dict[str, float]) -> tuple[str, str, bool]:
    """(class of the majority anion group, anion elements ``"S+Cl"``, several groups present?).

    Groups: oxide (O), sulfide (S, Se, Te), halide (F, Cl, Br, I), nitride (N), hydride (H).
    """
    anions = anion_elements(amounts)
    groups: dict[str, float] = {}
    for a in anions:
        g = _CHALCOGENS.get(a) or (
            "halide" if a in _HALOGENS else "nitride" if a == "N" else "hydride" if a == "H" else "other"
        )
        groups[g] = groups.get(g, 0.0) + amounts.get(a, 0.0)
    major = max(sorted(groups), key=lambda g: groups[g])
    return major, "+".join(anions), len(groups) > 1


def _site_amounts(site) -> dict[str, float]:
    out: dict[str, float] = {}
    for sp, occ in site.species.items():
        sym = sp.symbol if hasattr(sp, "symbol") else str(sp)
        sym = getattr(getattr(sp, "element", None), "symbol", sym)
        out[sym] = out.get(sym, 0.0) + float(occ)
    return out


def _z_from_formula(structure, formula: str | None) -> tuple[float, float]:
    """(integer number of formula units, atoms per formula unit) of ``structure``.

    Z is the median over the non-Li elements of (amount in the cell / amount in the formula), so a
    CIF whose Li content differs from the reported formula still gets the right Z.
    """

    comp = structure.composition
    ref = None
    if formula:
        try:
            ref = Composition(formula)
        except Exception:  # noqa: BLE001 - fall back to the structure's own reduced formula
            ref = None
    if ref is None or ref.num_atoms <= 0:
        ref = comp.reduced_composition
    ratios = [comp[el] / ref[el] for el in ref.elements if el.symbol != "Li" and ref[el] > 0 and comp[el] > 0]
    z = float(np.median(ratios)) if ratios else comp.num_atoms / ref.num_atoms
    return float(max(1, int(round(z)))), float(ref.num_atoms)


def _n_symmetry_ops(spacegroup: int | None, structure) -> tuple[int, int]:
    """(space-group number, symmetry operations of its conventional cell); the number is detected
    with spglib (symprec 0.1 Å) when ``spacegroup`` is missing or not in 1…230."""
    if spacegroup is None or not (1 <= int(spacegroup) <= 230):
        spacegroup = SpacegroupAnalyzer(structure, symprec=0.1).get_space_group_number()
    return int(spacegroup), len(SpaceGroup.from_int_number(int(spacegroup)).symmetry_ops)


def _cell_amounts(structure) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Element amounts of every site (its occupancies) and of the whole cell (their sums)."""
    amounts_cell: dict[str, float] = {}
    site_amounts = [_site_amounts(s) for s in structure]
    for a in site_amounts:
        for el, x in a.items():
            amounts_cell[el] = amounts_cell.get(el, 0.0) + x
    return site_amounts, amounts_cell


def li_environment(structure, li_occ: np.ndarray, anion_occ: np.ndarray) -> tuple[float, float, float]:
    """Li environment of a (possibly disordered) structure, Li-occupancy weighted over the Li sites.

    ``li_occ`` and ``anion_occ`` are the Li and the anion occupancy of every site. Returns
    (d_nn: mean shortest Li–anion distance (Å); N_nn: mean anion occupancy within
    :data:`NN_SHELL_FACTOR` × d_nn of a Li site; shortest Li–Li distance (Å) between positions at
    least :data:`LI_LI_EXCLUSION` apart, i.e. that can be occupied together) — the paper's d_nn and
    N_nn (Table 1, S–C) for disordered cells; NaN where a Li site has no anion within
    :data:`NN_RADIUS`.
    """
    li_idx = np.flatnonzero(li_occ > 0)
    centers, points, _, dists = structure.get_neighbor_list(NN_RADIUS, sites=[structure[i] for i in li_idx])
    d_nn, cn, li_li = [], [], []
    for k, i in enumerate(li_idx):
        sel = centers == k
        pj, dj = points[sel], dists[sel]
        an = anion_occ[pj] > 0
        if an.any():
            dmin = float(dj[an].min())
            shell = an & (dj <= NN_SHELL_FACTOR * dmin)
            d_nn.append(dmin)
            cn.append(float(anion_occ[pj[shell]].sum()))
        else:
            d_nn.append(np.nan)
            cn.append(np.nan)
        lj = (li_occ[pj] > 0) & (pj != i) & (dj >= LI_LI_EXCLUSION)
        li_li.append(float(dj[lj].min()) if lj.any() else np.nan)
    w = li_occ[li_idx]
    d_nn, cn, li_li = map(np.asarray, (d_nn, cn, li_li))
    ok = np.isfinite(d_nn)
    li_nn = float(np.average(d_nn[ok], weights=w[ok])) if ok.any() else np.nan
    li_cn = float(np.average(cn[ok], weights=w[ok])) if ok.any() else np.nan
    li_li_min = float(np.nanmin(li_li)) if np.isfinite(li_li).any() else np.nan
    return li_nn, li_cn, li_li_min


def nominal_charges(amounts_cell: dict[str, float], anions: Iterable[str]) -> tuple[float, float]:
    """(mean nominal anion charge, mean charge of the non-Li cations) of a cell's composition.

    Anions carry their most negative common oxidation state, Li +1; the other cations share the
    rest by charge balance (the paper's Z_N and charges, Table 1 S–C). NaN when there is no anion,
    or no cation besides Li.
    """
    anions = list(anions)
    q_anion = sum(amounts_cell[a] * _anion_charge(a) for a in anions)
    n_anion = sum(amounts_cell[a] for a in anions)
    n_li = amounts_cell["Li"]
    n_other_cat = sum(amounts_cell.values()) - n_anion - n_li
    fw_charge = (-q_anion - n_li) / n_other_cat if n_other_cat > 1e-9 else np.nan
    return (float(q_anion / n_anion) if n_anion else np.nan), float(fw_charge)


def _cell_descriptors(structure, z: float, sg: int, n_ops: int, n_atoms: float) -> dict[str, float]:
    """Cell & symmetry descriptors: Ω, volume per atom, n, a_m, ⟨abc⟩, ⟨αβγ⟩, SO, Sym."""
    vol = float(structure.volume)
    abc = np.array(structure.lattice.abc, dtype=float)
    angles = np.array(structure.lattice.angles, dtype=float)
    return {
        "volume_per_fu": vol / z,
        "volume_per_atom": vol / n_atoms,
        "n_formula_units": z,
        "min_lattice_constant": float(abc.min()),
        "std_lattice_constants": float(abc.std()),
        "std_lattice_angles": float(angles.std()),
        "n_symmetry_ops": float(n_ops),
        "spacegroup": float(sg),
    }


def structure_descriptors(structure, *, spacegroup: int | None = None, formula: str | None = None) -> dict[str, Any]:
    """All structure-derived descriptors of one (possibly disordered) Li-containing structure.

    ``spacegroup`` (number) and ``formula`` (the reported composition) come from the database when
    known; otherwise the space group is detected (spglib, symprec 0.1 Å) and the formula unit is the
    structure's reduced composition.  Raises ``ValueError`` with a reason when the structure has no Li.
    """

    site_amounts, amounts_cell = _cell_amounts(structure)
    if amounts_cell.get("Li", 0.0) <= 0:
        raise ValueError("structure contains no Li")
    n_atoms = sum(amounts_cell.values())
    vol = float(structure.volume)
    z, _ = _z_from_formula(structure, formula)
    sg, n_ops = _n_symmetry_ops(spacegroup, structure)

    anions = set(anion_elements(amounts_cell))
    major, anion_str, mixed = anion_class(amounts_cell)
    anion_occ = np.array([sum(a.get(e, 0.0) for e in anions) for a in site_amounts])
    li_occ = np.array([a.get("Li", 0.0) for a in site_amounts])
    li_nn, li_cn, li_li_min = li_environment(structure, li_occ, anion_occ)
    q_anion_mean, fw_charge = nominal_charges(amounts_cell, anions)
    n_li = amounts_cell["Li"]
    alpha_cell = sum(x * _polarizability(el) for el, x in amounts_cell.items())
    disordered = sum(1 for a in site_amounts if len(a) > 1 or abs(sum(a.values()) - 1.0) > 1e-6)

    return {
        **_cell_descriptors(structure, z, sg, n_ops, n_atoms),
        "li_nn_distance": li_nn,
        "li_coordination": li_cn,
        "li_li_min_distance": li_li_min,
        "mobile_ion_mass": float(Element("Li").atomic_mass),
        "mobile_ion_charge": 1.0,
        "anion_charge": q_anion_mean,
        "framework_cation_charge": fw_charge,
        "crystal_polarizability": float(alpha_cell / z),
        "cm_polarizability_density": float(4 * math.pi * alpha_cell / (3 * vol)),
        "li_fraction": float(n_li / n_atoms),
        "li_density": float(1000 * n_li / vol),
        "density": float(structure.density),
        "n_elements": float(len(amounts_cell)),
        "li_site_occupancy": float(li_occ[li_occ > 0].mean()),
        "disordered_site_fraction": float(disordered / len(structure)),
        "anion_class": major,
        "anions": anion_str,
        "anion_mixed": bool(mixed),
        "has_disorder": bool(disordered > 0),
    }


#: Cached descriptor rows, one JSON per (structure, space group, formula, settings).
CACHE = CacheKind("sse_descriptors", folder="sse_descriptors", version=VERSION, version_at=1)


def _compute_item(item: tuple) -> dict[str, Any]:
    """Worker: (structure, spacegroup, formula) → descriptor dict, cached by content hash."""
    structure, spacegroup, formula = item
    key = CACHE.structure_key(structure, spacegroup, formula, LI_LI_EXCLUSION, NN_SHELL_FACTOR)
    path = CACHE.path(key, ".json")
    if path.exists():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    out = structure_descriptors(structure, spacegroup=spacegroup, formula=formula)
    atomic_write_json(path, {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()})
    return out


def _int_or_none(x) -> int | None:
    try:
        if x is None or pd.isna(x):
            return None
        return int(x)
    except (TypeError, ValueError):
        return None


def build_descriptor_table(
    frame: pd.DataFrame, *, n_jobs: int | None = None, timeout: float | None = 300, progress: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Descriptor table of the rows of ``frame`` (e.g. :func:`matmap_utils.data.datasets.load_obelix`).

    ``frame`` needs a ``structure`` column (pymatgen Structure or None) and, when present, uses
    ``Space group #``, ``Reduced Composition`` (the formula unit), ``Family``, ``sigma_rt``,
    ``log10_sigma``, ``icsd``, ``split``.  Returns ``(table, unusable)``: ``table`` one row per usable
    material (index as in ``frame``), ``unusable`` one row per entry left out with its ``reason``.
    """
    unusable = []
    items, keys = [], []
    for idx, row in frame.iterrows():
        s = row.get("structure")
        if s is None or (isinstance(s, float) and math.isnan(s)):
            unusable.append({"id": idx, "reason": "no crystal structure (no CIF in the database)"})
            continue
        sig = row.get("log10_sigma")
        if sig is None or pd.isna(sig) or not np.isfinite(float(sig)):
            unusable.append({"id": idx, "reason": "no numeric room-temperature conductivity"})
            continue
        # the formula unit is the reported reduced composition ("True Composition" is the cell content)
        formula = row.get("Reduced Composition") if isinstance(row.get("Reduced Composition"), str) else None
        items.append((s, _int_or_none(row.get("Space group #")), formula))
        keys.append(idx)
    outcomes = parallel_map(
        _compute_item, items, keys=keys, n_jobs=n_jobs, timeout=timeout, desc="SSE descriptors", progress=progress
    )
    rows = {}
    for o in outcomes:
        if o.ok:
            rows[o.key] = o.value
        else:
            reason = o.error or ""
            if "contains no Li" in reason:
                reason = "the CIF has no Li sites (Li positions not reported in the source structure)"
            else:
                reason = f"descriptor computation failed: {reason}"
            unusable.append({"id": o.key, "reason": reason})
    desc = pd.DataFrame.from_dict(rows, orient="index")
    order = list(DESCRIPTORS) + ["anion_class", "anions", "anion_mixed", "has_disorder"]
    desc = desc.reindex(columns=order + [c for c in desc.columns if c not in order])
    for c in ("anion_mixed", "has_disorder"):
        desc[c] = desc[c].astype(bool)
    for c in DESCRIPTORS:
        if c in desc:
            desc[c] = pd.to_numeric(desc[c], errors="coerce").astype(float)
    meta = pd.DataFrame(index=desc.index)
    src = frame.loc[desc.index]
    for col, name in [
        ("Reduced Composition", "formula"),
        ("split", "split"),
        ("icsd", "icsd"),
        ("sigma_rt", "sigma_rt"),
        ("log10_sigma", "log10_sigma"),
    ]:
        if col in src:
            meta[name] = src[col]
    meta["family"] = src["Family"].map(normalize_family) if "Family" in src else "unknown"
    if "log10_sigma" in meta:
        meta["superionic"] = meta["log10_sigma"].astype(float) >= -4.0
    table = pd.concat([meta, desc], axis=1)
    table.index.name = frame.index.name or "id"
    unusable_df = pd.DataFrame(unusable, columns=["id", "reason"])
    return table, unusable_df


def join_mchaffie(table: pd.DataFrame, mchaffie: pd.DataFrame) -> pd.DataFrame:
    """Add McHaffie et al.'s ``superionic`` label and LOCO cluster by ICSD code (first match)."""
    out = table.copy()
    if "icsd" not in out or "icsd" not in mchaffie:
        out["mchaffie_superionic"] = pd.NA
        out["loco_cluster"] = pd.NA
        return out
    m = mchaffie.dropna(subset=["icsd"]).copy()
    m["icsd"] = m["icsd"].astype("int64")
    m = m.drop_duplicates("icsd").set_index("icsd")
    codes = pd.to_numeric(out["icsd"], errors="coerce")
    out["mchaffie_superionic"] = codes.map(m["superionic"]) if "superionic" in m else pd.NA
    out["loco_cluster"] = codes.map(m["loco_cluster"]) if "loco_cluster" in m else pd.NA
    out["mchaffie_superionic"] = out["mchaffie_superionic"].astype("boolean")
    out["loco_cluster"] = pd.to_numeric(out["loco_cluster"], errors="coerce").astype("Int64")
    return out


#: MEGNet prediction columns (:func:`matmap_utils.screening.megnet.pool.pool_predictions`) → table columns
MEGNET_COLUMNS = {"band_gap_eV": "megnet_band_gap", "formation_energy_eV_atom": "megnet_formation_energy"}


#: BVSE percolation barriers (:func:`matmap_utils.materials_map.bvse.migration_table`) → table columns
BVSE_COLUMNS = {"E_1D": "bvse_barrier_1d", "E_2D": "bvse_barrier_2d", "E_3D": "bvse_barrier_3d"}


def join_megnet(table: pd.DataFrame, pred: pd.DataFrame, n_failed: int = 0) -> tuple[pd.DataFrame, str]:
    """Join MEGNet's band gap (eV) and formation energy (eV/atom) per material (index of ``table``)
    as ``megnet_band_gap`` and ``megnet_formation_energy`` — category S–C, like the paper's E_g.

    ``pred`` has the columns of :data:`MEGNET_COLUMNS` (disordered structures predicted from
    occupancy-weighted embeddings). Returns ``(table, status)`` with the number of materials added.
    """
    pred = pred.rename(columns=MEGNET_COLUMNS)
    pred = pred[list(MEGNET_COLUMNS.values())].astype(float)
    out = table.join(pred)
    return out, (
        f"added: band gap and formation energy for {int(pred.notna().all(axis=1).sum())} materials ({n_failed} failed)"
    )


def join_bvse(table: pd.DataFrame, barriers: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Join the BVSE Li percolation barriers E_1D/E_2D/E_3D (eV) as ``bvse_barrier_1d/2d/3d``
    (category D–V).

    ``barriers`` has one row per row of ``table`` (same order) with the columns of
    :data:`BVSE_COLUMNS` and a ``reason`` for missing values (bvlain needs ordered structures, so
    disordered ones are NaN); the status counts the three commonest reasons.
    """
    vals = barriers[list(BVSE_COLUMNS)].rename(columns=BVSE_COLUMNS).astype(float)
    vals.index = table.index
    out = table.join(vals)
    reasons = barriers.loc[barriers["reason"].astype(str) != "", "reason"].astype(str)
    top = reasons.str.slice(0, 60).value_counts().head(3)
    return out, (
        f"added: E_3D for {int(vals['bvse_barrier_3d'].notna().sum())} materials; "
        "missing: " + "; ".join(f"{n}× {r}" for r, n in top.items())
    )
