"""Benchmark: chapter 06's cross-validations with folds trained one after another (``n_jobs=1``,
the previous behaviour: one core busy) against all folds of all configurations in one pool of
worker processes (``n_jobs=2``, :func:`matmap_utils.screening.cv.cv_atomsets_many`).

Workload: the real labelled McHaffie/OBELiX train + validation entries, the paper's own k-fold
(5 folds) and LOCO splits, the paper-profile AtomSets architecture and ``n_repeats`` = 3, for the
configurations ``--configs`` (default CAMN-V0, CAMN-V1, CAMNS-V0, CAMNS-V1 — the paper profile's
LOCO list), trained for ``--epochs`` epochs (the paper profile trains 300; wall time scales
linearly with epochs, so the ratio carries over).  Each variant runs ``--repeats`` times; medians
of wall time, the ratio, the load average, and whether the two give identical CV frames (they
must).  Writes ``benchmarks/results/cv.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from _paired import summary, write

from matmap_utils.chapters import ch06_atomsets_screening as ch06
from matmap_utils.data.datasets import load_mchaffie
from matmap_utils.screening import splits
from matmap_utils.screening.atomsets import configs, features


def _setup(config_list, epochs: int, n_jobs: int):
    mc = load_mchaffie()
    lab = ch06.labelled_entries(mc, 0, 0)
    modes = sorted({m for m, _ in config_list})
    layers = sorted({k for _, k in config_list})
    feats, _ = features.featurize(lab.set_index("key")["structure"], modes=modes, layers=layers, n_jobs=2)
    lab = ch06.featurized_only(lab, feats)
    trval = lab[~lab["split_test"]]
    cfg_kw = dict(set2set_hidden=64, init_lr=0.01, epochs=epochs, batch_size=64)  # the paper profile's
    setup = ch06.CVSetup(feats, trval, trval["superionic"].to_numpy(int), cfg_kw, 3, 0, 10, n_jobs=n_jobs)
    return setup, trval


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["CAMN:0", "CAMN:1", "CAMNS:0", "CAMNS:1"])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scheme", choices=["kfold", "loco"], default="kfold")
    args = ap.parse_args()
    config_list = configs.parse_configs(args.configs)
    res = {"machine": platform.machine(), "cpu_count": os.cpu_count(), "configs": args.configs}
    res.update(epochs=args.epochs, repeats=args.repeats, scheme=args.scheme, load_average_1min_start=os.getloadavg()[0])
    walls: dict[int, list[float]] = {1: [], 2: []}
    frames: dict[int, dict] = {}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            setup, trval = _setup(config_list, args.epochs, n_jobs)
            folds = splits.paper_folds(trval, args.scheme)
            t0 = time.perf_counter()
            frames[n_jobs] = setup.cv_many(config_list, folds)
            walls[n_jobs].append(time.perf_counter() - t0)
    res["n_entries"], res["n_folds"] = int(len(trval)), len(folds)
    res.update(summary(walls, 1, 2))
    res["identical"] = all(frames[1][c].equals(frames[2][c]) for c in config_list)
    md = (
        f"| chapter 06 CV ({args.scheme}, {len(config_list)} configurations x {len(folds)} folds, "
        f"{args.epochs} epochs) | wall (s, median of {args.repeats}) |\n|---|---|\n"
        f"| folds one after another (n_jobs=1) | {res['serial_wall_s']:.1f} |\n"
        f"| all folds in one pool (n_jobs=2) | {res['parallel_wall_s']:.1f} |\n\n"
        f"Speed-up {res['speedup']:.2f}x; identical CV frames: {res['identical']}; load average "
        f"{res['load_average_1min_start']:.1f} at the start, {res['load_average_1min_end']:.1f} at the end.\n"
    )
    write("cv", res, md)


if __name__ == "__main__":
    main()
