"""Benchmark: the vectorized AtomSets ensemble against sequential single models, and pool screening.

1. Training: ``n_models`` members trained (a) as blocks of ``member_chunk`` stacked members in
   ``n_jobs`` worker processes (the way the notebook trains), (b) the same blocks one after another
   in this process (CPU time), (c) as one stacked model of ``n_models``, (d) as single models one
   after another (``n_seq`` timed, extrapolated), and (e) the *previous* implementation (kept below
   as ``_Legacy*``: set2set through gather/multiply/scatter torch ops with the memory matrix formed
   explicitly, a per-parameter Python optimizer loop) in blocks of 10, its best setting — so the
   speed-up of the rewrite is measured in the same run.  ``--full-run`` also trains the real
   ``n_models`` x ``epochs`` once with (a) and records the wall time, no extrapolation.  Workload: the real labelled training set when its MEGNet features are cached
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

from matmap_utils.screening import candidates
from matmap_utils.screening.atomsets import features, training
from matmap_utils.screening.atomsets import model as atomsets_model


def _timed(fn, repeats: int):
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


# --------------------------------------------------------------------------- the previous implementation
# (verbatim in substance from matmap_utils/atomsets.py before the rewrite; used only to measure the speed-up)


def _legacy_forward(self, batch, gen=None):
    import torch

    from matmap_utils.screening.atomsets.kernels import segment_sum

    cfg = self.cfg
    E = self.n_members
    x = batch.x
    h = None
    for j in range(len(cfg.n_neurons)):
        W, b = self.P(f"phi{j}.W"), self.P(f"phi{j}.b")
        h = torch.einsum("af,efo->eao", x, W) + b[:, None, :] if h is None else torch.baddbmm(b[:, None, :], h, W)
        h = torch.relu(h)
    w, idx, G = batch.w, batch.index, batch.n_sets
    if cfg.readout == "mean":
        r = segment_sum(h * w[None, :, None], idx, G) / segment_sum(w[None, :, None].expand(E, -1, 1), idx, G)
    else:
        r = _legacy_set2set(self, h, w, idx, G)
    for j in range(len(cfg.n_neurons_final)):
        r = torch.relu(torch.baddbmm(self.P(f"rho{j}.b")[:, None, :], r, self.P(f"rho{j}.W")))
    return torch.baddbmm(self.P("out.b")[:, None, :], r, self.P("out.W"))[..., 0]


def _legacy_set2set(self, h, w, idx, G):
    import torch

    from matmap_utils.screening.atomsets.kernels import segment_max, segment_sum

    nh = self.cfg.set2set_hidden
    E = h.shape[0]
    m = torch.baddbmm(self.P("s2s.bm")[:, None, :], h, self.P("s2s.Wm"))
    Wr, br = self.P("s2s.Wr"), self.P("s2s.br")
    q_star = m.new_zeros(E, G, 2 * nh)
    c = m.new_zeros(E, G, nh)
    logw = torch.log(w)[None, :]
    for _ in range(self.cfg.set2set_steps):
        z = torch.baddbmm(br[:, None, :], q_star, Wr)
        i, f, g, o = z.split(nh, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        q = torch.sigmoid(o) * torch.tanh(c)
        e = (m * q[:, idx, :]).sum(-1) + logw
        e = e - segment_max(e.detach(), idx, G)[:, idx]
        a = torch.exp(e)
        a = a / segment_sum(a, idx, G)[:, idx]
        r = segment_sum(m * a[..., None], idx, G)
        q_star = torch.cat([q, r], dim=-1)
    return q_star


def _legacy_step(self, lr):
    import torch

    with torch.no_grad():
        self.t += 1
        bc1, bc2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            u = (m / bc1) / ((v / bc2).sqrt() + self.eps)
            if self.kind == "adam":
                p.add_(u, alpha=-lr)
            else:
                dims = tuple(range(1, p.ndim))
                wn = p.pow(2).sum(dims, keepdim=True).sqrt()
                un = u.pow(2).sum(dims, keepdim=True).sqrt()
                p.add_(-lr * torch.where((wn > 0) & (un > 0), wn / un, torch.ones_like(wn)) * u)
        if self.lookahead and self.t % self.k == 0:
            for p, s in zip(self.params, self.slow):
                s.add_(p - s, alpha=self.alpha)
                p.copy_(s)


class _legacy:
    """Context manager: the previous forward pass and optimizer step, patched in."""

    def __enter__(self):

        self.saved = (atomsets_model.AtomSetsEnsemble.forward, training.StackedOptimizer.step)
        atomsets_model.AtomSetsEnsemble.forward = _legacy_forward
        training.StackedOptimizer.step = _legacy_step

    def __exit__(self, *exc):

        atomsets_model.AtomSetsEnsemble.forward, training.StackedOptimizer.step = self.saved


def _synthetic_sets(n, rng, lo=20, hi=150, nf=32, sizes=None):
    sizes = rng.integers(lo, hi, n) if sizes is None else sizes
    return [rng.normal(size=(int(k), nf)).astype(np.float32) for k in sizes]


def _workload(rng, quick):
    try:
        from matmap_utils.data.datasets import load_mchaffie

        if quick:
            raise RuntimeError("quick mode: synthetic")
        lab = load_mchaffie()
        lab = lab[lab.structure.notna() & ~lab.split_test]
        feats, _ = features.featurize(lab["structure"].rename(index=str), modes=["CAMNS"], layers=[1], n_jobs=1)
        fm = feats[("CAMNS", 1)]
        mats = [fm[k] for k in fm]
        y = lab.set_index(lab.index.astype(str)).loc[list(fm), "superionic"].to_numpy(int)
        return mats, y, "McHaffie/OBELiX train+val, CAMNS-V1 (real MEGNet features)"
    except Exception as exc:  # noqa: BLE001
        n = 40 if quick else 200
        return _synthetic_sets(n, rng), rng.integers(0, 2, n), f"synthetic ({exc.__class__.__name__})"


def main(argv=None) -> dict:

    ap = argparse.ArgumentParser()
    ap.add_argument("--n-models", type=int, default=100)
    ap.add_argument("--n-seq", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--time-epochs", type=int, default=5, help="epochs actually timed (then scaled)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pool", type=int, default=21755)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("MATMAP_BENCH_THREADS", "1")))
    ap.add_argument("--member-chunk", type=int, default=5, help="members per stacked block")
    ap.add_argument("--n-jobs", type=int, default=2, help="worker processes for the blocks")
    ap.add_argument("--legacy-chunk", type=int, default=10, help="block size of the previous implementation")
    ap.add_argument(
        "--full-run",
        action="store_true",
        help="also train n_models x epochs once for real (blocks in n_jobs processes)",
    )
    ap.add_argument(
        "--skip-screen", action="store_true", help="reuse the screening numbers of the existing results/atomsets.json"
    )
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    if a.quick:
        a.n_models, a.n_seq, a.time_epochs, a.repeats, a.pool = 8, 2, 2, 1, 500
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    mats, y, source = _workload(rng, a.quick)
    packed = atomsets_model.pack_sets(mats, dedup=True)
    cfg = atomsets_model.AtomSetsConfig(
        input_dim=mats[0].shape[1], epochs=a.time_epochs, batch_size=64, set2set_hidden=64
    )
    seeds = list(range(a.n_models))
    # warm-up (numba kernels compiled / loaded from cache, allocator)
    training.train_ensemble(cfg, packed, y, seeds=seeds[: a.member_chunk], device="cpu")

    def par_run(c=cfg):
        return training.train_ensemble(
            c, packed, y, seeds=seeds, device="cpu", member_chunk=a.member_chunk, n_jobs=a.n_jobs
        )

    par_wall, _ = _timed(par_run, a.repeats)
    ch_wall, ch_cpu = _timed(
        lambda: training.train_ensemble(
            cfg, packed, y, seeds=seeds, device="cpu", member_chunk=a.member_chunk, n_jobs=1
        ),
        a.repeats,
    )
    ens_wall, ens_cpu = _timed(lambda: training.train_ensemble(cfg, packed, y, seeds=seeds, device="cpu"), a.repeats)
    one_wall, one_cpu = _timed(
        lambda: [training.train_ensemble(cfg, packed, y, seeds=[s], device="cpu") for s in range(a.n_seq)], a.repeats
    )
    # previous implementation, its best setting (blocks of legacy_chunk, one process): one block timed
    lc = min(a.legacy_chunk, a.n_models)
    with _legacy():
        old_wall, old_cpu = _timed(
            lambda: training.train_ensemble(cfg, packed, y, seeds=seeds[:lc], device="cpu"), a.repeats
        )
    old_wall, old_cpu = old_wall * a.n_models / lc, old_cpu * a.n_models / lc
    scale = a.epochs / a.time_epochs
    res = {
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": a.threads,
        "load_average_1min_start": os.getloadavg()[0],
        "workload": source,
        "n_sets": len(mats),
        "n_site_rows": int(packed.n_rows_original),
        "n_rows_after_dedup": int(packed.x.shape[0]),
        "n_models": a.n_models,
        "epochs_extrapolated_to": a.epochs,
        "epochs_timed": a.time_epochs,
        "repeats": a.repeats,
        "member_chunk": a.member_chunk,
        "n_jobs": a.n_jobs,
        "parallel_blocks_train_wall_s": par_wall * scale,
        "blocks_train_wall_s": ch_wall * scale,
        "blocks_train_cpu_s": ch_cpu * scale,
        "one_stack_train_wall_s": ens_wall * scale,
        "one_stack_train_cpu_s": ens_cpu * scale,
        "sequential_train_wall_s": one_wall / a.n_seq * a.n_models * scale,
        "sequential_train_cpu_s": one_cpu / a.n_seq * a.n_models * scale,
        "legacy_chunk": lc,
        "legacy_train_wall_s": old_wall * scale,
        "legacy_train_cpu_s": old_cpu * scale,
    }
    res["speedup_cpu_vs_legacy"] = res["legacy_train_cpu_s"] / res["blocks_train_cpu_s"]
    res["speedup_wall_parallel_vs_legacy"] = res["legacy_train_wall_s"] / res["parallel_blocks_train_wall_s"]
    res["speedup_cpu_blocks_vs_sequential"] = res["sequential_train_cpu_s"] / res["blocks_train_cpu_s"]
    res["speedup_cpu_one_stack_vs_sequential"] = res["sequential_train_cpu_s"] / res["one_stack_train_cpu_s"]
    if a.full_run:
        full = atomsets_model.AtomSetsConfig(
            **{**cfg.to_json(), "epochs": a.epochs, "n_neurons": cfg.n_neurons, "n_neurons_final": cfg.n_neurons_final}
        )
        w0 = time.perf_counter()
        par_run(full)
        res["full_run_train_wall_s"] = time.perf_counter() - w0
        res["load_average_1min_full_run"] = os.getloadavg()[0]

    # screening: site counts like the MP pool
    try:
        from pymatgen.core import Composition

        from matmap_utils.data.datasets import mp_li_index

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
        model = atomsets_model.AtomSetsEnsemble(cfg, seeds=range(a.n_models))
        train_vecs = features.set_vectors(mats)
        scr_wall, scr_cpu = _timed(lambda: candidates.screen_sets(model, pool, train_vecs), max(1, a.repeats - 2))
    res.update(
        {
            "screen_n": len(pool),
            "screen_site_rows": int(sizes.sum()),
            "screen_wall_s": scr_wall,
            "screen_cpu_s": scr_cpu,
        }
    )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    if not a.quick:
        (out / "atomsets.json").write_text(json.dumps(res, indent=2))
        res["load_average_1min_end"] = os.getloadavg()[0]
        (out / "atomsets.json").write_text(json.dumps(res, indent=2))
        M, ch = a.n_models, a.member_chunk
        md = [
            f"| AtomSets training, {M} members × {a.epochs} epochs | wall (s) | CPU (s) |",
            "|---|---|---|",
            f"| blocks of {ch} stacked members in {a.n_jobs} processes (notebook setting) | {res['parallel_blocks_train_wall_s']:.0f} | |",
        ]
        if "full_run_train_wall_s" in res:
            md.append(f"| same, trained for real once (not extrapolated) | {res['full_run_train_wall_s']:.0f} | |")
        md += [
            f"| blocks of {ch}, one process | {res['blocks_train_wall_s']:.0f} | {res['blocks_train_cpu_s']:.0f} |",
            f"| one stacked model of {M} | {res['one_stack_train_wall_s']:.0f} | {res['one_stack_train_cpu_s']:.0f} |",
            f"| {M} single models one after another (extrapolated from {a.n_seq}) | {res['sequential_train_wall_s']:.0f} | {res['sequential_train_cpu_s']:.0f} |",
            f"| previous implementation, blocks of {lc}, one process | {res['legacy_train_wall_s']:.0f} | {res['legacy_train_cpu_s']:.0f} |",
            f"| speed-up vs previous implementation: CPU (same block layout, 1 process) / wall ({a.n_jobs} processes) | | "
            f"{res['speedup_cpu_vs_legacy']:.2f}× / {res['speedup_wall_parallel_vs_legacy']:.2f}× (wall) |",
            f"| speed-up of blocks of {ch} / one stack of {M} vs single models, CPU | | "
            f"{res['speedup_cpu_blocks_vs_sequential']:.2f}× / {res['speedup_cpu_one_stack_vs_sequential']:.2f}× |",
            f"| screening {len(pool)} pool-sized sets, {M} members + PCA distance (no MEGNet) | {scr_wall:.0f} | {scr_cpu:.0f} |",
            "",
            f"Workload: {source}; {len(mats)} training sets, {res['n_site_rows']} site rows "
            f"({res['n_rows_after_dedup']} after merging identical rows). {a.threads} torch thread(s) per process; "
            f"{a.time_epochs} epochs timed and scaled to {a.epochs}; medians of {a.repeats} runs; "
            f"1-min load average {res['load_average_1min_start']:.1f} at the start and "
            f"{res['load_average_1min_end']:.1f} at the end, on {os.cpu_count()} cores (shared machine: wall "
            "times are inflated by other jobs; CPU times are the better estimate for an idle machine).",
        ]
        (out / "atomsets.md").write_text("\n".join(md) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
