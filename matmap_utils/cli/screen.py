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
from matmap_utils.data.datasets import load_mp_band_gaps
from matmap_utils.screening import candidates, filters
from matmap_utils.screening.atomsets import features
from matmap_utils.screening.megnet import pool
from matmap_utils.screening.megnet.properties import pool_properties

COLUMNS = [
    "name",
    "formula",
    "disordered",
    "P_SI",
    "P_SI_std",
    "P_nonmetal",
    "Eg_eV",
    "Eg_source",
    "d_train",
    "domain",
    "novel",
    "verdict",
]


def register(subparsers) -> None:
    p = subparsers.add_parser("screen", help=COMMANDS["screen"], description=__doc__.split("\n\n")[0])
    p.add_argument("cifs", nargs="*", metavar="CIF", help="CIF files or folders of CIFs")
    p.add_argument("-o", "--output", default=None, help="write the table (.csv, .parquet, .json) instead of printing")
    p.add_argument("--model", default=None, help="folder of a saved ensemble (default: the notebook's)")
    add_pool_arguments(p)
    p.set_defaults(func=run)


def _score(bundle: dict, series: pd.Series, failures: list) -> pd.DataFrame:
    """The table of the featurizable structures of ``series`` (index = names)."""
    mode, layer = bundle["mode"], bundle["layer"]
    feats, ffail = features.featurize(series, modes=[mode], layers=[layer], n_jobs=1, cache=False)
    failures += [(r["id"], r["reason"]) for _, r in ffail.iterrows()]
    fm = feats[(mode, layer)]
    ok = [n for n in series.index if n in fm]
    if not ok:
        return pd.DataFrame(columns=COLUMNS).set_index("name")
    scr = candidates.screen_sets(bundle["model"], [fm[n] for n in ok], bundle["train_vectors"])
    gaps = pool.predict_structures([series[n] for n in ok], ids=ok)
    props, _ = pool_properties(series.loc[ok], names=("nonmetal",), cache=False, n_jobs=1, progress=False)
    mp = load_mp_band_gaps()["mp_band_gap_eV"]
    eg_mp = pd.Series({n: mp.get(str(n).split("/")[-1].removesuffix(".cif")) for n in ok}, dtype=float)
    gap = filters.band_gap_filter(eg_mp, props.get("p_nonmetal", pd.Series(dtype=float)), gaps["band_gap_eV"])
    refs, _ = filters.reference_compositions(bundle["reference_formulas"])
    df = pd.DataFrame(
        {
            "formula": [series[n].composition.reduced_formula for n in ok],
            "disordered": [not series[n].is_ordered for n in ok],
            "P_SI": scr["p_si"],
            "P_SI_std": scr["p_si_std"],
            "P_nonmetal": gap["P_nonmetal"].reindex(ok).to_numpy(),
            "Eg_eV": gap["Eg"].reindex(ok).to_numpy(),
            "Eg_source": gap["Eg_source"].reindex(ok).to_numpy(),
            "d_train": scr["d_train"],
            "domain": ["out" if f else "in" for f in filters.domain_flags(scr["d_train"], bundle["domain_threshold"])],
            "novel": filters.novel_against(refs, [series[n].composition for n in ok]),
            "gap_reason": gap["gap_reason"].reindex(ok).to_numpy(),
        },
        index=pd.Index(ok, name="name"),
    )
    df["verdict"] = filters.verdicts(df)
    return df.drop(columns=["gap_reason"])


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
        df = _score(bundle, series, failures)
    write_frame(df.round(4), args.output)
    report_failures(failures, len(paths))
    return exit_code(len(df))
