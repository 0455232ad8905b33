"""``matmap screen CIF… [-o FILE] [--model PATH]``: P(superionic) of your structures.

Uses the AtomSets ensemble saved by notebook 06 (default folder
``$MATMAP_CACHE/compute/atomsets/screening_ensemble``): each structure is simplified as the
ensemble was trained (CAMNS by default), featurized with the MEGNet port, and scored by every
member.  Output columns: ``P_SI`` (ensemble mean), ``P_SI_std``, ``Eg_MEGNet_eV`` (MEGNet band-gap
model on the original structure), ``d_train`` (PCA-normalized distance to the nearest training
compound), ``formula``, ``disordered``.
"""

from __future__ import annotations

import pandas as pd

from matmap_utils.cli._common import exit_code, read_cli_structures, report_failures, write_frame
from matmap_utils.cli.main import COMMANDS
from matmap_utils.core.errors import UserError
from matmap_utils.screening import candidates
from matmap_utils.screening.atomsets import features
from matmap_utils.screening.megnet import pool


def register(subparsers) -> None:
    p = subparsers.add_parser("screen", help=COMMANDS["screen"], description=__doc__.split("\n\n")[0])
    p.add_argument("cifs", nargs="+", metavar="CIF", help="CIF files or folders of CIFs")
    p.add_argument("-o", "--output", default=None, help="write the table (.csv, .parquet, .json) instead of printing")
    p.add_argument("--model", default=None, help="folder of a saved ensemble (default: the notebook's)")
    p.set_defaults(func=run)


def run(args) -> int:

    try:
        model, mode, layer, train_vecs, _ = candidates.load_screening_model(args.model)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    paths, names, structures, failures = read_cli_structures(args.cifs)
    rows = []
    if structures:
        series = pd.Series(structures, index=[str(n) for n in names], dtype=object)
        feats, ffail = features.featurize(series, modes=[mode], layers=[layer], n_jobs=1, cache=False)
        failures += [(r["id"], r["reason"]) for _, r in ffail.iterrows()]
        fm = feats[(mode, layer)]
        ok = [n for n in series.index if n in fm]
        if ok:
            scr = candidates.screen_sets(model, [fm[n] for n in ok], train_vecs)
            gaps = pool.predict_structures([series[n] for n in ok], ids=ok)
            for j, n in enumerate(ok):
                s = series[n]
                rows.append(
                    {
                        "name": n,
                        "formula": s.composition.reduced_formula,
                        "disordered": not s.is_ordered,
                        "P_SI": float(scr["p_si"][j]),
                        "P_SI_std": float(scr["p_si_std"][j]),
                        "Eg_MEGNet_eV": float(gaps["band_gap_eV"].get(n, float("nan"))),
                        "d_train": float(scr["d_train"][j]),
                    }
                )
    df = pd.DataFrame(
        rows, columns=["name", "formula", "disordered", "P_SI", "P_SI_std", "Eg_MEGNet_eV", "d_train"]
    ).set_index("name")
    write_frame(df.round(4), args.output)
    report_failures(failures, len(paths))
    return exit_code(len(df))
