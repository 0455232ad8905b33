"""Shared by the serial-vs-parallel benchmarks: time both paths alternately, summarize, write results.

walls, outs = alternate(run, (1, 2), repeats)   # run(n_jobs) -> output; wall seconds per n_jobs
res.update(summary(walls, 1, 2))                # medians, speed-up, every wall, load at the end
write("cv", res, table_md)                      # benchmarks/results/cv.json and .md
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results"


def alternate(run: Callable[[int], object], n_jobs: Sequence[int], repeats: int) -> tuple[dict, dict]:
    """``run(n)`` for each ``n`` of ``n_jobs`` in turn, ``repeats`` times (alternating, so both paths
    see the same machine load): ``({n: [wall s, ...]}, {n: last output})``."""
    walls: dict[int, list[float]] = {int(n): [] for n in n_jobs}
    outs: dict[int, object] = {}
    for _ in range(repeats):
        for n in walls:
            t0 = time.perf_counter()
            outs[n] = run(n)
            walls[n].append(time.perf_counter() - t0)
    return walls, outs


def summary(walls: dict[int, list[float]], serial: int, parallel: int) -> dict:
    """Median wall time of each path (s), their ratio, every wall time and the 1-min load now."""
    s, p = statistics.median(walls[serial]), statistics.median(walls[parallel])
    return {
        "serial_wall_s": s,
        "parallel_wall_s": p,
        "speedup": s / p,
        "walls": {str(k): v for k, v in walls.items()},
        "load_average_1min_end": os.getloadavg()[0],
    }


def write(stem: str, res: dict, md: str) -> None:
    """``results/<stem>.json`` (``res``) and ``results/<stem>.md`` (``md``), and print ``md``."""
    OUT.mkdir(exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps(res, indent=2))
    (OUT / f"{stem}.md").write_text(md)
    print(md)
