"""The shape of the code (book/developing.md): no import cycles, small modules and functions,
imports at module top, thin notebooks.  import-linter (`make lint`) guards the layers between
the rooms; these tests guard what it does not see."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "matmap_utils"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))

MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 80
MAX_CELL_LOGIC = 20
#: Functions allowed to be longer, each with the reason (the mathematics or kernel is one piece).
LONG_FUNCTIONS: dict[str, str] = {}
#: Optional heavy dependencies that may be imported inside a function (each site says why).
LAZY_OK = (
    "ray",
    "hyperopt",
    "chgnet",
    "kinisi",
    "umap",
    "pymatgen.analysis.diffusion",
    "matminer",
    "itables",
    "numba",
    "llvmlite",
    "scipp",
)


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        name = ".".join(p.relative_to(REPO).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def _imports_of(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for cand in [node.module] + [f"{node.module}.{a.name}" for a in node.names]:
                if cand in mods and cand != name and not name.startswith(cand + "."):
                    found.add(cand)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in mods and a.name != name}
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_inside_the_package():
    mods = _modules()
    graph = {m: _imports_of(m, p, mods) for m, p in mods.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_module_size(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_MODULE_LINES, f"{path.relative_to(REPO)} has {n} lines: split it along its concerns"


def _function_lengths(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            first = body[0]
            has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant)
            start = body[1].lineno if has_doc and len(body) > 1 else first.lineno
            yield node.name, node.end_lineno - start + 1


def test_function_size():
    long = []
    for path in PKG.rglob("*.py"):
        for name, n in _function_lengths(path):
            key = f"{path.relative_to(PKG)}:{name}"
            if n > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                long.append(f"{key} ({n} lines)")
    assert not long, "functions over the limit (split them, or list them in LONG_FUNCTIONS with the reason)"


def test_imports_at_module_top_except_optional_heavy_dependencies():
    late = []
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    mods = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                    if not all(any(m == o or m.startswith(o + ".") for o in LAZY_OK) for m in mods):
                        late.append(f"{path.relative_to(REPO)}:{node.lineno} {mods}")
    assert not late, "imports inside functions (move them to the module top)"


def _code_cells(text: str, *, parameters: bool = True) -> list[list[str]]:
    """Code cells of a py:percent notebook (``parameters=False`` leaves out the cell tagged
    ``parameters``: papermill needs one plain literal per line there, so it is not logic)."""
    cells, cur, keep = [], [], False
    for line in text.splitlines():
        if line.startswith("# %%"):
            if cur and keep:
                cells.append(cur)
            cur = []
            keep = "[markdown]" not in line and (parameters or '"parameters"' not in line)
            continue
        cur.append(line)
    if cur and keep:
        cells.append(cur)
    return cells


def _logic_lines(cell: list[str]) -> int:
    return sum(1 for line in cell if line.strip() and not line.strip().startswith("#"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_thin(nb):
    text = nb.read_text()
    cells = _code_cells(text, parameters=False)
    big = [(k, _logic_lines(c)) for k, c in enumerate(cells) if _logic_lines(c) > MAX_CELL_LOGIC]
    assert not big, f"{nb.name}: code cells over {MAX_CELL_LOGIC} lines of logic (cell, lines): {big}"
    tree = ast.parse(text)
    defs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
    assert not defs, f"{nb.name} defines {defs}: move them into matmap_utils"
    assert not re.search(r"filterwarnings\(\s*['\"]ignore['\"]\s*\)", text), f"{nb.name}: blanket warning filter"


def test_thin_notebook_check_catches_a_fat_cell():
    fat = "# %%\n" + "x = 1\n" * (MAX_CELL_LOGIC + 1) + "# %% [markdown]\n" + "# text\n" * 50
    assert max(_logic_lines(c) for c in _code_cells(fat)) == MAX_CELL_LOGIC + 1


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_imports_sit_in_one_cell_after_the_parameters(nb):
    cells = _code_cells(nb.read_text())
    with_imports = [k for k, c in enumerate(cells) if any(re.match(r"(import|from) \S+", line) for line in c)]
    assert with_imports and len(with_imports) == 1, f"{nb.name}: imports in cells {with_imports}"
