"""Resumable chunked computations: each chunk's table is cached the moment it is done.

:func:`run_chunked` applies ``func(pairs, shared) -> DataFrame`` to a *stream* of chunks of
``(key, item, content_hash)`` triples on a :mod:`~matmap_utils.core.backends` backend (local
process pool or Ray).  Each finished chunk is written atomically to
``$MATMAP_CACHE/compute/<kind.folder>/chunk-<hash>.parquet``, the hash covering the function's
settings (``token``), the keys and the items' content hashes, so

* a killed run (Ctrl-C, a lost worker or node, a crashed driver) started again recomputes only
  the chunks that were not finished — and says how many came from the cache;
* a change to an item or to the settings recomputes exactly the chunks it touches.

Per-item failures stay rows: ``func`` returns a ``reason`` column (``None`` when fine), and when
``func`` raises on a whole chunk it is rerun item by item, so the one bad item becomes a row with
the reason and the others are kept.  A chunk whose worker was lost is reported, not cached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from matmap_utils.core.backends import Backend, TaskFailure, get_backend, one_line
from matmap_utils.core.cache import CacheKind, atomic_path, atomic_write_parquet
from matmap_utils.core.progress import progress_bar

#: One chunk: ``[(key, item, content_hash), ...]`` (keys are strings, unique within a run).
Chunk = list[tuple[str, Any, str]]


@dataclass
class ChunkRun:
    """What :func:`run_chunked` did: chunk files in input order (``None`` for a lost chunk),
    chunks taken from the cache / computed / lost, items and per-item failures."""

    files: list[Path | None] = field(default_factory=list)
    n_cached: int = 0
    n_computed: int = 0
    n_lost: int = 0
    n_items: int = 0
    n_failed_items: int = 0
    lost: list[tuple[list[str], str]] = field(default_factory=list)
    backend: str = ""

    @property
    def n_chunks(self) -> int:
        return len(self.files)

    def summary(self) -> str:
        """One line for the terminal: chunks cached / computed / lost, items and failures."""
        lost = f", {self.n_lost} lost (run again to compute them)" if self.n_lost else ""
        return (
            f"{self.n_chunks} chunks: {self.n_cached} from the cache, {self.n_computed} computed on "
            f"{self.backend}{lost}; {self.n_items} items, {self.n_failed_items} failed"
        )


def chunk_path(kind: CacheKind, token: Any, chunk: Chunk) -> Path:
    """Cache file of ``chunk``: hash of ``token`` (the function's settings), keys and content hashes."""
    key = kind.key(token, [k for k, _, _ in chunk], [h for _, _, h in chunk])
    return kind.path(key, ".parquet", prefix="chunk-")


def _frame(keys: list[str], df: pd.DataFrame) -> pd.DataFrame:
    """``df`` indexed by ``keys`` (one row each, in order) with a text ``reason`` column."""
    df = df.copy()
    df.index = df.index.astype(str)
    if "reason" not in df.columns:
        df["reason"] = None
    missing = [k for k in keys if k not in df.index]
    if missing:
        df = pd.concat([df, pd.DataFrame({"reason": ["no result returned"] * len(missing)}, index=missing)])
    df = df.loc[keys]
    df["reason"] = df["reason"].astype(object).where(df["reason"].notna(), None)
    return df


def _failure_frame(keys: list[str], reason: str) -> pd.DataFrame:
    return pd.DataFrame({"reason": [reason] * len(keys)}, index=pd.Index(keys))


def chunk_task(arg: tuple[Callable, list[tuple[str, Any]]], shared: Any = None) -> pd.DataFrame:
    """Run ``func`` on a chunk; if it raises, rerun it item by item so only the bad items fail.

    Runs in the worker (a local process or a Ray task); ``KeyboardInterrupt`` is not caught."""
    func, pairs = arg
    keys = [str(k) for k, _ in pairs]
    try:
        return _frame(keys, func(pairs, shared))
    except Exception:  # noqa: BLE001 - isolate the item(s) that raise
        if len(pairs) == 1:
            raise
    parts = []
    for key, item in pairs:
        try:
            parts.append(_frame([str(key)], func([(key, item)], shared)))
        except Exception as exc:  # noqa: BLE001 - one bad item is a row with the reason
            parts.append(_failure_frame([str(key)], one_line(exc)))
    return pd.concat(parts)


def _count_failures(path: Path) -> int:
    col = pq.read_table(path, columns=["reason"]).column("reason")
    return len(col) - col.null_count


def _planned(chunks: Iterable[Chunk], kind: CacheKind, token: Any, run: ChunkRun, bar) -> Iterator:
    """Pass on the chunks to compute; count (and skip) the ones already in the cache."""
    for chunk in chunks:
        path = chunk_path(kind, token, chunk)
        run.files.append(path)
        run.n_items += len(chunk)
        if path.exists():
            run.n_cached += 1
            run.n_failed_items += _count_failures(path)
            bar.update(len(chunk))
            bar.set_postfix(failed=run.n_failed_items, cached=run.n_cached, refresh=False)
            continue
        yield len(run.files) - 1, chunk


def run_chunked(
    func: Callable[[list[tuple[str, Any]], Any], pd.DataFrame],
    chunks: Iterable[Chunk],
    *,
    kind: CacheKind,
    token: Any,
    shared: Any = None,
    backend: Backend | None = None,
    total: int | None = None,
    desc: str | None = None,
    progress: bool = True,
) -> ChunkRun:
    """Compute every chunk not yet cached, streaming: chunks are read lazily from ``chunks``,
    a bounded number is in flight, each result is written as soon as it arrives.

    ``func(pairs, shared)`` must be a module-level function returning a DataFrame indexed by the
    keys of ``pairs`` (``reason`` column: ``None`` or why the item failed); ``shared`` is sent once
    per worker.  ``total`` (items) gives the progress bar its ETA.  Returns a :class:`ChunkRun`;
    :func:`concat_chunks` assembles the table."""
    backend = backend or get_backend()
    run = ChunkRun(backend=backend.describe())
    bar = progress_bar(total=total, desc=desc, unit="item", enabled=progress)
    todo: dict[int, tuple[int, list[str]]] = {}

    def tasks():
        for n, (idx, chunk) in enumerate(_planned(chunks, kind, token, run, bar)):
            todo[n] = (idx, [k for k, _, _ in chunk])
            yield func, [(k, item) for k, item, _ in chunk]

    try:
        for i, res in backend.imap(chunk_task, tasks(), shared=shared):
            idx, keys = todo.pop(i)
            if isinstance(res, TaskFailure):
                run.files[idx] = None
                run.n_lost += 1
                run.lost.append((keys, f"{res.kind}: {res.error}"))
            else:
                atomic_write_parquet(run.files[idx], res)
                run.n_computed += 1
                run.n_failed_items += int(res["reason"].notna().sum())
            bar.update(len(keys))
            bar.set_postfix(failed=run.n_failed_items, cached=run.n_cached, refresh=False)
    finally:
        bar.close()
    return run


def iter_chunks(run: ChunkRun) -> Iterator[pd.DataFrame]:
    """The chunk tables of ``run`` in input order, one at a time (a lost chunk: its keys with the reason)."""
    lost = iter(run.lost)
    for f in run.files:
        yield pd.read_parquet(f) if f is not None else _failure_frame(*next(lost))


def concat_chunks(run: ChunkRun) -> pd.DataFrame:
    """All chunk tables of ``run`` in input order, as one DataFrame (small runs and tests)."""
    parts = list(iter_chunks(run))
    return pd.concat(parts) if parts else pd.DataFrame(columns=["reason"])


def write_stream(frames: Iterable[pd.DataFrame], out: str | Path) -> Path:
    """Stream DataFrames with the same columns and dtypes into one parquet file, atomically,
    holding one frame at a time (an empty file with the first frame's columns if all are empty)."""
    writer = None
    with atomic_path(out) as tmp:
        for df in frames:
            table = pa.Table.from_pandas(df, preserve_index=True)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is None:
            raise ValueError(f"{out}: nothing to write")
        writer.close()
    return Path(out)
