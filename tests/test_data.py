"""The data layer: hash checks, offline errors, corrupt archives and CIFs, loaders on the mirror."""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from pathlib import Path

import pytest

from matmap_utils.data import datasets, registry
from matmap_utils.data import structures as data_structures
from matmap_utils.data.structures import StructureReadError, parse_cif_text, read_structures

REPO = Path(__file__).resolve().parent.parent

GOOD_CIF = """data_LiF
_symmetry_space_group_name_H-M   'P 1'
_cell_length_a   4.03
_cell_length_b   4.03
_cell_length_c   4.03
_cell_angle_alpha   90
_cell_angle_beta   90
_cell_angle_gamma   90
_symmetry_Int_Tables_number   1
loop_
 _symmetry_equiv_pos_as_xyz
  'x, y, z'
loop_
 _atom_site_type_symbol
 _atom_site_label
 _atom_site_fract_x
 _atom_site_fract_y
 _atom_site_fract_z
 _atom_site_occupancy
  Li  Li0  0.0  0.0  0.0  1
  F  F0  0.5  0.5  0.5  1
"""


def test_fetch_from_mirror_checks_hash(fake_repo):
    path = fake_repo("demo/a.txt", b"hello")
    assert registry.fetch("demo/a.txt") == path


def test_hash_mismatch_names_file_and_both_hashes(fake_repo):
    fake_repo("demo/bad.txt", b"tampered", sha="0" * 64)
    with pytest.raises(registry.DataHashError) as err:
        registry.fetch("demo/bad.txt")
    msg = str(err.value)
    assert "demo/bad.txt" in msg and "0" * 64 in msg
    import hashlib

    assert hashlib.sha256(b"tampered").hexdigest() in msg


def test_missing_offline_says_how_to_get_it(fake_repo):
    fake_repo("demo/absent.txt", b"x", in_mirror=False, url="https://example.org/absent.txt")
    with pytest.raises(registry.DataUnavailableError) as err:
        registry.fetch("demo/absent.txt")
    assert "demo/absent.txt" in str(err.value) and "https://example.org/absent.txt" in str(err.value)


def test_unknown_name_is_a_clear_error(fake_repo):
    fake_repo("demo/a.txt", b"hello")
    with pytest.raises(registry.UnknownDataError, match="not in the data registry"):
        registry.fetch("demo/nope.txt")


def test_verify_reports_each_status(fake_repo):
    fake_repo("demo/ok.txt", b"ok")
    fake_repo("demo/bad.txt", b"bad", sha="f" * 64)
    fake_repo("demo/gone.txt", b"gone", in_mirror=False)
    status = registry.verify().set_index("path")["status"].to_dict()
    assert status == {"demo/ok.txt": "ok", "demo/bad.txt": "MISMATCH", "demo/gone.txt": "missing"}


def test_corrupt_archive_is_reported(fake_repo):
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w:gz") as tar:
        info = tarfile.TarInfo("x/a.cif")
        payload = GOOD_CIF.encode()
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    fake_repo("demo/good.tar.gz", good.getvalue())
    assert (registry.extract_tar("demo/good.tar.gz") / "x" / "a.cif").read_text() == GOOD_CIF
    fake_repo("demo/truncated.tar.gz", good.getvalue()[: len(good.getvalue()) // 2])
    with pytest.raises(registry.CorruptArchiveError, match="demo/truncated.tar.gz"):
        registry.extract_tar("demo/truncated.tar.gz")


def test_corrupt_cif_is_reported_and_skipped(tmp_path):
    ok = tmp_path / "good.cif"
    ok.write_text(GOOD_CIF)
    bad = tmp_path / "broken.cif"
    bad.write_text("data_broken\n_cell_length_a 4.0\nloop_\n _atom_site_label\n Li1\n")
    empty = tmp_path / "empty.cif"
    empty.write_text("")
    names, structures, failures = read_structures([ok, bad, empty, tmp_path / "missing.cif"])
    assert names == ["good"] and structures[0].composition.reduced_formula == "LiF"
    reasons = {Path(f.source).name: f.reason for f in failures}
    assert set(reasons) == {"broken.cif", "empty.cif", "missing.cif"}
    assert all(str(tmp_path) in r for r in reasons.values())


def test_parse_failures_are_listed_not_dropped(tmp_cache, tmp_path):
    ok = tmp_path / "ok.cif"
    ok.write_text(GOOD_CIF)
    bad = tmp_path / "bad.cif"
    bad.write_text("not a cif at all")
    table, failures = data_structures.parse_cifs_cached(
        [("ok", str(ok), "h1"), ("bad", str(bad), "h2")], kind="unit", n_jobs=1
    )
    assert list(table.index) == ["ok"]
    assert list(failures["id"]) == ["bad"] and failures["reason"].iloc[0]
    # the cache returns the same split the second time, without re-parsing
    bad.unlink()
    table2, failures2 = data_structures.parse_cifs_cached(
        [("ok", str(ok), "h1"), ("bad", str(bad), "h2")], kind="unit", n_jobs=1
    )
    assert list(table2.index) == ["ok"] and list(failures2["id"]) == ["bad"]


def test_structure_round_trip_keeps_disorder_and_oxidation():
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(4.2), [{"Li+": 0.5, "Na+": 0.25}, "O2-"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    back = data_structures.row_to_structure(**data_structures.structure_to_row(s))
    assert back == s
    assert back[0].species.get_el_amt_dict() == s[0].species.get_el_amt_dict()
    assert str(list(back[1].species.keys())[0]) == "O2-"


def test_parse_cif_text_partial_occupancy_kept():
    text = GOOD_CIF.replace("Li  Li0  0.0  0.0  0.0  1", "Li  Li0  0.0  0.0  0.0  0.5")
    s = parse_cif_text(text, "half.cif")
    assert not s.is_ordered and abs(s.composition["Li"] - 0.5) < 1e-9
    with pytest.raises(StructureReadError, match="half.cif"):
        parse_cif_text("", "half.cif")


# ------------------------------------------------------------------ the real registry and mirror


def test_registry_generated_from_manifest_is_current():
    """`scripts/make_registry.py` regenerates exactly the committed registry from the mirror."""
    import subprocess
    import sys

    from matmap_utils.core.paths import mirror_dir

    manifest = (mirror_dir() or Path("/nonexistent")) / "MANIFEST.tsv"
    if not manifest.exists():
        pytest.skip("no mirror manifest")
    out = REPO / ".cache" / "registry-check.tsv.gz"
    out.parent.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_registry.py"), "--manifest", str(manifest), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert gzip.decompress(out.read_bytes()) == gzip.decompress((REPO / "data" / "registry.tsv.gz").read_bytes())


def test_registry_covers_every_file_the_code_uses():
    """Every literal mirror path in the package and notebooks is registered."""
    reg = set(registry.registry().index)
    prefixes = tuple(v["prefix"] for v in registry.sources().values())
    pattern = re.compile(
        r"""["']((?:{})[^"'{{}}*]+\.(?:csv|json|yaml|hdf5|gz|npy|cif|tsv))["']""".format(
            "|".join(re.escape(p) for p in prefixes)
        )
    )
    used = set()
    for f in list((REPO / "matmap_utils").rglob("*.py")) + list((REPO / "notebooks").glob("*.py")):
        used |= {m.group(1) for m in pattern.finditer(f.read_text())}
    assert used, "the scan found no mirror paths at all: the pattern is broken"
    missing = sorted(u for u in used if u not in reg)
    assert not missing, f"used but not registered: {missing}"


def test_every_registry_source_has_a_citation_and_licence():
    src = registry.sources()
    reg = registry.registry()
    assert set(reg["source"]) <= set(src)
    for key, meta in src.items():
        assert meta.get("citation") and meta.get("licence"), key
        assert (reg["source"] == key).any(), f"source {key} has no files"


@pytest.mark.mirror
def test_loaders_on_the_mirror():
    idx = datasets.mp_li_index()
    assert len(idx) == 21755
    lio = datasets.lio_subset_ids(idx)
    assert len(lio) == 1349
    for mid in ["mp-942733", "mp-10499", "mp-1222522"]:
        assert mid in lio
    sub = datasets.load_mp_li(subset="LiO", limit=12, seed=3, include=["mp-10499"])
    assert len(sub) == 12 and "mp-10499" in sub.index
    assert sub.at["mp-10499", "structure"].composition.reduced_formula == "LiZr2(PO4)3"
    again = datasets.load_mp_li(subset="LiO", limit=12, seed=3, include=["mp-10499"])
    assert list(again.index) == list(sub.index)

    ob = datasets.load_obelix()
    assert len(ob) == 599 and int(ob["has_cif"].sum()) == 321
    assert registry.failures_of(ob).empty
    assert ob["structure"].notna().sum() == 321
    assert sum(not s.is_ordered for s in ob["structure"].dropna()) == 249

    mch = datasets.load_mchaffie()
    assert len(mch) == 548 and len(mch.attrs["dropped"]) == 23
    assert mch["structure"].notna().sum() == 243
    assert (mch["superionic"] == (mch["sigma_rt"] >= 1e-4)).all()
    assert mch["split_test"].sum() == 55 and mch.loc[~mch["split_test"], "kfold"].notna().all()

    runs = datasets.aimd_runs()
    arg = runs[runs["format"] == "xdatcar"]
    assert len(arg) == 37 and set(arg["disorder"]) == {0.0, 50.0, 100.0}
    for name in runs["name"]:
        assert registry.fetch(name).exists()
    from matmap_utils.screening.megnet.model import model_files

    hdf5, js = model_files("band_gap")
    assert hdf5.suffix == ".hdf5" and js.name.endswith(".json")
