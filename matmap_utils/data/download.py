"""Downloading registered files without the mirror: parallel, retried, resumable, hash-checked.

A user without the offline mirror needs 21,846 files (≈ 100 MB, most of them CIFs of a few kB):
one after another that is dominated by round trips, so :func:`fetch_missing` downloads them with a
bounded thread pool, shows one progress bar (files, MB, ETA), retries a failed connection with
back-off, and checks every file's sha256 before it is moved into the cache (a file that arrives
with the wrong content is reported and never kept).  An interrupted run resumes: files already in
the cache are hash-checked and skipped, partial downloads are never visible (pooch writes to a
temporary file and renames it).

``MATMAP_DATA_URL_BASE`` replaces the scheme and host of every registered URL (its path is kept),
for a private copy of the public files — or a test server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from matmap_utils.core import settings
from matmap_utils.core.paths import cache_dir
from matmap_utils.core.progress import progress_bar
from matmap_utils.data.registry import DataError, _entry, available_locally, download, registry

#: Default number of parallel downloads (the work is network-bound, not CPU-bound).
DEFAULT_WORKERS = 8


def fetch_missing(
    names: Iterable[str], *, max_workers: int = DEFAULT_WORKERS, retries: int = 3, progress: bool = True
) -> pd.DataFrame:
    """Make every file of ``names`` available locally; one row per file: ``path``, ``status``
    (``available`` — mirror or cache, hash-checked; ``downloaded``; ``failed``) and ``detail``.

    Downloads run ``max_workers`` at a time; one failing file never stops the others."""
    rows, todo = [], []
    for name in names:
        entry = _entry(name)
        try:
            local = available_locally(entry)
        except DataError as exc:
            rows.append({"path": entry["path"], "status": "failed", "detail": str(exc).splitlines()[0]})
            continue
        if local is not None:
            rows.append({"path": entry["path"], "status": "available", "detail": str(local)})
        else:
            todo.append(entry)
    if todo and settings.get("MATMAP_OFFLINE"):
        rows += [{"path": e["path"], "status": "failed", "detail": "offline mode (MATMAP_OFFLINE)"} for e in todo]
        todo = []
    total = int(sum(int(e["bytes"]) for e in todo))
    bar = progress_bar(total=total, unit="B", unit_scale=True, desc="downloading", enabled=progress and bool(todo))
    with ThreadPoolExecutor(max_workers=max(1, int(max_workers))) as pool:
        futures = {pool.submit(download, e, _cache_target(e), retries=retries): e for e in todo}
        done = 0
        for fut in as_completed(futures):
            e = futures[fut]
            done += 1
            try:
                rows.append({"path": e["path"], "status": "downloaded", "detail": str(fut.result())})
            except Exception as exc:  # noqa: BLE001 - reported per file
                rows.append({"path": e["path"], "status": "failed", "detail": f"{type(exc).__name__}: {exc}"})
            bar.update(int(e["bytes"]))
            bar.set_postfix_str(f"{done}/{len(todo)} files")
    bar.close()
    order = {n: k for k, n in enumerate(registry().index)}
    return pd.DataFrame(rows, columns=["path", "status", "detail"]).sort_values(
        "path", key=lambda s: s.map(order).fillna(-1)
    )


def _cache_target(entry) -> Path:
    return cache_dir() / "downloads" / entry["path"]
