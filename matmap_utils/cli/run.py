"""``matmap run NOTEBOOK [-p NAME VALUE]… [-f params.yaml] [--profile ci|paper]`` — batch execution."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from matmap_utils.book.execute import NotebookFailed, execute_notebook
from matmap_utils.cli.main import COMMANDS


def _literal(text: str):
    """``-p`` values: YAML literals (numbers, booleans, lists) or plain strings."""

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help=COMMANDS["run"],
        description="Execute notebooks/NN_name.py with papermill (the batch entry point for "
        "your own CI). Parameters: the profile's `_all` and notebook sections, then "
        "-f FILE, then -p NAME VALUE.",
    )
    p.add_argument("notebook", help="e.g. 01_descriptors, 01, or notebooks/01_descriptors.py")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    p.add_argument("-f", "--parameters-file", help="YAML file of parameters (flat, or with notebook sections)")
    p.add_argument("--profile", default="paper", help="params/<profile>.yaml (default: paper)")
    p.add_argument("-o", "--output-dir", help="write the executed notebook here instead of book/executed/")
    p.add_argument("--force", action="store_true", help="execute even when the inputs are unchanged")
    p.add_argument("--log-output", action="store_true", help="stream the notebook's output")
    p.set_defaults(func=run)


def run(args) -> int:

    overrides = {name: _literal(value) for name, value in args.parameter}
    try:
        res = execute_notebook(
            args.notebook,
            profile=args.profile,
            overrides=overrides,
            extra_file=args.parameters_file,
            output_dir=Path(args.output_dir) if args.output_dir else None,
            force=args.force,
            log_output=args.log_output,
        )
    except NotebookFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    state = "executed" if res["executed"] else "up to date (inputs unchanged; --force to rerun)"
    print(f"{res['notebook']}: {state} -> {res['output']}" + (f" in {res['seconds']:.0f} s" if res["executed"] else ""))
    return 0
