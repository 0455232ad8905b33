"""``matmap data list | fetch [NAME…] | verify [NAME…]`` — the registered data files."""

from __future__ import annotations

import sys

from matmap_utils.cli.main import COMMANDS
from matmap_utils.data.download import DEFAULT_WORKERS, fetch_missing
from matmap_utils.data.registry import registry, sources, verify


def register(sub) -> None:
    p = sub.add_parser(
        "data",
        help=COMMANDS["data"],
        description="The data registry: every file the book uses, by URL and sha256.",
    )
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    pl = dsub.add_parser("list", help="list datasets (or files with --files)")
    pl.add_argument("--files", action="store_true", help="one line per file instead of per dataset")
    pl.add_argument("prefix", nargs="?", default="", help="only files under this path prefix")
    pl.set_defaults(func=run_list)
    pf = dsub.add_parser("fetch", help="make files available locally (mirror or download), hash-checked")
    pf.add_argument("--jobs", type=int, default=DEFAULT_WORKERS, help="parallel downloads (default %(default)s)")
    pf.add_argument("--retries", type=int, default=3, help="retries of a failed connection (default %(default)s)")
    pf.add_argument("names", nargs="*", help="registered paths or prefixes (default: everything)")
    pf.set_defaults(func=run_fetch)
    pv = dsub.add_parser("verify", help="check every registered file against its sha256")
    pv.add_argument("names", nargs="*", help="registered paths or prefixes (default: everything)")
    pv.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    pv.set_defaults(func=run_verify)


def _select(names: list[str]) -> list[str]:

    reg = registry()
    if not names:
        return list(reg.index)
    out = []
    for n in names:
        hits = [p for p in reg.index if p == n or p.startswith(n.rstrip("/") + "/")]
        if not hits:
            raise ValueError(f"{n!r} matches no registered file (see `matmap data list --files`)")
        out.extend(hits)
    return out


def run_list(args) -> int:

    reg = registry()
    if args.files or args.prefix:
        for r in reg[reg["path"].str.startswith(args.prefix)].itertuples():
            print(f"{r.path}\t{r.bytes}\t{r.sha256}\t{r.license}\t{r.url}")
        return 0
    for key, meta in sources().items():
        rows = reg[reg["source"] == key]
        print(
            f"{key:18s} {len(rows):6d} files {rows['bytes'].sum() / 1e6:8.1f} MB  {meta['licence']:20s} {meta['title']}"
        )
    return 0


def run_fetch(args) -> int:
    """Mirror or cache first; the rest downloaded in parallel (progress bar with files, MB, ETA)."""
    names = _select(args.names)
    table = fetch_missing(names, max_workers=args.jobs, retries=args.retries)
    failed = table[table["status"] == "failed"]
    n_down = int((table["status"] == "downloaded").sum())
    print(
        f"{len(names) - len(failed)} of {len(names)} files available and hash-checked ({n_down} downloaded now)",
        file=sys.stderr,
    )
    for r in failed.head(50).itertuples():
        print(f"  FAILED {r.path}: {r.detail}", file=sys.stderr)
    return 0 if failed.empty else 1


def run_verify(args) -> int:

    names = _select(args.names)
    df = verify(names)
    bad = df[df["status"] != "ok"]
    if not args.quiet:
        for r in df[df["status"] == "ok"].itertuples():
            if len(df) <= 100:
                print(f"ok        {r.path}")
    for r in bad.itertuples():
        print(f"{r.status:9s} {r.path}: {r.detail}")
    print(
        f"{(df['status'] == 'ok').sum()} ok, {(df['status'] == 'MISMATCH').sum()} mismatched, "
        f"{(df['status'] == 'missing').sum()} missing (of {len(df)} registered files)"
    )
    return 0 if bad.empty else 1
