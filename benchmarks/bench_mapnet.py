"""Benchmark: the W sweep of the materials map — four W variants trained as one batched model
against the same four models trained one after another.

Data: notebook 01's real descriptor tables when they hold the paper-size set, otherwise synthetic
descriptors of the paper's size (1,349 × (1,782 + 858), [0, 1]).  Settings: the paper's (batch 16,
lr 1e-3, L2 1e-6), a fixed number of epochs per timing (early stopping would make the two arms
run different numbers of epochs), repeated ``--repeats`` times; medians reported.  The full sweep
time is extrapolated from the per-epoch time × the epochs a paper-profile sweep needs
(``--sweep-epochs``, default: the epochs_run recorded by notebook 02 when present, else 400).

    python benchmarks/bench_mapnet.py [--epochs 2] [--repeats 3] [--threads 1] [--full]
    python benchmarks/bench_mapnet.py --plan [--plan-epochs 30] [--repeats 3] [--results DIR]

``--full`` also trains the real sweep once, as the paper profile does (four W, early stopping
with patience 80, at most 3,000 epochs) and records its wall time, epochs and test R².

``--plan`` (issue 19) times chapter 02's trainings with the paper profile's parameters on notebook
01's real tables (``--results``: the results folder holding them, default ``MATMAP_RESULTS`` or
``results/``) at a reduced ``max_epochs``: the notebook's serial calls (W sweep, seed study, grid
search; one torch thread) against ``training_plan.fill_caches`` on ``--jobs`` worker processes
followed by the same calls (which then read the cache), each arm into a fresh cache, interleaved
``--repeats`` times; it checks that both arms give identical results.

Writes ``benchmarks/results/mapnet.json`` and ``mapnet.md`` (each mode keeps the other's part).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from matmap_utils.book import profiles
from matmap_utils.book.execute import resolve_notebook
from matmap_utils.chapters import ch02_autoencoder_map as ch02
from matmap_utils.chapters import ch02_seeds
from matmap_utils.chapters.results import read_table
from matmap_utils.data import datasets
from matmap_utils.materials_map import autoencoder, training, training_plan

PLAN_HEADING = "## Chapter 02's trainings on both cores (issue 19)"

HERE = Path(__file__).resolve().parent


def load_data(n: int, seed: int):

    try:
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
    ap.add_argument("--plan", action="store_true", help="time chapter 02's trainings, serial vs parallel")
    ap.add_argument("--plan-epochs", type=int, default=30, help="max_epochs of every planned training")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes of the parallel arm")
    ap.add_argument("--results", type=Path, default=None, help="results folder with notebook 01's tables")
    args = ap.parse_args(argv)
    if args.plan:
        return plan_main(args)

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
    write_results(res, md, plan=False)
    print("\n".join(md))
    return 0


def write_results(res: dict, md: list[str], *, plan: bool) -> None:
    """Write ``mapnet.json`` / ``mapnet.md``: the W-sweep part (``plan=False``) or the chapter-02
    plan part (``plan=True``, key ``chapter02_plan``, section :data:`PLAN_HEADING`), keeping the other."""
    out = HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    jpath, mpath = out / "mapnet.json", out / "mapnet.md"
    old = json.loads(jpath.read_text()) if jpath.exists() else {}
    old_md = mpath.read_text() if mpath.exists() else ""
    sweep_md, _, plan_md = old_md.partition(PLAN_HEADING)
    if plan:
        old["chapter02_plan"] = res
        text = sweep_md.rstrip("\n") + "\n\n" + "\n".join([PLAN_HEADING, ""] + md) + "\n"
    else:
        old = res | ({"chapter02_plan": old["chapter02_plan"]} if "chapter02_plan" in old else {})
        text = "\n".join(md) + "\n" + (f"\n{PLAN_HEADING}{plan_md}" if plan_md else "")
    jpath.write_text(json.dumps(old, indent=2) + "\n")
    mpath.write_text(text)


def chapter02_inputs(results: Path | None):
    """Chapter 02's training data exactly as the notebook builds it (paper profile: every material
    of notebook 01's tables with an ME), its parameters (the notebook's defaults + params/paper.yaml)
    and the chemical systems of the materials."""

    if results is not None:
        os.environ["MATMAP_RESULTS"] = str(results)
    nb = resolve_notebook("02_autoencoder_map")
    params = {k: ast.literal_eval(v["default"]) for k, v in profiles.notebook_parameters(nb).items()}
    params |= profiles.merged_parameters(nb, "paper")
    Xc_all, Xs_all = (
        read_table("01_descriptors", "descriptors_comp"),
        read_table("01_descriptors", "descriptors_struct"),
    )
    mig = read_table("01_descriptors", "migration")
    ids_all, ids = ch02.select_materials(Xc_all, Xs_all, mig, params["limit"], params["seed"])
    Xc, Xs, y = ch02.training_data(Xc_all, Xs_all, mig, ids)
    groups = training.chemical_systems(datasets.load_mp_li(ids=list(ids))["elements"].reindex(ids))
    return Xc, Xs, y.to_numpy(), groups, params


def _plan_serial(Xc, Xs, y, groups, q: dict, cfg) -> dict:
    """The notebook's serial calls (W sweep, seed study, grid search); their results to compare."""
    sweep = training.cached_sweep(Xc, Xs, y, Ws=q["Ws"], seed=q["seed"], config=cfg)
    study = training.seed_study(Xc, Xs, y, groups, W=q["W_map"], seeds=q["seeds"], config=cfg)
    grid = None
    if q["grid_search"]:
        grid = training.cached_grid_search(
            Xc, Xs, y, W=q["W_map"], batch_sizes=q["grid_batch_sizes"], lrs=q["grid_lrs"],
            weight_decays=q["grid_l2"], seed=q["seed"], config=cfg, split=sweep.split,
        )  # fmt: skip
    return {"sweep": sweep.metrics, "study": study.drop(columns="wall_s"), "grid": grid}


def _same(a: dict, b: dict) -> bool:
    """Whether two arms' sweep metrics, seed study and grid table (timings left out) are identical."""
    try:
        pd.testing.assert_frame_equal(a["sweep"], b["sweep"], check_exact=True)
        pd.testing.assert_frame_equal(a["study"], b["study"], check_exact=True)
        if a["grid"] is not None:
            drop = ["seconds_batch_size_run"]
            pd.testing.assert_frame_equal(a["grid"].drop(columns=drop), b["grid"].drop(columns=drop), check_exact=True)
    except AssertionError:
        return False
    return True


def _cpu_seconds() -> float:
    """CPU time (s) of this process and of its finished child processes (the pool's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def plan_main(args) -> int:
    import torch

    torch.set_num_threads(1)  # as the notebook (torch_threads = 1) before its first training
    Xc, Xs, y, groups, params = chapter02_inputs(args.results)

    q = dict(params)
    q["Ws"], q["W_map"] = ch02.map_weights(params["Ws"], params["W_map"])
    q["seeds"] = ch02_seeds.seeds_of(params["seed"], params["n_seeds"])
    keys = ("batch_size", "learning_rate", "l2", "patience", "max_epochs", "torch_threads")
    cfg = ch02.map_config(*[args.plan_epochs if k == "max_epochs" else params[k] for k in keys])
    grid = (q["grid_batch_sizes"], q["grid_lrs"], q["grid_l2"]) if q["grid_search"] else None
    plan = training_plan.chapter02_plan(
        len(y), groups, Ws=q["Ws"], W_map=q["W_map"], seed=q["seed"], seeds=q["seeds"], config=cfg, grid=grid
    )

    def arm(parallel: bool):
        with tempfile.TemporaryDirectory(prefix="bench_plan_") as cache:
            os.environ["MATMAP_CACHE"] = cache  # a cold cache for every arm
            t, c, load0 = time.perf_counter(), _cpu_seconds(), os.getloadavg()[0]
            if parallel:
                report = training_plan.fill_caches(Xc, Xs, y, plan, n_jobs=args.jobs)
                assert (report["status"] == "trained").all(), report
            out = _plan_serial(Xc, Xs, y, groups, q, cfg)
            wall = time.perf_counter() - t
            return wall, out, (load0 + os.getloadavg()[0]) / 2, (_cpu_seconds() - c) / wall

    walls = {"serial": [], "parallel": []}
    cores = {"serial": [], "parallel": []}
    loads, identical = [], True
    for r in range(args.repeats):  # interleaved, the order alternating, so load changes hit both arms
        order = ("serial", "parallel") if r % 2 == 0 else ("parallel", "serial")
        outs = {}
        for name in order:
            w, outs[name], load, used = arm(name == "parallel")
            walls[name].append(w), loads.append(load), cores[name].append(used)
            print(f"repeat {r + 1}: {name} {w:.1f} s, {used:.2f} cores busy (load {load:.2f})", flush=True)
        identical &= _same(outs["serial"], outs["parallel"])
    ms, mp_ = statistics.median(walls["serial"]), statistics.median(walls["parallel"])
    n_tasks = sum(len(p.batch_sizes) if p.kind == "grid" else 1 for p in plan)
    res = {
        "benchmark": "chapter 02's trainings (W sweep, seed study, grid search): serial vs training_plan.fill_caches",
        "data": f"notebook 01's real tables ({os.environ.get('MATMAP_RESULTS', 'results/')})",
        "n": int(len(y)),
        "d_comp": int(Xc.shape[1]),
        "d_struct": int(Xs.shape[1]),
        "parameters": "paper profile, max_epochs reduced (no early stop before patience)",
        "max_epochs": args.plan_epochs,
        "planned_trainings": len(plan),
        "tasks": n_tasks,
        "jobs": args.jobs,
        "repeats": args.repeats,
        "serial_s_all": [round(t, 1) for t in walls["serial"]],
        "parallel_s_all": [round(t, 1) for t in walls["parallel"]],
        "serial_s_median": round(ms, 1),
        "parallel_s_median": round(mp_, 1),
        "speedup_serial_over_parallel": round(ms / mp_, 2),
        "cores_used_serial_all": [round(v, 2) for v in cores["serial"]],
        "cores_used_parallel_all": [round(v, 2) for v in cores["parallel"]],
        "cores_used_note": "CPU seconds of this process and its worker processes per wall second",
        "identical_results": bool(identical),
        "load_average_1min_median": round(statistics.median(loads), 2),
        "load_average_1min_all": [round(v, 2) for v in loads],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, torch {torch.__version__}",
    }
    md = [
        f"| chapter 02's {len(plan)} trainings ({n_tasks} tasks), {len(y):,} × ({Xc.shape[1]}+{Xs.shape[1]}), "
        f"{args.plan_epochs} epochs each | serial (one process, 1 thread) | fill_caches, {args.jobs} workers of 1 thread |",
        "|---|---|---|",
        f"| median wall time of {args.repeats} cold runs | {ms:.1f} s | {mp_:.1f} s |",
        f"| all runs | {', '.join(f'{t:.1f}' for t in walls['serial'])} s | {', '.join(f'{t:.1f}' for t in walls['parallel'])} s |",
        f"| speed-up (wall) | 1× | **{ms / mp_:.2f}×** |",
        f"| cores kept busy (CPU s of the process and its workers per wall s) | "
        f"{', '.join(f'{v:.2f}' for v in cores['serial'])} | {', '.join(f'{v:.2f}' for v in cores['parallel'])} |",
        "",
        f"Identical results (sweep metrics, seed study, grid table; timings left out): {identical}. "
        f"1-min load average during the runs: median {statistics.median(loads):.2f} "
        f"(all: {', '.join(f'{v:.2f}' for v in loads)}). {res['machine']}; {res['data']}.",
    ]
    write_results(res, md, plan=True)
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
