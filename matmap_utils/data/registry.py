"""Hash-checked data registry over the offline mirror, and loaders returning DataFrames.

``fetch(name)`` returns a local path for a registered file (``name`` is its path in the mirror,
e.g. ``"megnet/mp-2019.4.1/formation_energy.hdf5"``):

1. the mirror first — ``MATMAP_DATA_MIRROR``, default ``../shared/data`` next to the repository;
2. otherwise a pooch download from the file's public URL into ``MATMAP_CACHE``.

Either way the sha256 must match the registry; a mismatch raises :class:`DataHashError` naming
the file, the expected and the actual hash.  Nothing is ever unpickled.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import threading
import time
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pooch
import yaml

from matmap_utils.core import settings
from matmap_utils.core.paths import cache_dir, mirror_dir, repo_root


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
        df = pd.read_csv(
            fh,
            sep="\t",
            dtype={"bytes": "int64", "path": str, "sha256": str, "url": str, "license": str, "source": str},
            keep_default_na=False,
        )
    return df.set_index("path", drop=False)


@lru_cache(maxsize=1)
def sources() -> dict:
    """Dataset descriptions, licences and citations (``data/sources.yaml``)."""
    return yaml.safe_load((repo_root() / "data" / "sources.yaml").read_text())


def _entry(name: str) -> pd.Series:
    reg = registry()
    name = name.lstrip("/")
    if name not in reg.index:
        raise UnknownDataError(
            f"{name!r} is not in the data registry ({registry_path()}); `matmap data list` shows the registered files"
        )
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
        raise DataHashError(
            f"{name}: sha256 mismatch for {path}\n  expected {expected}\n  got      {got}\n"
            "The file differs from the registered public file; delete it (or fix the "
            "mirror) and fetch again."
        )


def offline() -> bool:
    """``MATMAP_OFFLINE=1`` forbids downloads (the error then says how to get the file)."""
    return settings.get("MATMAP_OFFLINE")


def available_locally(entry) -> Path | None:
    """The mirror's or the download cache's copy of a registry ``entry`` (hash-checked), or None."""
    mirror = mirror_dir()
    for candidate in ([mirror / entry["path"]] if mirror is not None else []) + [_cached(entry)]:
        if candidate.exists():
            _check_hash(candidate, entry["sha256"], entry["path"])
            return candidate
    return None


def _cached(entry) -> Path:
    return cache_dir() / "downloads" / entry["path"]


def fetch(name: str, *, progressbar: bool | None = None) -> Path:
    """Local path of a registered file, from the mirror or downloaded; sha256 always checked."""
    entry = _entry(name)
    local = available_locally(entry)
    if local is not None:
        return local
    mirror, cached = mirror_dir(), _cached(entry)
    if offline():
        raise DataUnavailableError(_unavailable_message(entry, mirror, cached, "offline mode (MATMAP_OFFLINE)"))
    if progressbar is None:
        progressbar = int(entry["bytes"]) > 2_000_000
    try:
        return download(entry, cached, progressbar=progressbar)
    except DataHashError:
        raise
    except Exception as exc:  # network failure
        raise DataUnavailableError(
            _unavailable_message(entry, mirror, cached, f"{type(exc).__name__}: {exc}")
        ) from None


def resolve_url(url: str) -> str:
    """``url`` with its scheme and host replaced by ``MATMAP_DATA_URL_BASE`` when that is set."""
    base = settings.get("MATMAP_DATA_URL_BASE")
    if not base:
        return url
    parts = urlsplit(url)
    return base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def download(entry, target: Path, *, retries: int = 3, backoff_s: float = 0.5, progressbar: bool = False) -> Path:
    """Download one registry ``entry`` to ``target`` (hash-checked by pooch, atomic rename).

    Connection errors are retried ``retries`` times with exponential back-off; a sha256 mismatch is
    not retried (the server sends the wrong file) and raises :class:`DataHashError`."""
    url = resolve_url(entry["url"])
    for attempt in range(retries + 1):
        try:
            return Path(
                pooch.retrieve(
                    url=url,
                    known_hash=f"sha256:{entry['sha256']}",
                    fname=target.name,
                    path=target.parent,
                    progressbar=progressbar,
                )
            )
        except ValueError as exc:  # pooch: hash mismatch
            if "hash" in str(exc).lower():
                raise DataHashError(
                    f"{entry['path']}: the file downloaded from {url} failed its sha256 check "
                    f"(expected {entry['sha256']})"
                ) from None
            raise
        except Exception:  # noqa: BLE001 - network errors of every kind are retried
            if attempt == retries:
                raise
            time.sleep(backoff_s * 2**attempt)
    raise AssertionError("unreachable")


def _unavailable_message(entry, mirror, cached, why) -> str:
    return (
        f"{entry['path']}: not available ({why}).\n"
        f"  mirror: {mirror / entry['path'] if mirror else 'none (set MATMAP_DATA_MIRROR)'}\n"
        f"  cache:  {cached}\n"
        f"  get it from {entry['url']} (sha256 {entry['sha256']}), or point MATMAP_DATA_MIRROR at a "
        "copy of the data mirror, or run `matmap data fetch` on a machine with internet."
    )


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
        rows.append(
            {
                "path": name,
                "status": "ok" if ok else "MISMATCH",
                "detail": str(local) if ok else f"expected {entry['sha256']}, got {got}",
            }
        )
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
        shutil.rmtree(tmp, ignore_errors=True)
        raise CorruptArchiveError(f"{name} ({archive}): corrupt or truncated archive: {exc}") from None
    (tmp / ".complete").write_text(sha)
    if dest.exists():
        shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest
