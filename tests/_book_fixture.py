"""Session fixtures shared by the slow book tests: every notebook executed once with the CI
profile (``ci_notebooks``), and the Jupyter Book built from those executions (``ci_book_html``),
both in temporary folders — the repository's ``book/executed``, ``results`` and ``_build`` are
never touched.  ``tests/conftest.py`` imports them, so that the smoke test of the notebooks and the
browser check of the rendered book share one execution."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from matmap_utils.book import build, execute, pages
from matmap_utils.chapters import declarations
from matmap_utils.viz import write_itables_js, write_plotly_js

REPO = Path(__file__).resolve().parent.parent
#: Top-level entries of the repository that the temporary book source does not link to.
_NOT_LINKED = {"book", "_build", ".venv", "results", ".cache", ".pytest_cache", ".matmap_state"}


@dataclass
class CiRun:
    """Where the CI-profile execution went: executed pages (``<page>.ipynb``), results, the
    failures (page → traceback tail), the ``metrics.json`` each page wrote (page → path, None
    when it wrote none) and the wall time of each page (s)."""

    executed: Path
    results: Path
    failures: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Path | None] = field(default_factory=dict)
    timings: list[dict] = field(default_factory=list)


def ci_pages() -> list[str]:
    """What one CI session executes, in dependency order: every page of the book's table of
    contents (a page variant runs its notebook with the variant's parameters), then every
    notebook that no page of the book runs."""
    pages = declarations.execution_order(build.toc_notebooks())
    covered = {declarations.page_source(p)[0] for p in pages}
    return pages + [nb.stem for nb in execute.all_notebooks() if nb.stem not in covered]


def _new_metrics(folder: Path, since: float) -> Path | None:
    """The ``metrics.json`` under ``folder`` written at or after ``since`` (epoch s), if any."""
    fresh = [m for m in folder.rglob("metrics.json") if m.stat().st_mtime >= since] if folder.exists() else []
    return max(fresh, key=lambda m: m.stat().st_mtime) if fresh else None


@pytest.fixture(scope="session")
def ci_notebooks(tmp_path_factory) -> CiRun:
    """Execute every page of the book (and every notebook) with the CI profile, once per session."""
    base = tmp_path_factory.mktemp("ci_notebooks")
    run = CiRun(executed=base / "executed", results=base / "results")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MATMAP_RESULTS", str(run.results))
        # kernels draw figures inline, as for a reader: MPLBACKEND=Agg (.ci/run exports it) would
        # make every plt.show() print nothing and leave the book without its figures
        mp.delenv("MPLBACKEND", raising=False)
        # as `matmap book` runs them: pages load the book's one plotly.js and itables bundle
        mp.setenv("MATMAP_SHARED_ASSETS", "1")
        write_plotly_js()
        write_itables_js()
        for page in ci_pages():
            notebook, overrides = declarations.page_source(page)
            since = time.time() - 1.0  # file systems with coarse mtimes
            try:
                res = execute.execute_notebook(
                    notebook, profile="ci", overrides=overrides, output_dir=run.executed, force=True, output_name=page
                )
            except execute.NotebookFailed as exc:
                run.failures[page] = str(exc)[-3000:]
                continue
            run.metrics[page] = _new_metrics(run.results / notebook, since)
            run.timings.append({"notebook": page, "seconds": res["seconds"], "executed_now": True})
    return run


def _book_source(src: Path, run: CiRun) -> None:
    """A book source tree at ``src``: the repository's files linked, ``book/`` copied, the CI
    executions in ``book/executed``, plotly.js and the generated pages written there."""
    src.mkdir(parents=True)
    for entry in REPO.iterdir():
        if entry.name not in _NOT_LINKED:
            (src / entry.name).symlink_to(entry)
    shutil.copytree(REPO / "book", src / "book", ignore=shutil.ignore_patterns("executed", "_build"))
    (src / "book" / "executed").mkdir()
    for page in build.toc_notebooks():
        shutil.copy2(run.executed / f"{page}.ipynb", src / "book" / "executed" / f"{page}.ipynb")
    write_plotly_js(src / "book" / "_static")
    write_itables_js(src / "book" / "_static")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MATMAP_ROOT", str(src))
        mp.setenv("MATMAP_RESULTS", str(run.results))
        pages.write_generated_pages(profile="ci", timings=run.timings)


@pytest.fixture(scope="session")
def ci_book_html(ci_notebooks, tmp_path_factory) -> Path:
    """The HTML folder of the book built (``jupyter-book build -n -W --keep-going``, as
    ``matmap book`` does) from the session's CI-profile executions."""
    if ci_notebooks.failures:
        pytest.fail(f"cannot build the book: notebooks failed ({', '.join(ci_notebooks.failures)})")
    src = tmp_path_factory.mktemp("ci_book") / "src"
    _book_source(src, ci_notebooks)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb)] if jb.exists() else [sys.executable, "-m", "jupyter_book"]
    proc = subprocess.run(
        [*cmd, "build", str(src), "-n", "-W", "--keep-going", "--builder", "html"],
        cwd=src,
        capture_output=True,
        text=True,
        env={**os.environ, "MATMAP_RESULTS": str(ci_notebooks.results)},
    )
    if proc.returncode != 0:
        pytest.fail(f"jupyter-book build failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    html = src / "_build" / "html"
    build.check_offline_html(html)
    return html
