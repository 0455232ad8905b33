"""Benchmark: chapter 08's AtomSets fits (OBELiX) one after another (``n_jobs=1``, the previous
behaviour: one core busy) against all of them in one pool of worker processes (``n_jobs=2``,
:func:`matmap_utils.chapters.ch08_atomsets.fit_atomsets`).

Workload: the real OBELiX task and its MEGNet V0–V3 sets (``megnet_sets``, CAMN, from the feature
cache), the paper profile's AtomSets (set2set readout, 64 hidden, ``--members`` members, learning
rate 0.001) and 5 paper-disjoint folds: the ``atomsets_v0`` refit, its 5 CV fits, the 4 layers x 5
folds of ``atomsets_struct`` (26 fits in the pool) and the refit of the chosen layer, trained for
``--epochs`` epochs (the paper profile trains 100; wall time scales linearly with epochs, so the
ratio carries over).  Each variant runs ``--repeats`` times; medians of wall time, the ratio, the
load average, and whether the two give identical CV tables and test predictions (they must).
Writes ``benchmarks/results/obelix_atomsets.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import platform

from _paired import alternate, summary, write

from matmap_utils.benchmark import obelix
from matmap_utils.chapters import ch08_obelix_benchmark as ch08


def _same(a, b) -> bool:
    (pa, cva, besta), (pb, cvb, bestb) = a, b
    return cva.equals(cvb) and besta == bestb and all(pa[k].equals(pb[k]) for k in pa)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-jobs", type=int, default=2, help="processes of the parallel variant")
    args = ap.parse_args()
    task = obelix.task_frame()
    sets, _ = ch08.megnet_sets(task, [0, 1, 2, 3], mode="CAMN", n_jobs=args.n_jobs)
    params = dict(readout="set2set", hidden=64, n_members=args.members, epochs=args.epochs, lr=0.001, seed=0)
    res = {"machine": platform.machine(), "cpu_count": os.cpu_count(), "epochs": args.epochs}
    res.update(members=args.members, repeats=args.repeats, n_jobs=args.n_jobs)
    res["load_average_1min_start"] = os.getloadavg()[0]
    walls, out = alternate(
        lambda n: ch08.fit_atomsets(task, sets, params, n_folds=5, seed=0, n_jobs=n), (1, args.n_jobs), args.repeats
    )
    res.update(summary(walls, 1, args.n_jobs))
    res["identical"] = _same(out[1], out[args.n_jobs])
    res["best_layer"] = out[1][2]
    md = (
        f"| chapter 08 AtomSets fits (26 in the pool + 1 refit; {args.members} members, {args.epochs} epochs) "
        f"| wall (s, median of {args.repeats}) |\n|---|---|\n"
        f"| fits one after another (n_jobs=1) | {res['serial_wall_s']:.1f} |\n"
        f"| fits in one pool (n_jobs={args.n_jobs}) | {res['parallel_wall_s']:.1f} |\n\n"
        f"Speed-up {res['speedup']:.2f}x; identical CV tables and predictions: {res['identical']}; load average "
        f"{res['load_average_1min_start']:.1f} at the start, {res['load_average_1min_end']:.1f} at the end "
        f"({res['cpu_count']} cores).\n"
    )
    write("obelix_atomsets", res, md)


if __name__ == "__main__":
    main()
