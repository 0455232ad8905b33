"""Use a GPU automatically when one is present."""

from __future__ import annotations

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
