"""Shared fixtures: an isolated cache, and a throw-away mirror/registry for data-layer tests."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest

# session fixtures: the notebooks executed once with the CI profile and the book built from them,
# shared by tests/test_notebooks.py (smoke run), tests/test_browser.py (the rendered book) and
# tests/test_report.py (matmap report on the CI models)
from _book_fixture import ci_book_html, ci_notebooks  # noqa: F401

REPO = Path(__file__).resolve().parent.parent


def mirror_available() -> bool:
    from matmap_utils.core.paths import mirror_dir

    return mirror_dir() is not None


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="the offline data mirror (../shared/data) is not present")
    if not mirror_available():
        for item in items:
            if "mirror" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """Point MATMAP_CACHE at a fresh folder (the user's cache is never touched by such tests)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MATMAP_CACHE", str(cache))
    return cache


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """A minimal repository root with its own registry over a tiny fake mirror.

    Returns a helper ``add(path, content, url=None)`` that writes a mirror file and registers it
    (optionally with a wrong hash), then refreshes the registry cache.
    """
    from matmap_utils.data import registry

    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (root / "data" / "sources.yaml").write_text(
        "demo:\n  prefix: demo/\n  title: Demo\n  licence: CC0\n  description: d\n  citation: c\n"
    )
    rows: list[str] = []

    def add(
        path: str,
        content: bytes,
        *,
        in_mirror: bool = True,
        sha: str | None = None,
        url: str = "https://invalid.example/none",
    ):
        if in_mirror:
            target = mirror / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        digest = sha or hashlib.sha256(content).hexdigest()
        rows.append(f"{path}\t{len(content)}\t{digest}\t{url}\tCC0\tdemo")
        with gzip.open(root / "data" / "registry.tsv.gz", "wt") as fh:
            fh.write("path\tbytes\tsha256\turl\tlicense\tsource\n" + "\n".join(rows) + "\n")
        registry.registry.cache_clear()
        registry.sources.cache_clear()
        return mirror / path

    monkeypatch.setenv("MATMAP_ROOT", str(root))
    monkeypatch.setenv("MATMAP_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MATMAP_OFFLINE", "1")
    yield add
    registry.registry.cache_clear()
    registry.sources.cache_clear()


@pytest.fixture(scope="module")
def private_ray():
    """A private Ray instance on 127.0.0.1 with 2 CPUs for one test module, stopped by this
    fixture's own handle (``MATMAP_RAY_ADDRESS`` is set aside meanwhile)."""
    pytest.importorskip("ray")
    from matmap_utils.core.backends import ray_session

    saved = os.environ.pop("MATMAP_RAY_ADDRESS", None)
    session = ray_session(None, num_cpus=2)
    session.__enter__()
    try:
        yield session
    finally:
        session.__exit__(None, None, None)
        if saved is not None:
            os.environ["MATMAP_RAY_ADDRESS"] = saved
