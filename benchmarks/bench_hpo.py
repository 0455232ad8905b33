"""Smoke run of the Ray Tune hyperparameter search (ASHA + HyperOpt) on real LOCO clusters.

Runs :func:`matmap_utils.screening.hpo.hpo_per_fold` for a few of the paper's LOCO clusters with a
small budget (``--samples`` trials of at most ``--epochs`` epochs, ASHA grace ``--grace``) on the
McHaffie/OBELiX train+validation entries with the features ``--config`` (e.g. CAMNS:1), on a local
Ray instance of ``--cpus`` CPUs (or ``$MATMAP_RAY_ADDRESS``).  Writes
``benchmarks/results/hpo_smoke.json``: per cluster the best configuration, its validation AUC-PR /
MCC / epoch, the number of trials and the wall time, plus the load average.

``--compare-reuse R`` instead times the same search with a fresh worker process per trial (Ray's
default) and with finished trials' processes reused (``reuse_actors``, the project's default),
alternately ``R`` times in one Ray session, and writes ``benchmarks/results/hpo_reuse.json`` and
``.md`` (median wall per path, their ratio, every run).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main(argv=None) -> dict:
    from matmap_utils.data.datasets import load_mchaffie
    from matmap_utils.screening import hpo, splits
    from matmap_utils.screening.atomsets import features

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="CAMNS:1", help="simplification:feature level")
    ap.add_argument("--clusters", default="0,1", help="positions of the LOCO folds to search (comma-separated)")
    ap.add_argument("--samples", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--grace", type=int, default=10)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "hpo_smoke.json"))
    ap.add_argument("--compare-reuse", type=int, default=0, metavar="R", help="time fresh vs reused trial processes")
    a = ap.parse_args(argv)
    mode, layer = a.config.split(":")[0], int(a.config.split(":")[1])
    load0 = os.getloadavg()[0]
    mc = load_mchaffie()
    lab = mc[mc["structure"].notna() & ~mc["split_test"]].copy()
    lab["key"] = [str(i) for i in lab.index]
    feats, _ = features.featurize(lab.set_index("key")["structure"], modes=[mode], layers=[layer], n_jobs=1)
    lab = lab[lab["key"].isin(feats[(mode, layer)])]
    mats = [feats[(mode, layer)][k] for k in lab["key"]]
    y = lab["superionic"].to_numpy(int)
    folds = splits.paper_folds(lab, "loco")
    clusters = sorted(lab["loco_cluster"].dropna().unique())
    fold_ids = [int(c) for c in a.clusters.split(",")]
    if a.compare_reuse:
        return _compare_reuse(a, mats, y, folds, fold_ids, 16 if layer == 0 else 32, load0)
    t0 = time.perf_counter()
    tab = hpo.hpo_per_fold(
        mats,
        y,
        folds,
        fold_ids=fold_ids,
        input_dim=16 if layer == 0 else 32,
        num_samples=a.samples,
        epochs=a.epochs,
        grace_period=a.grace,
        seed=a.seed,
        num_cpus=a.cpus,
    )
    wall = time.perf_counter() - t0
    tab["cluster"] = [int(clusters[f]) for f in tab["fold"]]
    res = {
        "features": f"{mode}-V{layer}",
        "n_trainval": int(len(lab)),
        "samples_per_cluster": a.samples,
        "max_epochs": a.epochs,
        "grace_epochs": a.grace,
        "ray_cpus": a.cpus,
        "seed": a.seed,
        "search": "HyperOptSearch (TPE) + AsyncHyperBandScheduler (ASHA), paper's search space",
        "wall_s_total": wall,
        "load_average_1min_start": load0,
        "load_average_1min_end": os.getloadavg()[0],
        "clusters": json.loads(tab.to_json(orient="records")),
    }
    Path(a.out).write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    return res


def _compare_reuse(a, mats, y, folds, fold_ids, input_dim, load0) -> dict:
    """Fresh (0) against reused (1) trial processes, alternately, in one Ray session."""
    from _paired import alternate, summary, write

    from matmap_utils.core.backends import ray_session
    from matmap_utils.screening import hpo

    def run(reuse: int):
        kw = dict(num_samples=a.samples, epochs=a.epochs, grace_period=a.grace, seed=a.seed, num_cpus=a.cpus)
        return hpo.hpo_per_fold(mats, y, folds, fold_ids=fold_ids, input_dim=input_dim, reuse_actors=bool(reuse), **kw)

    with ray_session(None, num_cpus=a.cpus):
        walls, outs = alternate(run, (0, 1), a.compare_reuse)
    s = summary(walls, 0, 1)
    res = {
        "features": a.config,
        "clusters": fold_ids,
        "samples_per_cluster": a.samples,
        "max_epochs": a.epochs,
        "grace_epochs": a.grace,
        "ray_cpus": a.cpus,
        "repeats": a.compare_reuse,
        "fresh_wall_s": s["serial_wall_s"],
        "reused_wall_s": s["parallel_wall_s"],
        "speedup": s["speedup"],
        "walls": {"fresh": s["walls"]["0"], "reused": s["walls"]["1"]},
        "trials": {"fresh": int(outs[0]["n_trials"].sum()), "reused": int(outs[1]["n_trials"].sum())},
        "best_val_auc_pr_mean": {k: float(outs[i]["val_pr_auc"].mean()) for k, i in (("fresh", 0), ("reused", 1))},
        "load_average_1min_start": load0,
        "load_average_1min_end": s["load_average_1min_end"],
    }
    md = (
        f"| Ray Tune search, {a.config}, clusters {a.clusters}, {a.samples} trials × ≤ {a.epochs} epochs "
        f"(grace {a.grace}), {a.cpus} CPUs | median wall (s) |\n|---|---|\n"
        f"| a fresh worker process per trial (Ray's default) | {res['fresh_wall_s']:.1f} |\n"
        f"| finished trials' processes reused (`reuse_actors`, the project's default) | {res['reused_wall_s']:.1f} |\n"
        f"| speed-up | {res['speedup']:.2f}× |\n\n"
        f"{a.compare_reuse} alternating runs in one Ray session (its start not timed); load average "
        f"{load0:.1f} at the start, {res['load_average_1min_end']:.1f} at the end.  Mean best validation "
        f"AUC-PR: fresh {res['best_val_auc_pr_mean']['fresh']:.3f}, reused "
        f"{res['best_val_auc_pr_mean']['reused']:.3f} (two concurrent trials: ASHA's stops depend on "
        "the order results arrive, so the two paths may differ slightly; one at a time they are "
        "identical, tests/test_hpo.py).\n"
    )
    write("hpo_reuse", res, md)
    return res


if __name__ == "__main__":
    main()
