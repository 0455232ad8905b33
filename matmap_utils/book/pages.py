"""Pages of the book generated from the project's own records (never typed by hand):

* ``book/data_provenance.md`` — every dataset of the registry: files, size, licence, citation.
* ``book/reproducibility.md`` — profile, seeds, package versions, git commit, wall time per notebook.
* ``book/performance.md`` — the benchmark tables written by ``benchmarks/*.py``.
"""

from __future__ import annotations

import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version

import yaml

from matmap_utils.book.execute import recorded_history
from matmap_utils.book.profiles import load_profile
from matmap_utils.chapters.comparisons import comparison_rows
from matmap_utils.core.cache import atomic_write_text
from matmap_utils.core.paths import repo_root
from matmap_utils.data.registry import registry, sources

#: Packages whose versions the Reproducibility page records.
KEY_PACKAGES = [
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "torch",
    "pymatgen",
    "ase",
    "bvlain",
    "umap-learn",
    "ElMD",
    "kinisi",
    "pymatgen-analysis-diffusion",
    "chgnet",
    "matminer",
    "papermill",
    "jupytext",
    "jupyter-book",
    "matplotlib",
    "seaborn",
    "plotly",
    "pooch",
    "h5py",
]


def _human(nbytes: float) -> str:
    for unit in ["B", "kB", "MB", "GB"]:
        if nbytes < 1000:
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:.1f} TB"


def data_provenance_md() -> str:

    reg = registry()
    src = sources()
    lines = [
        "# Data and provenance",
        "",
        "Every file the book reads is listed in the project's registry "
        "(`data/registry.tsv.gz`, generated from the mirror's `MANIFEST.tsv` by "
        "`scripts/make_registry.py`) with its public URL and sha256. `matmap_utils.data.registry.fetch` reads "
        "the offline mirror first (`MATMAP_DATA_MIRROR`, default `../shared/data`), otherwise downloads "
        "the file from its URL into `MATMAP_CACHE`; the sha256 is checked either way. "
        "`matmap data verify` re-checks every file.",
        "",
        "| dataset | files | size | licence |",
        "|---|---:|---:|---|",
    ]
    for key, meta in src.items():
        rows = reg[reg["source"] == key]
        lines.append(
            f"| [{meta['title']}](#src-{key.replace('_', '-')}) | {len(rows):,} | "
            f"{_human(rows['bytes'].sum())} | {meta['licence']} |"
        )
    lines.append("")
    for key, meta in src.items():
        rows = reg[reg["source"] == key]
        lines += [
            f"(src-{key.replace('_', '-')})=",
            f"## {meta['title']}",
            "",
            meta["description"].strip(),
            "",
            f"- **Citation**: {meta['citation'].strip()}",
            f"- **Licence**: {meta['licence']}",
            f"- **Files**: {len(rows):,} ({_human(rows['bytes'].sum())}), under `{meta['prefix']}`",
        ]
        if len(rows) <= 12:
            lines += ["", "| file | size | sha256 |", "|---|---:|---|"]
            lines += [f"| [`{r.path}`]({r.url}) | {_human(r.bytes)} | `{r.sha256[:16]}…` |" for r in rows.itertuples()]
        else:
            ex = rows.iloc[0]
            lines += [f"- **Example**: [`{ex.path}`]({ex.url}) (`{ex.sha256[:16]}…`)"]
        lines.append("")
    return "\n".join(lines)


def _pkg_versions() -> list[tuple[str, str]]:
    out = []
    for name in KEY_PACKAGES:
        try:
            out.append((name, version(name)))
        except PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=repo_root(), capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


def reproducibility_md(profile: str, timings: list[dict]) -> str:

    prof = load_profile(profile)
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    lines = [
        "# Reproducibility",
        "",
        f"This build executed the notebooks with the **`{profile}`** profile "
        f"(`params/{profile}.yaml`), at git commit `{commit}`"
        + (" with uncommitted changes" if dirty else "")
        + f", on Python {platform.python_version()} "
        f"({platform.machine()}, {platform.system()}).",
        "",
        "Every random step takes its seed from the notebook parameters; rerun one notebook with "
        "`matmap run NN_name --profile paper -p seed 1` to see how a result depends on it.",
        "",
        "## Wall time per notebook",
        "",
        "*Cold*: the last run that computed intermediates (descriptors, barriers, MEGNet features, "
        "trained models); *warm*: the last run that found all of them in the cache (a rerun after a "
        f"text change). Both are this machine's, under the `{profile}` profile. *Load*: the mean "
        "1-minute load average while the notebook ran in this build (on a machine with as many cores "
        "as the load, wall times are those of an unshared machine).",
        "",
        "| notebook | wall time (s) | this build | load | cold (s) | warm (s) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for t in timings:
        secs = "" if t.get("seconds") is None else f"{t['seconds']:.0f}"
        hist = recorded_history(t["notebook"]).get(profile, {})
        cold, warm = (f"{hist[k]:.0f}" if k in hist else "–" for k in ("cold", "warm"))
        state = "executed" if t.get("executed_now") else "cached (inputs unchanged)"
        load = f"{t['load']['mean']:.1f}" if t.get("executed_now") and t.get("load") else "–"
        lines.append(f"| {t['notebook']} | {secs} | {state} | {load} | {cold} | {warm} |")
    lines += [
        "",
        "## Parameters",
        "",
        "```yaml",
        _yaml_dump(prof),
        "```",
        "",
        "## Package versions",
        "",
        "| package | version |",
        "|---|---|",
    ]
    lines += [f"| {n} | {v} |" for n, v in _pkg_versions()]
    lines.append("")
    return "\n".join(lines)


def _yaml_dump(obj) -> str:

    return yaml.safe_dump(obj, sort_keys=False).strip()


def performance_md() -> str:
    root = repo_root()
    lines = [
        "# Performance",
        "",
        "Speed matters: the book targets 2-core laptops without a GPU. Each table below is written by "
        "a script in `benchmarks/` that times our implementation against the library a user would "
        "otherwise reach for, on the same inputs in the same process, and reports medians of repeated "
        "runs and their ratio (machines are shared and noisy: ratios are more stable than seconds). "
        "Rerun them with `make bench`.",
        "",
    ]
    results = sorted((root / "benchmarks" / "results").glob("*.md"))
    if not results:
        lines.append("No benchmark has been run yet (`make bench`).")
    for md in results:
        body = md.read_text().strip()
        if not body.startswith("#"):
            lines.append(f"## {md.stem}")
            lines.append("")
        else:  # demote the file's own headings below this page's title
            body = "\n".join(("#" + l) if l.startswith("#") else l for l in body.splitlines())
        lines += [body, ""]
    return "\n".join(lines)


def _num(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, (int, float)):
        return f"{x:.3g}"
    return str(x)


def paper_vs_book_md() -> str:
    """The "Paper vs. book" page: every declared comparison (:mod:`matmap_utils.chapters.comparisons`)
    with the paper's value, ours with its 95 % CI, n, whether the protocol is the same, and the
    verdict — all read from the chapters' latest ``metrics.json``."""
    rows = comparison_rows()
    profiles = sorted({str(r["profile"]) for r in rows if r["profile"]})
    lines = [
        "# Paper vs. book",
        "",
        "Every number of the three papers that this book recomputes, next to ours. Our values come "
        "from the chapters' `metrics.json` of this build"
        + (f" (profile{'s' if len(profiles) > 1 else ''}: {', '.join(profiles)})" if profiles else "")
        + "; the intervals are bootstrap 95 % confidence intervals unless the quantity names another "
        "(the spread of single runs over seeds, for instance). *Within CI*: the paper's value "
        "lies inside our interval. A comparison is only a test of the paper where the protocol is "
        "the same; the last columns say where it is not, and why.",
        "",
        "| study | where | quantity | paper | ours | 95 % CI | n | same protocol? | verdict |",
        "|---|---|---|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        ci = "–" if r["ci"] is None else f"[{_num(r['ci'][0])}, {_num(r['ci'][1])}]"
        lines.append(
            f"| {r['study']} | {r['where']} | {r['quantity']} | {_num(r['paper'])} ({r['source']}) | "
            f"{_num(r['ours'])} | {ci} | {_num(r['n'])} | {r['same_protocol']} | {r['verdict']} |"
        )
    return "\n".join(lines) + "\n"


#: Rooms of the package, in the order of the API reference.
API_ROOMS = ("core", "data", "materials_map", "transport", "screening", "benchmark", "chapters", "book", "cli")


def api_modules() -> dict[str, list[str]]:
    """Every public module of ``matmap_utils``, by room (``__main__`` and private modules left out)."""
    root = repo_root() / "matmap_utils"
    out: dict[str, list[str]] = {}
    for room in API_ROOMS:
        mods = []
        for path in sorted((root / room).rglob("*.py")):
            rel = path.relative_to(root.parent).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts[-1].startswith("_"):
                continue
            mods.append(".".join(parts))
        out[room] = mods
    out["viz"] = ["matmap_utils.viz"]
    return out


def api_reference_md() -> str:
    """The API reference page: every module's docstring and public functions (sphinx autodoc)."""
    lines = [
        "# API reference",
        "",
        "Every public module, class and function of `matmap_utils`, generated from the docstrings "
        "(units and the paper equations they implement are there). The rooms are described in "
        "[Developing matmap](developing.md).",
        "",
    ]
    for room, mods in api_modules().items():
        lines += [f"## `{room}`", ""]
        for mod in mods:
            lines += ["```{eval-rst}", f".. automodule:: {mod}", "   :members:", "```", ""]
    return "\n".join(lines)


def write_generated_pages(profile: str = "paper", timings: list[dict] | None = None) -> None:
    book = repo_root() / "book"
    atomic_write_text(book / "api.md", api_reference_md())
    atomic_write_text(book / "paper_vs_book.md", paper_vs_book_md())
    atomic_write_text(book / "data_provenance.md", data_provenance_md())
    atomic_write_text(book / "performance.md", performance_md())
    if timings is None:
        timings = []
        for stamp in sorted((book / "executed" / ".stamps").glob("*.json")):
            info = json.loads(stamp.read_text())
            timings.append({"notebook": stamp.stem, "seconds": info.get("seconds"), "executed_now": False})
    atomic_write_text(book / "reproducibility.md", reproducibility_md(profile, timings))
