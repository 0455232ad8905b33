"""``matmap`` — the command-line entry point.

Subcommands live in :mod:`matmap_utils.cli`, one module each, and are discovered
automatically: a module there defines ``register(subparsers)``, adding its parser and setting
``func`` (called with the parsed ``args``; it returns the exit code).

Errors a user can cause (a bad file, a missing model) are printed as one line, not a traceback;
set ``MATMAP_DEBUG=1`` to see tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from matmap_utils import __version__
from matmap_utils import cli as cli_package
from matmap_utils.core.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="matmap",
        description="matmap: materials maps, AIMD analysis and superionic screening of Li-ion conductors.",
    )
    parser.add_argument("--version", action="version", version=f"matmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "main":
            continue
        module = importlib.import_module(f"{cli_package.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        rc = args.func(args)
    except (UserError, FileNotFoundError, ValueError) as exc:
        if os.environ.get("MATMAP_DEBUG"):
            raise
        print(f"matmap {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
