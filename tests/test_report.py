"""The candidate report (chapter 07, ``matmap report``): its sections, its pages, its errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
from ElMD import ElMD

from matmap_utils.book import build
from matmap_utils.book import report as book_report
from matmap_utils.chapters import ch07_candidate_report as ch07
from matmap_utils.chapters import ch07_figures as fig07
from matmap_utils.core.errors import UserError
from matmap_utils.data.structures import read_structure
from matmap_utils.materials_map import analysis, bvse
from matmap_utils.screening import candidates
from matmap_utils.screening.splits import elmd_distances

FIX = Path(__file__).parent / "fixtures" / "report"
PARTIAL = FIX / "Li6PS5Cl_partial.cif"


def test_identity_of_a_li_disordered_cif():
    ident = ch07.identity(read_structure(PARTIAL))
    assert ident["spacegroup"] == "F-43m" and ident["spacegroup_number"] == 216
    assert ident["disordered"] and ident["n_partial_sites"] == ident["n_partial_li_sites"] == 48
    assert ident["formula"] == "Li6PS5Cl" and not ident["in_lio_set"]
    assert ident["li_fraction"] == pytest.approx(6 / 13)


def test_bvse_of_li_disorder_uses_the_true_composition_and_framework_disorder_is_refused():
    st = read_structure(PARTIAL)
    bv = ch07.bvse_section(st)
    assert bv["reason"] is None
    # the charge-balanced states of Li6PS5Cl (filling the Li sites would have made S positive)
    assert bv["oxidation_states"] == {"Li": 1.0, "P": 5.0, "S": -2.0, "Cl": -1.0}
    # an argyrodite: a fast 3-D conductor, so a low 3-D percolation barrier
    assert bv["E_1D"] <= bv["E_2D"] <= bv["E_3D"] < 0.5
    # the landscape does not see Li: the same barriers with every Li site filled and decorated alike
    filled, _ = ch07.framework_for_bvse(st)
    dec = filled.copy()
    dec.add_oxidation_state_by_element(bv["oxidation_states"])
    again = bvse.landscape_barriers(dec, bv["resolution"])
    assert again["E_3D"] == pytest.approx(bv["E_3D"])
    mixed = st.copy()
    cl = next(i for i, site in enumerate(mixed) if site.species_string == "Cl")
    mixed.replace(cl, {"Cl": 0.5, "Br": 0.5})
    out = ch07.bvse_section(mixed)
    assert np.isnan(out["E_3D"]) and "framework site" in out["reason"]


def test_load_structure_errors_are_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "corrupt.cif"
    bad.write_text("data_x\n_cell_length_a 5\nloop_\n_atom_site_label\nLi1 0 0\n")
    with pytest.raises(UserError) as err:
        ch07.load_structure(str(bad))
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    nolith = tmp_path / "NaCl.cif"
    nolith.write_text(
        "data_NaCl\n_symmetry_space_group_name_H-M 'F m -3 m'\n_cell_length_a 5.64\n_cell_length_b 5.64\n"
        "_cell_length_c 5.64\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
        "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
        "_atom_site_fract_z\nNa1 Na 0 0 0\nCl1 Cl 0.5 0.5 0.5\n"
    )
    with pytest.raises(UserError, match="no Li"):
        ch07.load_structure(str(nolith))
    with pytest.raises(UserError, match="no such file"):
        ch07.load_structure(str(tmp_path / "missing.cif"))


def test_umap_placement_is_the_weighted_mean_of_neighbours():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6))
    xy = rng.normal(size=(50, 2))
    # a reference point is placed on itself, its own nearest neighbour
    out, idx, dist = analysis.umap_placement(X, xy, X[7:8], k=5)
    assert idx[0, 0] == 7 and dist[0, 0] == 0 and np.allclose(out[0], xy[7], atol=1e-6)
    # brute force: inverse-distance weights over the k nearest, and shifting the map shifts the point
    q = rng.normal(size=(1, 6))
    out, idx, dist = analysis.umap_placement(X, xy, q, k=5)
    d = np.linalg.norm(X - q, axis=1)
    nn = np.argsort(d)[:5]
    w = 1 / (d[nn] + 1e-9)
    assert set(idx[0]) == set(nn) and np.allclose(out[0], (xy[nn] * w[:, None]).sum(0) / w.sum())
    shifted, _, _ = analysis.umap_placement(X, xy + [3.0, -1.0], q, k=5)
    assert np.allclose(shifted, out + [3.0, -1.0])


def test_elmd_distances_equal_the_elmd_package():
    refs = ["Li3PS4", "Li7La3Zr2O12", "Li10GeP2S12", "LiCl"]
    d = elmd_distances("Li6PS5Cl", refs)
    for f, v in zip(refs, d):
        assert v == pytest.approx(ElMD("Li6PS5Cl", metric="mod_petti").elmd(f), abs=1e-9)


def test_distances_to_all_training_vectors_have_d_train_as_minimum():
    rng = np.random.default_rng(1)
    train, query = rng.normal(size=(40, 8)), rng.normal(size=(3, 8))
    full = candidates.pca_distances_to_all(train, query)
    assert full.shape == (3, 40)
    assert np.allclose(full.min(1), candidates.pca_distance(train, query))


def _tiny_executed_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Report\nAs in {cite}`lopez2023universal`."),
            nbformat.v4.new_markdown_cell("```{warning}\nBuilt with the **ci** profile.\n```"),
            nbformat.v4.new_code_cell(
                "secret_code_line = 1",
                outputs=[nbformat.v4.new_output("display_data", data={"text/markdown": "P_SI = 0.7"})],
            ),
        ]
    )
    nbformat.write(nb, str(path))
    return path


def test_exported_page_is_offline_hides_code_and_writes_citations_out(tmp_path):
    page = book_report.export_html(_tiny_executed_notebook(tmp_path / "r.ipynb"), tmp_path / "r.html")
    text = page.read_text()
    assert build.external_assets(tmp_path) == []
    assert "cdnjs" not in text and "secret_code_line" not in text and "P_SI = 0.7" in text
    assert "López et al. 2023" in text and "{cite}" not in text
    assert "{warning}" not in text and "Built with the" in text
    shown = book_report.export_html(tmp_path / "r.ipynb", tmp_path / "c.html", show_code=True)
    assert "secret_code_line" in shown.read_text()


def test_offline_html_strips_remote_scripts_only():
    html = (
        '<script src="https://cdnjs.cloudflare.com/x/require.min.js"></script><script src=""></script>'
        '<script type="module">import m from "https://cdnjs.cloudflare.com/mermaid.esm.min.mjs";</script>'
        "<script>var keep = 1;</script>"
    )
    out = book_report.offline_html(html)
    assert "cdnjs" not in out and "var keep = 1;" in out and 'src=""' not in out


def test_index_links_every_report_and_lists_failures(tmp_path):
    rows = [{"name": "a", "html": "a.html", "formula": "LiCl", "P_SI": 0.5, "verdict": "candidate"}]
    text = book_report.write_index(rows, tmp_path, [("bad.cif", "bad.cif: not a readable CIF")]).read_text()
    assert 'href="a.html"' in text and "LiCl" in text and "bad.cif: not a readable CIF" in text


@pytest.mark.slow
@pytest.mark.mirror
def test_md_section_runs_chgnet_and_gives_a_diffusion_coefficient():
    pytest.importorskip("chgnet")
    st, _, _ = ch07.load_structure("mp-985585")  # Li3OCl antiperovskite, 5 atoms -> a 2x2x2 supercell
    md = ch07.md_section(st, 0.1, 600.0, seed=0, equil_ps=0.02, min_width_A=7.0, device="cpu")
    assert md["reason"] is None and md["supercell"] == (2, 2, 2) and md["n_atoms"] == 40
    assert np.isfinite(md["D_cm2_s"]) and md["D_cm2_s"] > 0
    assert "D(Li) =" in fig07.md_text(md)  # an error bar a 0.1 ps run cannot give is said, not printed as nan
    assert ch07.md_section(read_structure(PARTIAL), 1.0, 600.0, 0)["reason"].startswith("the structure is disordered")
    assert ch07.md_section(st, 0.0, 600.0, 0)["reason"] == "not run (md_ps = 0)"


@pytest.mark.slow
@pytest.mark.mirror
def test_matmap_report_writes_pages_and_an_index_and_survives_a_bad_file(ci_notebooks, tmp_path, monkeypatch, capsys):
    """``matmap report`` on an MP id, a hand-written CIF with partial occupancy and a corrupt CIF,
    with the CI book's map and ensemble (no model is trained here)."""
    from matmap_utils.cli.main import main

    monkeypatch.setenv("MATMAP_RESULTS", str(ci_notebooks.results))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    assert book_report.missing_chapters() == []
    bad = tmp_path / "corrupt.cif"
    bad.write_text("data_broken\n_cell_length_a 5\nloop_\n_atom_site_label\nLi1 0 0\n")
    out = tmp_path / "reports"
    rc = main(["report", "mp-985583", str(PARTIAL), str(bad), "-o", str(out), "--profile", "ci"])
    err = capsys.readouterr().err
    assert rc == 0
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == ["Li6PS5Cl_partial.html", "index.html", "mp-985583.html"]
    assert build.external_assets(out) == []
    failed = [line for line in err.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and str(bad) in failed[0] and "not a readable CIF" in failed[0]
    assert "Traceback" not in err
    index = (out / "index.html").read_text()
    assert 'href="mp-985583.html"' in index and "Li3PS4" in index and "corrupt.cif" in index
    partial = (out / "Li6PS5Cl_partial.html").read_text()
    assert "partially occupied" in partial and "composition guess (of the disordered composition)" in partial
    assert "def " not in partial  # code hidden
