"""Benchmark: bond-valence oxidation states, pymatgen's ``BVAnalyzer`` against :mod:`matmap_utils.data.valences`.

``--n`` MP Li structures (the chapter-06 pool, seeded sample), each analysed by the plain
``BVAnalyzer().get_valences`` and by :func:`~matmap_utils.data.valences.bv_valences` (for ordered
structures :func:`matmap_utils.data.bv_ordered.ordered_valences`) with the settings of chapter 06
(``max_permutations`` of :data:`matmap_utils.screening.oxidation.SETTINGS`),
one after the other per structure, in one process.  Reported: the total CPU time of each path,
their ratio, the median per-structure ratio, the load average, and whether every result (valences
or the error message) is the same.

    nice -n 5 .venv/bin/python benchmarks/bench_valences.py [--n 1000] [--seed 0]

Writes ``benchmarks/results/valences.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from pymatgen.analysis.bond_valence import BVAnalyzer

from matmap_utils.data.datasets import load_mp_li
from matmap_utils.data.valences import bv_valences
from matmap_utils.screening.oxidation import SETTINGS

OUT = Path(__file__).parent / "results"


def _run(fn, structure):
    t = time.process_time()
    try:
        res = [int(v) for v in fn(structure)]
    except Exception as exc:  # noqa: BLE001 - the error is part of the result to compare
        res = f"{type(exc).__name__}: {exc}"
    return res, time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    kw = {"max_permutations": SETTINGS["bv_max_permutations"]}
    pool = load_mp_li(limit=args.n, seed=args.seed)
    load0 = os.getloadavg()[0]
    plain_t, fast_t, ratios, same, nsites = [], [], [], 0, []
    for s in pool["structure"]:
        if not s.is_ordered:
            continue
        a, ta = _run(lambda x: BVAnalyzer(**kw).get_valences(x), s)
        b, tb = _run(lambda x: bv_valences(x, **kw), s)
        plain_t.append(ta)
        fast_t.append(tb)
        ratios.append(ta / max(tb, 1e-6))
        nsites.append(len(s))
        same += a == b
    res = {
        "structures": len(plain_t),
        "identical": same,
        "plain_cpu_s": round(sum(plain_t), 2),
        "fast_cpu_s": round(sum(fast_t), 2),
        "ratio_total": round(sum(plain_t) / sum(fast_t), 2),
        "ratio_median": round(statistics.median(ratios), 2),
        "plain_ms_median": round(1000 * statistics.median(plain_t), 1),
        "fast_ms_median": round(1000 * statistics.median(fast_t), 1),
        "sites_median": statistics.median(nsites),
        "sites_max": max(nsites),
        "load_before": round(load0, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "valences.json").write_text(json.dumps(res, indent=1))
    rows = "\n".join(f"| {k} | {v} |" for k, v in res.items())
    (OUT / "valences.md").write_text(f"# BVAnalyzer vs bv_valences\n\n| | |\n|---|---|\n{rows}\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
