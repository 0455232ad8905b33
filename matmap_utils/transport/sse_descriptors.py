"""Solid-electrolyte descriptor table (López et al. 2023, Table 1) for structures with conductivities.

One row per material, computed from its (possibly partially occupied) crystal structure, with the
columns grouped into the paper's Table 1 categories in :data:`CATEGORIES`:

* ``"S-C"`` structural–compositional: volume per formula unit, number of formula units, lattice
  constants and angles, symmetry, Li environment, charges, polarizability, composition, anion;
  MEGNet band gap and formation energy (the paper's E_g is in S–C) when :mod:`matmap_utils.screening.megnet`
  is available.
* ``"D-V"`` diffusive–vibrational: BVSE migration barriers (:mod:`matmap_utils.materials_map.bvse`, static
  but diffusive) and the AIMD descriptors of notebook 03 where a material was simulated.
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
from pymatgen.symmetry.groups import SpaceGroup

from matmap_utils.chapters.results import read_table
from matmap_utils.core.cache import CacheKind, atomic_write_json
from matmap_utils.core.parallel import parallel_map
from matmap_utils.data.datasets import load_mchaffie, load_obelix

VERSION = "sse-descriptors-1"


#: shortest distance between two Li positions that can be occupied at the same time (Å)
LI_LI_EXCLUSION = 1.6


#: a neighbour anion within ``NN_SHELL_FACTOR * d_nn`` of a Li site counts in its coordination number
NN_SHELL_FACTOR = 1.3


#: neighbour-search radius (Å)
NN_RADIUS = 6.0


CATEGORY_NAMES = {
    "M-E": "mechanical–elastic",
    "D-V": "diffusive–vibrational",
    "S-C": "structural–compositional",
}


#: column → (category, symbol / short description). Numeric descriptors only, plus ``anion_class``.
DESCRIPTORS: dict[str, tuple[str, str]] = {
    "volume_per_fu": ("S-C", "Ω, volume per formula unit (Å^3)"),
    "volume_per_atom": ("S-C", "volume per atom (Å^3)"),
    "n_formula_units": ("S-C", "n, formula units in the cell"),
    "min_lattice_constant": ("S-C", "a_m, minimal lattice constant (Å)"),
    "std_lattice_constants": ("S-C", "⟨abc⟩, std of a, b, c (Å)"),
    "std_lattice_angles": ("S-C", "⟨αβγ⟩, std of α, β, γ (deg)"),
    "n_symmetry_ops": ("S-C", "SO, symmetry operations of the space group (conventional cell)"),
    "spacegroup": ("S-C", "Sym, space-group number"),
    "li_nn_distance": ("S-C", "d_nn, Li–anion nearest-neighbour distance (Å), Li-occupancy weighted"),
    "li_coordination": ("S-C", "N_nn, Li–anion coordination number, occupancy weighted"),
    "li_li_min_distance": ("S-C", "shortest Li–Li distance (Å), split sites < 1.6 Å excluded"),
    "mobile_ion_mass": ("S-C", "M, mobile-ion atomic mass (u)"),
    "mobile_ion_charge": ("S-C", "Z_N, mobile-ion nominal charge"),
    "anion_charge": ("S-C", "mean nominal anion charge"),
    "framework_cation_charge": ("S-C", "mean nominal charge of the non-Li cations (charge balance)"),
    "crystal_polarizability": ("S-C", "α_c, sum of elemental polarizabilities per formula unit (Å^3)"),
    "cm_polarizability_density": ("S-C", "Clausius–Mossotti ratio 4πΣα/(3V)"),
    "li_fraction": ("S-C", "Li atoms / all atoms"),
    "li_density": ("S-C", "Li atoms per nm^3"),
    "density": ("S-C", "mass density (g/cm^3)"),
    "n_elements": ("S-C", "number of elements"),
    "li_site_occupancy": ("S-C", "mean Li occupancy of the Li-containing sites"),
    "disordered_site_fraction": ("S-C", "fraction of sites with partial or mixed occupancy"),
}


CATEGORICAL = ["anion_class"]


#: metadata columns carried in the table (not descriptors)
META = [
    "formula",
    "family",
    "anions",
    "anion_mixed",
    "has_disorder",
    "icsd",
    "split",
    "sigma_rt",
    "log10_sigma",
    "superionic",
    "mchaffie_superionic",
    "loco_cluster",
]


_CHALCOGENS = {"O": "oxide", "S": "sulfide", "Se": "sulfide", "Te": "sulfide"}


_HALOGENS = {"F", "Cl", "Br", "I"}


FAMILY_ALIASES = {
    "argyrodite": "argyrodites",
    "halide": "halides",
    "cholorides": "chlorides",
    "nitride": "nitrides",
    "garnet-like": "garnet",
}


def normalize_family(name: Any) -> str:
    """OBELiX ``Family`` label, lower-cased, with its spelling variants merged (``Halide``→``halides``)."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return "unknown"
    key = str(name).strip().lower()
    return FAMILY_ALIASES.get(key, key)


#: column → category code ("S-C", "D-V", "M-E"); optional joins register themselves here.
CATEGORIES: dict[str, str] = {k: v[0] for k, v in DESCRIPTORS.items()}


CATEGORIES["anion_class"] = "S-C"


OPTIONAL_CATEGORIES = {
    "megnet_band_gap": "S-C",
    "megnet_formation_energy": "S-C",
    "bvse_barrier_1d": "D-V",
    "bvse_barrier_2d": "D-V",
    "bvse_barrier_3d": "D-V",
}


CATEGORIES.update(OPTIONAL_CATEGORIES)


#: finer groups inside the paper's categories (ours are nearly all S–C, so the PCA loadings are
#: also aggregated by these); ``md_*`` columns are "vibrational (MD)".
SUBCATEGORIES: dict[str, str] = {
    **{
        c: "cell & symmetry"
        for c in (
            "volume_per_fu",
            "volume_per_atom",
            "n_formula_units",
            "min_lattice_constant",
            "std_lattice_constants",
            "std_lattice_angles",
            "n_symmetry_ops",
            "spacegroup",
            "density",
        )
    },
    **{
        c: "Li environment"
        for c in ("li_nn_distance", "li_coordination", "li_li_min_distance", "li_fraction", "li_density")
    },
    **{
        c: "charge & polarizability"
        for c in (
            "mobile_ion_mass",
            "mobile_ion_charge",
            "anion_charge",
            "framework_cation_charge",
            "crystal_polarizability",
            "cm_polarizability_density",
            "n_elements",
        )
    },
    **{c: "disorder" for c in ("li_site_occupancy", "disordered_site_fraction")},
    "megnet_band_gap": "electronic (MEGNet)",
    "megnet_formation_energy": "electronic (MEGNet)",
    **{c: "migration (BVSE)" for c in ("bvse_barrier_1d", "bvse_barrier_2d", "bvse_barrier_3d")},
}


def category(column: str) -> str | None:
    """Table 1 category of a descriptor column (``md_*`` → D–V), or None for non-descriptors."""
    if column.startswith("md_"):
        return "D-V"
    return CATEGORIES.get(column)


def subcategory(column: str) -> str:
    if column.startswith("md_"):
        return "vibrational (MD)"
    return SUBCATEGORIES.get(column, "other")


@cache
def _polarizability(symbol: str) -> float:
    """Static dipole polarizability of the free atom (Å^3, CRC Handbook via matminer/Magpie)."""

    return float(_magpie().get_elemental_property(Element(symbol), "Polarizability"))


@lru_cache(maxsize=1)
def _magpie():
    from matminer.utils.data import MagpieData

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
        from pymatgen.core import Element

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

    if spacegroup is None or not (1 <= int(spacegroup) <= 230):
        from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

        spacegroup = SpacegroupAnalyzer(structure, symprec=0.1).get_space_group_number()
    return int(spacegroup), len(SpaceGroup.from_int_number(int(spacegroup)).symmetry_ops)


def structure_descriptors(structure, *, spacegroup: int | None = None, formula: str | None = None) -> dict[str, Any]:
    """All structure-derived descriptors of one (possibly disordered) Li-containing structure.

    ``spacegroup`` (number) and ``formula`` (the reported composition) come from the database when
    known; otherwise the space group is detected (spglib, symprec 0.1 Å) and the formula unit is the
    structure's reduced composition.  Raises ``ValueError`` with a reason when the structure has no Li.
    """

    amounts_cell: dict[str, float] = {}
    site_amounts = [_site_amounts(s) for s in structure]
    for a in site_amounts:
        for el, x in a.items():
            amounts_cell[el] = amounts_cell.get(el, 0.0) + x
    if amounts_cell.get("Li", 0.0) <= 0:
        raise ValueError("structure contains no Li")
    n_atoms = sum(amounts_cell.values())
    vol = float(structure.volume)
    z, atoms_per_fu = _z_from_formula(structure, formula)
    latt = structure.lattice
    abc = np.array(latt.abc, dtype=float)
    angles = np.array(latt.angles, dtype=float)
    sg, n_ops = _n_symmetry_ops(spacegroup, structure)

    anions = set(anion_elements(amounts_cell))
    major, anion_str, mixed = anion_class(amounts_cell)
    anion_occ = np.array([sum(a.get(e, 0.0) for e in anions) for a in site_amounts])
    li_occ = np.array([a.get("Li", 0.0) for a in site_amounts])
    li_idx = np.flatnonzero(li_occ > 0)

    # Li environment: neighbours of every Li-containing site
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

    # charges by charge balance with nominal anion charges
    q_anion = sum(amounts_cell[a] * _anion_charge(a) for a in anions)
    n_anion = sum(amounts_cell[a] for a in anions)
    n_li = amounts_cell["Li"]
    n_other_cat = n_atoms - n_anion - n_li
    fw_charge = (-q_anion - n_li) / n_other_cat if n_other_cat > 1e-9 else np.nan

    alpha_cell = sum(x * _polarizability(el) for el, x in amounts_cell.items())
    disordered = sum(1 for a in site_amounts if len(a) > 1 or abs(sum(a.values()) - 1.0) > 1e-6)

    return {
        "volume_per_fu": vol / z,
        "volume_per_atom": vol / n_atoms,
        "n_formula_units": z,
        "min_lattice_constant": float(abc.min()),
        "std_lattice_constants": float(abc.std()),
        "std_lattice_angles": float(angles.std()),
        "n_symmetry_ops": float(n_ops),
        "spacegroup": float(sg),
        "li_nn_distance": li_nn,
        "li_coordination": li_cn,
        "li_li_min_distance": li_li_min,
        "mobile_ion_mass": float(Element("Li").atomic_mass),
        "mobile_ion_charge": 1.0,
        "anion_charge": float(q_anion / n_anion) if n_anion else np.nan,
        "framework_cation_charge": float(fw_charge),
        "crystal_polarizability": float(alpha_cell / z),
        "cm_polarizability_density": float(4 * math.pi * alpha_cell / (3 * vol)),
        "li_fraction": float(n_li / n_atoms),
        "li_density": float(1000 * n_li / vol),
        "density": float(structure.density),
        "n_elements": float(len(amounts_cell)),
        "li_site_occupancy": float(li_occ[li_idx].mean()),
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


def add_optional_descriptors(
    table: pd.DataFrame,
    structures: pd.Series,
    *,
    sources: Iterable[str] = ("megnet", "bvse"),
    n_jobs: int | None = None,
    bvse_timeout: float = 120.0,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Join the descriptors other modules provide; return ``(table, status)``.

    * ``"megnet"``: :func:`matmap_utils.screening.megnet.pool.pool_predictions` — band gap and formation energy
      (disordered structures via occupancy-weighted embeddings) → ``megnet_band_gap``,
      ``megnet_formation_energy`` (category S–C, like the paper's E_g).
    * ``"bvse"``: :func:`matmap_utils.materials_map.bvse.migration_table` — Li percolation barriers
      E_1D/E_2D/E_3D → ``bvse_barrier_1d/2d/3d`` (category D–V). bvlain needs ordered structures,
      so disordered ones get NaN (reason counted in the status).

    ``status`` maps each source to ``"added: …"`` or ``"skipped: <reason>"`` (module not importable,
    computation failed, or not requested). Never raises for an optional source.
    """
    status: dict[str, str] = {}
    sources = set(sources)
    out = table.copy()
    structs = structures.reindex(out.index)
    if "megnet" in sources:
        try:
            from matmap_utils.screening.megnet.pool import pool_predictions

            pred, fails = pool_predictions(structs, n_jobs=n_jobs)
            pred = pred.rename(
                columns={"band_gap_eV": "megnet_band_gap", "formation_energy_eV_atom": "megnet_formation_energy"}
            )
            pred = pred[["megnet_band_gap", "megnet_formation_energy"]].astype(float)
            out = out.join(pred)
            status["megnet"] = (
                f"added: band gap and formation energy for {int(pred.notna().all(axis=1).sum())} "
                f"materials ({len(fails)} failed)"
            )
        except Exception as exc:  # noqa: BLE001 - optional source
            status["megnet"] = f"skipped: {type(exc).__name__}: {_first_line(exc)}"
    else:
        status["megnet"] = "skipped: not requested by the parameters"
    if "bvse" in sources:
        try:
            from matmap_utils.materials_map.bvse import migration_table

            bar = migration_table(
                list(structs.values), keys=list(structs.index), n_jobs=n_jobs, timeout=bvse_timeout, progress=False
            )
            ren = {"E_1D": "bvse_barrier_1d", "E_2D": "bvse_barrier_2d", "E_3D": "bvse_barrier_3d"}
            vals = bar[list(ren)].rename(columns=ren).astype(float)
            vals.index = out.index
            out = out.join(vals)
            reasons = bar.loc[bar["reason"].astype(str) != "", "reason"].astype(str)
            top = reasons.str.slice(0, 60).value_counts().head(3)
            status["bvse"] = (
                f"added: E_3D for {int(vals['bvse_barrier_3d'].notna().sum())} materials; "
                "missing: " + "; ".join(f"{n}× {r}" for r, n in top.items())
            )
        except Exception as exc:  # noqa: BLE001 - optional source
            status["bvse"] = f"skipped: {type(exc).__name__}: {_first_line(exc)}"
    else:
        status["bvse"] = "skipped: not requested by the parameters"
    return out, status


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


#: notebook 03's vibrational (AIMD, anharmonic) descriptors: all ions, non-diffusive (_nd), diffusive (_d)
MD_VIB_PREFIXES = (
    "omega_mean_meV",
    "omega30_meV",
    "Evib_meV_atom",
    "Fvib_meV_atom",
    "Svib_kB_atom",
    "Cv_kB_atom",
    "theta_D_K",
    "lindemann",
)


#: the columns of the MD table that enter correlograms and the MLP (diffusion, conditions, vibrations)
MD_JOIN_COLUMNS = (
    "log10_D",
    "lindemann",
    "omega_mean_meV",
    "omega30_meV",
    "Cv_kB_atom",
    "Svib_kB_atom",
    "Fvib_meV_atom",
    "theta_D_K",
)


def _reduced(x) -> str | None:

    try:
        return Composition(str(x)).reduced_formula
    except Exception:  # noqa: BLE001
        return None


def md_frame(md: pd.DataFrame) -> pd.DataFrame:
    """Notebook 03's MD table reduced to what López et al. correlate: one row per run/temperature.

    Keeps ``material`` (normalised reduced formula, the group of the leave-one-material-out MLP),
    ``specie``, ``temperature_K``, ``log10_D`` and the vibrational descriptors (all ions, ``_nd``
    non-diffusive, ``_d`` diffusive) with at least one value; bookkeeping columns (run counts, frame
    spacing, error bars, per-axis D) and direct transforms of D (MSD, Nernst–Einstein σ) are left out
    so that they can neither crowd the correlogram nor leak the target into the MLP.
    """
    out = pd.DataFrame(index=md.index)
    key = "reduced_formula" if "reduced_formula" in md else "system"
    out["material"] = md[key].map(_reduced).fillna(md[key].astype(str))
    if "specie" in md:
        out["specie"] = md["specie"].astype(str)
    for c in ("temperature_K", "log10_D"):
        if c in md:
            out[c] = md[c].astype(float)
    if "log10_D" not in out and "D_cm2_s" in md:
        out["log10_D"] = np.log10(md["D_cm2_s"].where(md["D_cm2_s"] > 0).astype(float))
    for c in md.columns:
        if c.startswith(MD_VIB_PREFIXES) and pd.api.types.is_numeric_dtype(md[c]) and md[c].notna().any():
            out[c] = md[c].astype(float)
    return out


def md_vibrational_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(MD_VIB_PREFIXES)]


def join_md_descriptors(
    table: pd.DataFrame, md: pd.DataFrame | None, *, t_window: tuple[float, float] = (400.0, 600.0)
) -> tuple[pd.DataFrame, str]:
    """Join notebook 03's MD descriptors to the materials with the same reduced formula.

    As in the paper (T = 500 ± 100 K), only runs with ``t_window[0] ≤ T ≤ t_window[1]`` are used,
    averaged per material; the columns :data:`MD_JOIN_COLUMNS` get an ``md_`` prefix (category D–V).
    """
    if md is None or len(md) == 0:
        return table, "skipped: notebook 03's md_descriptors table is not there"
    f = md_frame(md)
    if "temperature_K" in f:
        f = f[f["temperature_K"].between(*t_window)]
    cols = [c for c in MD_JOIN_COLUMNS if c in f.columns]
    agg = f.groupby("material")[cols].mean()
    agg.columns = [f"md_{c}" for c in agg.columns]
    rf = table["formula"].map(_reduced) if "formula" in table else pd.Series(None, index=table.index)
    joined = agg.reindex(rf.values)
    joined.index = table.index
    out = pd.concat([table, joined], axis=1)
    n = int(joined.notna().any(axis=1).sum())
    return out, (
        f"added: {len(agg.columns)} MD columns at {t_window[0]:.0f}–{t_window[1]:.0f} K for {n} "
        f"materials (matched by reduced formula to {len(agg)} simulated systems)"
    )


def descriptor_columns(table: pd.DataFrame, *, numeric_only: bool = True) -> list[str]:
    """Descriptor columns of ``table`` in :data:`CATEGORIES` order (numeric ones by default)."""
    cols = [c for c in table.columns if category(c) is not None]
    if numeric_only:
        cols = [c for c in cols if pd.api.types.is_numeric_dtype(table[c])]
    return cols


def category_table(columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Table 1 analogue: descriptor, category, description."""
    cols = list(CATEGORIES) if columns is None else list(columns)
    rows = []
    for c in cols:
        cat = CATEGORIES.get(c, "?")
        rows.append(
            {
                "descriptor": c,
                "category": cat,
                "category_name": CATEGORY_NAMES.get(cat, cat),
                "description": DESCRIPTORS.get(c, (cat, ""))[1],
            }
        )
    return pd.DataFrame(rows)


def read_md_table() -> tuple[pd.DataFrame | None, str]:
    """Notebook 03's ``md_descriptors`` table, or ``(None, reason)`` when it has not been written."""

    try:
        return read_table("03_aimd_trajectories", "md_descriptors"), "found"
    except FileNotFoundError as exc:
        return None, str(exc).splitlines()[0]


def obelix_descriptor_table(
    *,
    sources: Iterable[str] = ("megnet", "bvse"),
    n_jobs: int | None = None,
    bvse_timeout: float = 120.0,
    progress: bool = False,
) -> dict[str, Any]:
    """The whole table of notebook 04: OBELiX structures → descriptors, McHaffie labels, optional joins.

    Returns a dict with ``table`` (one row per usable material), ``unusable`` (id, reason — entries
    without CIF, without Li sites, or failing), ``status`` (optional sources: added/skipped with
    reason), ``md`` (notebook 03's table or None) and ``parse_failures`` (CIFs that did not parse).
    """

    ob = load_obelix(n_jobs=n_jobs)
    parse_fail = pd.DataFrame(ob.attrs.get("failures", []))
    table, unusable = build_descriptor_table(ob, n_jobs=n_jobs, progress=progress)
    if len(parse_fail):
        bad = dict(zip(parse_fail["id"], parse_fail["reason"]))
        unusable["reason"] = [
            f"CIF did not parse: {bad[i]}" if i in bad else r for i, r in zip(unusable["id"], unusable["reason"])
        ]
    try:
        table = join_mchaffie(table, load_mchaffie(with_structures=False))
    except Exception as exc:  # noqa: BLE001 - labels are optional metadata
        table["mchaffie_superionic"] = pd.NA
        table["loco_cluster"] = pd.NA
        status_m = f"skipped: {type(exc).__name__}: {_first_line(exc)}"
    else:
        status_m = f"added: {int(table['mchaffie_superionic'].notna().sum())} materials matched by ICSD code"
    table, status = add_optional_descriptors(
        table, ob["structure"], sources=sources, n_jobs=n_jobs, bvse_timeout=bvse_timeout
    )
    status["mchaffie"] = status_m
    md, why = read_md_table()
    table, status["md"] = join_md_descriptors(table, md)
    if md is None:
        status["md"] = f"skipped: {why}"
    unusable = unusable.merge(
        ob[["Reduced Composition", "Family"]].rename(columns={"Reduced Composition": "formula", "Family": "family"}),
        left_on="id",
        right_index=True,
        how="left",
    )
    return {"table": table, "unusable": unusable, "status": status, "md": md, "parse_failures": parse_fail}
