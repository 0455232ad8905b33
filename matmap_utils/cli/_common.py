"""Helpers shared by subcommands: writing tables, summarising failures."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from matmap_utils.core.errors import UserError
from matmap_utils.data.structures import expand_paths, read_structures


def write_frame(df: pd.DataFrame, out: str | Path | None) -> None:
    """Write ``df`` to ``out`` (``.csv``, ``.parquet`` or ``.json`` by suffix) or print it."""
    if out is None:
        with pd.option_context("display.max_rows", 200, "display.width", 200):
            print(df.to_string())
        return
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        df.to_parquet(out)
    elif suffix == ".json":
        df.to_json(out, orient="records", indent=2)
    elif suffix in (".csv", ".txt", ""):
        df.to_csv(out)
    else:
        raise ValueError(f"{out}: unknown output format {suffix!r} (use .csv, .parquet or .json)")
    print(f"wrote {len(df)} rows to {out}", file=sys.stderr)


def report_failures(failures: list[tuple[str, str]], n_total: int) -> None:
    """Print a failure summary to stderr: ``n ok, m failed`` and one line per failure."""
    n_fail = len(failures)
    print(f"{n_total - n_fail} of {n_total} processed, {n_fail} failed", file=sys.stderr)
    for name, reason in failures:
        print(f"  FAILED {name}: {reason}", file=sys.stderr)


def exit_code(n_ok: int) -> int:
    """Non-zero only when nothing could be processed."""
    return 0 if n_ok > 0 else 1


def unique_names(names: list[str]) -> list[str]:
    """Make row names unique (``a``, ``a_2``, ...) when two files share a stem."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k + 1}")
    return out


def read_cli_structures(args_paths: list[str]):
    """The structure files a subcommand was given (folders → their ``*.cif``), read robustly.

    Returns ``(paths, names, structures, failures)``: names are unique file stems, failures are
    ``(file, reason)`` pairs for files that could not be read.  No file at all is a user error.
    """

    paths = expand_paths(args_paths)
    if not paths:
        raise UserError(f"no structure files found in {' '.join(args_paths)} (folders are searched for *.cif)")
    names, structures, read_fail = read_structures(paths)
    return paths, unique_names(names), structures, [(f.source, f.reason) for f in read_fail]
