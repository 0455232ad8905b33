"""``matmap book [--profile ci|paper]`` — execute the notebooks (incrementally) and build the HTML."""

from __future__ import annotations

import sys
import time

from matmap_utils.book.build import build_book
from matmap_utils.book.execute import NotebookFailed
from matmap_utils.cli.main import COMMANDS


def register(sub) -> None:
    p = sub.add_parser("book", help=COMMANDS["book"])
    p.add_argument("--profile", default="paper", help="params/<profile>.yaml (default: paper)")
    p.add_argument("--force", action="store_true", help="re-execute every notebook")
    p.set_defaults(func=run)


def run(args) -> int:

    t0 = time.perf_counter()
    try:
        index = build_book(profile=args.profile, force=args.force)
    except NotebookFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"matmap book: {exc}", file=sys.stderr)
        return 1
    print(f"book built in {time.perf_counter() - t0:.0f} s: {index}")
    return 0
