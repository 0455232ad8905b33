"""Every ``MATMAP_*`` environment variable the package reads: declared once, typed, documented.

Code never reads ``os.environ`` for a ``MATMAP_*`` name directly; it calls :func:`get`, which
parses the variable *at call time* (so a test or a notebook may set it after import).  The
README's table of environment variables is checked against :data:`VARIABLES` by a test.

>>> get("MATMAP_DEVICE")  # doctest: +SKIP
'auto'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _switch_default_on(text: str) -> bool:
    return text.strip().lower() not in _OFF


def _switch_default_off(text: str) -> bool:
    return text.strip().lower() in _ON


def _progress_mode(text: str) -> bool | str:
    return "terminal" if text.strip().lower() == "terminal" else _switch_default_on(text)


def _nonempty(text: str) -> bool:
    return bool(text.strip())


def _positive_int_or_none(text: str) -> int | None:
    return max(1, int(text)) if text.strip() else None


def _threads(text: str) -> int:
    return max(0, int(text)) if text.strip() else 0


def _text_or_none(text: str) -> str | None:
    return text.strip() or None


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, how its text is parsed, its default, what it means."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    meaning: str
    shown_default: str = ""

    def get(self) -> Any:
        text = os.environ.get(self.name)
        return self.default if text is None else self.parse(text)


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "MATMAP_DATA_MIRROR",
        _text_or_none,
        "",  # unset: ../shared/data next to the repository when present (see core.paths.mirror_dir)
        "offline mirror of the registered files (empty: none)",
        "`../shared/data` if present",
    ),
    Variable("MATMAP_CACHE", _path, None, "downloads and computed intermediates", "user cache dir"),
    Variable(
        "MATMAP_DATA_URL_BASE",
        _text_or_none,
        None,
        "replaces the scheme and host of every registered URL (a private copy of the public files)",
        "unset",
    ),
    Variable("MATMAP_OFFLINE", _switch_default_off, False, "`1`: never download", "unset"),
    Variable(
        "MATMAP_SHARED_ASSETS",
        _switch_default_off,
        False,
        "`1`: pages load the book's one copy of plotly.js and of the itables bundle from "
        "`book/_static` instead of embedding them (set by `matmap book` for its kernels only: a "
        "notebook opened elsewhere keeps its figures working offline)",
        "unset",
    ),
    Variable("MATMAP_ROOT", _path, None, "the repository root (notebooks/, params/, data/)", "this checkout"),
    Variable("MATMAP_RESULTS", _path, None, "where notebooks write metrics.json and tables", "`results/`"),
    Variable("MATMAP_N_JOBS", _positive_int_or_none, None, "worker processes for per-structure work", "all cores"),
    Variable(
        "MATMAP_MP_START",
        _text_or_none,
        None,
        "multiprocessing start method of the worker pools (`fork`, `forkserver`, `spawn`)",
        "`fork` on Linux",
    ),
    Variable(
        "MATMAP_PROGRESS",
        _progress_mode,
        True,
        "`0`: no progress bars; `terminal`: bars go to the terminal that runs the kernel, never into "
        "the notebook (set by `matmap book`)",
        "`1`",
    ),
    Variable("MATMAP_DEBUG", _nonempty, False, "any value: show full tracebacks instead of one-line errors", "unset"),
    Variable(
        "MATMAP_DEVICE",
        lambda t: t.strip().lower() or "auto",
        "auto",
        "torch device (`cpu`, `cuda`); a GPU is used automatically when present",
        "`auto`",
    ),
    Variable(
        "MATMAP_RAY_ADDRESS",
        _text_or_none,
        None,
        "Ray cluster for per-structure work (parallel_map, `matmap screen --pool`) and the AtomSets "
        "hyperparameter search; `auto` = the running cluster of this machine (unset: local processes, "
        "and a local Ray instance for the search)",
        "unset",
    ),
    Variable(
        "MATMAP_MEGNET_THREADS",
        _threads,
        0,
        "torch CPU threads for MEGNet inference; 0 = automatic (times 1 thread against all cores on "
        "the first batches and keeps the faster)",
        "automatic",
    ),
    Variable(
        "MATMAP_MEGNET_REDUCE",
        _switch_default_on,
        True,
        "evaluate MEGNet on the quotient graph of equivalent atoms (same results up to float32 "
        "rounding); `0` runs the full graph",
        "`1`",
    ),
    Variable(
        "MATMAP_MEGNET_FUSED",
        _switch_default_on,
        True,
        "numba kernels that fuse bias + softplus in MEGNet; `0` uses torch ops",
        "`1`",
    ),
)

_BY_NAME = {v.name: v for v in VARIABLES}


def get(name: str) -> Any:
    """The parsed value of the ``MATMAP_*`` variable ``name`` (its default when unset)."""
    try:
        return _BY_NAME[name].get()
    except KeyError:
        raise KeyError(f"{name} is not a declared matmap setting; declare it in core/settings.py") from None


def is_set(name: str) -> bool:
    """Whether ``name`` is present in the environment (even when empty)."""
    if name not in _BY_NAME:
        raise KeyError(f"{name} is not a declared matmap setting")
    return name in os.environ


@contextmanager
def override(name: str, value: str) -> Iterator[None]:
    """Set the declared variable ``name`` to ``value`` in the environment inside the block (child
    processes — notebook kernels — inherit it); restore what was there afterwards."""
    if name not in _BY_NAME:
        raise KeyError(f"{name} is not a declared matmap setting")
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def markdown_table() -> str:
    """The README's table of environment variables."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.shown_default} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(rows)
