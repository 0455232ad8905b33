"""Where things live: the repository root, the data mirror, the user cache, results."""

from __future__ import annotations

import os
from pathlib import Path

import pooch

#: Repository root (the folder holding ``pyproject.toml``) when running from a checkout.
REPO_ROOT = Path(__file__).resolve().parents[2]


def repo_root() -> Path:
    """Return the repository root; ``MATMAP_ROOT`` overrides it."""
    return Path(os.environ.get("MATMAP_ROOT", REPO_ROOT)).resolve()


def mirror_dir() -> Path | None:
    """The offline data mirror, or ``None`` when there is none.

    ``MATMAP_DATA_MIRROR`` names it explicitly (an empty value disables the mirror);
    otherwise ``../shared/data`` next to the repository root is used when it exists.
    """
    env = os.environ.get("MATMAP_DATA_MIRROR")
    if env is not None:
        return Path(env).expanduser().resolve() if env.strip() else None
    default = repo_root().parent / "shared" / "data"
    return default if default.is_dir() else None


def cache_dir() -> Path:
    """User cache for downloads and computed intermediates (``MATMAP_CACHE``)."""
    env = os.environ.get("MATMAP_CACHE")
    path = Path(env).expanduser() if env else Path(pooch.os_cache("matmap"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def compute_cache_dir(kind: str) -> Path:
    """Cache folder for one kind of computed result (descriptors, bvse, megnet, ...)."""
    path = cache_dir() / "compute" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
