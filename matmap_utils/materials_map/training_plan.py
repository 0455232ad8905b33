"""Chapter 02's independent trainings — the W sweep, the seed study, the grid search — run on every
core, into the caches that the chapter's serial calls then read (issue 19).

A plan is a list of :class:`PlannedTraining`: a stacked sweep (:func:`training.cached_sweep`'s
arguments) or a whole grid search (:func:`training.cached_grid_search`'s).  :func:`fill_caches`
skips what is cached already, cuts each grid search into one task per batch size, sorts the tasks
longest first and trains them in worker processes of one torch thread each
(:func:`~matmap_utils.core.parallel.parallel_map`).  A sweep's worker writes its cache entry
itself (:func:`training.cached_sweep`, atomic writes); a grid table is assembled and written here
once all of its batch sizes are done.  Each worker does exactly what the serial call does (same
seeds, same data, one thread, the same deterministic mode), so the cached results are the serial
results bit for bit; a task that fails is reported in the returned table and leaves the others
alone (the chapter's own serial call then trains it again and raises its error).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matmap_utils.core.cache import atomic_write_parquet
from matmap_utils.core.parallel import parallel_map
from matmap_utils.core.runtime import torch_device
from matmap_utils.materials_map import training
from matmap_utils.materials_map.autoencoder import MapConfig, make_split

#: Columns of the table returned by :func:`fill_caches`.
REPORT_COLUMNS = ("label", "kind", "status", "tasks", "seconds", "error")


@dataclass(frozen=True)
class PlannedTraining:
    """One cache entry to fill: ``kind`` ``"sweep"`` (one stacked model of the W values ``Ws``,
    :func:`training.cached_sweep`) or ``"grid"`` (the grid search at ``Ws[0]`` over
    ``batch_sizes`` × ``lrs`` × ``weight_decays``, :func:`training.cached_grid_search`).
    ``split``: train/val/test labels, or ``None`` for the paper's random split of ``seed``."""

    label: str
    kind: str
    Ws: tuple[float, ...]
    seed: int
    config: MapConfig
    split: tuple[str, ...] | None = None
    batch_sizes: tuple[int, ...] = ()
    lrs: tuple[float, ...] = ()
    weight_decays: tuple[float, ...] = ()

    def __post_init__(self):
        if self.kind not in ("sweep", "grid"):
            raise ValueError(f"planned training {self.label!r}: unknown kind {self.kind!r} (sweep, grid)")
        if self.kind == "grid" and not (self.batch_sizes and self.lrs and self.weight_decays and len(self.Ws) == 1):
            raise ValueError(f"planned training {self.label!r}: a grid search needs one W and non-empty grid lists")

    def grid_kw(self) -> dict:
        """Keywords of :func:`training.cached_grid_search` (and of :func:`training.grid_key`)."""
        return dict(
            W=self.Ws[0],
            batch_sizes=list(self.batch_sizes),
            lrs=list(self.lrs),
            weight_decays=list(self.weight_decays),
            seed=self.seed,
            config=self.config,
            split=None if self.split is None else np.asarray(self.split, dtype=object),
        )


def _labels(split) -> tuple[str, ...] | None:
    return None if split is None else tuple(str(s) for s in split)


def chapter02_plan(
    n_rows: int,
    groups,
    *,
    Ws: Sequence[float],
    W_map: float,
    seed: int,
    seeds: Sequence[int],
    config: MapConfig,
    grid: tuple[Sequence[int], Sequence[float], Sequence[float]] | None = None,
    grid_config: MapConfig | None = None,
) -> list[PlannedTraining]:
    """The trainings of chapter 02 on ``n_rows`` materials: the W sweep (paper split of ``seed``),
    the seed study at ``W_map`` (``seeds`` × random and grouped splits of ``groups``, the chemical
    systems) and, when ``grid`` = (batch sizes, learning rates, L2 factors) is given, the grid
    search at ``W_map`` on the sweep's split (trained with ``grid_config``, default ``config``) — with
    exactly the arguments of the chapter's calls."""
    plan = [PlannedTraining(f"W sweep, seed {seed}", "sweep", tuple(float(w) for w in Ws), int(seed), config)]
    for kind, s, split in training.seed_splits(groups, seeds, config):
        plan.append(
            PlannedTraining(f"seed study, {kind} split, seed {s}", "sweep", (float(W_map),), s, config, _labels(split))
        )
    if grid is not None:
        bs, lrs, wds = grid
        split = make_split(int(n_rows), int(seed), config.test_frac, config.val_frac)
        plan.append(
            PlannedTraining(
                f"grid search, seed {seed}",
                "grid",
                (float(W_map),),
                int(seed),
                grid_config or config,
                _labels(split),
                tuple(int(b) for b in bs),
                tuple(float(v) for v in lrs),
                tuple(float(v) for v in wds),
            )
        )
    return plan


def is_cached(Xc, Xs, y, p: PlannedTraining) -> bool:
    """Whether the cache entry of ``p`` is complete (a sweep's ``info.json``, a grid's table)."""
    if p.kind == "grid":
        return training.grid_path(Xc, Xs, y, **p.grid_kw()).exists()
    split = None if p.split is None else np.asarray(p.split, dtype=object)
    folder = training.sweep_folder(Xc, Xs, y, Ws=p.Ws, seed=p.seed, config=p.config, split=split)
    return (folder / "info.json").exists()


def _cost(p: PlannedTraining, batch_size: int, n_members: int) -> float:
    """Relative cost of one task for the longest-first order: an epoch of K stacked members costs
    about (0.5 + K) single-member steps (measured: K = 4 takes 2.9× the time of K = 1), and a larger
    batch size means fewer, slightly dearer steps."""
    return (0.5 + n_members) * (16.0 / max(1, int(batch_size))) ** 0.5


def _tasks(plan: Sequence[PlannedTraining]) -> list[tuple[int, int | None, float]]:
    """``(plan index, batch size or None, cost)`` of every task, longest first (stable)."""
    out = []
    for i, p in enumerate(plan):
        if p.kind == "grid":
            k = len(p.lrs) * len(p.weight_decays)
            out += [(i, int(b), _cost(p, b, k)) for b in p.batch_sizes]
        else:
            out.append((i, None, _cost(p, p.config.batch_size, len(p.Ws))))
    return sorted(out, key=lambda t: -t[2])


def _train_task(item) -> dict:
    """Worker: one task (a sweep into its cache, or one batch size of a grid search: its rows)."""
    Xc, Xs, y, p, batch_size = item
    t0 = time.perf_counter()
    split = None if p.split is None else np.asarray(p.split, dtype=object)
    if p.kind == "grid":
        kw = p.grid_kw()
        kw.pop("batch_sizes")
        rows = training.grid_rows(Xc, Xs, y, batch_size=batch_size, **kw)
        return {"rows": rows, "seconds": time.perf_counter() - t0}
    res = training.cached_sweep(Xc, Xs, y, Ws=list(p.Ws), seed=p.seed, config=p.config, split=split)
    return {"rows": None, "seconds": time.perf_counter() - t0, "cached": bool(res.info.get("cached"))}


def _parallel_ok(plan: Sequence[PlannedTraining]) -> bool:
    """Worker processes compute on one torch thread on the CPU: the serial results are reproduced
    bit for bit only when the serial path also trains on one CPU thread."""
    return all(p.config.threads == 1 and torch_device(p.config.device).type == "cpu" for p in plan)


def fill_caches(Xc, Xs, y, plan: Sequence[PlannedTraining], n_jobs: int | None = None) -> pd.DataFrame:
    """Train every planned training not cached yet, ``n_jobs`` at a time (``None``: all cores;
    serially when a configuration trains on more than one thread or off the CPU), longest first.

    ``Xc``, ``Xs``, ``y``: the chapter's descriptor tables and ME (eV), exactly as it passes them
    to the serial calls (the cache keys hash them, row ids included).  Returns one row per planned
    training (:data:`REPORT_COLUMNS`): ``status`` ``cached`` (nothing trained), ``trained`` or
    ``failed`` (``error``: the first failing task's one-line reason), ``seconds`` the summed
    training wall time of its tasks (s).
    """
    y = np.asarray(y, dtype=np.float64)
    todo = [i for i, p in enumerate(plan) if not is_cached(Xc, Xs, y, p)]
    tasks = _tasks([plan[i] for i in todo])
    outs = parallel_map(
        _train_task,
        [(Xc, Xs, y, plan[todo[j]], bs) for j, bs, _ in tasks],
        keys=[(todo[j], bs) for j, bs, _ in tasks],
        n_jobs=n_jobs if _parallel_ok([plan[i] for i in todo]) else 1,
        progress=False,
    )
    return pd.DataFrame(
        [_collect(Xc, Xs, y, i, p, outs, i in todo) for i, p in enumerate(plan)], columns=list(REPORT_COLUMNS)
    )


def _collect(Xc, Xs, y, i: int, p: PlannedTraining, outs, trained: bool) -> dict:
    """The report row of plan entry ``i`` from the outcomes of its tasks; a grid search whose
    batch sizes all succeeded gets its table written to the cache (atomically)."""
    if not trained:
        return _report_row(p, "cached", 0, 0.0)
    mine = [o for o in outs if o.key[0] == i]
    seconds = float(sum(o.value["seconds"] for o in mine if o.ok))
    bad = [o for o in mine if not o.ok]
    if bad:
        return _report_row(p, "failed", len(mine), seconds, f"{bad[0].kind}: {bad[0].error}")
    if p.kind == "grid":
        by_bs = {o.key[1]: o.value["rows"] for o in mine}
        table = training.grid_table([r for b in p.batch_sizes for r in by_bs[int(b)]])
        atomic_write_parquet(training.grid_path(Xc, Xs, y, **p.grid_kw()), table)
    return _report_row(p, "trained", len(mine), seconds)


def was_cached(report: pd.DataFrame, p: PlannedTraining) -> bool:
    """Whether :func:`fill_caches` found ``p`` in the cache (nothing trained in this run): what a
    serial call reading that cache entry afterwards would have said itself (``info["cached"]``)."""
    rows = report[report["label"] == p.label]
    return bool(len(rows)) and bool((rows["status"] == "cached").all())


def _report_row(p: PlannedTraining, status: str, n_tasks: int, seconds: float, error: str | None = None) -> dict:
    return {"label": p.label, "kind": p.kind, "status": status, "tasks": n_tasks, "seconds": seconds, "error": error}
