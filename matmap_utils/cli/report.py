"""``matmap report FILE… [-o DIR] [--md-ps PS --temperature K] [--show-code]``: one page per structure.

Executes notebook 07 (the candidate report) with papermill for each structure file (CIF, POSCAR,
or an MP id of the pool such as ``mp-696128``) and writes ``DIR/<name>.html`` — a standalone,
offline page (images embedded, no external script; code hidden unless ``--show-code``) — plus
``DIR/index.html``, a table of all of them.  The map (chapter 02) and the screening ensemble
(chapter 06) are reused; when missing they are trained once, with the chosen ``--profile``.  A bad
file gets one line and the others carry on.
"""

from __future__ import annotations

import sys
from pathlib import Path

from matmap_utils.book import report
from matmap_utils.cli._common import unique_names
from matmap_utils.cli.main import COMMANDS
from matmap_utils.core.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help=COMMANDS["report"], description=__doc__.split("\n\n")[0])
    p.add_argument("structures", nargs="+", metavar="FILE", help="structure files (CIF, POSCAR) or MP ids of the pool")
    p.add_argument("-o", "--output-dir", default="reports", help="folder of the pages (default: ./reports)")
    p.add_argument("--md-ps", type=float, default=0.0, help="CHGNet MD production length in ps (default 0: no MD)")
    p.add_argument("--temperature", type=float, default=800.0, help="MD temperature in K (default 800)")
    p.add_argument("--seed", type=int, default=0, help="seed of the MD velocities")
    p.add_argument("--profile", default="paper", help="profile for the report and for training missing models")
    p.add_argument("--show-code", action="store_true", help="keep the code cells on the pages")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.md_ps < 0 or args.temperature <= 0:
        raise UserError("--md-ps must be >= 0 and --temperature > 0")
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.ensure_models(args.profile)
    params = {"md_ps": float(args.md_ps), "temperature": float(args.temperature), "seed": int(args.seed)}
    names = unique_names([Path(s).stem for s in args.structures])
    rows, failures = [], []
    for k, (spec, name) in enumerate(zip(args.structures, names)):
        print(f"[{k + 1}/{len(names)}] {spec}", file=sys.stderr, flush=True)
        try:
            row = report.report_structure(
                spec, out_dir, profile=args.profile, params=params, show_code=args.show_code, name=name
            )
        except UserError as exc:
            print(f"  FAILED {exc}", file=sys.stderr, flush=True)
            failures.append((spec, str(exc)))
            continue
        print(
            f"  wrote {out_dir / row['html']} ({row['seconds']:.0f} s): {row['verdict']}", file=sys.stderr, flush=True
        )
        rows.append(row)
    index = report.write_index(rows, out_dir, failures)
    print(f"{len(rows)} of {len(names)} reported, {len(failures)} failed; index: {index}", file=sys.stderr)
    return 0 if rows else 1
