"""Use a GPU automatically when one is present; torch's CPU thread count for a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from matmap_utils.core import settings


def torch_device(preference: str | None = "auto"):
    """``"auto"`` → CUDA if available, else MPS, else CPU; ``"cpu"``/``"cuda"`` force a choice.

    ``MATMAP_DEVICE`` overrides the preference (e.g. to force CPU on a GPU machine).
    """

    pref = settings.get("MATMAP_DEVICE") if settings.is_set("MATMAP_DEVICE") else (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(pref)


@contextmanager
def torch_threads(threads: int, device: torch.device | None = None) -> Iterator[None]:
    """Run the block with ``threads`` CPU threads for torch, the previous count restored after.

    No change on an accelerator ``device``, or when ``threads`` is 0 or already the current count.
    One thread makes a fit compute the same bits in this process and in a pool worker (which runs on
    one thread), and small batched products gain nothing from more."""
    if (device is not None and device.type != "cpu") or not threads or threads == torch.get_num_threads():
        yield
        return
    prev = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(prev)
