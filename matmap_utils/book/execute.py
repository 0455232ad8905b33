"""The book pipeline: jupytext → papermill (with a parameter profile) → Jupyter Book.

``execute_notebook`` runs one ``notebooks/NN_name.py`` with papermill into ``book/executed/``;
``build_book`` executes every notebook listed in ``_toc.yml`` whose inputs changed, then runs
``jupyter-book build . -n -W --keep-going`` (``execute_notebooks: "off"``: papermill is the only
executor).

Incremental builds: each executed notebook has a stamp (``book/executed/.stamps/NN.json``)
holding a hash of what it depends on — its source, the ``matmap_utils`` sources, its merged
parameters, the data registry and the stamps of the notebooks it reads from.  A notebook re-executes
only when that hash changes; Sphinx then rebuilds only the pages whose files changed.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import papermill as pm
from nbclient.exceptions import DeadKernelError

from matmap_utils.book.profiles import _to_ipynb, merged_parameters
from matmap_utils.book.reading import prepare_for_reading
from matmap_utils.chapters.declarations import upstream_of
from matmap_utils.core.cache import atomic_write_json, hash_key
from matmap_utils.core.paths import cache_dir, repo_root


class NotebookFailed(RuntimeError):
    """A notebook raised; the message holds the failing cell's traceback."""


class LoadSampler:
    """Context manager: the machine's 1-minute load average (``os.getloadavg``), sampled every
    ``every`` seconds in a daemon thread while the block runs; :meth:`summary` gives the mean and
    maximum (a wall time means little without the load it ran under on a shared machine)."""

    def __init__(self, every: float = 10.0):
        self.every, self.samples = float(every), []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict:
        """``{"mean": …, "max": …, "samples": n}`` of the 1-minute load average (rounded to 0.01)."""
        x = self.samples or [os.getloadavg()[0]]
        return {"mean": round(sum(x) / len(x), 2), "max": round(max(x), 2), "samples": len(x)}


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


def executed_dir() -> Path:
    path = repo_root() / "book" / "executed"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_notebook(name: str) -> Path:
    """``01``, ``01_descriptors``, ``notebooks/01_descriptors.py`` → the ``.py`` source path."""
    p = Path(name)
    if p.suffix in {".py", ".ipynb"} and p.exists():
        return p.with_suffix(".py").resolve() if p.with_suffix(".py").exists() else p.resolve()
    stem = p.stem
    matches = sorted(notebooks_dir().glob(f"{stem}*.py"))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise FileNotFoundError(
            f"no notebook {name!r} in {notebooks_dir()} (have: {', '.join(q.stem for q in all_notebooks())})"
        )
    raise ValueError(f"{name!r} is ambiguous: {', '.join(m.stem for m in matches)}")


def all_notebooks() -> list[Path]:
    return sorted(p for p in notebooks_dir().glob("[0-9][0-9]_*.py"))


def _imported_modules(source: str, package_dir: Path, current: str | None = None) -> set[str]:
    """``matmap_utils`` modules imported by ``source`` (absolute or relative imports)."""

    try:
        tree = ast.parse(source)
    except SyntaxError:  # e.g. IPython magics in a notebook: fall back to a regex scan
        return set(re.findall(r"matmap_utils\.([A-Za-z_][\w.]*)", source))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("matmap_utils."):
                    found.add(a.name.split(".", 1)[1])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import inside the package
                parts = (current or "").split(".")[: -node.level] if current else []
                base = ".".join([*parts, base] if base else parts)
            elif base.startswith("matmap_utils"):
                base = base[len("matmap_utils") :].lstrip(".")
            else:
                continue
            for a in node.names:
                cand = f"{base}.{a.name}" if base else a.name
                found.add(cand if _module_file(package_dir, cand) else base)
    return {m for m in found if m}


def _module_file(package_dir: Path, dotted: str) -> Path | None:
    base = package_dir.joinpath(*dotted.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.exists():
            return cand
    return None


def library_dependencies(source: str) -> list[Path]:
    """Files of ``matmap_utils`` that ``source`` depends on, following imports transitively."""
    package_dir = repo_root() / "matmap_utils"
    todo = list(_imported_modules(source, package_dir)) + ["__init__"]
    seen: dict[str, Path] = {}
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        path = _module_file(package_dir, mod) if mod != "__init__" else package_dir / "__init__.py"
        if path is None or not path.exists():
            continue
        seen[mod] = path
        parts = mod.split(".")
        todo.extend(".".join(parts[:k]) for k in range(1, len(parts)))  # parent packages run on import
        todo.extend(
            _imported_modules(
                path.read_text(), package_dir, current=mod if path.name != "__init__.py" else f"{mod}.__init__"
            )
        )
    return sorted(set(seen.values()))


def _library_hash(source: str) -> str:
    root = repo_root() / "matmap_utils"
    return hash_key([(str(f.relative_to(root)), f.read_text(errors="replace")) for f in library_dependencies(source)])


def _stamp_path(stem: str) -> Path:
    return executed_dir() / ".stamps" / f"{stem}.json"


def input_hash(nb_py: Path, params: dict) -> str:
    reg = repo_root() / "data" / "registry.tsv.gz"
    upstream = []
    for dep in upstream_of(nb_py.stem):
        sp = _stamp_path(dep)
        upstream.append(json.loads(sp.read_text()).get("hash") if sp.exists() else None)

    source = nb_py.read_text()
    return hash_key(source, _library_hash(source), params, hashlib.sha256(reg.read_bytes()).hexdigest(), upstream)


def execute_notebook(
    nb: str | Path,
    *,
    profile: str | os.PathLike = "paper",
    overrides: dict | None = None,
    extra_file: str | os.PathLike | None = None,
    output_dir: Path | None = None,
    force: bool = False,
    log_output: bool = False,
    output_name: str | None = None,
) -> dict[str, Any]:
    """Execute one notebook with papermill; skip when its inputs are unchanged (unless ``force``).

    ``output_name``: the executed notebook's stem (default: the notebook's), for several pages
    from one notebook with different parameters (:data:`~matmap_utils.chapters.declarations.VARIANTS`).
    Returns ``{"notebook", "output", "executed" (bool), "seconds", "parameters"}``.  On failure raises
    :class:`NotebookFailed` with the failing cell's traceback.
    """

    nb_py = resolve_notebook(str(nb))
    params = merged_parameters(nb_py, profile, overrides, extra_file)
    out_dir = Path(output_dir) if output_dir else executed_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    page = output_name or nb_py.stem
    out = out_dir / (page + ".ipynb")
    h = input_hash(nb_py, params)
    stamp = _stamp_path(page)
    if not force and output_dir is None and out.exists() and stamp.exists():
        info = json.loads(stamp.read_text())
        if info.get("hash") == h:
            return {
                "notebook": page,
                "output": out,
                "executed": False,
                "seconds": info.get("seconds"),
                "parameters": params,
            }
    ipynb = _to_ipynb(nb_py)
    # progress bars of long loops go to this terminal, never into the executed page (the kernel inherits this)
    os.environ.setdefault("MATMAP_PROGRESS", "terminal")
    entries_before = _cache_entries()
    t0 = time.perf_counter()
    tmp_out = out.with_name(f".{out.stem}.running-{os.getpid()}.ipynb")  # two builds never share it
    # figures are drawn inline for the reader: a non-interactive MPLBACKEND (e.g. Agg, set by CI)
    # inherited by the kernel would make every plt.show() draw nothing
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        with LoadSampler() as load:
            _papermill(ipynb, tmp_out, params, log_output, nb_py)
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    seconds = time.perf_counter() - t0
    prepare_for_reading(tmp_out, params, _paper_parameters(nb_py, overrides))
    os.replace(tmp_out, out)
    state = "cold" if _cache_entries() > entries_before else "warm"
    if output_dir is None:
        atomic_write_json(stamp, _stamp(stamp, h, seconds, params, state, load.summary()))
    return {
        "notebook": page,
        "output": out,
        "executed": True,
        "seconds": seconds,
        "parameters": params,
        "cache": state,
        "load_average": load.summary(),
    }


def _papermill(ipynb: Path, tmp_out: Path, params: dict, log_output: bool, nb_py: Path) -> None:
    """Run papermill; a failing cell or a dead kernel becomes :class:`NotebookFailed`."""
    try:
        pm.execute_notebook(
            str(ipynb),
            str(tmp_out),
            parameters=params,
            cwd=str(notebooks_dir()),
            kernel_name="python3",
            log_output=log_output,
            progress_bar=False,
            report_mode=False,
        )
    except pm.PapermillExecutionError as exc:
        raise NotebookFailed(
            f"{nb_py.name} failed in cell {exc.exec_count} "
            f"({exc.ename}: {exc.evalue})\n"
            + "\n".join(_strip_ansi(t) for t in exc.traceback)
            + f"\n(partial output kept in {tmp_out})"
        ) from None
    except DeadKernelError as exc:
        raise NotebookFailed(
            f"{nb_py.name}: the kernel died ({exc}); run the build again — finished notebooks are "
            "skipped and this one reuses every intermediate it had cached"
        ) from None


def _paper_parameters(nb_py: Path, overrides: dict | None = None) -> dict:
    """The notebook's parameters under the paper profile with the same ``overrides`` (a page's own
    parameters, e.g. the structure of a report, are not a profile difference); empty when there is
    no paper profile."""
    if not (repo_root() / "params" / "paper.yaml").exists():
        return {}
    return merged_parameters(nb_py, "paper", overrides)


def _cache_entries() -> int:
    """Number of entries under ``$MATMAP_CACHE/compute`` (a run that adds some computed something)."""
    root = cache_dir() / "compute"
    return sum(1 for _ in root.rglob("*")) if root.exists() else 0


def _stamp(path: Path, h: str, seconds: float, params: dict, state: str, load: dict | None = None) -> dict:
    """The stamp of a finished execution: input hash, wall time, the machine's load average during
    it (:class:`LoadSampler`) and, per profile, the last cold run (it computed intermediates) and
    the last warm one (everything came from the cache)."""
    old = json.loads(path.read_text()) if path.exists() else {}
    history = old.get("history", {})
    history.setdefault(str(params.get("profile")), {})[state] = round(seconds, 1)
    return {
        "hash": h,
        "seconds": round(seconds, 1),
        "cache": state,
        "load_average": load or {},
        "parameters": params,
        "history": history,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def recorded_seconds(stem: str, profile: str) -> float | None:
    """Wall time (s) of the last execution of ``stem`` under ``profile`` on this machine, if any."""
    path = _stamp_path(stem)
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    return info.get("seconds") if str(info.get("parameters", {}).get("profile")) == profile else None


def recorded_history(stem: str) -> dict:
    """``{profile: {"cold": s, "warm": s}}`` of ``stem`` from its stamp (empty when never run)."""
    path = _stamp_path(stem)
    return json.loads(path.read_text()).get("history", {}) if path.exists() else {}


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)
