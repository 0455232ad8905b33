"""No typed numbers: every digit a reader sees in a notebook's markdown is either computed (an
f-string in a ``display(Markdown(...))`` cell — not scanned here, it is code) or a quotation of a
paper value listed, with paper and place, in ``tests/paper_values.yaml`` (issue 17).

The scan reads every ``# %% [markdown]`` cell of every ``notebooks/NN_*.py`` (py:percent) and
fails on any ASCII digit left after removing, in this order:

1. **Quoted paper values** — the exact phrases of ``paper_values.yaml`` (each names the paper and
   the place, e.g. "Yamaguchi et al. 2023, Table 1").  A phrase must contain a word, not only
   digits, so it allows one quotation and not the number everywhere.
2. **Code and links** — inline code spans that contain a letter (identifiers, file names, notebook
   names such as `01_descriptors`) and the targets of markdown links ``](...)``.
3. **Citations** — a DOI (``10.NNNN/...``); a journal reference "<Abbrev.> <volume>, <page>,
   <year>" or "<Abbrev.> <volume>, <page> (<year>)"; a year (1900–2099) right after "et al."
   (optionally with a comma) or closing a parenthesis.
4. **References to the papers' or the book's parts** — numbers right after Fig./Figs./Figure,
   Table(s), Eq./Eqs./Equation(s), Sec./Section(s), ref./refs., notebook(s), chapter(s), including
   lists and ranges such as "Figs. 2–8", "Fig. 3a,b", "Eqs. 1–2", "Table S1".
5. **Chemical formulas** — a token made only of element symbols with counts and brackets
   (``Li7La3Zr2O12``, ``LiZr2(PO4)3``, ``Na3PS4``) with at least two element symbols, or one
   two-letter symbol with a count (``Li5``); every capitalised symbol must be a real element.
6. **Identifiers and notation** — MEGNet's layer names V0–V3 and ``log10``, an arXiv id, a year
   right after an italic journal name (``*Digital Discovery* 2026``), words joined by an underscore (``E_3D``, ``comp_0000``),
   Materials Project ids (``mp-942733``), the dimensionality labels 1D/2D/3D (also written 1-D,
   2-D, 3-D), the penalty/norm names L1 and L2, version strings after the word "version"
   ("version 2025.02.12.post"), the unit interval "[0, 1]" of a scaling, and a confidence level
   "95 %" directly followed by CI, confidence, bootstrap or interval.
7. **Ordered-list markers** — "1." at the start of a markdown line.

Unicode sub- and superscript digits (log₁₀, 10⁻⁴'s exponent, Li₇) are notation and not ASCII
digits, so they are not scanned; a LaTeX number in ``$...$`` is scanned like any other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
ALLOW_FILE = Path(__file__).resolve().parent / "paper_values.yaml"

ELEMENTS = set(
    """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se
    Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy
    Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf
    Es Fm Md No Lr""".split()
)

_REF_WORDS = r"Figs?\.|Figures?|Tables?|Eqs?\.|Equations?|Secs?\.|Sections?|[Rr]efs?\.|notebooks?|[Cc]hapters?"
_REF_ITEM = r"[A-Z]?\d+(?:\.\d+)*[a-z]?"
_REF_LIST = rf"{_REF_ITEM}(?:\s*(?:[–\-,]|and|&)\s*(?:{_REF_ITEM}|[a-z]\b))*"

#: (name, pattern) of every exemption, applied in this order (see the module docstring).
EXEMPTIONS: list[tuple[str, re.Pattern]] = [
    ("inline code", re.compile(r"`[^`\n]*[A-Za-z][^`\n]*`")),
    ("link target", re.compile(r"\]\([^)\s]*\)")),
    ("DOI", re.compile(r"\b10\.\d{4,9}/[^\s)]+")),
    (
        "journal reference",
        re.compile(r"\b[A-Z][A-Za-z]*\.?(?: [A-Z][A-Za-z]*\.?)* \d+, [A-Z0-9]+(?:, | \()(?:19|20)\d\d\)?"),
    ),
    ("citation year", re.compile(r"(?<=et al\.)(?:,)? (?:19|20)\d\d\b|\b(?:19|20)\d\d(?=\))")),
    ("reference", re.compile(rf"\b(?:{_REF_WORDS})\s*{_REF_LIST}")),
    ("identifier", re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b|\bmp-\d+\b|\b[123]-?D\b")),
    ("norm name", re.compile(r"\bL[12]\b")),
    # MEGNet's site-feature layers V0..V3 and the name of the decimal logarithm (notation, not results)
    ("layer name", re.compile(r"\bV[0-3]\b|\blog10\b")),
    ("arXiv id", re.compile(r"\barXiv:? ?\d{4}\.\d{4,5}(?:v\d+)?")),
    ("journal year", re.compile(r"(?<=\*) (?:19|20)\d\d\b")),
    ("version", re.compile(r"(?<=\bversion )\d+(?:\.\w+)*")),
    ("unit interval", re.compile(r"\[0, 1\]")),
    ("confidence level", re.compile(r"\b95 ?%(?= (?:CI|confidence|bootstrap|interval))")),
]
_LIST_MARKER = re.compile(r"(?m)^(\s*)(\d+)(?=\.\s)")
_FORMULA = re.compile(r"(?<![\w.])(?:[A-Z][a-z]?\d*|\((?:[A-Z][a-z]?\d*)+\)\d*)+(?![\w])")
_SYMBOL = re.compile(r"[A-Z][a-z]?")


def _is_formula(token: str) -> bool:
    symbols = _SYMBOL.findall(token)
    if not re.search(r"\d", token) or not all(s in ELEMENTS for s in symbols):
        return False
    return len(symbols) >= 2 or (len(symbols) == 1 and len(symbols[0]) == 2)


def load_allow_list(path: Path = ALLOW_FILE) -> list[dict]:
    """The quoted paper values: a list of ``{text, source}``."""
    entries = yaml.safe_load(path.read_text())
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of {{text, source}} entries")
    return entries


def markdown_cells(text: str) -> list[tuple[int, str]]:
    """``(first line number, text)`` of every markdown cell of a py:percent notebook, with the
    comment marks ``# `` removed."""
    cells, cur, start, inside = [], [], 0, False
    for k, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# %%"):
            if inside:
                cells.append((start, "\n".join(cur)))
            inside, cur, start = "[markdown]" in line, [], k + 1
            continue
        if inside:
            cur.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    if inside:
        cells.append((start, "\n".join(cur)))
    return cells


def _mask(text: str, span: tuple[int, int]) -> str:
    a, b = span
    return text[:a] + " " * (b - a) + text[b:]


def typed_numbers(cell: str, allow: list[dict]) -> list[str]:
    """The digits of a markdown cell left after the exemptions: one context snippet each."""
    cell = _LIST_MARKER.sub(lambda m: m.group(1) + "~" * len(m.group(2)), cell)  # exemption 7
    text = cell_flat(cell)  # phrases may wrap across lines
    for entry in allow:
        for m in re.finditer(re.escape(" ".join(str(entry["text"]).split())), text):
            text = _mask(text, m.span())
    for _name, pat in EXEMPTIONS:
        for m in pat.finditer(text):
            text = _mask(text, m.span())
    for m in _FORMULA.finditer(text):
        if _is_formula(m.group()):
            text = _mask(text, m.span())
    hits = []
    for m in re.finditer(r"\d[\d.,]*", text):
        a, b = m.span()
        hits.append(f"…{cell_flat(cell)[max(0, a - 40) : b + 20]}…")
    return hits


def cell_flat(cell: str) -> str:
    return re.sub(r"[ \t]*\n[ \t]*", " ", cell)


def scan_notebook(text: str, allow: list[dict]) -> list[str]:
    """Every typed number of a notebook, as ``"line N: …context…"``."""
    return [f"line {ln}: {hit}" for ln, cell in markdown_cells(text) for hit in typed_numbers(cell, allow)]


@pytest.fixture(scope="module")
def allow() -> list[dict]:
    return load_allow_list()


#: Chapters whose prose still holds typed numbers (issue 17 is converting them); strict, so a
#: chapter that becomes clean fails here until it is taken off this list.
NOT_YET_CONVERTED: set[str] = set()


@pytest.mark.parametrize(
    "nb",
    [
        pytest.param(
            p,
            marks=pytest.mark.xfail(reason="typed numbers still to convert (issue 17)", strict=True)
            if p.stem in NOT_YET_CONVERTED
            else (),
        )
        for p in NOTEBOOKS
    ],
    ids=lambda p: p.stem,
)
def test_no_typed_numbers_in_markdown(nb: Path, allow):
    hits = scan_notebook(nb.read_text(), allow)
    assert not hits, (
        f"{nb.name}: numbers typed into markdown cells — compute them (f-string in "
        f"display(Markdown(...))) or quote the paper (tests/paper_values.yaml):\n  " + "\n  ".join(hits)
    )


SYNTHETIC = """\
# %% [markdown]
# # A chapter
#
# Yamaguchi et al. (Sci. Rep. 13, 16799, 2023; doi:10.1038/s41598-023-43921-1) drew Figs. 2–8
# and Table 1; Eqs. 1–2 define the losses and Fig. 3a,b the parity plots. Li7La3Zr2O12,
# LiZr2(PO4)3 and the Li5 garnets; `01_descriptors`, E_3D and the 2-D map of mp-942733;
# MEGNet's V0–V3 features, log10 σ, and OBELiX (*Digital Discovery* 2026, arXiv 2502.14234).
#
# 1. a list item

# %%
x = 0.74  # code is not scanned

# %% [markdown]
# The structural R² rose to {planted}.
"""


def test_scan_passes_the_exemptions_and_catches_a_planted_number(allow):
    clean = SYNTHETIC.replace("{planted}", "the paper's level")
    assert scan_notebook(clean, allow) == []
    hits = scan_notebook(SYNTHETIC.replace("{planted}", "0.82 with these kernels"), allow)
    assert len(hits) == 1 and "0.82" in hits[0] and hits[0].startswith("line 15:")


@pytest.mark.parametrize(
    "typed",
    ["≈ 4.5 per material", "until W ≈ 10", "1,349 materials", "600 K", "about 0.1", "~20 %", "10⁻³", "$10^{-6}$"],
)
def test_scan_catches_typical_typed_claims(typed, allow):
    assert scan_notebook(f"# %% [markdown]\n# It was {typed} here.\n", allow), typed


@pytest.mark.parametrize("token", ["W10", "E3", "R2", "Xx3O2"])
def test_formula_exemption_is_narrow(token, allow):
    assert scan_notebook(f"# %% [markdown]\n# the {token} value\n", allow), token


def test_allow_list_entries_quote_a_paper_and_are_used(allow):
    texts = [nb.read_text() for nb in NOTEBOOKS]
    flat = [" ".join(cell_flat(c).split()) for t in texts for _, c in markdown_cells(t)]
    for e in allow:
        assert set(e) == {"text", "source"}, e
        assert re.search(r"[A-Za-z]", str(e["text"])) and re.search(r"\d", str(e["text"])), e
        assert re.search(r"et al\. (19|20)\d\d, \S", e["source"]), f"source must name paper and place: {e}"
        phrase = " ".join(str(e["text"]).split())
        assert any(phrase in c for c in flat), f"unused allow-list entry (remove it): {e['text']!r}"
