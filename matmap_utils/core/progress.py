"""Progress bars that go where the user is looking.

``MATMAP_PROGRESS``: ``1`` (default) — tqdm on stderr (a terminal, or a notebook cell when run
interactively); ``0`` — none; ``terminal`` — the *terminal* of the process that started the kernel
(:func:`terminal_stream`; no bar when there is none), never the notebook: ``matmap book`` sets this, so a long loop inside an
executed notebook reports its progress where ``make book`` runs while the rendered page stays clean.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm as plain_tqdm
from tqdm.auto import tqdm

from matmap_utils.core import settings

_TERMINAL: list = []


def terminal_stream():
    """The terminal that started this process, or None.  Inside a Jupyter kernel, ipykernel
    redirects file descriptor 2 into the notebook (so ``sys.__stderr__`` writes into the page);
    its copy of the original descriptor is the terminal.  Anything that is not a TTY: None."""
    if not _TERMINAL:
        stream = None
        fd = getattr(sys.stderr, "_original_stdstream_copy", None)
        try:
            if fd is not None:
                stream = os.fdopen(os.dup(fd), "w") if os.isatty(fd) else None
            elif sys.__stderr__ is not None and sys.__stderr__.isatty():
                stream = sys.__stderr__
        except (OSError, ValueError):
            stream = None
        _TERMINAL.append(stream)
    return _TERMINAL[0]


def progress_bar(iterable=None, *, enabled: bool = True, **kwargs):
    """A tqdm bar honouring ``MATMAP_PROGRESS`` (``enabled=False`` or the setting ``0`` disable it)."""
    mode = settings.get("MATMAP_PROGRESS")
    disable = not enabled or not mode or kwargs.pop("disable", False)
    if mode == "terminal":
        # a plain text bar on the terminal (tqdm.auto would pick the notebook widget inside a
        # kernel, which draws into the cell whatever ``file`` says); no terminal: no bar
        term = terminal_stream()
        kwargs.setdefault("file", term)
        kwargs.setdefault("mininterval", 2.0)
        return plain_tqdm(iterable, disable=disable or term is None, **kwargs)
    return tqdm(iterable, disable=disable, **kwargs)
