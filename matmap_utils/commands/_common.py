"""Helpers shared by subcommands: writing tables, summarising failures."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


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
