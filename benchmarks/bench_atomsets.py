"""Benchmark: the vectorized AtomSets ensemble against sequential single models, and pool screening.

1. Training: ``n_models`` members trained as one stacked model (one call of ``train_ensemble``) vs
   single models trained one after another (``n_seq`` of them timed, extrapolated to
   ``n_models``).  Workload: the real labelled training set when its MEGNet features are cached
   (CAMNS-V1 of the McHaffie/OBELiX train+validation entries), else synthetic sets with the same
   size distribution (20–150 sites, 32 features, ~200 sets).
2. Screening: P_SI mean/std of a 100-member ensemble plus the PCA distance for 21,755 synthetic
   sets with the site counts of the MP Li pool (the MEGNet featurization of the pool is measured
   by the MEGNet benchmark and is *not* included here).

Medians over ``--repeats``; both wall time and process CPU time are recorded (the machine is shared,
so wall time is inflated by other jobs; CPU time is closer to what an idle machine needs).
Writes ``benchmarks/results/atomsets.json`` and ``.md``.  ``--quick`` shrinks everything for a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch


def _timed(fn, repeats: int):
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def _synthetic_sets(n, rng, lo=20, hi=150, nf=32, sizes=None):
    sizes = rng.integers(lo, hi, n) if sizes is None else sizes
    return [rng.normal(size=(int(k), nf)).astype(np.float32) for k in sizes]


def _workload(rng, quick):
    try:
        from matmap_utils import atomsets as AS
        from matmap_utils.data import load_mchaffie

        if quick:
            raise RuntimeError("quick mode: synthetic")
        lab = load_mchaffie()
        lab = lab[lab.structure.notna() & ~lab.split_test]
        feats, _ = AS.featurize(lab["structure"].rename(index=str), modes=["CAMNS"], layers=[1], n_jobs=1)
        fm = feats[("CAMNS", 1)]
        mats = [fm[k] for k in fm]
        y = lab.set_index(lab.index.astype(str)).loc[list(fm), "superionic"].to_numpy(int)
        return mats, y, "McHaffie/OBELiX train+val, CAMNS-V1 (real MEGNet features)"
    except Exception as exc:  # noqa: BLE001
        n = 40 if quick else 200
        return _synthetic_sets(n, rng), rng.integers(0, 2, n), f"synthetic ({exc.__class__.__name__})"


def main(argv=None) -> dict:
    from matmap_utils import atomsets as AS

    ap = argparse.ArgumentParser()
    ap.add_argument("--n-models", type=int, default=100)
    ap.add_argument("--n-seq", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--time-epochs", type=int, default=5, help="epochs actually timed (then scaled)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pool", type=int, default=21755)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("MATMAP_BENCH_THREADS", "1")))
    ap.add_argument("--member-chunk", type=int, default=10,
                    help="members per stacked block in the 'chunked' variant (0: skip that variant)")
    ap.add_argument("--skip-screen", action="store_true",
                    help="reuse the screening numbers of the existing results/atomsets.json")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    if a.quick:
        a.n_models, a.n_seq, a.time_epochs, a.repeats, a.pool = 8, 2, 2, 1, 500
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    mats, y, source = _workload(rng, a.quick)
    packed = AS.pack_sets(mats, dedup=True)
    cfg = AS.AtomSetsConfig(input_dim=mats[0].shape[1], epochs=a.time_epochs, batch_size=64, set2set_hidden=64)

    ens_wall, ens_cpu = _timed(lambda: AS.train_ensemble(cfg, packed, y, seeds=range(a.n_models), device="cpu"),
                               a.repeats)
    if a.member_chunk:
        ch_wall, ch_cpu = _timed(lambda: AS.train_ensemble(cfg, packed, y, seeds=range(a.n_models), device="cpu",
                                                           member_chunk=a.member_chunk), a.repeats)
    else:
        ch_wall = ch_cpu = float("nan")
    one_wall, one_cpu = _timed(lambda: [AS.train_ensemble(cfg, packed, y, seeds=[s], device="cpu")
                                        for s in range(a.n_seq)], a.repeats)
    scale = a.epochs / a.time_epochs
    res = {
        "machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(), "torch_threads": a.threads,
        "load_average_1min": os.getloadavg()[0], "workload": source, "n_sets": len(mats),
        "n_site_rows": int(packed.n_rows_original), "n_rows_after_dedup": int(packed.x.shape[0]),
        "n_models": a.n_models, "epochs_extrapolated_to": a.epochs, "epochs_timed": a.time_epochs,
        "ensemble_train_wall_s": ens_wall * scale, "ensemble_train_cpu_s": ens_cpu * scale,
        "member_chunk": a.member_chunk,
        "chunked_train_wall_s": ch_wall * scale, "chunked_train_cpu_s": ch_cpu * scale,
        "sequential_train_wall_s": one_wall / a.n_seq * a.n_models * scale,
        "sequential_train_cpu_s": one_cpu / a.n_seq * a.n_models * scale,
    }
    res["speedup_wall"] = res["sequential_train_wall_s"] / res["ensemble_train_wall_s"]
    res["speedup_cpu"] = res["sequential_train_cpu_s"] / res["ensemble_train_cpu_s"]
    res["speedup_chunked_cpu"] = res["sequential_train_cpu_s"] / res["chunked_train_cpu_s"]

    # screening: site counts like the MP pool
    try:
        from pymatgen.core import Composition

        from matmap_utils.data import mp_li_index

        sizes = np.array([int(round(Composition(f).num_atoms)) for f in mp_li_index()["formula"].dropna()])
    except Exception:  # noqa: BLE001
        sizes = rng.integers(4, 200, a.pool)
    sizes = rng.permutation(np.clip(sizes, 1, 400))[: a.pool]
    prev = Path(__file__).resolve().parent / "results" / "atomsets.json"
    if a.skip_screen and prev.exists():
        old = json.loads(prev.read_text())
        pool = [None] * old["screen_n"]
        sizes = np.array([old["screen_site_rows"]])
        scr_wall, scr_cpu = old["screen_wall_s"], old["screen_cpu_s"]
    else:
        pool = _synthetic_sets(len(sizes), rng, sizes=sizes)
        model = AS.AtomSetsEnsemble(cfg, seeds=range(a.n_models))
        train_vecs = AS.set_vectors(mats)
        scr_wall, scr_cpu = _timed(lambda: AS.screen_sets(model, pool, train_vecs), max(1, a.repeats - 2))
    res.update({"screen_n": len(pool), "screen_site_rows": int(sizes.sum()), "screen_wall_s": scr_wall,
                "screen_cpu_s": scr_cpu})
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    if not a.quick:
        (out / "atomsets.json").write_text(json.dumps(res, indent=2))
        md = [
            "| AtomSets benchmark | wall (s) | CPU (s) |", "|---|---|---|",
            f"| {a.n_models}-model ensemble, {a.epochs} epochs, one vectorized model | {res['ensemble_train_wall_s']:.0f} | {res['ensemble_train_cpu_s']:.0f} |",
            f"| same, stacked in blocks of {a.member_chunk} members | {res['chunked_train_wall_s']:.0f} | {res['chunked_train_cpu_s']:.0f} |",
            f"| {a.n_models} single models trained one after another (extrapolated from {a.n_seq}) | {res['sequential_train_wall_s']:.0f} | {res['sequential_train_cpu_s']:.0f} |",
            f"| speed-up of the vectorized ensemble (one block / blocks of {a.member_chunk}) vs sequential, CPU time | | {res['speedup_cpu']:.2f}× / {res['speedup_chunked_cpu']:.2f}× |",
            f"| screening {len(pool)} pool-sized sets, {a.n_models} members + PCA distance (no MEGNet) | {scr_wall:.0f} | {scr_cpu:.0f} |",
            "",
            f"Workload: {source}; {len(mats)} training sets, {res['n_site_rows']} site rows "
            f"({res['n_rows_after_dedup']} after merging identical rows). {a.threads} torch thread(s); "
            f"{a.time_epochs} epochs timed and scaled to {a.epochs}; medians of {a.repeats} runs; "
            f"1-min load average {res['load_average_1min']:.1f} on {os.cpu_count()} cores (shared machine: wall "
            "times are inflated, CPU times are the better estimate for an idle machine).",
        ]
        (out / "atomsets.md").write_text("\n".join(md) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
