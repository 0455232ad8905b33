"""``matmap report``: notebook 07 executed for each structure, one standalone offline HTML page each.

* :func:`ensure_models` — the map (chapter 02) and the screening ensemble (chapter 06) a report
  reads; a missing one is produced once by running its chapter (and the chapters it reads);
* :func:`report_structure` — papermill on ``notebooks/07_candidate_report.py`` for one file, then
  nbconvert to a single HTML file (images embedded, code hidden unless asked, no external script);
* :func:`write_index` — ``index.html``: one row per report (formula, P_SI, Eg, E_3D, verdict, link).
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
import unicodedata
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from matmap_utils.book.build import eta_line, expected_seconds, external_assets
from matmap_utils.book.execute import NotebookFailed, execute_notebook
from matmap_utils.chapters import ch07_candidate_report as ch07
from matmap_utils.chapters.declarations import execution_order, upstream_of
from matmap_utils.chapters.results import results_dir
from matmap_utils.core.errors import UserError
from matmap_utils.core.paths import repo_root

#: what a report reads from each upstream chapter's results folder
UPSTREAM_FILES = {
    ch07.MAP_NB: ("metrics.json", "map_coordinates.parquet", "map_inputs.parquet"),
    ch07.SCREEN_NB: ("metrics.json",),
}


def missing_chapters() -> list[str]:
    """Upstream chapters of the report whose results (or, for 06, whose saved ensemble) are missing."""
    missing = []
    for nb, files in UPSTREAM_FILES.items():
        folder = results_dir(nb)
        if not all((folder / f).exists() for f in files):
            missing.append(nb)
            continue
        if nb == ch07.SCREEN_NB:
            model_dir = json.loads((folder / "metrics.json").read_text()).get("model_dir")
            if not model_dir or not (Path(model_dir) / "config.json").exists():
                missing.append(nb)
    return missing


def ensure_models(profile: str) -> list[str]:
    """Run, once, the chapters whose models a report needs and that are missing (with the
    chapters they read when those are missing too), printing a progress line with an ETA for
    each; returns the chapters run."""
    missing = missing_chapters()
    if not missing:
        return []
    todo = set(missing)
    for nb in missing:  # an upstream's own upstream (02 reads 01) runs first when its results are absent
        todo |= {up for up in upstream_of(nb) if not (results_dir(up) / "metrics.json").exists()}
    stems = execution_order(sorted(todo))
    print(
        f"matmap report: the models are not trained yet ({', '.join(missing)}); training them once with the "
        f"{profile} profile — later reports reuse them",
        file=sys.stderr,
        flush=True,
    )
    expected = expected_seconds(stems, profile)
    t0 = time.perf_counter()
    for k, stem in enumerate(stems):
        print(eta_line(k, stems, expected, time.perf_counter() - t0), file=sys.stderr, flush=True)
        try:
            execute_notebook(stem, profile=profile)
        except NotebookFailed as exc:
            raise UserError(f"training the report's models failed in {stem}: {str(exc).splitlines()[0]}") from None
    return stems


_SCRIPT_SRC = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["'](?:https?:)?//[^"']*["'][^>]*>\s*</script>|<script\b[^>]*\bsrc\s*=\s*["']\s*["'][^>]*>\s*</script>""",
    re.I,
)
_REMOTE_MODULE = re.compile(
    r"<script\b[^>]*type=[\"']module[\"'][^>]*>(?:(?!</script>).)*?https?://(?:(?!</script>).)*?</script>", re.I | re.S
)


def offline_html(text: str) -> str:
    """Remove every script nbconvert would load from the network (require.js, MathJax, mermaid)."""
    return _REMOTE_MODULE.sub("", _SCRIPT_SRC.sub("", text))


_BIB_ENTRY = re.compile(r"@\w+\{(?P<key>[^,]+),(?P<body>.*?)\n\}", re.S)
_CITE = re.compile(r"\{cite\}`([^`]+)`")


def citation_labels(bib: Path | None = None) -> dict[str, str]:
    """``key`` → ``"Surname et al. Year (doi:…)"`` from the book's ``references.bib``."""
    bib = bib or repo_root() / "book" / "references.bib"
    out = {}
    text = bib.read_text(encoding="utf-8") if bib.exists() else ""
    text = re.sub(r"\{\\'(\w)\}", lambda m: unicodedata.normalize("NFC", m.group(1) + "\u0301"), text)
    for m in _BIB_ENTRY.finditer(text):
        body = m.group("body")
        author = re.search(r"author\s*=\s*\{([^,}]+)", body)
        year = re.search(r"year\s*=\s*\{(\d+)", body)
        doi = re.search(r"doi\s*=\s*\{([^}]+)", body)
        surname = re.sub(r"[{}\\']", "", author.group(1)).strip() if author else m.group("key")
        label = f"{surname} et al. {year.group(1) if year else ''}".strip()
        out[m.group("key").strip()] = label + (f" (doi:{doi.group(1)})" if doi else "")
    return out


_ADMONITION = re.compile(r"```\{(note|warning|tip|important)\}\n(.*?)\n```", re.S)


def readable_citations(nb, labels: dict[str, str]) -> None:
    """Make the book's MyST markdown plain for a standalone page: ``{cite}`key``` roles become
    "(Surname et al. Year (doi))" (no bibliography to link to) and ``{note}``/``{warning}``
    admonitions (the profile banner) become block quotes."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = _CITE.sub(
                lambda m: "(" + "; ".join(labels.get(k.strip(), k.strip()) for k in m.group(1).split(",")) + ")",
                cell.source,
            )
            cell.source = _ADMONITION.sub(lambda m: f"> **{m.group(1).capitalize()}.** {m.group(2)}", text)


def export_html(ipynb: Path, out: Path, *, show_code: bool = False) -> Path:
    """One standalone HTML page of an executed notebook: images embedded, no external asset,
    inputs hidden unless ``show_code``, citations written out."""
    nb = nbformat.read(str(ipynb), as_version=4)
    readable_citations(nb, citation_labels())
    exporter = HTMLExporter(
        template_name="lab", embed_images=True, exclude_input=not show_code, require_js_url="", mathjax_url=""
    )
    body, _ = exporter.from_notebook_node(nb)
    out.write_text(offline_html(body), encoding="utf-8")
    hits = external_assets(out.parent)
    if any(p == out.name for p, _ in hits):
        raise RuntimeError(f"{out}: the page still loads an external asset ({hits[0][1]})")
    return out


def report_structure(
    path: str, out_dir: Path, *, profile: str, params: dict, show_code: bool = False, name: str | None = None
) -> dict:
    """Execute notebook 07 on ``path`` into ``out_dir`` and export ``<name>.html``; returns the report's
    summary row (:func:`matmap_utils.chapters.ch07_figures.summary`) plus ``html`` and ``seconds``.

    Raises :class:`UserError` (one line) for an unreadable structure or a failing report.
    """
    _, stem, _ = ch07.load_structure(path)  # a bad file fails here, in one line, before a kernel starts
    name = name or stem
    overrides = {"structure": str(Path(path).resolve()) if Path(path).exists() else path, "label": name, **params}
    t0 = time.perf_counter()
    try:
        res = execute_notebook(
            "07_candidate_report",
            profile=profile,
            overrides=overrides,
            output_dir=out_dir / ".executed",
            output_name=name,
            force=True,
        )
    except NotebookFailed as exc:
        first = str(exc).splitlines()[0]
        raise UserError(f"{path}: the report failed ({first})") from None
    page = export_html(res["output"], out_dir / f"{name}.html", show_code=show_code)
    metrics = json.loads((results_dir(f"{ch07.NB}/{name}") / "metrics.json").read_text())
    return {**metrics["summary"], "html": page.name, "seconds": time.perf_counter() - t0}


def _cell(v) -> str:
    if isinstance(v, float):
        return "—" if v != v else f"{v:.3g}"
    return html.escape(str(v))


def write_index(rows: list[dict], out_dir: Path, failures: list[tuple[str, str]]) -> Path:
    """``index.html``: one row per report with a link, and the files that failed with why."""
    cols = [
        ("formula", "formula"),
        ("spacegroup", "space group"),
        ("P_SI", "P_SI"),
        ("P_SI_std", "± SD"),
        ("Eg_eV", "Eg (eV)"),
        ("E_3D_eV", "E_3D (eV)"),
        ("verdict", "verdict"),
    ]
    head = "".join(f"<th>{h}</th>" for _, h in cols) + "<th>report</th>"
    body = "".join(
        "<tr>"
        + "".join(f"<td>{_cell(r.get(k))}</td>" for k, _ in cols)
        + f'<td><a href="{html.escape(r["html"])}">{html.escape(r["name"])}</a></td></tr>'
        for r in rows
    )
    fails = "".join(f"<li><code>{html.escape(f)}</code>: {html.escape(why)}</li>" for f, why in failures)
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>matmap candidate reports</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Candidate reports</h1><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        + (f"<h2>Not reported</h2><ul>{fails}</ul>" if fails else "")
        + "</body></html>"
    )
    out = out_dir / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
