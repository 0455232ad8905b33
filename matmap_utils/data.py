"""Hash-checked data registry over the offline mirror, and loaders returning DataFrames.

``fetch(name)`` returns a local path for a registered file (``name`` is its path in the mirror,
e.g. ``"megnet/mp-2019.4.1/formation_energy.hdf5"``):

1. the mirror first — ``MATMAP_DATA_MIRROR``, default ``../shared/data`` next to the repository;
2. otherwise a pooch download from the file's public URL into ``MATMAP_CACHE``.

Either way the sha256 must match the registry; a mismatch raises :class:`DataHashError` naming
the file, the expected and the actual hash.  Nothing is ever unpickled.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import tarfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd
import yaml

from .paths import cache_dir, mirror_dir, repo_root


class DataError(RuntimeError):
    """Base class of data-layer errors (their messages name the file and the problem)."""


class DataHashError(DataError):
    pass


class DataUnavailableError(DataError):
    pass


class CorruptArchiveError(DataError):
    pass


class UnknownDataError(DataError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def registry_path() -> Path:
    return repo_root() / "data" / "registry.tsv.gz"


@lru_cache(maxsize=1)
def registry() -> pd.DataFrame:
    """The registry: one row per file (path, bytes, sha256, url, license, source), indexed by path."""
    with gzip.open(registry_path(), "rt", newline="") as fh:
        df = pd.read_csv(fh, sep="\t", dtype={"bytes": "int64", "path": str, "sha256": str, "url": str,
                                               "license": str, "source": str}, keep_default_na=False)
    return df.set_index("path", drop=False)


@lru_cache(maxsize=1)
def sources() -> dict:
    """Dataset descriptions, licences and citations (``data/sources.yaml``)."""
    return yaml.safe_load((repo_root() / "data" / "sources.yaml").read_text())


def _entry(name: str) -> pd.Series:
    reg = registry()
    name = name.lstrip("/")
    if name not in reg.index:
        raise UnknownDataError(f"{name!r} is not in the data registry ({registry_path()}); "
                               "`matmap data list` shows the registered files")
    return reg.loc[name]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


_verified: dict[tuple[str, int, int], str] = {}
_verified_lock = threading.Lock()


def _check_hash(path: Path, expected: str, name: str) -> None:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _verified_lock:
        got = _verified.get(key)
    if got is None:
        got = sha256_file(path)
        with _verified_lock:
            _verified[key] = got
    if got != expected:
        raise DataHashError(f"{name}: sha256 mismatch for {path}\n  expected {expected}\n  got      {got}\n"
                            "The file differs from the registered public file; delete it (or fix the "
                            "mirror) and fetch again.")


def offline() -> bool:
    """``MATMAP_OFFLINE=1`` forbids downloads (the error then says how to get the file)."""
    return os.environ.get("MATMAP_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def fetch(name: str, *, progressbar: bool | None = None) -> Path:
    """Local path of a registered file, from the mirror or downloaded; sha256 always checked."""
    entry = _entry(name)
    expected = entry["sha256"]
    mirror = mirror_dir()
    if mirror is not None:
        candidate = mirror / entry["path"]
        if candidate.exists():
            _check_hash(candidate, expected, entry["path"])
            return candidate
    cached = cache_dir() / "downloads" / entry["path"]
    if cached.exists():
        _check_hash(cached, expected, entry["path"])
        return cached
    if offline():
        raise DataUnavailableError(_unavailable_message(entry, mirror, cached, "offline mode (MATMAP_OFFLINE)"))
    import pooch

    if progressbar is None:
        progressbar = int(entry["bytes"]) > 2_000_000
    try:
        path = pooch.retrieve(url=entry["url"], known_hash=f"sha256:{expected}",
                              fname=Path(entry["path"]).name, path=cached.parent, progressbar=progressbar)
    except ValueError as exc:  # pooch raises ValueError on hash mismatch
        if "hash" in str(exc).lower():
            raise DataHashError(f"{entry['path']}: downloaded file from {entry['url']} failed its sha256 "
                                f"check (expected {expected}): {exc}") from None
        raise
    except Exception as exc:  # network failure
        raise DataUnavailableError(_unavailable_message(entry, mirror, cached, f"{type(exc).__name__}: {exc}")) from None
    return Path(path)


def _unavailable_message(entry, mirror, cached, why) -> str:
    return (f"{entry['path']}: not available ({why}).\n"
            f"  mirror: {mirror / entry['path'] if mirror else 'none (set MATMAP_DATA_MIRROR)'}\n"
            f"  cache:  {cached}\n"
            f"  get it from {entry['url']} (sha256 {entry['sha256']}), or point MATMAP_DATA_MIRROR at a "
            "copy of the data mirror, or run `matmap data fetch` on a machine with internet.")


def fetch_many(names: Iterable[str]) -> list[Path]:
    return [fetch(n) for n in names]


def verify(names: Iterable[str] | None = None) -> pd.DataFrame:
    """Check registered files against their sha256: one row per file with status and detail."""
    reg = registry()
    names = list(reg.index) if names is None else list(names)
    rows = []
    mirror = mirror_dir()
    for name in names:
        entry = _entry(name)
        local = None
        for cand in ([mirror / name] if mirror else []) + [cache_dir() / "downloads" / name]:
            if cand.exists():
                local = cand
                break
        if local is None:
            rows.append({"path": name, "status": "missing", "detail": "not in the mirror or the cache"})
            continue
        got = sha256_file(local)
        ok = got == entry["sha256"]
        rows.append({"path": name, "status": "ok" if ok else "MISMATCH",
                     "detail": str(local) if ok else f"expected {entry['sha256']}, got {got}"})
    return pd.DataFrame(rows, columns=["path", "status", "detail"])


def failures_of(df: pd.DataFrame) -> pd.DataFrame:
    """The parse failures a loader recorded in ``df.attrs["failures"]`` (a list of records), as a table.

    (Kept as records, not a DataFrame, because pandas compares ``attrs`` on concat.)
    """
    return pd.DataFrame(df.attrs.get("failures", []))


def registered(prefix: str) -> list[str]:
    """Registered paths under a folder prefix (e.g. ``"mp_li/"``)."""
    reg = registry()
    return [p for p in reg.index if p.startswith(prefix)]


# --------------------------------------------------------------------------- archives

def extract_tar(name: str) -> Path:
    """Extract a registered ``.tar.gz`` once into the cache (keyed by its sha256); return the folder.

    A corrupt or truncated archive raises :class:`CorruptArchiveError`; members with absolute or
    parent-relative paths are refused.
    """
    archive = fetch(name)
    sha = _entry(name)["sha256"]
    dest = cache_dir() / "extracted" / f"{Path(name).name}-{sha[:16]}"
    done = dest / ".complete"
    if done.exists():
        return dest
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for m in tar.getmembers():
                if m.name.startswith("/") or ".." in Path(m.name).parts:
                    raise CorruptArchiveError(f"{name}: unsafe member path {m.name!r}")
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as exc:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise CorruptArchiveError(f"{name} ({archive}): corrupt or truncated archive: {exc}") from None
    (tmp / ".complete").write_text(sha)
    if dest.exists():
        import shutil

        shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


# --------------------------------------------------------------------------- structure cache

def _encode_species(site) -> str:
    """One site's species as text: ``"Li"``/``"Li+"`` when ordered, else JSON ``{"Li+": 0.5, ...}``."""
    items = list(site.species.items())
    if len(items) == 1 and abs(items[0][1] - 1.0) < 1e-9:
        return str(items[0][0])
    import json

    return json.dumps({str(sp): round(float(occ), 8) for sp, occ in items}, sort_keys=True)


def _decode_species(text: str):
    if text.startswith("{"):
        import json

        return json.loads(text)
    return text


def structure_to_row(structure) -> dict:
    """Serialize a Structure into plain columns (no pickle): lattice, species, fractional coords."""
    return {"lattice": structure.lattice.matrix.reshape(-1).tolist(),
            "species": [_encode_species(site) for site in structure],
            "frac": structure.frac_coords.reshape(-1).tolist()}


def row_to_structure(lattice, species, frac):
    from pymatgen.core import Lattice, Structure

    import numpy as np

    return Structure(Lattice(np.asarray(lattice, dtype=float).reshape(3, 3)),
                     [_decode_species(s) for s in species],
                     np.asarray(frac, dtype=float).reshape(-1, 3), validate_proximity=False)


def _parse_registered_cif(item: tuple[str, str]) -> dict:
    """Worker: parse one CIF (registered name, local path) → serialized row (errors propagate)."""
    from .structures import parse_cif_text

    name, path = item
    text = Path(path).read_text(errors="replace")
    s = parse_cif_text(text, name)
    row = structure_to_row(s)
    row["formula"] = s.composition.formula
    row["reduced_formula"] = s.composition.reduced_formula
    row["nsites"] = len(s)
    row["ordered"] = bool(s.is_ordered)
    return row


def parse_cifs_cached(items: list[tuple[str, str, str]], *, kind: str, desc: str | None = None,
                      n_jobs: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse CIFs once and cache them as parquet (keyed by the files' sha256s and pymatgen version).

    ``items`` are ``(key, source_name, local_path, sha256)``-like triples ``(key, path, sha)``.
    Returns ``(table, failures)``: ``table`` indexed by key with columns lattice/species/frac/
    formula/reduced_formula/nsites/ordered; ``failures`` lists each CIF that failed with its reason.
    """
    from importlib.metadata import version

    from .cache import atomic_write_parquet, hash_key
    from .parallel import parallel_map
    from .paths import compute_cache_dir

    key = hash_key(kind, sorted((k, sha) for k, _, sha in items), version("pymatgen"), "v1")
    out_ok = compute_cache_dir("structures") / f"{kind}-{key}.parquet"
    out_fail = out_ok.with_name(out_ok.stem + "-failures.parquet")
    if out_ok.exists() and out_fail.exists():
        return pd.read_parquet(out_ok), pd.read_parquet(out_fail)
    outcomes = parallel_map(_parse_registered_cif, [(k, p) for k, p, _ in items],
                            keys=[k for k, _, _ in items], n_jobs=n_jobs, desc=desc or f"parsing {kind}")
    broken = [o for o in outcomes if o.kind == "worker"]
    if broken:  # infrastructure failure, not a bad CIF: never cache it
        raise RuntimeError(f"parsing {kind}: {len(broken)} CIFs lost to a failed worker process "
                           f"({broken[0].error}); rerun with MATMAP_N_JOBS=1 to debug")
    ok = {o.key: o.value for o in outcomes if o.ok}
    table = pd.DataFrame.from_dict(ok, orient="index")
    table.index.name = "id"
    failures = pd.DataFrame([{"id": o.key, "reason": o.error} for o in outcomes if not o.ok],
                            columns=["id", "reason"])
    atomic_write_parquet(out_ok, table)
    atomic_write_parquet(out_fail, failures)
    return table, failures


def _structures_from_table(table: pd.DataFrame) -> list:
    return [row_to_structure(l, s, f) for l, s, f in zip(table["lattice"], table["species"], table["frac"])]


# --------------------------------------------------------------------------- Materials Project Li pool

#: The 25 elements allowed besides Li and O in the Li–O set of Yamaguchi et al. (Sci. Rep. 2023).
LIO_ELEMENTS = frozenset("Mg Ca Sr Ba Sc Y La Ti Zr Hf Nb Ta Zn B Al Ga In C Si Ge Sn P As Sb S".split())

_FORMULA_SUM = None


def _formula_sum(text: str) -> str | None:
    import re

    global _FORMULA_SUM
    if _FORMULA_SUM is None:
        _FORMULA_SUM = re.compile(r"^_chemical_formula_sum\s+'?([^'\n]+)'?", re.M)
    m = _FORMULA_SUM.search(text)
    return m.group(1).strip() if m else None


def mp_li_index() -> pd.DataFrame:
    """Cheap index of the MP Li pool read from each CIF's header: material_id, formula, elements.

    Cached (parquet, keyed by the registry); used to select subsets without parsing every CIF.
    """
    from pymatgen.core import Composition

    from .cache import atomic_write_parquet, hash_key
    from .paths import compute_cache_dir

    names = registered("mp_li/")
    reg = registry()
    key = hash_key("mp_li_index", [reg.at[n, "sha256"] for n in names], "v1")
    out = compute_cache_dir("structures") / f"mp_li_index-{key}.parquet"
    if out.exists():
        return pd.read_parquet(out)
    rows = []
    for n in names:
        mid = Path(n).stem
        try:
            text = fetch(n).read_text(errors="replace")
            fsum = _formula_sum(text)
            comp = Composition(fsum) if fsum else None
        except Exception as exc:  # noqa: BLE001 - listed as a failure later, when parsed
            rows.append({"material_id": mid, "formula": None, "elements": [], "note": str(exc)[:200]})
            continue
        rows.append({"material_id": mid, "formula": comp.formula if comp else None,
                     "elements": sorted(el.symbol for el in comp.elements) if comp else [], "note": None})
    df = pd.DataFrame(rows).set_index("material_id")
    atomic_write_parquet(out, df)
    return df


def lio_subset_ids(index: pd.DataFrame | None = None) -> list[str]:
    """Material ids of the Li–O set: contains Li and O; every other element in :data:`LIO_ELEMENTS`."""
    index = mp_li_index() if index is None else index
    keep = []
    for mid, els in index["elements"].items():
        els = set(els)
        if {"Li", "O"} <= els and (els - {"Li", "O"}) <= LIO_ELEMENTS:
            keep.append(mid)
    return sorted(keep)


def load_mp_li(subset: str | None = None, ids: Iterable[str] | None = None, limit: int | None = None,
               seed: int = 0, include: Iterable[str] | None = None, n_jobs: int | None = None) -> pd.DataFrame:
    """The Materials Project Li pool (21,755 structures) as a DataFrame of pymatgen Structures.

    ``subset="LiO"`` restricts to the Li–O set of the materials-map paper (1,349 materials).
    ``ids`` selects explicit material ids; ``limit`` (> 0) takes a seeded random subset of the
    selection, always keeping the ids in ``include``.  Each CIF is parsed once and cached (parquet,
    no pickle).  CIFs that fail to parse are listed in ``df.attrs["failures"]`` with the reason.
    """
    import numpy as np

    index = mp_li_index()
    if ids is not None:
        sel = [str(i) for i in ids]
        unknown = sorted(set(sel) - set(index.index))
        if unknown:
            raise UnknownDataError(f"not in the MP Li pool: {', '.join(unknown[:10])}")
    elif subset is None:
        sel = sorted(index.index)
    elif subset.lower() in {"lio", "li-o", "li_o"}:
        sel = lio_subset_ids(index)
    else:
        raise ValueError(f"unknown subset {subset!r} (use None or 'LiO')")
    if limit:
        must = [i for i in (include or []) if i in set(sel)]
        rest = [i for i in sel if i not in set(must)]
        rng = np.random.default_rng(seed)
        n_more = max(0, int(limit) - len(must))
        pick = list(rng.choice(len(rest), size=min(n_more, len(rest)), replace=False)) if rest else []
        sel = sorted(set(must) | {rest[i] for i in pick})
    reg = registry()
    items = [(mid, str(fetch(f"mp_li/{mid}.cif")), reg.at[f"mp_li/{mid}.cif", "sha256"]) for mid in sel]
    table, failures = parse_cifs_cached(items, kind="mp_li", n_jobs=n_jobs)
    df = table[["formula", "reduced_formula", "nsites", "ordered"]].copy()
    df.index.name = "material_id"
    df["elements"] = [tuple(els) for els in index.loc[df.index, "elements"]]
    df["structure"] = _structures_from_table(table)
    df.attrs["failures"] = failures.rename(columns={"id": "material_id"}).to_dict("records")
    return df


# --------------------------------------------------------------------------- OBELiX

def _parse_sigma(value) -> float:
    """OBELiX conductivities are numbers, sometimes with '<' or text; return S/cm or NaN."""
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return float("nan")
    s = str(value).strip().replace("<", "").replace(">", "").replace("~", "")
    try:
        return float(s)
    except ValueError:
        return float("nan")


def load_obelix(n_jobs: int | None = None) -> pd.DataFrame:
    """OBELiX: 599 entries with room-temperature conductivity, joined to their 321 CIFs.

    Indexed by the OBELiX ``ID``; adds ``structure`` (pymatgen Structure, possibly disordered;
    None without CIF), ``has_cif``, ``split`` (the dataset's own train/test), ``sigma_rt`` (S/cm),
    ``log10_sigma`` and ``icsd`` (ICSD collection code).  CIFs that fail to parse are listed in
    ``df.attrs["failures"]``.
    """
    import numpy as np

    df = pd.read_csv(fetch("obelix/all.csv"), dtype={"ID": str}).set_index("ID")
    train = set(pd.read_csv(fetch("obelix/train.csv"), dtype={"ID": str})["ID"])
    test = set(pd.read_csv(fetch("obelix/test.csv"), dtype={"ID": str})["ID"])
    df["split"] = ["train" if i in train else "test" if i in test else None for i in df.index]
    df["sigma_rt"] = [_parse_sigma(v) for v in df["Ionic conductivity (S cm-1)"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["log10_sigma"] = np.where(df["sigma_rt"] > 0, np.log10(df["sigma_rt"]), np.nan)
    df["icsd"] = pd.to_numeric(df["ICSD ID"], errors="coerce").astype("Int64")
    folder = extract_tar("obelix/all_cifs.tar.gz")
    cif_dir = folder / "all_randomized_cifs"
    files = {p.stem: p for p in cif_dir.glob("*.cif")}
    archive_sha = _entry("obelix/all_cifs.tar.gz")["sha256"]
    items = [(i, str(files[i]), f"{archive_sha}:{i}") for i in df.index if i in files]
    table, failures = parse_cifs_cached(items, kind="obelix", n_jobs=n_jobs)
    orphan = sorted(set(files) - set(df.index))
    if orphan:
        failures = pd.concat([failures, pd.DataFrame({"id": orphan, "reason": "CIF without an entry in all.csv"})],
                             ignore_index=True)
    structures = dict(zip(table.index, _structures_from_table(table)))
    df["has_cif"] = [i in files for i in df.index]
    df["structure"] = [structures.get(i) for i in df.index]
    df.attrs["failures"] = failures.to_dict("records")
    return df


# --------------------------------------------------------------------------- McHaffie et al. 2025

_SPLITS = "mchaffie2025/training_validation_testing_splits/classification"


def load_mchaffie(with_structures: bool = True) -> pd.DataFrame:
    """The McHaffie et al. (2025) labelled database: 548 unique entries, labels and paper splits.

    The 571 database rows hold 548 unique structures after the paper's de-duplication
    (StructureMatcher on the ICSD structures, keeping the median conductivity).  The ICSD CIFs are
    not public, so the retained 548 are taken from the paper's own split files (test + k-fold
    folds), which were written after that de-duplication; ``df.attrs["dropped"]`` lists the 23
    rows removed.  Columns: ``compound``, ``icsd``, ``doi``, ``sigma_rt``, ``log10_sigma``,
    ``superionic`` (sigma >= 1e-4 S/cm), ``split_test``, ``kfold`` (validation fold 0–4),
    ``loco_cluster`` (the paper's ElMD+UMAP+DBSCAN cluster), and — joined to OBELiX by ICSD
    code — ``obelix_id`` and ``structure`` (None without an OBELiX CIF).
    """
    import numpy as np

    db = pd.read_csv(fetch("mchaffie2025/ionic_conductivity_database.csv"))
    db = db.rename(columns={"icsd_collectioncode": "icsd", "conductivity_siemens_per_cm": "sigma_rt",
                            "conductivity_doi": "doi"})
    test = pd.read_csv(fetch(f"{_SPLITS}/test/test.csv"))
    kf = pd.concat([pd.read_csv(fetch(f"{_SPLITS}/kfold/fold_{k}/val.csv")).assign(kfold=k) for k in range(5)])
    loco = pd.concat([pd.read_csv(fetch(f"{_SPLITS}/lococv/fold_{k}/val.csv")).assign(loco_fold=k) for k in range(10)])
    keep = set(test["icsd_collectioncode"]) | set(kf["icsd_collectioncode"])
    dropped = db[~db["icsd"].isin(keep)].copy()
    df = db[db["icsd"].isin(keep)].copy()
    df["split_test"] = df["icsd"].isin(set(test["icsd_collectioncode"]))
    df["kfold"] = df["icsd"].map(dict(zip(kf["icsd_collectioncode"], kf["kfold"]))).astype("Int64")
    clusters = dict(zip(loco["icsd_collectioncode"], loco["cluster"]))
    clusters.update(dict(zip(test["icsd_collectioncode"], test["cluster"])))
    df["loco_cluster"] = df["icsd"].map(clusters).astype("Int64")
    df["normalized_formula"] = df["icsd"].map(dict(zip(pd.concat([kf, test])["icsd_collectioncode"],
                                                       pd.concat([kf, test])["normalized_formula"])))
    df["log10_sigma"] = np.log10(df["sigma_rt"].astype(float))
    df["superionic"] = df["sigma_rt"] >= 1e-4
    df = df.set_index("icsd", drop=False)
    df.index.name = "icsd_code"
    df["obelix_id"] = None
    df["structure"] = None
    if with_structures:
        ob = load_obelix()
        ob = ob[ob["structure"].notna() & ob["icsd"].notna()]
        # several OBELiX entries can share an ICSD code: take the first (sorted by ID) for the structure
        by_icsd = ob.sort_index().groupby("icsd").head(1)
        mapping = {int(k): i for i, k in zip(by_icsd.index, by_icsd["icsd"])}
        df["obelix_id"] = [mapping.get(int(c)) for c in df["icsd"]]
        df["structure"] = [ob.at[i, "structure"] if i is not None else None for i in df["obelix_id"]]
    df.attrs["dropped"] = dropped.to_dict("records")
    return df


# --------------------------------------------------------------------------- MEGNet and AIMD

_MEGNET = {"formation_energy": "megnet/mp-2019.4.1/formation_energy.hdf5",
           "band_gap": "megnet/mp-2018.6.1/band_gap_regression.hdf5"}


def megnet_model_files(name: str) -> tuple[Path, Path]:
    """(weights ``.hdf5``, converter/scaler ``.json``) of a pretrained MEGNet model."""
    if name not in _MEGNET:
        raise UnknownDataError(f"unknown MEGNet model {name!r}; choose from {sorted(_MEGNET)}")
    return fetch(_MEGNET[name]), fetch(_MEGNET[name] + ".json")


def aimd_runs() -> pd.DataFrame:
    """Inventory of the public AIMD trajectories in the registry, with their metadata.

    Argyrodites (Morgan 2021): Li6PS5Cl/Li6PS5I, 0/50/100 % anion-site disorder, 500 K, time step
    2 fs, one frame every 50 steps.  LGPS (pymatgen-analysis-diffusion): 600 K, 2 fs, every 10
    steps, a serialized DiffusionAnalyzer.  Cubic Na3PS4: 800 K, 2 fs, every 10 steps, positions
    as a (frames × atoms × 3) array with its CIF.
    """
    runs_yaml = yaml.safe_load(fetch("aimd/argyrodite/md_runs.yaml").read_text())
    rows = []
    for system, by_disorder in runs_yaml.items():
        for dis, runs in by_disorder.items():
            for r in runs:
                rows.append({"system": system, "disorder": float(str(dis).rstrip("p")), "run": int(r),
                             "name": f"aimd/argyrodite/{system}/{dis}/run{r}/actual_XDATCAR.gz",
                             "structure_name": None, "format": "xdatcar", "temperature_K": 500.0,
                             "timestep_fs": 2.0, "stride": 50, "specie": "Li"})
    rows.append({"system": "Li10GeP2S12", "disorder": float("nan"), "run": 1,
                 "name": "aimd/pmg_diffusion/DiffusionAnalyzer.json", "structure_name": None,
                 "format": "pmg_diffusion_json", "temperature_K": 600.0, "timestep_fs": 2.0,
                 "stride": 10, "specie": "Li"})
    rows.append({"system": "Na3PS4", "disorder": float("nan"), "run": 1,
                 "name": "aimd/pmg_diffusion/cNa3PS4_trajectories.npy",
                 "structure_name": "aimd/pmg_diffusion/cNa3PS4.cif", "format": "npy",
                 "temperature_K": 800.0, "timestep_fs": 2.0, "stride": 10, "specie": "Na"})
    df = pd.DataFrame(rows)
    registered_names = set(registry().index)
    missing = [n for n in df["name"] if n not in registered_names]
    if missing:
        raise UnknownDataError(f"AIMD runs missing from the registry: {missing}")
    return df
