"""``matmap screen --pool PATH [--ray-address auto|ADDR | --ray-local N]``: screen a pool of any size.

The pool is a folder of CIFs (searched recursively), a table of CIF paths (``.csv``/``.tsv``/
``.parquet`` with a ``path`` column, or ``.txt``, one path a line), an extended-XYZ file or an ASE
database.  It runs chunk by chunk on the local process pool or on a Ray cluster (``--ray-address``
or ``MATMAP_RAY_ADDRESS``; ``auto``: the cluster this machine belongs to), or on a private Ray
instance of N CPUs that it starts itself on 127.0.0.1 (``--ray-local N``, the same as
``--ray-address local-ray`` with ``MATMAP_N_JOBS`` CPUs; no ``ray start``), shows a progress bar with
the ETA and the running count of failures, and writes a parquet table with chapter 06's screening
columns (:data:`matmap_utils.chapters.pool_screening.COLUMNS`: P_SI ± SD, d_train and
``out_of_domain``, the band-gap filter with MEGNet's metal classifier — ``Eg`` (eV), ``Eg_source``,
``P_nonmetal``, ``metal``, ``gap_reason``, ``passes_gap`` —, ``novel``, ``verdict``, ``candidate``;
the same numbers as ``matmap screen FILE``) plus ``<output>-failures.parquet``.  Killed and started
again, it recomputes only the chunks that were not finished.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from matmap_utils.chapters import pool_screening
from matmap_utils.cli._common import exit_code
from matmap_utils.core.backends import LOCAL_RAY, get_backend
from matmap_utils.core.errors import UserError


def add_pool_arguments(parser) -> None:
    """The ``--pool`` options of ``matmap screen`` (``-o`` and ``--model`` are shared with it)."""
    g = parser.add_argument_group("screening a whole pool (chunked, resumable, local or Ray)")
    g.add_argument("--pool", default=None, metavar="PATH", help="folder / table of CIF paths / extxyz / ASE db")
    where = g.add_mutually_exclusive_group()
    where.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="Ray cluster (auto, host:port, ray://host:10001; local-ray: a private instance; "
        "local: local processes; default $MATMAP_RAY_ADDRESS, unset: local processes)",
    )
    where.add_argument(
        "--ray-local",
        type=_positive_int,
        default=None,
        metavar="N",
        help="start a private Ray instance of N CPUs on 127.0.0.1 for this run (no `ray start`; stopped at the end)",
    )
    g.add_argument("--chunk-size", type=int, default=256, help="structures per task (default 256)")
    g.add_argument(
        "--known-gaps",
        default="mp",
        metavar="mp|none|FILE",
        help="known band gaps (eV) used before MEGNet's: mp (the MP gap of structures named by MP id, "
        "as `matmap screen FILE`; default), none, or a table (id, gap)",
    )
    g.add_argument(
        "--novelty",
        default="ensemble",
        metavar="REF",
        help="novelty reference: ensemble (the one saved with the ensemble: chapter 06's, every McHaffie "
        "and OBELiX composition; default), labelled, training, or a file of formulas",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of CPUs must be a positive integer")
    return value


def backend_from(args):
    """The backend of ``args``: ``--ray-local N`` → a private Ray instance of N CPUs, else by
    ``--ray-address`` / ``MATMAP_RAY_ADDRESS`` (:func:`~matmap_utils.core.backends.get_backend`)."""
    n = getattr(args, "ray_local", None)
    if n is not None:
        return get_backend(LOCAL_RAY, num_cpus=n)
    return get_backend(getattr(args, "ray_address", None))


def default_output(pool: str | Path) -> Path:
    """``<pool name>-screening.parquet`` in the current folder."""
    return Path(f"{Path(pool).resolve().name.rsplit('.', 1)[0]}-screening.parquet")


def run_pool(args) -> int:
    """Screen ``args.pool``; print the summary and the candidate count; non-zero if nothing screened."""
    out = Path(args.output) if args.output else default_output(args.pool)
    if out.suffix.lower() != ".parquet":
        raise UserError(f"{out}: the pool table is written as parquet (use a .parquet output)")
    try:
        backend = backend_from(args)
    except RuntimeError as exc:
        raise UserError(str(exc)) from None
    print(f"screening {args.pool} on {backend.describe()}", file=sys.stderr)
    try:
        res = pool_screening.screen_pool(
            args.pool,
            out,
            backend=backend,
            chunk_size=args.chunk_size,
            known_gaps=args.known_gaps,
            model_dir=args.model,
            novelty=args.novelty,
        )
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from None
    finally:
        backend.close()
    n_cand = int(pd.read_parquet(res.table, columns=["candidate"])["candidate"].sum())
    print(
        f"{n_cand} candidates (verdict 'candidate': MP Eg > 1 eV, or without an MP gap MEGNet P(non-metal) "
        f">= 0.5 and MEGNet Eg > 1 eV; P_SI >= 0.5; novel); failures: {res.failures}",
        file=sys.stderr,
    )
    return exit_code(res.n_ok)
