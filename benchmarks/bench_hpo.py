"""Smoke run of the Ray Tune hyperparameter search (ASHA + HyperOpt) on real LOCO clusters.

Runs :func:`matmap_utils.screening.hpo.hpo_per_fold` for a few of the paper's LOCO clusters with a
small budget (``--samples`` trials of at most ``--epochs`` epochs, ASHA grace ``--grace``) on the
McHaffie/OBELiX train+validation entries with the features ``--config`` (e.g. CAMNS:1), on a local
Ray instance of ``--cpus`` CPUs (or ``$MATMAP_RAY_ADDRESS``).  Writes
``benchmarks/results/hpo_smoke.json``: per cluster the best configuration, its validation AUC-PR /
MCC / epoch, the number of trials and the wall time, plus the load average.
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


if __name__ == "__main__":
    main()
