"""Reading crystal structures from users' files: every failure named, none fatal to a batch."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifParser
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from matmap_utils.core.cache import CacheKind, atomic_write_parquet, hash_structure
from matmap_utils.core.parallel import parallel_map

#: Parsed CIFs of one registered dataset (parquet of lattice/species/coordinates + failures).
PARSED_CACHE = CacheKind("parsed_cifs", folder="structures", version="v1", version_at=-1)
#: Symmetry/formula summaries of a list of structures (one parquet per list).
SUMMARY_CACHE = CacheKind("structure_summary", folder="summary", version=None)


def _encode_species(site) -> str:
    """One site's species as text: ``"Li"``/``"Li+"`` when ordered, else JSON ``{"Li+": 0.5, ...}``."""
    items = list(site.species.items())
    if len(items) == 1 and abs(items[0][1] - 1.0) < 1e-9:
        return str(items[0][0])

    return json.dumps({str(sp): round(float(occ), 8) for sp, occ in items}, sort_keys=True)


def _decode_species(text: str):
    if text.startswith("{"):
        return json.loads(text)
    return text


def structure_to_row(structure) -> dict:
    """Serialize a Structure into plain columns (no pickle): lattice, species, fractional coords."""
    return {
        "lattice": structure.lattice.matrix.reshape(-1).tolist(),
        "species": [_encode_species(site) for site in structure],
        "frac": structure.frac_coords.reshape(-1).tolist(),
    }


def row_to_structure(lattice, species, frac):

    return Structure(
        Lattice(np.asarray(lattice, dtype=float).reshape(3, 3)),
        [_decode_species(s) for s in species],
        np.asarray(frac, dtype=float).reshape(-1, 3),
        validate_proximity=False,
    )


def _parse_registered_cif(item: tuple[str, str]) -> dict:
    """Worker: parse one CIF (registered name, local path) → serialized row (errors propagate)."""

    name, path = item
    text = Path(path).read_text(errors="replace")
    s = parse_cif_text(text, name)
    row = structure_to_row(s)
    row["formula"] = s.composition.formula
    row["reduced_formula"] = s.composition.reduced_formula
    row["nsites"] = len(s)
    row["ordered"] = bool(s.is_ordered)
    return row


def parse_cifs_cached(
    items: list[tuple[str, str, str]], *, kind: str, desc: str | None = None, n_jobs: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse CIFs once and cache them as parquet (keyed by the files' sha256s and pymatgen version).

    ``items`` are ``(key, source_name, local_path, sha256)``-like triples ``(key, path, sha)``.
    Returns ``(table, failures)``: ``table`` indexed by key with columns lattice/species/frac/
    formula/reduced_formula/nsites/ordered; ``failures`` lists each CIF that failed with its reason.
    """

    key = PARSED_CACHE.key(kind, sorted((k, sha) for k, _, sha in items), version("pymatgen"))
    out_ok = PARSED_CACHE.path(key, ".parquet", prefix=f"{kind}-")
    out_fail = out_ok.with_name(out_ok.stem + "-failures.parquet")
    if out_ok.exists() and out_fail.exists():
        return pd.read_parquet(out_ok), pd.read_parquet(out_fail)
    outcomes = parallel_map(
        _parse_registered_cif,
        [(k, p) for k, p, _ in items],
        keys=[k for k, _, _ in items],
        n_jobs=n_jobs,
        desc=desc or f"parsing {kind}",
    )
    broken = [o for o in outcomes if o.kind == "worker"]
    if broken:  # infrastructure failure, not a bad CIF: never cache it
        raise RuntimeError(
            f"parsing {kind}: {len(broken)} CIFs lost to a failed worker process "
            f"({broken[0].error}); rerun with MATMAP_N_JOBS=1 to debug"
        )
    ok = {o.key: o.value for o in outcomes if o.ok}
    table = pd.DataFrame.from_dict(ok, orient="index")
    table.index.name = "id"
    failures = pd.DataFrame([{"id": o.key, "reason": o.error} for o in outcomes if not o.ok], columns=["id", "reason"])
    atomic_write_parquet(out_ok, table)
    atomic_write_parquet(out_fail, failures)
    return table, failures


def _structures_from_table(table: pd.DataFrame) -> list:
    return [row_to_structure(l, s, f) for l, s, f in zip(table["lattice"], table["species"], table["frac"])]


class StructureReadError(ValueError):
    """A structure file could not be turned into a usable structure (message names the file)."""


@dataclass
class ReadFailure:
    source: str
    reason: str


def parse_cif_text(text: str, source: str = "<cif>", *, primitive: bool = False):
    """Parse CIF text into a pymatgen ``Structure``; raise :class:`StructureReadError` naming ``source``.

    Partially occupied sites are kept as disordered sites (``site.species`` with occupancies);
    oxidation states written in the CIF are kept on the species.
    """

    if not text.strip():
        raise StructureReadError(f"{source}: empty file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parser = CifParser.from_str(text, occupancy_tolerance=1.05)
            structures = parser.parse_structures(primitive=primitive, on_error="raise")
        except Exception as exc:  # pymatgen raises ValueError, KeyError, IndexError...
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            notes = [w for w in caught if not issubclass(w.category, (DeprecationWarning, FutureWarning))]
            hints = "; ".join(str(w.message).splitlines()[0] for w in notes[:2])
            raise StructureReadError(
                f"{source}: not a readable CIF ({detail}{'; ' + hints if hints else ''})"
            ) from None
    if not structures:
        raise StructureReadError(f"{source}: the CIF holds no structure")
    structure = structures[0]
    if len(structure) == 0:
        raise StructureReadError(f"{source}: the structure has no atoms")
    if not np.isfinite(structure.frac_coords).all() or structure.volume <= 0:
        raise StructureReadError(f"{source}: non-finite coordinates or a degenerate cell")
    return structure


def read_structure(path: str | Path, *, primitive: bool = False):
    """Read one structure file (CIF, POSCAR, or anything pymatgen/ASE reads)."""
    path = Path(path)
    if not path.exists():
        raise StructureReadError(f"{path}: no such file")
    if path.is_dir():
        raise StructureReadError(f"{path}: is a folder, not a structure file")
    name = path.name.lower()
    if name.endswith(".cif") or name.endswith(".mcif"):
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            raise StructureReadError(f"{path}: cannot read ({exc})") from None
        return parse_cif_text(text, str(path), primitive=primitive)

    try:
        return Structure.from_file(path)
    except Exception as exc:  # noqa: BLE001
        raise StructureReadError(f"{path}: not a readable structure file ({type(exc).__name__}: {exc})") from None


def read_structures(paths: Iterable[str | Path]):
    """Read many files; return ``(names, structures, failures)`` with one failure per bad file."""
    names, structures, failures = [], [], []
    for p in paths:
        try:
            s = read_structure(p)
        except StructureReadError as exc:
            failures.append(ReadFailure(str(p), str(exc)))
            continue
        names.append(Path(p).stem)
        structures.append(s)
    return names, structures, failures


def expand_paths(args: Sequence[str]) -> list[Path]:
    """CLI helper: files as given; folders expanded to their ``*.cif`` files (sorted)."""
    out: list[Path] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            out.extend(sorted(p.glob("*.cif")))
        else:
            out.append(p)
    return out


def is_ordered(structure) -> bool:
    return bool(structure.is_ordered)


def _summary_one(structure, symprec: float = 0.1) -> dict:

    out = {
        "nsites": len(structure),
        "volume_per_site": structure.volume / len(structure),
        "density": float(structure.density),
    }
    try:
        sga = SpacegroupAnalyzer(structure, symprec=symprec)
        out.update(
            spacegroup_number=int(sga.get_space_group_number()),
            spacegroup_symbol=sga.get_space_group_symbol(),
            crystal_system=sga.get_crystal_system(),
        )
    except Exception:  # noqa: BLE001 - spglib fails on some disordered cells
        out.update(spacegroup_number=None, spacegroup_symbol=None, crystal_system=None)
    return out


def structure_summary(structures, *, n_jobs: int | None = None, symprec: float = 0.1):
    """Space group (spglib, ``symprec`` Å), crystal system, sites, volume per site and density.

    Parallel over structures and cached by structure content, so the 1,349-structure Li–O set
    costs its ~30 s once.  Returns a DataFrame with the index of ``structures`` (a Series).
    """

    series = structures if hasattr(structures, "index") else pd.Series(list(structures))
    keys = [hash_structure(s, "summary", symprec) for s in series]
    path = SUMMARY_CACHE.path(SUMMARY_CACHE.key(keys), ".parquet", prefix="summary-")
    if path.exists():
        df = pd.read_parquet(path)
        df.index = series.index
        return df

    outcomes = parallel_map(partial(_summary_one, symprec=symprec), list(series), n_jobs=n_jobs, desc="space groups")
    rows = [o.value if o.ok else {"error": o.error} for o in outcomes]
    df = pd.DataFrame(rows, index=series.index)
    atomic_write_parquet(path, df.reset_index(drop=True))
    return df
