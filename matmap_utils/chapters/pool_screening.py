"""Screening a pool of any size (``matmap screen --pool``): chapter 06's screening, chunk by chunk.

The pool is a folder of CIFs (searched recursively), a table of CIF paths (``.csv``/``.tsv``/
``.parquet`` with a ``path`` column, or ``.txt`` with one path per line), an extended-XYZ file or
an ASE database.  It is read lazily: only the chunks in flight are in memory, so memory stays flat
however large the pool.  Each chunk (``chunk_size`` structures, one task) runs the per-structure
screening of chapter 06 (McHaffie et al. 2025, Sec. 2.5, 3.3 and Fig. 7: P_SI of the AtomSets
ensemble, PCA distance to the training data and the domain flag, the two-stage band-gap filter — the
MP gap of a structure named by its MP id, else MEGNet's metal classifier and band gap —, compositional
novelty and the verdict) through :func:`screen_structures`, which calls the scoring functions of
``matmap screen FILE`` (:mod:`matmap_utils.screening.score`), on the local process pool or a Ray cluster
(:mod:`matmap_utils.core.backends`), and its table is cached the moment it is done
(:mod:`matmap_utils.core.chunked`): a killed run started again recomputes only unfinished chunks.

The final table has the columns of chapter 06's ``screening`` table (indexed by ``material_id``,
the file's path relative to the folder without ``.cif``, or the id given by the table or file);
structures that could not be screened go to ``<output>-failures.parquet`` with the reason.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ase.db
import ase.io
import numpy as np
import pandas as pd
import torch
from pymatgen.core import Composition, Lattice, Structure

from matmap_utils.chapters.ch06_atomsets_screening import labelled_entries
from matmap_utils.core.backends import Backend, current, get_backend, one_line
from matmap_utils.core.cache import CacheKind, hash_key
from matmap_utils.core.chunked import ChunkRun, iter_chunks, run_chunked, write_stream
from matmap_utils.data.datasets import load_mchaffie, load_mp_band_gaps
from matmap_utils.data.structures import StructureReadError, parse_cif_text
from matmap_utils.screening import candidates, score
from matmap_utils.screening.megnet import pool as megnet_pool

#: Cached chunk tables of pool screenings (the key holds the models' and the settings' hashes).
#: Version 2: chapter 06's verdict columns (metal classifier, domain flag, verdict).
CACHE = CacheKind("pool_screening", folder="pool_screening", version=2)

#: Columns (and dtypes) of chapter 06's screening table, in its order (index: ``material_id``):
#: :data:`matmap_utils.screening.score.SCORED_COLUMNS`.  Text columns are pandas ``string`` (a
#: column that is empty or all missing in one chunk still has a type in the parquet file).
COLUMNS = {
    "formula": "string",
    "P_SI": "float64",
    "P_SI_std": "float64",
    "d_train": "float64",
    "out_of_domain": "bool",
    "nsites": "int64",
    "Eg": "float64",
    "Eg_source": "string",
    "P_nonmetal": "float64",
    "metal": "bool",
    "gap_reason": "string",
    "passes_gap": "bool",
    "disordered": "bool",
    "novel": "bool",
    "verdict": "string",
    "candidate": "bool",
}
#: The MEGNet models the screening runs (their settings are part of the chunk cache key).
MEGNET_MODELS = ("formation_energy", "band_gap", "nonmetal")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".txt")
XYZ_SUFFIXES = (".xyz", ".extxyz")
DB_SUFFIXES = (".db", ".aselmdb")


# ---- the screening context (models, training data), shared by every chunk ----------------------
@dataclass
class ScreenContext:
    """What every chunk needs, sent once per worker: ``bundle`` — the saved AtomSets ensemble with
    its simplification ``mode``, MEGNet ``layer``, training vectors (PCA distance), domain threshold
    and ``reference_formulas`` (the novelty reference;
    :func:`matmap_utils.screening.candidates.load_screening_bundle`); ``token`` identifies all of it
    in the chunk cache keys."""

    bundle: dict
    token: dict = field(default_factory=dict)


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def novelty_reference(novelty: str, bundle: dict, label_limit: int = 0, seed: int = 0) -> list[str]:
    """Formulas a candidate must differ from: ``"ensemble"`` — those saved with the ensemble
    (notebook 06 saves chapter 06's: every McHaffie and OBELiX composition; as ``matmap screen
    FILE``), ``"labelled"`` — every labelled compound of McHaffie et al. with a structure
    (``label_limit``/``seed`` as chapter 06's parameters), ``"training"`` — the ensemble's training
    compounds whose names are formulas, or a path to a text file of formulas (one a line)."""
    if novelty == "ensemble":
        return [str(f) for f in bundle["reference_formulas"]]
    if novelty == "training":  # compound names such as "Li3PS4 + 1wt% Al2O3" are not formulas: left out
        return [f for f in (_formula_or_none(t) for t in bundle["train_formulas"]) if f is not None]
    if novelty == "labelled":
        lab = labelled_entries(load_mchaffie(), label_limit, seed)
        return [s.composition.formula for s in lab["structure"]]
    path = Path(novelty)
    if not path.is_file():
        raise FileNotFoundError(
            f"{novelty}: novelty reference must be 'ensemble', 'labelled', 'training' or a file of formulas"
        )
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    bad = [t for t in lines if _formula_or_none(t) is None]
    if bad:
        raise ValueError(f"{path}: not formulas: {', '.join(bad[:5])}")
    return lines


def _formula_or_none(text: str) -> str | None:
    try:
        return Composition(text).formula
    except Exception:  # noqa: BLE001 - pymatgen raises ValueError, KeyError... on non-formulas
        return None


def load_context(model_dir=None, novelty: str = "ensemble", label_limit: int = 0, seed: int = 0) -> ScreenContext:
    """The saved screening model (``matmap screen``'s default: notebook 06's) and novelty reference."""
    bundle = candidates.load_screening_bundle(model_dir)
    folder = Path(model_dir) if model_dir is not None else candidates.default_model_dir()
    refs = novelty_reference(novelty, bundle, label_limit, seed)
    token = {
        "model": {f: _file_sha(folder / f) for f in ("config.json", "weights.pt", "train_vectors.npz")},
        "novelty": hash_key(sorted(refs)),
        "megnet": [megnet_pool.load_model(m).settings for m in MEGNET_MODELS],
    }
    return ScreenContext({**bundle, "reference_formulas": refs}, token)


# ---- THE per-structure screening (one adapter: point it at a new pipeline here) ----------------
def screen_structures(names: list[str], structures: list, known_gaps: list[float], ctx: ScreenContext) -> pd.DataFrame:
    """Chapter 06's screening of a batch of structures, with chapter 06's columns (:data:`COLUMNS`):
    the scoring path of ``matmap screen FILE`` (:func:`matmap_utils.screening.score.featurize` and
    :func:`~matmap_utils.screening.score.score_featurized`) — P_SI mean/SD over the ensemble,
    PCA-normalized distance to the training data and the domain flag, the two-stage band-gap filter
    (``known_gaps`` in eV, NaN = unknown, else MEGNet's metal classifier and band gap), novelty and
    the verdict.  One row per name; ``reason`` says why a row failed."""
    series = pd.Series(structures, index=names, dtype=object)
    fm, ffail = score.featurize(ctx.bundle, series)
    reasons = {str(n): str(r) for n, r in ffail}
    ok = [n for n in names if n in fm]
    out = pd.DataFrame(index=pd.Index(names, name="material_id"), columns=list(COLUMNS) + ["reason"], dtype=object)
    out["reason"] = [reasons.get(n, "featurization failed") if n not in fm else None for n in names]
    if not ok:
        return out
    gaps = pd.Series(known_gaps, index=names, dtype="float64").loc[ok]
    scored = score.score_featurized(ctx.bundle, series.loc[ok], [fm[n] for n in ok], gaps)
    for col in COLUMNS:
        out.loc[ok, col] = scored[col].tolist()
    return out


# ---- one chunk: parse the items, screen them ---------------------------------------------------
def to_structure(kind: str, payload, name: str):
    """A pymatgen structure from an item: CIF text, or the arrays of an ASE ``Atoms`` (periodic)."""
    if kind == "cif":
        return parse_cif_text(payload, name)
    if kind == "error":
        raise StructureReadError(payload)
    if not all(payload["pbc"]):
        raise StructureReadError(f"{name}: not periodic in all three directions (pbc={list(payload['pbc'])})")
    return Structure(
        Lattice(payload["cell"]), list(payload["numbers"]), payload["positions"], coords_are_cartesian=True
    )


def screen_chunk(pairs: list[tuple[str, tuple]], ctx: ScreenContext) -> pd.DataFrame:
    """Task of one chunk: ``pairs`` of (name, (kind, payload, known gap)); one row per name."""
    # one core per task, and the same numbers on every backend; MEGNet's automatic thread choice
    # would start OpenMP threads in a forked worker whose parent used them: a deadlock
    torch.set_num_threads(1)
    for name in MEGNET_MODELS:
        megnet_pool.load_model(name).threads = 1
    names, structures, gaps, bad = [], [], [], {}
    for name, (kind, payload, gap) in pairs:
        try:
            structures.append(to_structure(kind, payload, name))
        except Exception as exc:  # noqa: BLE001 - an unreadable item is a row with the reason
            bad[name] = one_line(exc)
            continue
        names.append(name)
        gaps.append(np.nan if gap is None else float(gap))
    parts = [screen_structures(names, structures, gaps, ctx)] if names else []
    if bad:
        parts.append(pd.DataFrame({"reason": list(bad.values())}, index=pd.Index(list(bad), name="material_id")))
    df = pd.concat(parts) if parts else pd.DataFrame(columns=list(COLUMNS) + ["reason"])
    return df.loc[[n for n, _ in pairs]]


# ---- reading a pool lazily ---------------------------------------------------------------------
def _cif_files(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            if f.lower().endswith(".cif"):
                yield Path(root) / f


def _sep(path: Path) -> str:
    return "\t" if path.suffix.lower() in (".tsv", ".tab") else ","


def _table(path: Path) -> pd.DataFrame:
    if path.suffix == ".txt":
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
        df = pd.DataFrame({"path": lines})
    else:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, sep=_sep(path))
    col = next((c for c in ("path", "cif", "file") if c in df.columns), None)
    if col is None:
        raise ValueError(f"{path}: a pool table needs a 'path' column of CIF files (has {', '.join(df.columns)})")
    ids = next((c for c in ("material_id", "id", "name") if c in df.columns), None)
    paths = [p if Path(p).is_absolute() else str(path.parent / p) for p in df[col].astype(str)]
    names = df[ids].astype(str).tolist() if ids else [Path(p).stem for p in df[col].astype(str)]
    gap = next((c for c in ("Eg_MP", "band_gap", "band_gap_eV") if c in df.columns), None)
    gaps = df[gap].astype(float).tolist() if gap else [None] * len(df)
    return pd.DataFrame({"name": names, "path": paths, "gap": gaps})


def _cif_item(name: str, path, gap) -> tuple[str, tuple, str]:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        name_err = f"{path}: cannot read ({exc.strerror or exc})"
        return name, ("error", name_err, gap), hash_key(name_err)
    return name, ("cif", text, gap), hash_key(hashlib.sha256(text.encode()).hexdigest(), gap)


def _atoms_item(name: str, atoms, gap) -> tuple[str, tuple, str]:
    payload = {
        "numbers": np.asarray(atoms.numbers, np.int64),
        "cell": np.asarray(atoms.cell[:], np.float64),
        "positions": np.asarray(atoms.positions, np.float64),
        "pbc": [bool(x) for x in atoms.pbc],
    }
    return (
        name,
        ("atoms", payload, gap),
        hash_key(payload["numbers"], payload["cell"], payload["positions"], payload["pbc"], gap),
    )


def _label(info: dict, default: str) -> str:
    return str(next((info[k] for k in ("material_id", "id", "name") if k in info), default))


def _gap_of(info: dict, known: dict | None, name: str):
    """The structure's own gap (``Eg_MP``/``band_gap``/``band_gap_eV`` of the pool), else the known
    gap of its name, else that of its MP id (:func:`matmap_utils.screening.score.mp_id_of`), else None."""
    own = next((info[k] for k in ("Eg_MP", "band_gap", "band_gap_eV") if k in info and pd.notna(info[k])), None)
    if own is not None:
        return float(own)
    if known:
        for key in (name, score.mp_id_of(name)):
            if key in known and pd.notna(known[key]):
                return float(known[key])
    return None


def iter_pool(path: str | Path, known_gaps: dict | None = None) -> Iterator[tuple[str, tuple, str]]:
    """``(name, (kind, payload, known gap), content hash)`` of every structure of the pool, lazily;
    the known gap (eV) is the pool's own (a table's or an ``Atoms.info``'s ``Eg_MP``/``band_gap``/
    ``band_gap_eV``), else ``known_gaps``' by name or MP id (:func:`known_gaps_from`), else None."""
    path = Path(path)
    if path.is_dir():
        for f in _cif_files(path):
            name = f.relative_to(path).with_suffix("").as_posix()
            yield _cif_item(name, f, _gap_of({}, known_gaps, name))
    elif path.suffix.lower() in TABLE_SUFFIXES:
        for row in _table(path).itertuples(index=False):
            yield _cif_item(row.name, row.path, _gap_of({"Eg_MP": row.gap}, known_gaps, row.name))
    elif path.suffix.lower() in XYZ_SUFFIXES:
        for i, atoms in enumerate(ase.io.iread(path, index=":", format="extxyz")):
            name = _label(atoms.info, f"{path.stem}-{i}")
            yield _atoms_item(name, atoms, _gap_of(atoms.info, known_gaps, name))
    elif path.suffix.lower() in DB_SUFFIXES:
        for row in ase.db.connect(path).select():
            name = _label(row.key_value_pairs, f"{path.stem}-{row.id}")
            yield _atoms_item(name, row.toatoms(), _gap_of(row.key_value_pairs, known_gaps, name))
    else:
        raise ValueError(f"{path}: not a pool (a folder of CIFs, a table {TABLE_SUFFIXES}, extxyz or ASE .db)")


def pool_size(path: str | Path) -> int:
    """Number of structures in the pool, counted without parsing any (for the progress bar's ETA)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such pool (folder, table, extxyz or ASE database)")
    if path.is_dir():
        return sum(1 for _ in _cif_files(path))
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return len(_table(path))
    if suffix in DB_SUFFIXES:
        return ase.db.connect(path).count()
    if suffix in XYZ_SUFFIXES:
        return _count_xyz_frames(path)
    raise ValueError(f"{path}: not a pool (a folder of CIFs, a table {TABLE_SUFFIXES}, extxyz or ASE .db)")


def _count_xyz_frames(path: Path) -> int:
    n = 0
    with open(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            n += 1
            for _ in range(int(line.split()[0]) + 1):
                next(fh)
    return n


def chunked(items: Iterator, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last one shorter), lazily."""
    chunk = []
    for it in items:
        chunk.append(it)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---- the whole pool ----------------------------------------------------------------------------
@dataclass
class PoolResult:
    """A pool screening: the table and failures files, the chunk run (cached / computed / lost
    chunks), the number of structures screened and failed, and the wall time (s)."""

    table: Path
    failures: Path
    run: ChunkRun
    n_ok: int
    n_failed: int
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.n_ok} structures screened, {self.n_failed} failed in {self.seconds:.1f} s "
            f"({self.run.summary()}); table: {self.table}"
        )


def known_gaps_from(spec: str | None) -> dict | None:
    """Known band gaps (eV) by structure name: ``None``/``"none"``; ``"mp"`` — the MP band gaps of
    the mirror (``ionnet/Li-MP-final.csv``, by material id; as chapter 06 and ``matmap screen FILE``);
    or a table (``id``/``material_id`` and ``Eg_MP``/``band_gap``/``band_gap_eV`` columns)."""
    if not spec or spec == "none":
        return None
    if spec == "mp":
        return load_mp_band_gaps()["mp_band_gap_eV"].dropna().to_dict()
    df = pd.read_parquet(spec) if str(spec).endswith(".parquet") else pd.read_csv(spec, sep=_sep(Path(spec)))
    ids = next((c for c in ("material_id", "id", "name") if c in df.columns), None)
    gap = next((c for c in ("Eg_MP", "band_gap", "band_gap_eV", "mp_band_gap_eV") if c in df.columns), None)
    if ids is None or gap is None:
        raise ValueError(f"{spec}: a known-gaps table needs an id column and a band-gap column (eV)")
    return dict(zip(df[ids].astype(str), df[gap].astype(float)))


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that were screened, with chapter 06's columns and dtypes (index ``material_id``)."""
    ok = df[df["reason"].isna()] if "reason" in df.columns else df
    ok = ok.reindex(columns=list(COLUMNS)).astype(COLUMNS)
    ok.index = ok.index.astype(str)
    ok.index.name = "material_id"
    return ok


def failures_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.stem + "-failures.parquet")


def write_results(run: ChunkRun, output: str | Path) -> tuple[int, int]:
    """The final table (chunk by chunk, streamed; a chunk without a screened row is left out, its
    empty index has no type) and the failures file; returns (n ok, n failed)."""
    fails, n_ok = [], 0

    def frames():
        nonlocal n_ok
        empty = None
        for df in iter_chunks(run):
            bad = df[df["reason"].notna()]
            if len(bad):
                fails.append(pd.DataFrame({"reason": bad["reason"].astype(str)}, index=bad.index.astype(str)))
            ok = conform(df)
            n_ok += len(ok)
            if len(ok):
                yield ok
            else:
                empty = ok
        if n_ok == 0 and empty is not None:
            yield empty

    write_stream(frames(), output)
    fdf = pd.concat(fails) if fails else pd.DataFrame({"reason": pd.Series(dtype=object)})
    fdf.index.name = "material_id"
    fdf.to_parquet(failures_path(output))
    return n_ok, len(fdf)


def screen_pool(
    pool: str | Path,
    output: str | Path,
    *,
    ctx: ScreenContext | None = None,
    func=screen_chunk,
    backend: Backend | None = None,
    chunk_size: int = 256,
    known_gaps: str | None = "mp",
    progress: bool = True,
    **context_kw,
) -> PoolResult:
    """Screen every structure of ``pool`` in chunks of ``chunk_size`` on ``backend`` (default: by
    ``MATMAP_RAY_ADDRESS``), resuming from the chunk cache, and write ``output`` (parquet, chapter
    06's columns) and ``<output>-failures.parquet``.  ``ctx``: :func:`load_context` (``context_kw``:
    its ``model_dir``, ``novelty``, ``label_limit``, ``seed``); ``known_gaps``: :func:`known_gaps_from`
    (default ``"mp"``: the MP gap of structures named by MP id); ``func``: the chunk task."""
    t0 = time.perf_counter()
    total = pool_size(pool)
    ctx = ctx if ctx is not None else load_context(**context_kw)
    gaps = known_gaps_from(known_gaps)
    own = backend is None and current() is None
    backend = backend or get_backend()
    try:
        items = chunked(iter_pool(pool, gaps), int(chunk_size))
        run = run_chunked(
            func,
            items,
            kind=CACHE,
            token=ctx.token,
            shared=ctx,
            backend=backend,
            total=total,
            desc="screening",
            progress=progress,
        )
    finally:
        if own:
            backend.close()
    n_ok, n_failed = write_results(run, output)
    res = PoolResult(Path(output), failures_path(output), run, n_ok, n_failed, time.perf_counter() - t0)
    print(res.summary(), file=sys.stderr)
    return res
