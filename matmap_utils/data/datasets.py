"""Loaders of the registered datasets: the MP Li pool, OBELiX, McHaffie et al.'s labels and splits, MEGNet model files, AIMD runs, MP band gaps."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pymatgen.core import Composition

from matmap_utils.core.cache import CacheKind, atomic_write_parquet
from matmap_utils.data.registry import UnknownDataError, _entry, extract_tar, fetch, registered, registry
from matmap_utils.data.structures import _structures_from_table, parse_cifs_cached


# --------------------------------------------------------------------------------------------
# Band gaps against the Materials Project
# --------------------------------------------------------------------------------------------
def load_mp_band_gaps() -> pd.DataFrame:
    """``ionnet/Li-MP-final.csv``: MP band gaps (eV), indexed by ``material_id``."""

    df = pd.read_csv(fetch("ionnet/Li-MP-final.csv"), encoding="utf-8-sig")
    df = df.rename(
        columns={
            "MP ID": "material_id",
            "Formula": "formula",
            "Energy Above Hull (eV)": "e_above_hull_eV",
            "Band Gap (eV)": "mp_band_gap_eV",
        }
    )
    return df.drop_duplicates("material_id").set_index("material_id")


#: The 25 elements allowed besides Li and O in the Li–O set of Yamaguchi et al. (Sci. Rep. 2023).
LIO_ELEMENTS = frozenset("Mg Ca Sr Ba Sc Y La Ti Zr Hf Nb Ta Zn B Al Ga In C Si Ge Sn P As Sb S".split())


_FORMULA_SUM = None

#: Index of the MP Li pool (formula, elements, path per file), keyed by the files' sha256.
MP_INDEX_CACHE = CacheKind("mp_li_index", folder="structures", version="v1", salt="mp_li_index", version_at=-1)


def _formula_sum(text: str) -> str | None:

    global _FORMULA_SUM
    if _FORMULA_SUM is None:
        _FORMULA_SUM = re.compile(r"^_chemical_formula_sum\s+'?([^'\n]+)'?", re.M)
    m = _FORMULA_SUM.search(text)
    return m.group(1).strip() if m else None


def mp_li_index() -> pd.DataFrame:
    """Cheap index of the MP Li pool read from each CIF's header: material_id, formula, elements.

    Cached (parquet, keyed by the registry); used to select subsets without parsing every CIF.
    """

    names = registered("mp_li/")
    reg = registry()
    key = MP_INDEX_CACHE.key([reg.at[n, "sha256"] for n in names])
    out = MP_INDEX_CACHE.path(key, ".parquet", prefix="mp_li_index-")
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
        rows.append(
            {
                "material_id": mid,
                "formula": comp.formula if comp else None,
                "elements": sorted(el.symbol for el in comp.elements) if comp else [],
                "note": None,
            }
        )
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


def load_mp_li(
    subset: str | None = None,
    ids: Iterable[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    include: Iterable[str] | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """The Materials Project Li pool (21,755 structures) as a DataFrame of pymatgen Structures.

    ``subset="LiO"`` restricts to the Li–O set of the materials-map paper (1,349 materials).
    ``ids`` selects explicit material ids; ``limit`` (> 0) takes a seeded random subset of the
    selection, always keeping the ids in ``include``.  Each CIF is parsed once and cached (parquet,
    no pickle).  CIFs that fail to parse are listed in ``df.attrs["failures"]`` with the reason.
    """

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


def _parse_sigma(value) -> float:
    """OBELiX conductivities are numbers, sometimes with '<' or text; return S/cm or NaN."""

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
        failures = pd.concat(
            [failures, pd.DataFrame({"id": orphan, "reason": "CIF without an entry in all.csv"})], ignore_index=True
        )
    structures = dict(zip(table.index, _structures_from_table(table)))
    df["has_cif"] = [i in files for i in df.index]
    df["structure"] = [structures.get(i) for i in df.index]
    df.attrs["failures"] = failures.to_dict("records")
    return df


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

    db = pd.read_csv(fetch("mchaffie2025/ionic_conductivity_database.csv"))
    db = db.rename(
        columns={"icsd_collectioncode": "icsd", "conductivity_siemens_per_cm": "sigma_rt", "conductivity_doi": "doi"}
    )
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
    df["normalized_formula"] = df["icsd"].map(
        dict(zip(pd.concat([kf, test])["icsd_collectioncode"], pd.concat([kf, test])["normalized_formula"]))
    )
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
                rows.append(
                    {
                        "system": system,
                        "disorder": float(str(dis).rstrip("p")),
                        "run": int(r),
                        "name": f"aimd/argyrodite/{system}/{dis}/run{r}/actual_XDATCAR.gz",
                        "structure_name": None,
                        "format": "xdatcar",
                        "temperature_K": 500.0,
                        "timestep_fs": 2.0,
                        "stride": 50,
                        "specie": "Li",
                    }
                )
    rows.append(
        {
            "system": "Li10GeP2S12",
            "disorder": float("nan"),
            "run": 1,
            "name": "aimd/pmg_diffusion/DiffusionAnalyzer.json",
            "structure_name": None,
            "format": "pmg_diffusion_json",
            "temperature_K": 600.0,
            "timestep_fs": 2.0,
            "stride": 10,
            "specie": "Li",
        }
    )
    rows.append(
        {
            "system": "Na3PS4",
            "disorder": float("nan"),
            "run": 1,
            "name": "aimd/pmg_diffusion/cNa3PS4_trajectories.npy",
            "structure_name": "aimd/pmg_diffusion/cNa3PS4.cif",
            "format": "npy",
            "temperature_K": 800.0,
            "timestep_fs": 2.0,
            "stride": 10,
            "specie": "Na",
        }
    )
    df = pd.DataFrame(rows)
    registered_names = set(registry().index)
    missing = [n for n in df["name"] if n not in registered_names]
    if missing:
        raise UnknownDataError(f"AIMD runs missing from the registry: {missing}")
    return df
