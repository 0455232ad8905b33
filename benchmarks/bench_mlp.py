"""Benchmark: chapter 04's leave-one-family-out MLP fits, serial vs on all cores, paired.

The table is chapter 04's own (``results/04_correlograms/sse_descriptors.parquet``, written by the
notebook; ``--table`` for another copy), turned into the MLP inputs exactly as the notebook does
(``ch04.usable_columns`` → ``ch04.mlp_inputs``); the model is the σ model of the notebook
(numeric inputs without the MD ones, space group and anion class as categories, every OBELiX
family held out in turn).  ``mlp_group_cv`` runs ``--repeats`` times with ``n_jobs=1`` (one
process, the old path) and with ``n_jobs=None`` (all cores), alternating, in this process;
reported: the median wall time of each, their ratio, the CPU seconds (this process and its
workers) per wall second — how many cores the run really got — the load average before and after, and
whether the predictions of the two paths are bit-for-bit the same.  ``--max-iter`` is reduced
from the paper profile's 500 to keep the run to a few minutes (the fits then stop before
convergence; time per fit scales about linearly with it).

``--check-paper`` also runs the σ model once at the paper profile's settings (``mlp_max_iter``
500, every family, seed 0) on all cores and compares its MAPE with the one the notebook wrote in
``results/04_correlograms/metrics.json`` (serial code) when that run was the paper profile.

    nice -n 5 .venv/bin/python benchmarks/bench_mlp.py [--max-iter 100] [--repeats 3] [--check-paper]

Writes ``benchmarks/results/mlp.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from matmap_utils.chapters import ch04_correlograms as ch04
from matmap_utils.core.parallel import default_n_jobs
from matmap_utils.transport import mlp

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "results" / "04_correlograms" / "sse_descriptors.parquet"
RESULTS = Path(__file__).parent / "results"


def sigma_model(table_path: Path) -> dict:
    """The notebook's σ model inputs: ``{"df", "numeric", "categorical"}``."""
    if not table_path.is_file():
        raise SystemExit(f"{table_path}: no such file — build chapter 04 first (matmap book) or pass --table")
    table = pd.read_parquet(table_path)
    num_cols, _, _ = ch04.usable_columns(table)
    mlp_df, num_inputs, _ = ch04.mlp_inputs(table, num_cols)
    return {"df": mlp_df, "numeric": num_inputs, "categorical": list(ch04.CAT_INPUTS)}


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and of its finished worker processes."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _run(model: dict, n_jobs: int | None, max_iter: int, seed: int, cpu: list | None = None):
    t0, c0 = time.perf_counter(), _cpu_s()
    pred, m = mlp.mlp_group_cv(
        model["df"], ch04.TARGET, model["numeric"], model["categorical"], "family",
        max_iter=max_iter, seed=seed, n_jobs=n_jobs,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append((_cpu_s() - c0) / wall)
    return pred, m, wall


def measure(model: dict, max_iter: int, repeats: int, seed: int) -> dict:
    serial, par, same, cpu_s, cpu_p = [], [], [], [], []
    for r in range(repeats):
        ps, ms, ts = _run(model, 1, max_iter, seed, cpu_s)
        pp, mp, tp = _run(model, None, max_iter, seed, cpu_p)
        serial.append(ts)
        par.append(tp)
        same.append(bool(ps.equals(pp)) and ms == mp)
        print(
            f"repeat {r}: serial {ts:7.1f} s ({cpu_s[-1]:.2f} CPU s/s)  parallel {tp:7.1f} s "
            f"({cpu_p[-1]:.2f} CPU s/s)  identical {same[-1]}",
            flush=True,
        )
    return {
        "serial_s": serial,
        "parallel_s": par,
        "median_serial_s": statistics.median(serial),
        "median_parallel_s": statistics.median(par),
        "speedup": statistics.median(serial) / statistics.median(par),
        "cpu_per_wall_serial": statistics.median(cpu_s),
        "cpu_per_wall_parallel": statistics.median(cpu_p),
        "identical": all(same),
        "n_fits": int(ms["n_groups"]),
        "n_rows": int(ms["n"]),
        "mape": ms["mape"],
    }


def check_paper(model: dict, metrics_path: Path) -> dict:
    """σ model at the paper profile's settings on all cores vs the MAPE the notebook wrote."""
    written = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    _, m, t = _run(model, None, 500, 0)
    ref = written.get("mape", {}).get("log10_sigma") if written.get("profile") == "paper" else None
    print(f"paper settings: MAPE {m['mape']!r} (notebook: {ref!r}) in {t:.1f} s", flush=True)
    return {"mape": m["mape"], "notebook_mape": ref, "equal": ref == m["mape"], "wall_s": t}


def write(res: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mlp.json").write_text(json.dumps(res, indent=2) + "\n")
    b = res["bench"]
    lines = [
        f"| σ model of chapter 04, {b['n_fits']} leave-one-family-out fits, max_iter {res['max_iter']} | wall (s) |",
        "|---|---|",
        f"| median, serial (`n_jobs=1`) | {b['median_serial_s']:.1f} |",
        f"| median, parallel (`n_jobs=None`: {res['n_jobs']} processes) | {b['median_parallel_s']:.1f} |",
        f"| speed-up (ratio of medians) | {b['speedup']:.2f}× |",
        f"| CPU seconds per wall second (median), serial / parallel | {b['cpu_per_wall_serial']:.2f} / "
        f"{b['cpu_per_wall_parallel']:.2f} |",
        f"| predictions identical (bit for bit), every repeat | {b['identical']} |",
        "",
        f"{res['repeats']} repeats of each, alternating, in one process under `nice -n 5`; {res['cores']} cores; "
        f"load average {res['load_before'][0]:.1f} before and {res['load_after'][0]:.1f} after (1-min; shared machine: "
        "other jobs inflate both timings and cap the speed-up below the core count). "
        f"All runs: serial {', '.join(f'{x:.1f}' for x in b['serial_s'])} s; "
        f"parallel {', '.join(f'{x:.1f}' for x in b['parallel_s'])} s.",
    ]
    if res.get("paper"):
        p = res["paper"]
        lines += [
            "",
            f"Paper settings (max_iter 500, all families, seed 0), parallel: MAPE {p['mape']!r} in {p['wall_s']:.0f} s; "
            f"the notebook's serial run wrote {p['notebook_mape']!r} — equal: {p['equal']}.",
        ]
    (RESULTS / "mlp.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--table", type=Path, default=TABLE)
    ap.add_argument("--metrics", type=Path, default=TABLE.parent / "metrics.json")
    ap.add_argument("--check-paper", action="store_true")
    a = ap.parse_args()
    model = sigma_model(a.table)
    load_before = os.getloadavg()
    res = {
        "table": str(a.table),
        "max_iter": a.max_iter,
        "repeats": a.repeats,
        "seed": a.seed,
        "cores": os.cpu_count(),
        "n_jobs": default_n_jobs(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_before": load_before,
        "bench": measure(model, a.max_iter, a.repeats, a.seed),
    }
    if a.check_paper:
        res["paper"] = check_paper(model, a.metrics)
    res["load_after"] = os.getloadavg()
    write(res)


if __name__ == "__main__":
    main()
