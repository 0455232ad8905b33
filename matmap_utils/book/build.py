"""Building the HTML book with jupyter-book and checking that it is offline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from matmap_utils.book.execute import execute_notebook
from matmap_utils.book.pages import write_generated_pages
from matmap_utils.chapters.declarations import execution_order
from matmap_utils.core.paths import repo_root


def toc_notebooks() -> list[str]:
    """Notebook stems listed in ``_toc.yml`` (as ``book/executed/NN_name``)."""
    toc = (repo_root() / "_toc.yml").read_text()
    return re.findall(r"book/executed/(\d\d_[A-Za-z0-9_]+)", toc)


def build_book(profile: str = "paper", *, force: bool = False, builder: str = "html") -> Path:
    """Execute every notebook of the table of contents (incrementally), write the generated pages,
    and build the HTML with warnings as errors.  Returns the path of ``index.html``."""

    root = repo_root()
    timings = []
    for stem in execution_order(toc_notebooks()):
        res = execute_notebook(stem, profile=profile, force=force)
        state = "executed" if res["executed"] else "up to date"
        secs = res["seconds"]
        print(f"  {stem}: {state}" + (f" ({secs:.0f} s)" if secs is not None else ""), flush=True)
        timings.append({"notebook": stem, "seconds": secs, "executed_now": res["executed"]})
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
