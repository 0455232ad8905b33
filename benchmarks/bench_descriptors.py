"""Benchmark: our descriptors vs matminer's nearest equivalents, and BVSE throughput.

Same structures, same process, one core each (``n_jobs=1``, no cache):

* ours: :func:`matmap_utils.materials_map.descriptors.featurize` (composition 1,782 + structure 858 numbers);
* matminer baseline, the nearest equivalents of our blocks: ``ElementProperty.from_preset("magpie")``
  (composition), ``PartialRadialDistributionFunction`` (element-pair RDFs),
  ``SiteStatsFingerprint(AverageBondAngle(VoronoiNN()))`` (bond angles) and
  ``SiteStatsFingerprint(VoronoiFingerprint())`` (Voronoi statistics).

matminer is slow, so it runs on the first ``--n-baseline`` of the ``--n`` structures (stated in the
output); throughputs are structures per second, medians over ``--repeats`` runs, and the ratio is
ours / matminer.  BVSE: bvlain barriers (our settings) of ``--n-bvse`` structures, once.

    python benchmarks/bench_descriptors.py [--n 200] [--n-baseline 20] [--repeats 3]

Writes ``benchmarks/results/descriptors.json`` and ``descriptors.md``.  Timings on a shared
machine are noisy: compare ratios measured in the same run only.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from pathlib import Path


def _time(fn, items) -> float:
    t0 = time.perf_counter()
    for it in items:
        fn(it)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--n-baseline", type=int, default=20)
    ap.add_argument("--n-bvse", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    from matminer.featurizers.composition import ElementProperty
    from matminer.featurizers.site import AverageBondAngle, VoronoiFingerprint
    from matminer.featurizers.structure import PartialRadialDistributionFunction, SiteStatsFingerprint
    from pymatgen.analysis.local_env import VoronoiNN

    from matmap_utils.data.datasets import load_mp_li
    from matmap_utils.materials_map import bvse as M
    from matmap_utils.materials_map import descriptors as D

    df = load_mp_li(subset="LiO", limit=args.n, seed=args.seed)
    structures = list(df["structure"])
    base = structures[: args.n_baseline]
    D.element_table()  # load the property tables outside the timings (both sides do this once)

    ours = [_time(lambda s: D.featurize(s), structures) for _ in range(args.repeats)]
    ours_base = [_time(lambda s: D.featurize(s), base) for _ in range(args.repeats)]

    ep = ElementProperty.from_preset("magpie")
    prdf = PartialRadialDistributionFunction(cutoff=8.0, bin_size=0.1)
    prdf.fit(base)
    angle = SiteStatsFingerprint(AverageBondAngle(VoronoiNN()), stats=("mean", "std_dev", "minimum", "maximum"))
    voro = SiteStatsFingerprint(VoronoiFingerprint(), stats=("mean", "std_dev", "minimum", "maximum"))

    def matminer_all(s):
        ep.featurize(s.composition)
        prdf.featurize(s)
        angle.featurize(s)
        voro.featurize(s)

    parts = {
        "ElementProperty(magpie)": lambda s: ep.featurize(s.composition),
        "PartialRadialDistributionFunction": prdf.featurize,
        "SiteStatsFingerprint(AverageBondAngle)": angle.featurize,
        "SiteStatsFingerprint(VoronoiFingerprint)": voro.featurize,
    }
    mm_parts = {
        name: statistics.median(_time(fn, base) for _ in range(max(1, args.repeats - 1))) for name, fn in parts.items()
    }
    mm_total = sum(mm_parts.values())

    bv = structures[: args.n_bvse]
    t0 = time.perf_counter()
    n_ok = 0
    for s in bv:
        try:
            M.bvse_barriers(s)
            n_ok += 1
        except M.MigrationError:
            pass
    t_bvse = time.perf_counter() - t0

    ours_sps = args.n / statistics.median(ours)
    ours_base_sps = len(base) / statistics.median(ours_base)
    mm_sps = len(base) / mm_total
    result = {
        "n_structures": args.n,
        "n_baseline": len(base),
        "repeats": args.repeats,
        "mean_sites": round(statistics.mean(len(s) for s in structures), 1),
        "ours_structures_per_s": round(ours_sps, 3),
        "ours_structures_per_s_on_baseline_subset": round(ours_base_sps, 3),
        "ours_times_s": [round(t, 3) for t in ours],
        "matminer_structures_per_s": round(mm_sps, 4),
        "matminer_parts_s": {k: round(v, 3) for k, v in mm_parts.items()},
        "speedup_same_structures": round(ours_base_sps / mm_sps, 1),
        "speedup_without_bond_angles": round(
            ours_base_sps / (len(base) / (mm_total - mm_parts["SiteStatsFingerprint(AverageBondAngle)"])), 1
        ),
        "bvse_structures": len(bv),
        "bvse_ok": n_ok,
        "bvse_s": round(t_bvse, 2),
        "bvse_structures_per_s": round(len(bv) / t_bvse, 4),
        "bvse_settings": M.settings_key(),
        "machine": f"{platform.machine()}, {platform.python_version()}; shared 2-core machine, one process",
    }
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "descriptors.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [
        "| featurizer (one core) | structures | structures / s |",
        "|---|---|---|",
        f"| matmap descriptors (1,782 + 858 numbers) | {args.n} | {ours_sps:.2f} |",
        f"| matmap descriptors, baseline subset | {len(base)} | {ours_base_sps:.2f} |",
        f"| matminer: magpie + PRDF + bond angles + Voronoi fingerprint | {len(base)} | {mm_sps:.3f} |",
        f"| **speed-up (same {len(base)} structures)** | | **{ours_base_sps / mm_sps:.0f}x** |",
        f"| speed-up without matminer's bond-angle featurizer (its slowest part) | | "
        f"{result['speedup_without_bond_angles']:.0f}x |",
        f"| BVSE barriers, bvlain (0.3 A grid) | {len(bv)} | {len(bv) / t_bvse:.3f} |",
        "",
        f"Medians of {args.repeats} runs (matminer: {max(1, args.repeats - 1)}); matminer per part (s, "
        f"{len(base)} structures): "
        + ", ".join(f"{k} {v:.1f}" for k, v in mm_parts.items())
        + ". Shared, loaded machine: absolute numbers are noisy, the ratio is measured in one run.",
    ]
    (out / "descriptors.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
