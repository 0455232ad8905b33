"""``matmap megnet CIF… [--layers 0,1,2,3] [--json] [-o FILE]`` — MEGNet predictions and site features.

Prints (or writes) the formation energy (eV/atom, mp-2019.4.1 model), band gap (eV,
mp-2018.6.1 model) and P(non-metal) (mp-2018.6.1 metal classifier; ``metal`` when < 0.5 — the
band-gap regressor was trained on gapped materials only and cannot say "metal") of every structure; with ``--layers`` also the site-feature matrices V0..V3 of
the formation-energy model (V0 = elemental embedding, Vk = after k graph convolutions; see
:mod:`matmap_utils.screening.megnet`).  Output format by ``-o``: ``.npz`` (concatenated float32 feature
arrays + offsets), ``.json`` (or ``--json``: one record per structure, features as nested lists),
``.csv``/``.parquet`` (table only).  Unreadable files and structures without bonds are listed in a
failure summary; the exit code is non-zero only if nothing could be processed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from matmap_utils.cli._common import exit_code, report_failures, write_frame
from matmap_utils.cli.main import COMMANDS
from matmap_utils.core.cache import atomic_write_npz
from matmap_utils.data.structures import StructureReadError, expand_paths, read_structure
from matmap_utils.screening.megnet.model import load_model
from matmap_utils.screening.megnet.pool import predict_structures
from matmap_utils.screening.megnet.properties import pool_properties


def _parse_layers(text: str | None) -> tuple[int, ...]:
    if text is None or text == "":
        return ()
    try:
        layers = tuple(sorted({int(x) for x in text.split(",") if x.strip() != ""}))
    except ValueError:
        raise ValueError(f"--layers: expected comma-separated integers 0..3, got {text!r}") from None
    if any(k < 0 or k > 3 for k in layers):
        raise ValueError(f"--layers: layers must be in 0..3, got {text!r}")
    return layers


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "megnet",
        help=COMMANDS["megnet"],
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("cifs", nargs="+", metavar="CIF", help="structure files or folders of *.cif")
    p.add_argument(
        "--layers",
        default=None,
        metavar="LIST",
        help="also output site features of these levels, e.g. 0,1,2,3 (0 = embedding)",
    )
    p.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        help="write to FILE (.npz, .json, .csv or .parquet) instead of standard output",
    )
    p.add_argument("--jobs", type=int, default=1, help="processes for graph building (default 1)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="at most this many structures per inference batch (default 256; on a CPU batches also hold at most 10,000 bonds)",
    )
    p.set_defaults(func=run)


def _read_structures(paths) -> tuple[list[str], list, list[tuple[str, str]]]:
    """(keys, structures, failures) of the structure files: the path of each readable file, its
    structure, and ``(path, reason)`` for each unreadable one."""
    keys, structures, failures = [], [], []
    for p in paths:
        try:
            structures.append(read_structure(p))
            keys.append(str(p))
        except StructureReadError as exc:
            failures.append((str(p), str(exc)))
    return keys, structures, failures


def _predict(keys, structures, layers, args, failures):
    """The prediction table (name, formula, nsites, formation energy in eV/atom, band gap in eV;
    indexed by path) and, for ``layers``, the site features of the formation-energy model; the
    structures that fail are appended to ``failures``."""
    table = predict_structures(structures, ids=keys, n_jobs=args.jobs, batch_size=args.batch_size)
    for _, row in table.attrs["failures"].iterrows():
        failures.append((str(row["id"]), str(row["reason"])))
    ok_keys = list(table.index)
    by_key = dict(zip(keys, structures))
    table.insert(0, "name", [Path(k).stem for k in ok_keys])
    table.insert(1, "formula", [by_key[k].composition.reduced_formula for k in ok_keys])
    table.index.name = "path"
    if ok_keys:
        series = pd.Series([by_key[k] for k in ok_keys], index=ok_keys, dtype=object)
        props, _ = pool_properties(series, names=("nonmetal",), cache=False, n_jobs=1, progress=False)
        table["p_nonmetal"] = props["p_nonmetal"].reindex(ok_keys)
        table["metal"] = table["p_nonmetal"] < 0.5
    feats: list[dict] = []
    if layers and ok_keys:
        feats = load_model("formation_energy").atom_features(
            [by_key[k] for k in ok_keys], layers=layers, batch_size=args.batch_size
        )
    return table, feats


def _write_npz(table, feats, layers, out: Path) -> None:
    """The table's columns and the concatenated float32 features ``V<k>`` with ``offsets``."""
    sizes = [int(n) for n in table["nsites"]]
    arrays = {
        "path": np.asarray(list(table.index)),
        "name": np.asarray(list(table["name"])),
        "formula": np.asarray(list(table["formula"])),
        "formation_energy_eV_atom": table["formation_energy_eV_atom"].to_numpy(),
        "band_gap_eV": table["band_gap_eV"].to_numpy(),
        "p_nonmetal": table["p_nonmetal"].to_numpy(float),
        "offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
    }
    for k in layers:
        arrays[f"V{k}"] = np.concatenate([f[k] for f in feats]).astype(np.float32)
    atomic_write_npz(out, **arrays)
    what = f" (features V{', V'.join(map(str, layers))}; rows of structure i are offsets[i]:offsets[i+1])"
    print(f"wrote {len(table)} structures to {out}" + (what if layers else ""), file=sys.stderr)


def json_records(table, feats, layers) -> list[dict]:
    """One JSON record per structure: path, name, formula, nsites, formation energy (eV/atom), band
    gap (eV) and, with ``layers``, the features as nested lists rounded to 7 decimals."""
    records = []
    for (path, row), f in zip(table.iterrows(), feats or [None] * len(table)):
        rec = {
            "path": path,
            "name": row["name"],
            "formula": row["formula"],
            "nsites": int(row["nsites"]),
            "formation_energy_eV_atom": float(row["formation_energy_eV_atom"]),
            "band_gap_eV": float(row["band_gap_eV"]),
            "p_nonmetal": float(row.get("p_nonmetal", float("nan"))),
        }
        if f is not None:
            rec["features"] = {f"V{k}": np.round(f[k].astype(float), 7).tolist() for k in layers}
        records.append(rec)
    return records


def _write_json(records: list[dict], out: Path | None) -> None:
    text = json.dumps(records, indent=1)
    if out is None:
        print(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        print(f"wrote {len(records)} structures to {out}", file=sys.stderr)


def run(args) -> int:
    layers = _parse_layers(args.layers)
    out = Path(args.output) if args.output else None
    if out is not None and out.suffix.lower() not in (".npz", ".json", ".csv", ".parquet", ".txt", ""):
        raise ValueError(f"{out}: unknown output format {out.suffix!r} (use .npz, .json, .csv or .parquet)")
    paths = expand_paths(args.cifs)
    if not paths:
        raise ValueError("no structure files given (folders are searched for *.cif)")
    keys, structures, failures = _read_structures(paths)
    table, feats = _predict(keys, structures, layers, args, failures) if structures else (None, [])
    n_ok = 0 if table is None else len(table)
    report_failures(failures, len(paths))
    if n_ok == 0:
        return exit_code(0)
    table = table.drop(columns=["n_isolated"], errors="ignore")
    suffix = out.suffix.lower() if out is not None else ""
    if suffix == ".npz":
        _write_npz(table, feats, layers, out)
    elif args.json or suffix == ".json":
        _write_json(json_records(table, feats, layers), out)
    else:
        if layers:
            print("note: feature matrices are only written with -o FILE.npz or --json", file=sys.stderr)
        write_frame(table, out)
    return exit_code(n_ok)
