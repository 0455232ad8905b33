"""``matmap screen CIF… [-o FILE] [--model PATH]``: P(superionic) of your structures, with a verdict.

Uses the AtomSets ensemble saved by notebook 06 (default folder
``$MATMAP_CACHE/compute/atomsets/screening_ensemble``): each structure is simplified as the
ensemble was trained (CAMNS by default), featurized with the MEGNet port, and scored by every
member.  Output columns per structure: ``P_SI`` ± ``P_SI_std`` (ensemble mean and SD),
``P_nonmetal`` (MEGNet metal classifier), ``Eg_eV`` with ``Eg_source`` (the Materials Project gap
when the file is named after an MP id with a known gap, else MEGNet's band-gap model),
``d_train`` (PCA-normalized distance to the nearest training compound) with ``domain`` (``out`` when
above the 95th percentile of the training set's own nearest-neighbour distances), ``novel``
(no labelled composition within 5 % in every element) and ``verdict`` (``candidate`` or ``not a
candidate: <reasons>``, e.g. ``metal``; McHaffie et al. 2025, Sec. 3.3).
"""

from __future__ import annotations

import pandas as pd

from matmap_utils.cli._common import exit_code, read_cli_structures, report_failures, write_frame
from matmap_utils.cli.main import COMMANDS
from matmap_utils.cli.pool import add_pool_arguments, run_pool
from matmap_utils.core.errors import UserError
from matmap_utils.screening import candidates
from matmap_utils.screening.score import COLUMNS, score_structures


def register(subparsers) -> None:
    p = subparsers.add_parser("screen", help=COMMANDS["screen"], description=__doc__.split("\n\n")[0])
    p.add_argument("cifs", nargs="*", metavar="CIF", help="CIF files or folders of CIFs")
    p.add_argument("-o", "--output", default=None, help="write the table (.csv, .parquet, .json) instead of printing")
    p.add_argument("--model", default=None, help="folder of a saved ensemble (default: the notebook's)")
    add_pool_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.pool:
        return run_pool(args)
    if not args.cifs:
        raise UserError("give CIF files or folders, or --pool PATH")
    try:
        bundle = candidates.load_screening_bundle(args.model)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    paths, names, structures, failures = read_cli_structures(args.cifs)
    df = pd.DataFrame(columns=COLUMNS).set_index("name")
    if structures:
        series = pd.Series(structures, index=[str(n) for n in names], dtype=object)
        df, fails = score_structures(bundle, series)
        failures += fails
    write_frame(df.round(4), args.output)
    report_failures(failures, len(paths))
    return exit_code(len(df))
