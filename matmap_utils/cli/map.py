"""``matmap map CIF… --model PATH [-o FILE]`` — place structures on a trained materials map."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from matmap_utils.cli._common import exit_code, read_cli_structures, report_failures, write_frame
from matmap_utils.cli.main import COMMANDS
from matmap_utils.core.errors import UserError
from matmap_utils.core.paths import repo_root
from matmap_utils.materials_map.analysis import place_structures
from matmap_utils.materials_map.autoencoder import load_map

DEFAULT_MODEL = "results/02_autoencoder_map/map_W0.1.pt"


def register(sub) -> None:
    p = sub.add_parser(
        "map",
        help=COMMANDS["map"],
        description="Featurize each structure like the map's training data (notebook 01's descriptors and "
        "scalers, saved with the map), encode it to (x_comp, x_struct) and predict its Li "
        "migration energy with the map's ME head. Folders are expanded to their *.cif files.",
    )
    p.add_argument("structures", nargs="+", metavar="CIF", help="structure files or folders of CIFs")
    p.add_argument(
        "--model",
        default=None,
        help=f"trained map (.pt with its .json), default: {DEFAULT_MODEL} (written by notebook 02_autoencoder_map)",
    )
    p.add_argument("-o", "--output", help="write a table (.csv, .parquet or .json) instead of printing")
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes for the descriptors")
    p.set_defaults(func=run)


def run(args) -> int:

    model_path = Path(args.model) if args.model else repo_root() / DEFAULT_MODEL
    if not model_path.exists() and not model_path.with_suffix(".pt").exists():
        raise UserError(f"{model_path}: no trained map there (run notebook 02_autoencoder_map, or pass --model)")
    model = load_map(model_path)
    paths, names, structures, failures = read_cli_structures(args.structures)
    if structures:
        table = place_structures(structures, model, names=names, n_jobs=args.jobs)
    else:
        table = pd.DataFrame(columns=["x_comp", "x_struct", "ME_pred", "max_scaled", "error"])
    for name, err in table["error"].items():
        if err:
            failures.append((name, err))
    ok = table[table["error"] == ""].drop(columns="error")
    ok.insert(0, "W", model.W)
    write_frame(ok, args.output)
    report_failures(failures, len(paths))
    n_out = int((ok["max_scaled"] > 1).sum()) if len(ok) else 0
    if n_out:
        print(
            f"note: {n_out} structure(s) have descriptors outside the map's reference range "
            "(max_scaled > 1): their position is an extrapolation",
            file=sys.stderr,
        )
    return exit_code(len(ok))
