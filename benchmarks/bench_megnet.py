"""Benchmark: MEGNet predictions — matmap (torch) vs the original Keras ``predict_structures``.

Both sides start from the same pymatgen structures (ordered mirror ``mp_li`` CIFs, picked with a
seed) and end with predictions (graph construction included, batched inference):

* matmap: ``MEGNetModel.predict(structures)`` with its defaults (torch, this process; quotient
  graphs of equivalent atoms, fused numba bias+softplus kernels, batches of at most 10,000 bonds
  on a CPU, automatic thread count); also with 1 thread, without the quotient graphs, and
  without both (the implementation before them) — each arm paired with the original's runs;
* original: ``megnet==1.3.2`` ``GraphModel.predict_structures(structures, batch_size=128)`` under
  ``tensorflow-cpu==2.15.1``, run as a subprocess in the throwaway reference environment of
  ``tests/fixtures/megnet/README.md`` (``--ref-python``, default ``/tmp/megnet-ref-venv/bin/python``);
  the structures are handed over as lattice/numbers/fractional coordinates.  Model loading and a
  warm-up pass over all structures are excluded on both sides.

``--full-pool`` also times the whole 21,755-structure MP Li pool with ``pool_compute`` (graphs,
V0..V3 site features, formation energy and band gap; cache off), CIF parsing timed separately.

Run from the repository root: ``nice -n 10 python benchmarks/bench_megnet.py [--n 256]
[--repeats 3] [--full-pool]``.  Writes ``benchmarks/results/megnet.{json,md}`` (a run without
``--full-pool`` keeps the pool numbers of an earlier run).  Timings are wall-clock medians on a
shared machine: the load average is recorded; treat ratios, not absolute times, as the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"

ORIGINAL = r"""
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from pymatgen.core import Lattice, Structure
from megnet.models import MEGNetModel
args = json.load(open(sys.argv[1]))
structures = [Structure(Lattice(d["lattice"]), d["numbers"], d["frac_coords"]) for d in args["structures"]]
model = MEGNetModel.from_file(args["model"])
model.predict_structures(structures, batch_size=args["batch_size"])  # warm-up: a full pass (tf.function tracing)
times, preds = [], None
for _ in range(args["repeats"]):
    t = time.perf_counter()
    preds = np.asarray(model.predict_structures(structures, batch_size=args["batch_size"])).reshape(-1)
    times.append(time.perf_counter() - t)
json.dump({"times": times, "preds": preds.tolist()}, open(sys.argv[2], "w"))
"""


def pick(n: int, seed: int):
    from matmap_utils.data.registry import fetch, registered
    from matmap_utils.data.structures import read_structure

    names = sorted(registered("mp_li/"))
    random.Random(seed).shuffle(names)
    ids, structures = [], []
    for name in names:
        s = read_structure(fetch(name))
        if s.is_ordered:
            ids.append(Path(name).stem)
            structures.append(s)
        if len(ids) >= n:
            break
    return ids, structures


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []


def bench_ours(
    structures,
    repeats: int,
    batch_size: int | None,
    threads: int | None = None,
    reduce: bool = True,
    fused: bool = True,
):
    """``threads``: torch threads (None: the library's automatic choice); ``reduce``: evaluate
    the quotient graphs of equivalent atoms; ``fused``: the numba bias+softplus kernels (both
    library defaults; off = the implementation before they were added)."""
    from matmap_utils.screening.megnet.model import load_model

    out = {}
    for name in ("formation_energy", "band_gap"):
        m = load_model(name)
        saved = m.reduce_graphs, m._fused
        m.threads = int(threads) if threads else 0  # 0: the library's automatic choice (models are cached)
        m.reduce_graphs, m._fused = reduce and saved[0], fused and saved[1]
        try:
            m.predict(structures, batch_size=batch_size)  # warm-up: a full pass, as for the original
            times, preds = [], None
            for _ in range(repeats):
                t = time.perf_counter()
                preds = m.predict(structures, batch_size=batch_size)[m.target].to_numpy()
                times.append(time.perf_counter() - t)
        finally:
            m.reduce_graphs, m._fused = saved
        out[name] = {
            "times": times,
            "preds": preds.tolist(),
            "device": str(m.device),
            "threads": m.threads or m.last_threads,
        }
    return out


def bench_original(structures, repeats: int, batch_size: int, ref_python: str):
    from matmap_utils.screening.megnet.model import model_files

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "orig.py"
        script.write_text(ORIGINAL)
        data = [
            {
                "lattice": s.lattice.matrix.tolist(),
                "numbers": [int(x.specie.Z) for x in s],
                "frac_coords": s.frac_coords.tolist(),
            }
            for s in structures
        ]
        for name in ("formation_energy", "band_gap"):
            h5, _ = model_files(name)
            inp, res = Path(tmp) / f"in-{name}.json", Path(tmp) / f"out-{name}.json"
            inp.write_text(
                json.dumps({"structures": data, "model": str(h5), "repeats": repeats, "batch_size": batch_size})
            )
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
            subprocess.run(
                [ref_python, str(script), str(inp), str(res)],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            out[name] = json.loads(res.read_text())
    return out


def full_pool(n_jobs: int | None):
    import pandas as pd

    from matmap_utils.core.parallel import parallel_map
    from matmap_utils.data.registry import fetch, registered
    from matmap_utils.data.structures import read_structure
    from matmap_utils.screening.megnet.pool import pool_compute

    names = sorted(registered("mp_li/"))
    t0 = time.perf_counter()
    paths = [fetch(n) for n in names]
    outs = parallel_map(
        read_structure, paths, keys=[Path(n).stem for n in names], n_jobs=n_jobs, desc="reading CIFs", progress=False
    )
    t_read = time.perf_counter() - t0
    df = pd.DataFrame({"structure": [o.value for o in outs if o.ok]}, index=[o.key for o in outs if o.ok])
    load_before = loadavg()
    t0 = time.perf_counter()
    pred, feats, fails = pool_compute(df, layers=(0, 1, 2, 3), cache=False, n_jobs=n_jobs, progress=False)
    t_pool = time.perf_counter() - t0
    return {
        "n_cifs": len(names),
        "n_parsed": len(df),
        "n_parse_failures": len(names) - len(df),
        "n_predicted": int(len(pred)),
        "n_failures": int(len(fails)),
        "n_sites": int(feats.offsets[-1]),
        "parse_s": round(t_read, 1),
        "pool_s": round(t_pool, 1),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "failure_reasons": fails["reason"].value_counts().head(5).to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="structures (ordered mp_li CIFs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--ref-python", default="/tmp/megnet-ref-venv/bin/python")
    ap.add_argument("--full-pool", action="store_true")
    ap.add_argument(
        "--pool-only",
        action="store_true",
        help="only the full-pool timing; keep the throughput numbers of the previous run",
    )
    ap.add_argument("--n-jobs", type=int, default=None)
    args = ap.parse_args()

    out_json = RESULTS / "megnet.json"
    previous = json.loads(out_json.read_text()) if out_json.exists() else {}
    if args.pool_only:
        previous["full_pool"] = full_pool(args.n_jobs)
        out_json.write_text(json.dumps(previous, indent=2) + "\n")
        write_md(previous)
        return
    ids, structures = pick(args.n, args.seed)
    n_sites = sum(len(s) for s in structures)
    result = {
        "n_structures": len(structures),
        "n_sites": n_sites,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "loadavg_start": loadavg(),
    }
    import torch

    result["machine"]["torch"] = torch.__version__
    result["machine"]["torch_threads"] = torch.get_num_threads()
    # The arms are interleaved, one repeat of each in turn, because this shared machine's speed
    # drifts by up to ~2x within minutes: each repeat gives a paired ratio, and the median of
    # the paired ratios is the reported speed-up.
    have_original = Path(args.ref_python).exists()
    runs = {"ours": [], "ours_1": [], "ours_full": [], "ours_plain": [], "original": []}
    for _ in range(args.repeats):
        if have_original:
            runs["original"].append(bench_original(structures, 1, args.batch_size, args.ref_python))
        runs["ours"].append(bench_ours(structures, 1, None))
        runs["ours_1"].append(bench_ours(structures, 1, None, threads=1))
        runs["ours_full"].append(bench_ours(structures, 1, None, reduce=False))
        runs["ours_plain"].append(bench_ours(structures, 1, None, reduce=False, fused=False))

    def merged(arm):
        return (
            {
                name: {**runs[arm][-1][name], "times": [r[name]["times"][0] for r in runs[arm]]}
                for name in ("formation_energy", "band_gap")
            }
            if runs[arm]
            else None
        )

    ours, ours_1, original = merged("ours"), merged("ours_1"), merged("original")
    variants = {"ours_full": merged("ours_full"), "ours_plain": merged("ours_plain")}
    chosen = {k: v["threads"] for k, v in ours.items()}
    result["ours_batch_size"] = (
        "quotient graphs of equivalent atoms, fused softplus kernels, default batches (<= 10,000 bonds on CPU), automatic torch threads (1 or all cores, "
        f"timed on the first batches; chose {chosen}), one process"
    )
    result["loadavg_end"] = loadavg()
    rows = {}
    for name in ("formation_energy", "band_gap"):
        t_ours = statistics.median(ours[name]["times"])
        t_1 = statistics.median(ours_1[name]["times"])
        row = {
            "ours_median_s": round(t_ours, 3),
            "ours_structures_per_s": round(len(structures) / t_ours, 1),
            "ours_times_s": [round(t, 3) for t in ours[name]["times"]],
            "device": ours[name]["device"],
            "ours_threads": ours[name]["threads"],
            "ours_1thread_structures_per_s": round(len(structures) / t_1, 1),
        }
        for arm, res in variants.items():
            tv = statistics.median(res[name]["times"])
            row[f"{arm}_structures_per_s"] = round(len(structures) / tv, 1)
            # paired against the default arm (same repeat, minutes apart at most)
            row[f"{arm}_vs_ours"] = round(
                statistics.median([u / v for u, v in zip(ours[name]["times"], res[name]["times"])]), 2
            )
            if original is not None:
                row[f"{arm}_speedup"] = round(
                    statistics.median([o / v for o, v in zip(original[name]["times"], res[name]["times"])]), 2
                )
        if original is not None:
            t_orig = statistics.median(original[name]["times"])
            diff = np.abs(np.array(ours[name]["preds"]) - np.array(original[name]["preds"]))
            paired = [o / u for o, u in zip(original[name]["times"], ours[name]["times"])]
            paired_1 = [o / u for o, u in zip(original[name]["times"], ours_1[name]["times"])]
            row.update(
                original_median_s=round(t_orig, 3),
                original_structures_per_s=round(len(structures) / t_orig, 1),
                original_times_s=[round(t, 3) for t in original[name]["times"]],
                speedup=round(statistics.median(paired), 2),
                speedup_paired_all=[round(r, 2) for r in paired],
                speedup_1thread=round(statistics.median(paired_1), 2),
                max_abs_pred_diff=float(diff.max()),
            )
        rows[name] = row
    result["models"] = rows
    if args.full_pool:
        result["full_pool"] = full_pool(args.n_jobs)
    elif "full_pool" in previous:
        result["full_pool"] = previous["full_pool"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=2) + "\n")

    write_md(result)


def write_md(result: dict) -> None:
    rows = result["models"]
    n = result["n_structures"]
    lines = [
        "| model | structures | ours (torch) s/s | original (Keras) s/s | speed-up (median of paired runs) | "
        "paired speed-ups | ours, 1 thread s/s (speed-up) | max abs diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        pairs = ", ".join(f"{x:.2f}" for x in r.get("speedup_paired_all", []))
        lines.append(
            f"| {name} | {n} | {r['ours_structures_per_s']} | "
            f"{r.get('original_structures_per_s', 'n/a')} | **{r.get('speedup', 'n/a')}×** | {pairs} | "
            f"{r.get('ours_1thread_structures_per_s', 'n/a')} ({r.get('speedup_1thread', 'n/a')}×) | "
            f"{r.get('max_abs_pred_diff', float('nan')):.1e} |"
        )
    if any("ours_plain_structures_per_s" in r for r in rows.values()):
        lines += [
            "",
            "Where the speed comes from (same runs, automatic threads; speed-up over the original, "
            "median of paired runs):",
            "",
            "| model | full graph, torch softplus s/s | + fused softplus kernels s/s | "
            "+ quotient graph of equivalent atoms (default) s/s |",
            "|---|---|---|---|",
        ]
        for name, r in rows.items():
            lines.append(
                f"| {name} | {r['ours_plain_structures_per_s']} ({r.get('ours_plain_speedup', 'n/a')}×) | "
                f"{r['ours_full_structures_per_s']} ({r.get('ours_full_speedup', 'n/a')}×) | "
                f"{r['ours_structures_per_s']} ({r.get('speedup', 'n/a')}×) |"
            )
    md = [
        "### MEGNet: matmap (torch) vs original megnet 1.3.2 (Keras, TF 2.15.1)",
        "",
        f"Structures per second, graph construction included; original: `predict_structures` batch "
        f"{result['batch_size']} (TensorFlow's own threads); ours: `MEGNetModel.predict`, "
        f"{result.get('ours_batch_size', 'batch ' + str(result['batch_size']))}; the two arms "
        f"alternate, one run each in turn, {result['repeats']} times (throughputs are medians) on {n} ordered mp_li structures ({result['n_sites']} sites), "
        f"{os.cpu_count()} CPU cores shared with other jobs (load average {result['loadavg_start']} "
        f"at start). Model loading and a full warm-up pass excluded on both sides.",
        "",
    ] + lines
    if "full_pool" in result:
        fp = result["full_pool"]
        md += [
            "",
            f"Whole MP Li pool ({fp['n_parsed']} structures, {fp['n_sites']} sites): graphs + V0–V3 + "
            f"formation energy + band gap in **{fp['pool_s']} s** ({fp['pool_s'] / 60:.1f} min, "
            f"`pool_compute(n_jobs=2)`, nice 10; formation energy for {fp['n_predicted']}; "
            f"{fp['n_failures']} failures: "
            + ("; ".join(f"{n}× {r}" for r, n in fp.get("failure_reasons", {}).items()) or "none")
            + f"). CIF parsing (pymatgen, 2 processes) another {fp['parse_s']} s. Load average "
            f"{fp['loadavg_before']} before, {fp['loadavg_after']} after (2 cores).",
        ]
    (RESULTS / "megnet.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
