"""``matmap`` — the command-line entry point.

Subcommands live in :mod:`matmap_utils.cli`, one module each, listed in :data:`COMMANDS`: a module
there defines ``register(subparsers)``, adding its parser and setting ``func`` (called with the
parsed ``args``; it returns the exit code).  To add a command, add its module and a line to
:data:`COMMANDS`.

Errors a user can cause (a bad file, a missing model) are printed as one line, not a traceback;
set ``MATMAP_DEBUG=1`` to see tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from matmap_utils import __version__
from matmap_utils.core import settings
from matmap_utils.core.errors import UserError

COMMANDS = {
    "book": "execute every notebook and build the Jupyter Book (offline HTML)",
    "data": "list, fetch or verify the registered data files",
    "describe": "compositional and structural descriptors of CIFs",
    "diffusion": "diffusion coefficient (and VDOS descriptors) from MD trajectories",
    "map": "place structures on a trained autoencoder materials map (x_comp, x_struct, ME)",
    "md": "NVT MD with the CHGNet universal potential (writes extended XYZ with velocities)",
    "megnet": "MEGNet formation energy, band gap and site features (V0..V3) of structures",
    "migrate": "Li migration energies (BVSE percolation barriers) of CIFs",
    "report": "a candidate report (notebook 07) per structure: offline HTML pages and an index",
    "run": "execute one notebook with papermill into book/executed/",
    "screen": "predict P(superionic) with the AtomSets ensemble",
}
"""Every subcommand (a module of this package of the same name) and its one-line help."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``matmap`` parser.  Only ``command``'s module is imported and registered in full (its
    imports — torch, pymatgen — take seconds); the others appear in ``--help`` by name and help."""
    parser = argparse.ArgumentParser(
        prog="matmap",
        description="matmap: materials maps, AIMD analysis and superionic screening of Li-ion conductors.",
    )
    parser.add_argument("--version", action="version", version=f"matmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_ in COMMANDS.items():
        if name == command:
            importlib.import_module(f"matmap_utils.cli.{name}").register(sub)
        else:
            sub.add_parser(name, help=help_, add_help=False)
    return parser


def _command_of(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        rc = args.func(args)
    except (UserError, FileNotFoundError, ValueError) as exc:
        if settings.get("MATMAP_DEBUG"):
            raise
        print(f"matmap {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
