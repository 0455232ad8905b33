"""Process-parallel maps where one bad item is reported, never fatal.

:func:`parallel_map` runs ``func(item)`` over many items (structures, trajectories) on all cores,
with an optional per-item time limit, and returns one :class:`Outcome` per item *in input order*:
either a value or an error message. Callers turn failures into rows with a reason
(:func:`failures_frame`); nothing is silently dropped and nothing crashes the batch.  Where every
item is needed (the fits of one model), :func:`values_or_raise` names the first failure instead.

Where the chunks of items run is the business of :mod:`matmap_utils.core.backends`: the local
process pool by default, a Ray cluster when ``MATMAP_RAY_ADDRESS`` is set (or inside
:func:`~matmap_utils.core.backends.use_backend`); callers do not know which one ran.

The time limit uses ``SIGALRM`` inside the worker (POSIX), so it interrupts Python code; a call
stuck inside a single long C routine is interrupted when it returns to Python.
"""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from matmap_utils.core import settings
from matmap_utils.core.backends import TaskFailure, default_n_jobs, effective_n_jobs, get_backend, one_line
from matmap_utils.core.backends import start_method as _start_method
from matmap_utils.core.progress import progress_bar

__all__ = [
    "ItemTimeout",
    "Outcome",
    "default_n_jobs",
    "effective_n_jobs",
    "failures_frame",
    "parallel_map",
    "_start_method",
]


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
        msg = one_line(exc)
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

    ``func`` must be a module-level function (it is sent to worker processes).  Processes:
    :func:`~matmap_utils.core.backends.effective_n_jobs` of ``n_jobs`` (None or 0: every core the
    project may use), at most one per item.  ``n_jobs=1`` runs
    in this process (handy for debugging and tiny inputs), and so does every call made inside a
    worker (:func:`~matmap_utils.core.backends.in_worker`: a worker computes on one core and may
    not start a pool of its own).  ``timeout`` is per item, in seconds.
    """
    items = list(items)
    keys = list(range(len(items))) if keys is None else list(keys)
    if len(keys) != len(items):
        raise ValueError(f"{len(keys)} keys for {len(items)} items")
    n_jobs = effective_n_jobs(n_jobs)
    n_jobs = min(n_jobs, max(1, len(items)))
    pairs = list(zip(keys, items))
    bar = progress_bar(
        total=len(pairs),
        desc=desc,
        leave=False,
        enabled=progress and len(pairs) >= 2,
    )
    out: list[Outcome] = []
    if n_jobs == 1:
        for key, item in pairs:
            out.append(_run_one(func, key, item, timeout))
            bar.update(1)
        bar.close()
        return out
    backend = get_backend()
    if chunksize is None:
        chunksize = max(1, min(32, len(pairs) // (max(n_jobs, backend.n_workers) * 8) or 1))
    chunks = [pairs[i : i + chunksize] for i in range(0, len(pairs), chunksize)]
    if backend.name == "local" and backend.n_workers != n_jobs:
        backend = type(backend)(n_jobs)
    results: dict[int, list[Outcome]] = {}
    for i, res in backend.imap(_chunk_task, ((func, chunk, timeout) for chunk in chunks)):
        if isinstance(res, TaskFailure):  # a worker died (e.g. killed by the OS): report its items
            res = [Outcome(k, error=f"worker failed: {res.error}", kind="worker") for k, _ in chunks[i]]
        results[i] = res
        bar.update(len(chunks[i]))
    bar.close()
    return [o for i in range(len(chunks)) for o in results[i]]


def _chunk_task(arg: tuple[Callable, list[tuple[Any, Any]], float | None]) -> list[Outcome]:
    func, chunk, timeout = arg
    return _run_chunk(func, chunk, timeout)


def values_or_raise(outcomes: Sequence[Outcome], what: str) -> list:
    """The values of ``outcomes`` in order, for batches where every item is needed (model fits):
    the first failure raises ``RuntimeError`` "<what> <key> failed (<k> of <n>): <error>"."""
    bad = [o for o in outcomes if not o.ok]
    if bad:
        raise RuntimeError(f"{what} {bad[0].key} failed ({len(bad)} of {len(outcomes)}): {bad[0].error}")
    return [o.value for o in outcomes]


def failures_frame(outcomes: Sequence[Outcome], key_name: str = "id"):
    """A DataFrame of the failed items (key, kind, reason) — for the book's failure tables."""

    rows = [{key_name: o.key, "kind": o.kind, "reason": o.error} for o in outcomes if not o.ok]
    return pd.DataFrame(rows, columns=[key_name, "kind", "reason"])
