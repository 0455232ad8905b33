"""Where things live: the repository root, the data mirror, the user cache, results."""

from __future__ import annotations

from pathlib import Path

import pooch

from matmap_utils.core import settings

#: Repository root (the folder holding ``pyproject.toml``) when running from a checkout.
REPO_ROOT = Path(__file__).resolve().parents[2]


def repo_root() -> Path:
    """Return the repository root; ``MATMAP_ROOT`` overrides it."""
    return Path(settings.get("MATMAP_ROOT") or REPO_ROOT).resolve()


def mirror_dir() -> Path | None:
    """The offline data mirror, or ``None`` when there is none.

    ``MATMAP_DATA_MIRROR`` names it explicitly (an empty value disables the mirror);
    otherwise ``../shared/data`` next to the repository root is used when it exists.
    """
    if settings.is_set("MATMAP_DATA_MIRROR"):
        env = settings.get("MATMAP_DATA_MIRROR")
        return Path(env).expanduser().resolve() if env else None
    default = repo_root().parent / "shared" / "data"
    return default if default.is_dir() else None


def cache_dir() -> Path:
    """User cache for downloads and computed intermediates (``MATMAP_CACHE``)."""
    path = settings.get("MATMAP_CACHE") or Path(pooch.os_cache("matmap"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def compute_cache_dir(kind: str) -> Path:
    """Cache folder for one kind of computed result (descriptors, bvse, megnet, ...)."""
    path = cache_dir() / "compute" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
