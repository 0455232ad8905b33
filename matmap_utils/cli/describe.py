"""``matmap describe CIF… [-o FILE]``: compositional (1,782) and structural (858) descriptors.

One row per structure (named by the file's stem), columns ``comp_0000``… then ``struct_000``…
(see :mod:`matmap_utils.materials_map.descriptors` for the layout).  Raw values by default; ``--scaled`` divides
each block by the maxima fitted on the Li–O set by notebook 01_descriptors
(``results/01_descriptors/scaler_{comp,struct}.json``), which places your structures on the same
[0, 1] scale as the materials map (values above 1 lie outside the Li–O set's range).
"""

from __future__ import annotations

import pandas as pd

from matmap_utils.chapters.results import results_dir
from matmap_utils.cli._common import exit_code, read_cli_structures, report_failures, write_frame
from matmap_utils.cli.main import COMMANDS
from matmap_utils.core.errors import UserError
from matmap_utils.materials_map import descriptors as D


def register(subparsers) -> None:
    p = subparsers.add_parser("describe", help=COMMANDS["describe"], description=__doc__.split("\n\n")[0])
    p.add_argument("cifs", nargs="+", metavar="CIF", help="CIF files or folders of CIFs")
    p.add_argument("-o", "--output", default=None, help="write the table (.csv, .parquet, .json) instead of printing")
    p.add_argument("--kind", choices=["both", "comp", "struct"], default="both", help="which descriptor (default both)")
    p.add_argument("--scaled", action="store_true", help="scale with the Li–O set's fitted maxima (notebook 01)")
    p.add_argument("--n-jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.set_defaults(func=run)


def run(args) -> int:

    scalers = {}
    if args.scaled:
        for kind in ("comp", "struct"):
            path = results_dir("01_descriptors") / f"scaler_{kind}.json"
            try:
                scalers[kind] = D.load_scaler(path)
            except FileNotFoundError as exc:
                raise UserError(str(exc)) from None
    paths, names, structures, failures = read_cli_structures(args.cifs)
    res = D.describe(structures, names, n_jobs=args.n_jobs, progress=False) if structures else None
    frames = []
    if res is not None:
        failures += [(r.id, r.reason) for r in res.failures.itertuples()]
        comp, struct = res.comp, res.struct
        if args.scaled:
            comp = D.transform(comp, scalers["comp"], D.comp_spec())
            struct = D.transform(struct, scalers["struct"], D.struct_spec())
        if args.kind in ("both", "comp"):
            frames.append(comp)
        if args.kind in ("both", "struct"):
            frames.append(struct)
    df = pd.concat(frames, axis=1) if frames else pd.DataFrame()
    df.index.name = "name"
    write_frame(df, args.output)
    report_failures(failures, len(paths))
    return exit_code(len(df))
