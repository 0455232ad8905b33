"""Content-hash keys and atomic writes for cached intermediate results.

Every expensive intermediate (descriptors, BVSE barriers, MEGNet features, trained models) is
stored under a key that hashes *all* of its inputs — the structure and the settings — so a change
to either recomputes it, and a write is atomic (temporary file + ``os.replace``) so an interrupted
run never leaves a half-written cache entry.  Nothing here pickles: tables go to parquet, arrays
to ``.npz`` (read back with ``allow_pickle=False``), metadata to JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matmap_utils.core.paths import compute_cache_dir


def _canonical(obj: Any) -> Any:
    """Turn ``obj`` into something ``json.dumps(sort_keys=True)`` renders deterministically."""
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return {
            "__ndarray__": hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest(),
            "shape": list(obj.shape),
            "dtype": str(obj.dtype),
        }
    if isinstance(obj, (np.floating, float)):
        return float(np.round(float(obj), 10))
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def hash_key(*parts: Any, length: int = 24) -> str:
    """Stable hex digest of JSON-able parts (dicts, lists, numbers, strings, arrays)."""
    blob = json.dumps(_canonical(list(parts)), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def structure_fingerprint(structure) -> dict:
    """What defines a pymatgen ``Structure`` for caching: lattice, species/occupancies, coordinates.

    Coordinates are rounded to 1e-6 (fractional) and wrapped into [0, 1) so a re-read of the same
    CIF maps to the same key.
    """
    frac = np.mod(np.round(structure.frac_coords, 6), 1.0)
    species = [sorted((str(sp), round(float(occ), 6)) for sp, occ in site.species.items()) for site in structure]
    return {
        "lattice": np.round(structure.lattice.matrix, 6).tolist(),
        "species": species,
        "frac": np.round(frac, 6).tolist(),
    }


def hash_structure(structure, *settings: Any) -> str:
    """Key of a structure together with the settings of the computation applied to it."""
    return hash_key(structure_fingerprint(structure), *settings)


#: Every :class:`CacheKind` defined in the package, by name (filled as modules are imported).
KINDS: dict[str, CacheKind] = {}


@dataclass(frozen=True)
class CacheKind:
    """One kind of cached computation: where its entries live and how their keys are made.

    The key of an entry hashes ``salt`` (when set), the kind's explicit ``version`` and the
    computation's inputs (data, parameters, seed) with :func:`hash_key`.  Bump ``version`` when
    the computation changes on purpose: every old entry is then ignored.

    ``version_at`` is where the version sits among the hashed inputs (0 = first, -1 = last), and
    ``version=None`` means that the inputs carry the version themselves (a settings dict with a
    ``"version"`` field, or model settings holding the weights' sha) — both keep the keys that
    existed before this helper did, so caches made then stay valid.

    ``folder``: sub-folder of ``$MATMAP_CACHE/compute``; ``name``: the kind's unique name.
    """

    name: str
    folder: str
    version: int | str | None
    salt: str | None = None
    version_at: int = 0

    def __post_init__(self) -> None:
        if KINDS.get(self.name, self) != self:
            raise ValueError(f"cache kind {self.name!r} is defined twice with different settings")
        KINDS[self.name] = self

    def parts(self, *inputs: Any) -> list:
        """The hashed parts: ``[salt,] inputs`` with the version inserted at ``version_at``."""
        parts = list(inputs)
        if self.version is not None:
            at = self.version_at if self.version_at >= 0 else len(parts) + 1 + self.version_at
            parts.insert(at, self.version)
        return ([self.salt] if self.salt is not None else []) + parts

    def key(self, *inputs: Any) -> str:
        """Content key of one entry from all of its inputs."""
        return hash_key(*self.parts(*inputs))

    def structure_key(self, structure, *inputs: Any) -> str:
        """Key of a computation on one structure (its :func:`structure_fingerprint` comes first)."""
        return self.key(structure_fingerprint(structure), *inputs)

    def directory(self) -> Path:
        """The kind's folder, created on first use."""
        return compute_cache_dir(self.folder)

    def path(self, key: str, suffix: str = "", prefix: str = "") -> Path:
        """File (or folder, without ``suffix``) of the entry with ``key``."""
        return self.directory() / f"{prefix}{key}{suffix}"


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target`` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(target, text.encode())


def atomic_write_json(target: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def atomic_write_parquet(target: str | os.PathLike, df: pd.DataFrame) -> Path:
    with atomic_path(target) as tmp:
        df.to_parquet(tmp, index=True)
    return Path(target)


def atomic_write_npz(target: str | os.PathLike, **arrays: np.ndarray) -> Path:
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return Path(target)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an ``.npz`` written by :func:`atomic_write_npz` without ever unpickling."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def cached_frame(path: str | os.PathLike, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Return the parquet at ``path`` if it exists, else ``compute()`` and store it atomically."""
    path = Path(path)
    if path.exists():
        return pd.read_parquet(path)
    df = compute()
    atomic_write_parquet(path, df)
    return df
