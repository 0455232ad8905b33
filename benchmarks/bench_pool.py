"""Throughput of pool screening (``matmap screen --pool``) on the local process pool and on Ray.

Screens the first ``--sizes`` structures of the MP Li pool of the mirror (a table of CIF paths;
chapter 06's pipeline with the saved screening ensemble) with each backend of ``--backends``
(``local:N`` = N worker processes, ``ray:N`` = a private local Ray instance of N CPUs), each run in
a fresh subprocess with an empty chunk cache, ``--repeats`` times.  Reports per run the wall time of
the screening (backend start-up apart), structures per second, the driver's peak RSS (flat memory:
it must not grow with the pool) and the failures; then medians, the ratios to ``local:1`` and the
time per structure against the pool size (linear growth = constant time per structure).  Writes
``benchmarks/results/pool.json`` and ``pool.md``; ``--keep`` keeps the runs already there (points
measured at different times add up), ``--add FILE`` adds runs measured elsewhere, e.g. the whole
pool through ``matmap screen --pool`` (a JSON list of objects with this script's run fields).

    .venv/bin/python benchmarks/bench_pool.py --sizes 200 --backends local:1,local:2,ray:1,ray:2
    .venv/bin/python benchmarks/bench_pool.py --sizes 2000,5000,20000 --backends local:2 --keep
    .venv/bin/python benchmarks/bench_pool.py --sizes 0 --keep --add whole_pool_runs.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from matmap_utils.chapters import pool_screening
from matmap_utils.core.backends import LocalBackend, RayBackend
from matmap_utils.core.paths import mirror_dir

RESULTS = Path(__file__).resolve().parent / "results"


def one_run(size: int, backend: str, chunk_size: int) -> dict:
    """One screening in this process (called in a fresh subprocess): times, peak RSS, failures."""
    cifs = sorted((mirror_dir() / "mp_li").glob("*.cif"))[:size]
    work = Path(tempfile.mkdtemp(prefix="bench_pool"))
    os.environ["MATMAP_PROGRESS"] = "0"
    ctx = pool_screening.load_context(novelty="training")
    os.environ["MATMAP_CACHE"] = str(work / "cache")  # nothing cached: every chunk computed
    pd.DataFrame({"path": [str(c) for c in cifs]}).to_csv(work / "pool.csv", index=False)
    kind, n = backend.split(":")
    t0 = time.perf_counter()
    be = LocalBackend(int(n)) if kind == "local" else RayBackend(None, num_cpus=int(n))
    t_start = time.perf_counter() - t0
    try:
        res = pool_screening.screen_pool(
            work / "pool.csv", work / "out.parquet", ctx=ctx, backend=be, chunk_size=chunk_size, progress=False
        )
    finally:
        be.close()
    return {
        "size": size,
        "backend": backend,
        "chunk_size": chunk_size,
        "startup_s": round(t_start, 2),
        "wall_s": round(res.seconds, 2),
        "per_s": round(size / res.seconds, 2),
        "n_ok": res.n_ok,
        "n_failed": res.n_failed,
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def summarize(runs: list[dict]) -> pd.DataFrame:
    """Medians per (size, backend), throughput ratio to ``local:1`` of the same size, s per structure."""
    df = pd.DataFrame(runs)
    med = df.groupby(["size", "backend"], as_index=False).agg(
        runs=("wall_s", "size"),
        wall_s=("wall_s", "median"),
        per_s=("per_s", "median"),
        startup_s=("startup_s", "median"),
        peak_rss_mb=("driver_peak_rss_mb", "max"),
        n_failed=("n_failed", "max"),
    )
    base = med[med.backend == "local:1"].set_index("size")["per_s"]
    med["vs_local1"] = [r.per_s / base[r.size] if r.size in base.index else float("nan") for r in med.itertuples()]
    med["ms_per_structure"] = 1000 * med["wall_s"] / med["size"]
    return med.round(3)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200")
    ap.add_argument("--backends", default="local:1,local:2,ray:1,ray:2")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--chunk-size", type=int, default=128)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # SIZE,BACKEND: run once, print JSON
    ap.add_argument("--out", default=str(RESULTS / "pool.json"))
    ap.add_argument("--keep", action="store_true", help="keep the runs already in --out")
    ap.add_argument("--add", default=None, metavar="FILE", help="JSON list of runs measured elsewhere")
    ap.add_argument("--note", default=None, help="a line under the table (how and where it was measured)")
    a = ap.parse_args(argv)
    if a.one:
        size, backend = a.one.split(",")
        print(json.dumps(one_run(int(size), backend, a.chunk_size)))
        return {}
    old = json.loads(Path(a.out).read_text()) if a.keep and Path(a.out).exists() else {}
    runs, notes = old.get("runs", []), old.get("notes", []) + ([a.note] if a.note else [])
    runs += json.loads(Path(a.add).read_text()) if a.add else []
    for size in [int(s) for s in a.sizes.split(",") if int(s) > 0]:
        for backend in a.backends.split(","):
            for _ in range(a.repeats):
                cmd = [sys.executable, __file__, "--one", f"{size},{backend}", "--chunk-size", str(a.chunk_size)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
                print(runs[-1], file=sys.stderr)
    med = summarize(runs)
    report = {"runs": runs, "medians": med.to_dict("records"), "cpus": os.cpu_count(), "notes": notes}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=2) + "\n")
    Path(a.out).with_suffix(".md").write_text(med.to_markdown(index=False) + "\n" + "".join(f"\n{n}\n" for n in notes))
    print(med.to_string(index=False))
    return report


if __name__ == "__main__":
    main()
