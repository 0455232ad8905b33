"""What a notebook leaves behind: ``results/NN_name/metrics.json`` and its main tables."""

from __future__ import annotations

import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd

from matmap_utils.chapters.declarations import chapter
from matmap_utils.core import settings
from matmap_utils.core.cache import atomic_write_json, atomic_write_parquet
from matmap_utils.core.paths import repo_root


def results_dir(notebook: str) -> Path:
    """``results/<notebook>/`` under the repository root (``MATMAP_RESULTS`` overrides the root)."""
    base = settings.get("MATMAP_RESULTS") or repo_root() / "results"
    path = base / notebook
    path.mkdir(parents=True, exist_ok=True)
    return path


class Timer:
    """Wall-clock timer started at notebook start; ``Timer().elapsed`` in seconds."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None


def write_metrics(
    notebook: str, metrics: dict[str, Any], *, profile: str, seed: int | None, wall_time_s: float
) -> Path:
    """Write ``results/<notebook>/metrics.json`` with the profile, seed, wall time and environment."""
    payload = dict(metrics)
    payload.update(
        {
            "notebook": notebook,
            "profile": profile,
            "seed": seed,
            "wall_time_s": round(float(wall_time_s), 2),
            "git_commit": git_commit(),
            "python": platform.python_version(),
        }
    )
    return atomic_write_json(results_dir(notebook) / "metrics.json", payload)


def write_table(notebook: str, name: str, df: pd.DataFrame) -> Path:
    """Save a notebook's main table as parquet (and CSV for people) under ``results/<notebook>/``."""
    out = results_dir(notebook) / f"{name}.parquet"
    atomic_write_parquet(out, df)
    df.to_csv(out.with_suffix(".csv"))
    return out


def read_upstream(notebook: str, upstream: str, name: str) -> pd.DataFrame:
    """Table ``name`` of chapter ``upstream``, read by chapter ``notebook`` — refused unless
    ``notebook`` declares that it reads ``upstream`` (:mod:`matmap_utils.chapters.declarations`),
    so the book's dependency graph cannot drift from what the notebooks really read."""
    if upstream not in chapter(notebook).reads:
        raise ValueError(
            f"{notebook} reads results of {upstream} but does not declare it; add it to "
            f"Chapter({notebook!r}).reads in matmap_utils/chapters/declarations.py"
        )
    return read_table(upstream, name)


def upstream_file(notebook: str, upstream: str, name: str) -> Path:
    """A file (e.g. a JSON scaler) written by ``upstream`` into its results folder; same rule as
    :func:`read_upstream`."""
    if upstream not in chapter(notebook).reads:
        raise ValueError(f"{notebook} reads {upstream}/{name} but does not declare {upstream} as upstream")
    path = results_dir(upstream) / name
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run notebook {upstream} first (`matmap run {upstream}`)")
    return path


def read_table(notebook: str, name: str) -> pd.DataFrame:
    """Read a table written by :func:`write_table`; a clear error says which notebook to run first."""
    path = results_dir(notebook) / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run notebook {notebook} first (e.g. `matmap run {notebook}`)")
    return pd.read_parquet(path)


def savefig(fig, notebook: str, name: str) -> None:
    """Save a matplotlib figure as PNG under ``results/<notebook>/figures/`` (returns nothing, so a
    notebook cell ending with it shows the figure and no file path)."""

    out = results_dir(notebook) / "figures" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
