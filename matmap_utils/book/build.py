"""Building the HTML book with jupyter-book and checking that it is offline."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from matmap_utils.book.execute import execute_notebook, recorded_seconds
from matmap_utils.book.pages import write_generated_pages
from matmap_utils.chapters.declarations import execution_order, page_source
from matmap_utils.core import settings
from matmap_utils.core.paths import repo_root
from matmap_utils.viz import write_itables_js, write_plotly_js


def toc_notebooks() -> list[str]:
    """Notebook stems listed in ``_toc.yml`` (as ``book/executed/NN_name``)."""
    toc = (repo_root() / "_toc.yml").read_text()
    return re.findall(r"book/executed/(\d\d_[A-Za-z0-9_]+)", toc)


def typical_seconds(profile: str) -> dict[str, float]:
    """Shipped typical cold wall times per notebook (``params/timings.yaml``) for ``profile``."""
    path = repo_root() / "params" / "timings.yaml"
    table = yaml.safe_load(path.read_text()) if path.exists() else {}
    return {k: float(v) for k, v in (table.get(profile) or {}).items()}


def expected_seconds(stems: list[str], profile: str) -> dict[str, float | None]:
    """Expected wall time of each notebook: this machine's last run of the profile, else the
    shipped typical time, else None (unknown)."""
    typical = typical_seconds(profile)
    out = {}
    for stem in stems:
        rec = recorded_seconds(stem, profile)
        out[stem] = rec if rec is not None else typical.get(stem)
    return out


def _fmt_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def eta_line(k: int, stems: list[str], expected: dict[str, float | None], elapsed: float) -> str:
    """``[k/n] NN_name — typically … ; about … left for the build`` (unknown times count as 0)."""
    stem = stems[k]
    left = sum(expected[s] or 0.0 for s in stems[k:])
    typ = expected[stem]
    return (
        f"[{k + 1}/{len(stems)}] {stem}: running"
        + (f" (typically {_fmt_duration(typ)}" if typ is not None else " (no recorded time")
        + f"; about {_fmt_duration(left)} left, {_fmt_duration(elapsed)} so far)"
    )


def execute_all(profile: str = "paper", *, force: bool = False, stems: list[str] | None = None) -> list[dict]:
    """Execute the book's notebooks in dependency order, incrementally, printing each notebook as
    it starts (with an ETA for the whole build) and ends (with its wall time and whether it
    computed intermediates — cold — or found them all cached — warm).  An interrupted build
    resumes: finished notebooks are skipped by their stamps, and the interrupted one reuses every
    intermediate it had cached."""
    stems = execution_order(stems or toc_notebooks())
    write_plotly_js()  # pages then load the book's one copy instead of inlining 4.6 MB each
    write_itables_js()  # and itables' offline bundle (≈ 1 MB a page with a table)
    expected = expected_seconds(stems, profile)
    t_build = time.perf_counter()
    timings = []
    for k, stem in enumerate(stems):
        print(eta_line(k, stems, expected, time.perf_counter() - t_build), flush=True)
        notebook, overrides = page_source(stem)
        with settings.override("MATMAP_SHARED_ASSETS", "1"):  # kernels' pages load the copies written above
            res = execute_notebook(notebook, profile=profile, force=force, overrides=overrides, output_name=stem)
        secs = res["seconds"]
        if res["executed"]:
            load = res.get("load_average") or {}
            done = (
                f"executed in {_fmt_duration(secs)} ({res['cache']}; load average {load.get('mean', float('nan')):.1f})"
            )
        else:
            done = "up to date (inputs unchanged)"
            expected[stem] = 0.0
        print(f"[{k + 1}/{len(stems)}] {stem}: {done}", flush=True)
        timings.append(
            {"notebook": stem, "seconds": secs, "executed_now": res["executed"], "load": res.get("load_average")}
        )
    print(f"all {len(stems)} notebooks done in {_fmt_duration(time.perf_counter() - t_build)}", flush=True)
    return timings


def build_book(profile: str = "paper", *, force: bool = False, builder: str = "html") -> Path:
    """Execute every notebook of the table of contents (:func:`execute_all`), write the generated
    pages, and build the HTML with warnings as errors.  Returns the path of ``index.html``."""
    root = repo_root()
    timings = execute_all(profile, force=force)
    write_generated_pages(profile=profile, timings=timings)
    cmd = [sys.executable, "-m", "jupyter_book", "build", str(root), "-n", "-W", "--keep-going", "--builder", builder]
    jb = Path(sys.executable).with_name("jupyter-book")
    if jb.exists():
        cmd = [str(jb), "build", str(root), "-n", "-W", "--keep-going", "--builder", builder]
    proc = subprocess.run(cmd, cwd=root)
    if proc.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed (exit {proc.returncode}); see the warnings above")
    index = root / "_build" / "html" / "index.html"
    check_offline_html(root / "_build" / "html")
    return index


_EXTERNAL = re.compile(r"""<(script|link)\b[^>]*(?:src|href)\s*=\s*["'](https?:)?//[^"']+["'][^>]*>""", re.I)


def external_assets(html_dir: Path) -> list[tuple[str, str]]:
    """(page, tag) for every ``<script src>`` / ``<link href>`` pointing at an external http(s) URL."""
    hits = []
    for page in sorted(Path(html_dir).rglob("*.html")):
        text = page.read_text(errors="replace")
        for m in _EXTERNAL.finditer(text):
            tag = m.group(0)
            if m.group(1).lower() == "link" and not re.search(
                r"rel\s*=\s*[\"']?(stylesheet|preload|modulepreload)", tag, re.I
            ):
                continue
            hits.append((str(page.relative_to(html_dir)), tag[:200]))
    return hits


def check_offline_html(html_dir: Path) -> None:
    hits = external_assets(html_dir)
    if hits:
        listing = "\n".join(f"  {p}: {t}" for p, t in hits[:20])
        raise RuntimeError(f"the HTML references external scripts/stylesheets ({len(hits)}):\n{listing}")
