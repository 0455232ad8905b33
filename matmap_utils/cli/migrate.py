"""``matmap migrate CIF… [-o FILE]``: Li migration energies (BVSE percolation barriers, bvlain).

One row per structure (named by the file's stem): ``E_1D``, ``E_2D``, ``E_3D`` (eV), ``ME``
(= ``E_3D``, the book's migration energy), ``reason`` (why ME is missing: no Li, disordered
structure, oxidation states not assignable, no percolating path, timeout), ``oxi_method``,
``resolution`` (grid spacing used, A).  See :mod:`matmap_utils.materials_map.bvse`.
"""

from __future__ import annotations

from matmap_utils.cli._common import exit_code, read_cli_structures, report_failures, write_frame
from matmap_utils.cli.main import COMMANDS
from matmap_utils.core.errors import UserError
from matmap_utils.materials_map import bvse as M


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "migrate",
        help=COMMANDS["migrate"],
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("cifs", nargs="+", metavar="CIF", help="CIF files or folders of CIFs")
    p.add_argument("-o", "--output", default=None, help="write the table (.csv, .parquet, .json) instead of printing")
    p.add_argument("--resolution", type=float, default=None, help="BVSE grid spacing in A (default 0.3)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per structure (default 300)")
    p.add_argument("--n-jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.set_defaults(func=run)


def run(args) -> int:

    if args.resolution is not None and not (0.05 <= args.resolution <= 2.0):
        raise UserError(f"--resolution {args.resolution}: use a grid spacing between 0.05 and 2 A")
    settings = {"resolution": args.resolution} if args.resolution is not None else None
    paths, names, structures, failures = read_cli_structures(args.cifs)
    df = M.migration_table(
        structures, names, settings=settings, n_jobs=args.n_jobs, timeout=args.timeout, progress=False
    )
    df.index.name = "name"
    failures += [(n, r) for n, r in df["reason"].items() if r]
    write_frame(df.round(4), args.output)
    report_failures(failures, len(paths))
    return exit_code(int(df["ME"].notna().sum()))
