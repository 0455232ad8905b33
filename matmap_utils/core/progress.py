"""Progress bars that go where the user is looking.

``MATMAP_PROGRESS``: ``1`` (default) — tqdm on stderr (a terminal, or a notebook cell when run
interactively); ``0`` — none; ``terminal`` — the *terminal* of the process that started the kernel
(``sys.__stderr__``), never the notebook: ``matmap book`` sets this, so a long loop inside an
executed notebook reports its progress where ``make book`` runs while the rendered page stays clean.
"""

from __future__ import annotations

import sys

from tqdm import tqdm as plain_tqdm
from tqdm.auto import tqdm

from matmap_utils.core import settings


def progress_bar(iterable=None, *, enabled: bool = True, **kwargs):
    """A tqdm bar honouring ``MATMAP_PROGRESS`` (``enabled=False`` or the setting ``0`` disable it)."""
    mode = settings.get("MATMAP_PROGRESS")
    disable = not enabled or not mode or kwargs.pop("disable", False)
    if mode == "terminal":
        # the plain text bar: tqdm.auto would pick the notebook widget inside a kernel, which draws
        # into the cell whatever ``file`` says
        kwargs.setdefault("file", sys.__stderr__)
        kwargs.setdefault("mininterval", 2.0)
        return plain_tqdm(iterable, disable=disable, **kwargs)
    return tqdm(iterable, disable=disable, **kwargs)
