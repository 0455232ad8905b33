"""Benchmark: BVSE percolation barriers with bvlain (the reference) vs ``bvse_fast``, paired.

The structures are those of ``tests/fixtures/bvse/reference.json.gz`` (a seeded sample of the
Li–O set of the materials-map paper, oxidation states already assigned; regenerate with
``tests/fixtures/bvse/make_reference.py``).  For each structure, one after the other in this
process: bvlain (``bvse.landscape_barriers(method="bvlain")``: landscape + the memoised bisection
the project used), the fast path (``method="fast"``: landscape + one union–find sweep), and the
oxidation-state assignment that both need in ``bvse.bvse_barriers`` (pymatgen's BVAnalyzer etc.).
Wall and process CPU time are recorded (the machine is shared: wall times are inflated by other
jobs; CPU time is closer to an idle machine).  Reported: medians per structure, throughput
(structures/s = n / total time), the speed-up (ratio of totals, and the median of per-structure
ratios), with and without the oxidation-state step, and the largest |ΔE| between the two.

    .venv/bin/python benchmarks/bench_bvse.py [--n 60] [--seed 0]     # --n 0: all structures

Writes ``benchmarks/results/bvse.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from matmap_utils.materials_map import bvse, bvse_fast

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "bvse" / "reference.json.gz"
sys.path.insert(0, str(FIXTURE.parent))
from make_reference import decode  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def _timed(fn, *args):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w0, time.process_time() - c0


def _rows(n: int, seed: int, fixture: Path = FIXTURE) -> list[dict]:
    rows = [r for r in json.loads(gzip.open(fixture, "rt").read())["rows"] if "E_3D" in r]
    if 0 < n < len(rows):
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), size=n, replace=False))
        rows = [rows[i] for i in pick]
    return rows


def measure(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        dec, res = decode(r["structure"]), r["resolution"]
        ref, bw, bc = _timed(bvse.landscape_barriers, dec, res, {"method": "bvlain"})
        got, fw, fc = _timed(bvse.landscape_barriers, dec, res, {"method": "fast"})
        _, ow, oc = _timed(bvse.assign_oxidation_states, dec)
        dmax = max(
            (abs(got[d] - ref[d]) for d in ("E_1D", "E_2D", "E_3D") if math.isfinite(ref[d]) and math.isfinite(got[d])),
            default=0.0,
        )
        out.append(dict(id=r["material_id"], sites=len(dec), bw=bw, bc=bc, fw=fw, fc=fc, ow=ow, oc=oc, dmax=dmax))
        print(
            f"{r['material_id']:>12} {len(dec):4d} sites  bvlain {bw:6.2f}s  fast {fw:6.3f}s  oxi {ow:5.2f}s",
            flush=True,
        )
    return out


def summarise(m: list[dict]) -> dict:
    def tot(key):
        return sum(x[key] for x in m)

    s = {"n": len(m)}
    for clock, sfx in (("wall", "w"), ("cpu", "c")):
        b, f, o = tot("b" + sfx), tot("f" + sfx), tot("o" + sfx)
        s[clock] = {
            "median_s": {k: statistics.median(x[k + sfx] for x in m) for k in ("b", "f", "o")},
            "structures_per_s": {
                "bvlain": len(m) / b,
                "fast": len(m) / f,
                "bvlain+oxi": len(m) / (b + o),
                "fast+oxi": len(m) / (f + o),
            },
            "speedup_total": b / f,
            "speedup_median": statistics.median(x["b" + sfx] / x["f" + sfx] for x in m),
            "speedup_with_oxi": (b + o) / (f + o),
        }
    s["max_abs_dE"] = max(x["dmax"] for x in m)
    return s


def write(s: dict, m: list[dict], load0: float, load1: float, compile_s: float) -> None:
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_avg_start": load0,
        "load_avg_end": load1,
        "numba_first_call_s": compile_s,
    }
    (RESULTS / "bvse.json").write_text(json.dumps({"summary": s, "meta": meta, "per_structure": m}, indent=1))
    w, c = s["wall"], s["cpu"]
    lines = [
        f"| BVSE barriers, {s['n']} Li–O structures (paired) | wall | CPU |",
        "|---|---|---|",
        f"| median per structure, bvlain (s) | {w['median_s']['b']:.2f} | {c['median_s']['b']:.2f} |",
        f"| median per structure, fast (s) | {w['median_s']['f']:.3f} | {c['median_s']['f']:.3f} |",
        f"| median per structure, oxidation states (s) | {w['median_s']['o']:.3f} | {c['median_s']['o']:.3f} |",
        f"| structures/s, bvlain / fast | {w['structures_per_s']['bvlain']:.2f} / {w['structures_per_s']['fast']:.1f} | {c['structures_per_s']['bvlain']:.2f} / {c['structures_per_s']['fast']:.1f} |",
        f"| speed-up (total time) / median per-structure ratio | {w['speedup_total']:.1f}× / {w['speedup_median']:.1f}× | {c['speedup_total']:.1f}× / {c['speedup_median']:.1f}× |",
        f"| with oxidation-state assignment (what `bvse_barriers` does) | {w['speedup_with_oxi']:.1f}× | {c['speedup_with_oxi']:.1f}× |",
        f"| largest |ΔE| over E_1D, E_2D, E_3D (eV) | {s['max_abs_dE']:.4f} | |",
        "",
        f"One process, {meta['cores']} cores, load average {load0:.1f} at the start and {load1:.1f} at the end (shared machine: "
        f"wall times inflated by other jobs). numba kernels: first call {compile_s:.1f} s (cache load or compile), not in the table.",
    ]
    (RESULTS / "bvse.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fixture", type=Path, default=FIXTURE)
    args = ap.parse_args()
    rows = _rows(args.n, args.seed, args.fixture)
    _, compile_s, _ = _timed(bvse_fast._kernels)
    load0 = os.getloadavg()[0]
    m = measure(rows)
    write(summarise(m), m, load0, os.getloadavg()[0], compile_s)


if __name__ == "__main__":
    main()
