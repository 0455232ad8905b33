"""Process-parallel maps where one bad item is reported, never fatal.

:func:`parallel_map` runs ``func(item)`` over many items (structures, trajectories) on all cores,
with an optional per-item time limit, and returns one :class:`Outcome` per item *in input order*:
either a value or an error message. Callers turn failures into rows with a reason; nothing is
silently dropped and nothing crashes the batch.

The time limit uses ``SIGALRM`` inside the worker (POSIX), so it interrupts Python code; a call
stuck inside a single long C routine is interrupted when it returns to Python.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm import tqdm

from matmap_utils.core import settings


class ItemTimeout(Exception):
    """Raised inside a worker when one item exceeds its time limit."""


@dataclass
class Outcome:
    """Result of one item: ``value`` when ``ok``, else ``error`` (one line) and ``kind``."""

    key: Any
    value: Any = None
    error: str | None = None
    kind: str | None = None  # "timeout", "error", or "worker" (the worker process died)

    @property
    def ok(self) -> bool:
        return self.error is None


def default_n_jobs() -> int:
    """Cores to use: ``MATMAP_N_JOBS`` or all available cores."""
    env = settings.get("MATMAP_N_JOBS")
    if env:
        return env
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _start_method() -> str:
    """``fork`` on Linux (works from notebooks and scripts alike; workers must not use torch
    threads inherited from the parent), ``spawn`` elsewhere; ``MATMAP_MP_START`` overrides."""
    env = settings.get("MATMAP_MP_START")
    if env:
        return env
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _alarm_handler(signum, frame):  # pragma: no cover - exercised in workers
    raise ItemTimeout()


def _run_one(func: Callable, key: Any, item: Any, timeout: float | None) -> Outcome:
    use_alarm = timeout is not None and timeout > 0 and hasattr(signal, "SIGALRM")
    old = None
    if use_alarm:
        try:
            old = signal.signal(signal.SIGALRM, _alarm_handler)
            signal.setitimer(signal.ITIMER_REAL, float(timeout))
        except ValueError:  # not in the main thread: run without a limit
            use_alarm = False
    try:
        return Outcome(key, value=func(item))
    except ItemTimeout:
        return Outcome(key, error=f"timeout after {timeout:g} s", kind="timeout")
    except Exception as exc:  # noqa: BLE001 - reported per item by design
        msg = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:500]
        if settings.get("MATMAP_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        return Outcome(key, error=msg, kind="error")
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if old is not None:
                signal.signal(signal.SIGALRM, old)


def _run_chunk(func: Callable, chunk: list[tuple[Any, Any]], timeout: float | None) -> list[Outcome]:
    return [_run_one(func, key, item, timeout) for key, item in chunk]


def parallel_map(
    func: Callable[[Any], Any],
    items: Iterable[Any] | Sequence[Any],
    *,
    keys: Sequence[Any] | None = None,
    n_jobs: int | None = None,
    timeout: float | None = None,
    chunksize: int | None = None,
    desc: str | None = None,
    progress: bool = True,
) -> list[Outcome]:
    """Apply ``func`` to every item; return one :class:`Outcome` per item, in order.

    ``func`` must be a module-level function (it is sent to worker processes).  ``n_jobs=1`` runs
    in this process (handy for debugging and tiny inputs).  ``timeout`` is per item, in seconds.
    """
    items = list(items)
    keys = list(range(len(items))) if keys is None else list(keys)
    if len(keys) != len(items):
        raise ValueError(f"{len(keys)} keys for {len(items)} items")
    n_jobs = default_n_jobs() if n_jobs is None else max(1, int(n_jobs))
    n_jobs = min(n_jobs, max(1, len(items)))
    pairs = list(zip(keys, items))
    bar = tqdm(
        total=len(pairs),
        desc=desc,
        leave=False,
        disable=not progress or len(pairs) < 2 or not settings.get("MATMAP_PROGRESS"),
    )
    out: list[Outcome] = []
    if n_jobs == 1:
        for key, item in pairs:
            out.append(_run_one(func, key, item, timeout))
            bar.update(1)
        bar.close()
        return out
    if chunksize is None:
        chunksize = max(1, min(32, len(pairs) // (n_jobs * 8) or 1))
    chunks = [pairs[i : i + chunksize] for i in range(0, len(pairs), chunksize)]
    ctx = mp.get_context(_start_method())
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
        futures = [pool.submit(_run_chunk, func, chunk, timeout) for chunk in chunks]
        for fut, chunk in zip(futures, chunks):
            try:
                res = fut.result()
            except Exception as exc:  # a worker died (e.g. killed by the OS): report its items
                res = [Outcome(k, error=f"worker failed: {type(exc).__name__}: {exc}", kind="worker") for k, _ in chunk]
            out.extend(res)
            bar.update(len(chunk))
    bar.close()
    return out


def failures_frame(outcomes: Sequence[Outcome], key_name: str = "id"):
    """A DataFrame of the failed items (key, kind, reason) — for the book's failure tables."""

    rows = [{key_name: o.key, "kind": o.kind, "reason": o.error} for o in outcomes if not o.ok]
    return pd.DataFrame(rows, columns=[key_name, "kind", "reason"])
