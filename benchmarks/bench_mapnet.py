"""Benchmark: the W sweep of the materials map — four W variants trained as one batched model
against the same four models trained one after another.

Data: notebook 01's real descriptor tables when they hold the paper-size set, otherwise synthetic
descriptors of the paper's size (1,349 × (1,782 + 858), [0, 1]).  Settings: the paper's (batch 16,
lr 1e-3, L2 1e-6), a fixed number of epochs per timing (early stopping would make the two arms
run different numbers of epochs), repeated ``--repeats`` times; medians reported.  The full sweep
time is extrapolated from the per-epoch time × the epochs a paper-profile sweep needs
(``--sweep-epochs``, default: the epochs_run recorded by notebook 02 when present, else 400).

    python benchmarks/bench_mapnet.py [--epochs 2] [--repeats 3] [--threads 1] [--full]

``--full`` also trains the real sweep once, as the paper profile does (four W, early stopping
with patience 80, at most 3,000 epochs) and records its wall time, epochs and test R².

Writes ``benchmarks/results/mapnet.json`` and ``mapnet.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from matmap_utils.materials_map import autoencoder, training

HERE = Path(__file__).resolve().parent


def load_data(n: int, seed: int):

    try:
        from matmap_utils.chapters.results import read_table

        Xc = read_table("01_descriptors", "descriptors_comp")
        Xs = read_table("01_descriptors", "descriptors_struct")
        mig = read_table("01_descriptors", "migration")
        ids = Xc.index.intersection(Xs.index)
        ids = ids[mig["ME"].reindex(ids).notna().to_numpy()]
        if len(ids) >= min(n, 1000):  # the paper-size table (1,338 of 1,349 have an ME)
            ids = ids[:n]
            return Xc.loc[ids], Xs.loc[ids], mig.loc[ids, "ME"].to_numpy(float), "notebook 01 (real)"
    except FileNotFoundError:
        pass
    Xc, Xs, y = autoencoder.synthetic_descriptors(n, 1782, 858, seed=seed)
    return Xc, Xs, y.to_numpy(), "synthetic, paper size"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1349)
    ap.add_argument("--epochs", type=int, default=2, help="epochs per timed run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1 is fastest for batch-16 steps on a shared 2-core machine)",
    )
    ap.add_argument("--sweep-epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full", action="store_true", help="also time one real sweep to convergence")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    Xc, Xs, y, source = load_data(args.n, args.seed)
    Ws = list(autoencoder.PAPER_WS)
    kw = dict(seed=args.seed, max_epochs=args.epochs, patience=10**6, threads=args.threads)

    def batched():
        t, c = time.perf_counter(), time.process_time()
        training.train_maps(Xc, Xs, y, Ws=Ws, **kw)
        return time.perf_counter() - t, time.process_time() - c

    def sequential():
        t, c = time.perf_counter(), time.process_time()
        for W in Ws:
            training.train_maps(Xc, Xs, y, Ws=[W], **kw)
        return time.perf_counter() - t, time.process_time() - c

    batched()  # warm-up (imports, allocator)
    tb, ts, cb, cs = [], [], [], []
    for _ in range(args.repeats):  # interleaved, so load changes hit both arms alike
        (w1, c1), (w2, c2) = batched(), sequential()
        tb.append(w1), cb.append(c1), ts.append(w2), cs.append(c2)
    mb, ms = statistics.median(tb), statistics.median(ts)
    mcb, mcs = statistics.median(cb), statistics.median(cs)
    per_epoch_b, per_epoch_s = mb / args.epochs, ms / args.epochs
    sweep_epochs = args.sweep_epochs
    if sweep_epochs is None:
        mpath = Path(os.environ.get("MATMAP_RESULTS", HERE.parent / "results")) / "02_autoencoder_map" / "metrics.json"
        try:
            m = json.loads(mpath.read_text())
            sweep_epochs = int(m["epochs_run"]) if m.get("profile") == "paper" else 400
        except (OSError, ValueError, KeyError):
            sweep_epochs = 400
    res = {
        "benchmark": "mapnet W sweep (4 models), batched vs sequential",
        "data": source,
        "n": int(len(y)),
        "d_comp": int(Xc.shape[1]),
        "d_struct": int(Xs.shape[1]),
        "epochs_per_run": args.epochs,
        "repeats": args.repeats,
        "threads": args.threads,
        "batched_s_median": round(mb, 3),
        "sequential_s_median": round(ms, 3),
        "batched_s_all": [round(t, 3) for t in tb],
        "sequential_s_all": [round(t, 3) for t in ts],
        "speedup_sequential_over_batched": round(ms / mb, 3),
        "batched_cpu_s_median": round(mcb, 3),
        "sequential_cpu_s_median": round(mcs, 3),
        "speedup_cpu_time": round(mcs / mcb, 3),
        "sweep_minutes_batched_cpu_time_extrapolated": round(mcb / args.epochs * sweep_epochs / 60, 2),
        "batched_s_per_epoch": round(per_epoch_b, 3),
        "sequential_s_per_epoch": round(per_epoch_s, 3),
        "sweep_epochs_assumed": sweep_epochs,
        "sweep_minutes_batched_extrapolated": round(per_epoch_b * sweep_epochs / 60, 2),
        "sweep_minutes_sequential_extrapolated": round(per_epoch_s * sweep_epochs / 60, 2),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
        f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f} at the end",
        "note": "timings on a shared machine; the load average says how contended it was",
    }
    full_md = []
    if args.full:
        t, c = time.perf_counter(), time.process_time()
        sw = training.train_maps(Xc, Xs, y, Ws=Ws, seed=args.seed, max_epochs=3000, patience=80, threads=args.threads)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        res["full_sweep"] = {
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "epochs_run": int(sw.info["epochs_run"]),
            "best_epoch": {f"{W:g}": int(sw.metrics.loc[W, "best_epoch"]) for W in Ws},
            "test_r2_struct": {f"{W:g}": round(float(sw.metrics.loc[W, "test_r2_struct"]), 3) for W in Ws},
            "test_r2_comp": {f"{W:g}": round(float(sw.metrics.loc[W, "test_r2_comp"]), 3) for W in Ws},
            "test_r2_me": {f"{W:g}": round(float(sw.metrics.loc[W, "test_r2_me"]), 3) for W in Ws},
            "load_average_after": round(os.getloadavg()[0], 2),
        }
        f = res["full_sweep"]
        full_md = [
            "",
            f"**Measured full sweep** (paper settings, early stopping, seed {args.seed}): "
            f"**{wall / 60:.1f} min** wall ({cpu / 60:.1f} min CPU), {f['epochs_run']} epochs of the "
            f"batched model; test R² structure at W = 0.1: {f['test_r2_struct']['0.1']}, composition "
            f"{f['test_r2_comp']['0.1']}, ME {f['test_r2_me']['0.1']}; load average "
            f"{f['load_average_after']} at the end.",
        ]
    out = HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "mapnet.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "| mapnet W sweep (4 models, paper settings) | batched (one model, K=4) | 4 sequential models |",
        "|---|---|---|",
        f"| median wall time of {args.epochs} epochs, {len(y):,} × ({Xc.shape[1]}+{Xs.shape[1]}), "
        f"{args.threads} threads | {mb:.1f} s | {ms:.1f} s |",
        f"| per epoch | {per_epoch_b:.2f} s | {per_epoch_s:.2f} s |",
        f"| full sweep, extrapolated to {sweep_epochs} epochs | {per_epoch_b * sweep_epochs / 60:.1f} min | "
        f"{per_epoch_s * sweep_epochs / 60:.1f} min |",
        f"| speed-up of batching (wall) | **{ms / mb:.2f}×** | 1× |",
        f"| process CPU time of {args.epochs} epochs (≈ wall time on an idle core) | {mcb:.1f} s | {mcs:.1f} s |",
        f"| full sweep from CPU time, {sweep_epochs} epochs | {mcb / args.epochs * sweep_epochs / 60:.1f} min | "
        f"{mcs / args.epochs * sweep_epochs / 60:.1f} min |",
        "",
        f"Data: {source}. {res['machine']}; {res['note']}.",
    ] + full_md
    (out / "mapnet.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
