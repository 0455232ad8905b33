"""``matmap screen --pool``: every pool format reads the same structures lazily, the screening is
chapter 06's (same numbers and verdicts as ``matmap screen FILE`` and as chapter 06's screening
table, same on Ray), a killed run resumes, failures are rows."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import ase.db
import ase.io
import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from matmap_utils.chapters import ch06_screening as ch06s
from matmap_utils.chapters import pool_screening as ps
from matmap_utils.cli import pool as cli_pool
from matmap_utils.core import backends
from matmap_utils.core.backends import LocalBackend, RayBackend, ray_session
from matmap_utils.core.paths import mirror_dir
from matmap_utils.data.datasets import load_mp_band_gaps
from matmap_utils.screening import candidates, filters, score
from matmap_utils.screening.atomsets import features
from matmap_utils.screening.megnet import pool as megnet_pool
from matmap_utils.screening.megnet.properties import pool_properties

STANDIN = ps.ScreenContext({}, {"stand-in": 1})


def small_structures(n=6):
    out = []
    for i in range(n):
        a = 4.0 + 0.1 * i
        el = ["Cl", "Br", "I"][i % 3]
        out.append(Structure(Lattice.cubic(a), ["Li", el], [[0, 0, 0], [0.5, 0.5, 0.5]]))
    return out


def standin_chunk(pairs, ctx):
    """Chapter 06's columns from cheap structure properties (for resume tests: no models)."""
    rows = {}
    for name, (kind, payload, gap) in pairs:
        s = ps.to_structure(kind, payload, name)
        rows[name] = {
            "formula": s.composition.reduced_formula,
            "P_SI": s.volume / 1000,
            "P_SI_std": 0.0,
            "d_train": s.density,
            "out_of_domain": False,
            "nsites": len(s),
            "Eg": 1.5 if gap is None else gap,
            "Eg_source": "MEGNet" if gap is None else "MP",
            "P_nonmetal": 0.9,
            "metal": False,
            "gap_reason": None,
            "passes_gap": True,
            "disordered": False,
            "novel": True,
            "verdict": "not a candidate: P_SI < 0.5",
            "candidate": False,
            "reason": None,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest.fixture
def pools(tmp_path):
    """The same six structures as a nested CIF folder, a CSV table, a text list, extxyz and an ASE db."""
    structs = small_structures()
    folder = tmp_path / "folder"
    for i, s in enumerate(structs):
        sub = folder / f"part{i % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        s.to(filename=str(sub / f"s{i}.cif"))
    paths = sorted(folder.rglob("*.cif"))
    pd.DataFrame({"id": [p.stem for p in paths], "path": [str(p) for p in paths], "Eg_MP": 2.0}).to_csv(
        tmp_path / "pool.csv", index=False
    )
    (tmp_path / "pool.txt").write_text("\n".join(str(p) for p in paths) + "\n")
    atoms = [AseAtomsAdaptor.get_atoms(s) for s in structs]
    for i, a in enumerate(atoms):
        a.info["material_id"] = f"s{i}"
    ase.io.write(tmp_path / "pool.extxyz", atoms, format="extxyz")
    with ase.db.connect(tmp_path / "pool.db") as db:
        for i, a in enumerate(atoms):
            db.write(a, material_id=f"s{i}")
    return tmp_path, structs


def test_every_pool_format_reads_the_same_structures(pools):
    root, structs = pools
    expect = {f"s{i}": s for i, s in enumerate(structs)}
    for src in ["folder", "pool.csv", "pool.txt", "pool.extxyz", "pool.db"]:
        got = list(ps.iter_pool(root / src))
        assert ps.pool_size(root / src) == len(got) == 6, src
        for name, (kind, payload, gap), _h in got:
            short = name.rsplit("/", 1)[-1]
            s = ps.to_structure(kind, payload, name)
            assert s.composition.reduced_formula == expect[short].composition.reduced_formula, src
            assert np.allclose(s.lattice.abc, expect[short].lattice.abc, atol=1e-5), src
            assert gap == (2.0 if src == "pool.csv" else None)
    assert [n for n, _, _ in ps.iter_pool(root / "folder")][:2] == ["part0/s0", "part0/s2"]


def test_bad_pools_are_one_line_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such pool"):
        ps.pool_size(tmp_path / "nope")
    (tmp_path / "t.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="needs a 'path' column"):
        ps.pool_size(tmp_path / "t.csv")


def test_a_killed_pool_run_resumes_from_its_cached_chunks(pools, tmp_cache, capsys, monkeypatch):
    root, _ = pools
    calls = []

    def interrupted(pairs, ctx):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return standin_chunk(pairs, ctx)

    with pytest.raises(KeyboardInterrupt):
        ps.screen_pool(root / "folder", root / "a.parquet", ctx=STANDIN, func=interrupted,
                       backend=LocalBackend(1), chunk_size=2)  # fmt: skip
    res = ps.screen_pool(root / "folder", root / "a.parquet", ctx=STANDIN, func=standin_chunk,
                         backend=LocalBackend(1), chunk_size=2)  # fmt: skip
    assert (res.run.n_cached, res.run.n_computed) == (2, 1)
    assert "2 from the cache" in capsys.readouterr().err
    monkeypatch.setenv("MATMAP_CACHE", str(root / "fresh-cache"))
    fresh = ps.screen_pool(root / "folder", root / "b.parquet", ctx=STANDIN, func=standin_chunk,
                           backend=LocalBackend(2), chunk_size=2)  # fmt: skip
    assert fresh.run.n_computed == 3
    a, b = pd.read_parquet(res.table), pd.read_parquet(fresh.table)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(ps.COLUMNS) and a.index.name == "material_id" and len(a) == 6


def test_unreadable_files_are_failure_rows_not_crashes(pools, tmp_cache):
    root, _ = pools
    (root / "folder" / "part1" / "zz_broken.cif").write_text("data_x\n_cell_length_a 3\n")
    res = ps.screen_pool(root / "folder", root / "c.parquet", ctx=STANDIN, func=standin_chunk,
                         backend=LocalBackend(1), chunk_size=4)  # fmt: skip
    assert (res.n_ok, res.n_failed) == (6, 1)
    fails = pd.read_parquet(res.failures)
    assert list(fails.index) == ["part1/zz_broken"] and "zz_broken" in fails["reason"].iloc[0]


def test_a_first_chunk_that_failed_entirely_still_gives_a_typed_table(pools, tmp_cache):
    """Text columns have a type even in a chunk without a screened row (or without one gap reason):
    the chunks stream into one parquet file with one schema."""
    root, _ = pools
    (root / "folder" / "aa").mkdir()
    for i in range(2):
        (root / "folder" / "aa" / f"broken{i}.cif").write_text("data_x\n")
    res = ps.screen_pool(root / "folder", root / "d.parquet", ctx=STANDIN, func=standin_chunk,
                         backend=LocalBackend(1), chunk_size=2)  # fmt: skip
    df = pd.read_parquet(res.table)
    assert (res.n_ok, res.n_failed) == (6, 2) and list(df.columns) == list(ps.COLUMNS)
    assert df["gap_reason"].isna().all() and (df["verdict"] == "not a candidate: P_SI < 0.5").all()


def test_known_gaps_the_pools_own_first_then_by_name_then_by_mp_id(pools):
    root, _ = pools
    known = {"s0": 5.0, "part1/s1": 4.0}
    gaps = {n: g for n, (_, _, g), _ in ps.iter_pool(root / "folder", known)}
    assert gaps == {"part0/s0": 5.0, "part0/s2": None, "part0/s4": None, "part1/s1": 4.0, "part1/s3": None,
                    "part1/s5": None}  # fmt: skip
    assert {g for _, (_, _, g), _ in ps.iter_pool(root / "pool.csv", known)} == {2.0}  # the table's column
    assert ps.known_gaps_from("none") is None and ps.known_gaps_from(None) is None


# ---- the real pipeline (saved screening ensemble + MEGNet) on MP CIFs of the mirror -----------
#: MP structures of the mirror: intermetallics without an MP gap (LiAu3, Li2Pt, LiSiAg2: MEGNet's
#: metal classifier decides), insulators with an MP gap (Li3AuS2, Li2PtF6), one with MEGNet's gap
#: only (LiFeF4) and one of MEGNet Eg < 1 eV (LiTi(PO3)5), a labelled composition (Li48P16S61) and
#: one without charge-balanced oxidation states (Li3Au: a failure row)
VERDICT_IDS = ["mp-11248", "mp-2170", "mp-1185425", "mp-15999", "mp-13986", "mp-776094", "mp-684059",
               "mp-1001069", "mp-11247"]  # fmt: skip
METALS = ["mp-11248", "mp-2170"]


@pytest.fixture(scope="module")
def verdict_run(tmp_path_factory):
    """The pool screening (saved ensemble, its novelty reference, MP gaps by name; chunks of 4 on
    two local processes) of :data:`VERDICT_IDS` plus Li3AuS2 under a name that is no MP id; and
    the structures by name."""
    if mirror_dir() is None:
        pytest.skip("needs the data mirror")
    if not (candidates.default_model_dir() / "config.json").exists():
        pytest.skip("no screening ensemble saved by notebook 06")
    root = tmp_path_factory.mktemp("verdicts")
    folder = root / "pool"
    folder.mkdir()
    for mid in VERDICT_IDS:
        shutil.copy(mirror_dir() / "mp_li" / f"{mid}.cif", folder / f"{mid}.cif")
    shutil.copy(mirror_dir() / "mp_li" / "mp-15999.cif", folder / "unnamed-Li3AuS2.cif")
    ctx = ps.load_context()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MATMAP_CACHE", str(root / "cache"))
        res = ps.screen_pool(folder, root / "out.parquet", ctx=ctx, backend=LocalBackend(2), chunk_size=4)
    structs = {p.stem: Structure.from_file(p) for p in sorted(folder.glob("*.cif"))}
    return res, pd.Series(structs, dtype=object)


@pytest.mark.mirror
def test_pool_verdicts_are_those_of_matmap_screen_file(verdict_run):
    """Same P_SI, P_nonmetal, band gap and source, domain, novelty and verdict as ``matmap screen
    FILE`` (:func:`score.score_structures`, one batch) on the same structures; the intermetallics
    are metals by the classifier, the MP gap decides where there is one."""
    res, structs = verdict_run
    df = pd.read_parquet(res.table)
    assert list(df.columns) == list(ps.COLUMNS) == score.SCORED_COLUMNS and df.index.name == "material_id"
    fails = pd.read_parquet(res.failures)
    assert list(fails.index) == ["mp-11247"] and "oxidation states" in fails.loc["mp-11247", "reason"]
    one, one_fails = score.score_structures(candidates.load_screening_bundle(), structs)
    assert [n for n, _ in one_fails] == ["mp-11247"] and sorted(one.index) == sorted(df.index)
    one = one.loc[df.index]
    for a, b in [("P_SI", "P_SI"), ("P_SI_std", "P_SI_std"), ("P_nonmetal", "P_nonmetal"), ("Eg", "Eg_eV")]:
        assert np.allclose(df[a], one[b].astype(float), rtol=0, atol=1e-6, equal_nan=True), a
    # a distance in whitened units of float32 features, batched differently: equal to float32 precision
    # (with the paper-profile ensemble d_train reaches ~20 and differs by ~3e-5 between batchings)
    assert np.allclose(df["d_train"], one["d_train"].astype(float), rtol=1e-5, atol=1e-6)
    for a, b in [("Eg_source", "Eg_source"), ("verdict", "verdict"), ("formula", "formula")]:
        assert df[a].astype(str).tolist() == one[b].astype(str).tolist(), a
    assert df["novel"].tolist() == one["novel"].astype(bool).tolist()
    assert (np.where(df["out_of_domain"], "out", "in") == one["domain"]).all()
    # the science: the classifier's metals, the MP gap first, a labelled composition is known
    mp_gap = load_mp_band_gaps()["mp_band_gap_eV"]
    for mid in METALS:
        row = df.loc[mid]
        assert mid not in mp_gap.index and row["Eg_source"] == "MEGNet" and row["P_nonmetal"] < 0.5
        assert row["metal"] and row["gap_reason"] == "metal" and row["verdict"].startswith("not a candidate: metal")
    ins = df.loc["mp-15999"]
    assert ins["Eg_source"] == "MP" and ins["Eg"] == mp_gap["mp-15999"] > 1 and ins["passes_gap"]
    assert "metal" not in ins["verdict"] and not ins["metal"]
    assert df.loc["unnamed-Li3AuS2", "Eg_source"] == "MEGNet"
    assert not df.loc["mp-1001069", "novel"] and "known composition" in df.loc["mp-1001069", "verdict"]
    assert (df["candidate"] == (df["verdict"] == "candidate")).all()
    assert (df["passes_gap"] == df["gap_reason"].isna()).all()


@pytest.mark.mirror
def test_pool_table_is_chapter_06s_screening_table(verdict_run):
    """Column for column and value for value, chapter 06's :func:`ch06s.screening_table` on the same
    structures (MP gaps, MEGNet gap and metal classifier, the ensemble's novelty reference)."""
    res, structs = verdict_run
    df = pd.read_parquet(res.table)
    bundle = candidates.load_screening_bundle()
    mode, layer = bundle["mode"], bundle["layer"]
    feats, ffail = features.featurize(structs, modes=[mode], layers=[layer], n_jobs=1, cache=False)
    pool = pd.DataFrame(
        {"structure": structs, "reduced_formula": [s.composition.reduced_formula for s in structs],
         "nsites": [len(s) for s in structs]}, index=pd.Index(structs.index, name="material_id"),
    )  # fmt: skip
    props, _ = pool_properties(structs, names=("nonmetal",), cache=False, n_jobs=1, progress=False)
    megnet_gap = megnet_pool.predict_structures(list(structs), ids=list(structs.index))["band_gap_eV"]
    reference, _ = filters.reference_compositions(bundle["reference_formulas"])
    ch06, fails = ch06s.screening_table(
        bundle["model"], pool, (mode, layer), bundle["train_vectors"], load_mp_band_gaps()["mp_band_gap_eV"],
        megnet_gap, props["p_nonmetal"], reference, 1, bundle["domain_threshold"], feats=(feats[(mode, layer)], ffail),
    )  # fmt: skip
    assert list(ch06.columns) == list(df.columns) and sorted(ch06.index) == sorted(df.index)
    ch06 = ch06.loc[df.index]
    for col in df.columns:
        if df[col].dtype.kind == "f":
            # float32 features batched differently: equal to float32 precision (d_train reaches ~20)
            assert np.allclose(df[col], ch06[col].astype(float), rtol=1e-5, atol=1e-6, equal_nan=True), col
        else:
            assert df[col].astype(object).where(df[col].notna(), None).tolist() == [
                None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v for v in ch06[col]
            ], col
    counts = filters.filter_counts(df)
    assert counts == filters.filter_counts(ch06) and counts["removed_metal"] >= len(METALS)


def mp_pool(tmp_path, n=12, stride=997) -> Path:
    """``n`` MP CIFs of the mirror (every ``stride``-th) and one broken CIF, in a fresh folder."""
    if mirror_dir() is None:
        pytest.skip("needs the data mirror")
    cifs = sorted((mirror_dir() / "mp_li").glob("*.cif"))[::stride][:n]
    folder = tmp_path / "mp"
    folder.mkdir()
    for c in cifs:
        (folder / c.name).write_text(c.read_text())
    (folder / "broken.cif").write_text("data_broken\n")
    return folder


@pytest.fixture(scope="module")
def real_ctx():
    if not (candidates.default_model_dir() / "config.json").exists():
        pytest.skip("no screening ensemble saved by notebook 06")
    return ps.load_context(novelty="training")


@pytest.mark.mirror
def test_pool_screening_equals_one_batch_of_the_cli_pipeline(tmp_path, tmp_cache, real_ctx):
    folder = mp_pool(tmp_path)
    res = ps.screen_pool(folder, tmp_path / "out.parquet", ctx=real_ctx, backend=LocalBackend(2), chunk_size=5)
    df = pd.read_parquet(res.table)
    fails = pd.read_parquet(res.failures)
    assert res.n_ok + res.n_failed == 13 and "broken" in fails.index and res.n_ok >= 8
    assert list(df.columns) == list(ps.COLUMNS)
    names = sorted(p.stem for p in folder.glob("mp-*.cif") if p.stem not in fails.index)
    structs = [ps.to_structure("cif", (folder / f"{n}.cif").read_text(), n) for n in names]
    one = ps.screen_structures(names, structs, [np.nan] * len(names), real_ctx)
    for col in ["P_SI", "P_SI_std", "d_train", "P_nonmetal"]:
        assert np.allclose(df.loc[names, col].astype(float), one[col].astype(float), atol=1e-5), col
    assert (df.loc[names, "novel"] == one["novel"].astype(bool)).all()


@pytest.mark.mirror
@pytest.mark.ray
def test_real_pool_screening_is_identical_on_ray_and_local(tmp_path, monkeypatch, real_ctx):
    folder = mp_pool(tmp_path, n=8)
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "c1"))
    local = ps.screen_pool(folder, tmp_path / "l.parquet", ctx=real_ctx, backend=LocalBackend(1), chunk_size=3)
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "c2"))
    monkeypatch.delenv("MATMAP_RAY_ADDRESS", raising=False)
    with ray_session(None, num_cpus=2):
        rb = RayBackend()
        on_ray = ps.screen_pool(folder, tmp_path / "r.parquet", ctx=real_ctx, backend=rb, chunk_size=3)
    assert on_ray.run.n_computed == 3
    pd.testing.assert_frame_equal(pd.read_parquet(local.table), pd.read_parquet(on_ray.table))
    pd.testing.assert_frame_equal(pd.read_parquet(local.failures), pd.read_parquet(on_ray.failures))


def test_cli_pool_runs_and_writes_the_table(pools, tmp_cache, monkeypatch, capsys):
    root, _ = pools
    monkeypatch.setattr(ps, "load_context", lambda **kw: STANDIN)
    monkeypatch.setattr(ps, "screen_chunk", standin_chunk)
    monkeypatch.setitem(ps.screen_pool.__kwdefaults__, "func", standin_chunk)
    parser = argparse.ArgumentParser()
    parser.add_argument("-o", "--output")
    parser.add_argument("--model")
    cli_pool.add_pool_arguments(parser)
    args = parser.parse_args(
        ["--pool", str(root / "pool.csv"), "-o", str(root / "cli.parquet"), "--ray-address", "local"]
    )
    monkeypatch.delenv("MATMAP_RAY_ADDRESS", raising=False)
    assert cli_pool.run_pool(args) == 0
    df = pd.read_parquet(root / "cli.parquet")
    assert len(df) == 6 and (df["Eg_source"] == "MP").all()
    assert "candidates" in capsys.readouterr().err


def cli_args(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("-o", "--output")
    parser.add_argument("--model")
    cli_pool.add_pool_arguments(parser)
    return parser.parse_args(list(argv))


def test_ray_local_option_is_a_positive_cpu_count_and_excludes_ray_address(capsys):
    assert cli_args("--pool", "x", "--ray-local", "2").ray_local == 2
    for bad in (["--ray-local", "0"], ["--ray-local", "two"], ["--ray-local", "2", "--ray-address", "auto"]):
        with pytest.raises(SystemExit):
            cli_args("--pool", "x", *bad)
    err = capsys.readouterr().err
    assert "'0': a number of CPUs must be a positive integer" in err and "not allowed with" in err


@pytest.mark.ray
def test_local_ray_starts_its_own_instance_on_127_0_0_1_and_stops_it(monkeypatch):
    """``local-ray`` ignores a configured cluster address: a private 2-CPU instance on the
    loopback address, started by the backend and shut down by its ``close``."""
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    monkeypatch.setenv("MATMAP_RAY_ADDRESS", "203.0.113.1:6379")  # TEST-NET-3: would never answer
    rb = backends.get_backend(backends.LOCAL_RAY, num_cpus=2)
    try:
        assert isinstance(rb, RayBackend) and rb.session.address is None and rb.session.started
        assert rb.n_workers == 2 and "127.0.0.1" in rb.describe()
        assert {n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]} == {"127.0.0.1"}
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    finally:
        rb.close()
    assert not ray.is_initialized()


@pytest.mark.mirror
@pytest.mark.ray
def test_cli_ray_local_gives_the_local_backends_table_on_60_mp_structures(tmp_path, monkeypatch, capsys):
    """``matmap screen --pool`` with ``--ray-local 2`` (a private Ray instance started and stopped by
    the command) and with local processes: identical tables and failures on 60 MP structures (real
    ensemble, MEGNet, MP gaps), each run computing every chunk in its own empty cache."""
    ray = pytest.importorskip("ray")
    if not (candidates.default_model_dir() / "config.json").exists():
        pytest.skip("no screening ensemble saved by notebook 06")
    model = shutil.copytree(candidates.default_model_dir(), tmp_path / "ensemble")  # fixed during the test
    folder = mp_pool(tmp_path, n=60, stride=359)
    monkeypatch.delenv("MATMAP_RAY_ADDRESS", raising=False)
    common = ["--pool", str(folder), "--model", str(model), "--known-gaps", "mp", "--novelty", "training"]
    common += ["--chunk-size", "16"]
    out = {}
    for label, where in [("local", ["--ray-address", "local"]), ("ray", ["--ray-local", "2"])]:
        monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / f"cache-{label}"))
        assert cli_pool.run_pool(cli_args(*common, *where, "-o", str(tmp_path / f"{label}.parquet"))) == 0
        out[label] = capsys.readouterr().err
    assert "ray at a private instance on 127.0.0.1 (2 CPUs)" in out["ray"] and "0 from the cache" in out["ray"]
    assert not ray.is_initialized()  # the command stopped the instance it started
    local, on_ray = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "ray.parquet")
    assert len(local) >= 50 and list(local.columns) == list(ps.COLUMNS)
    assert (local["Eg_source"] == "MP").sum() > 0 and local["P_SI"].nunique() > 10
    pd.testing.assert_frame_equal(local, on_ray)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local-failures.parquet"), pd.read_parquet(tmp_path / "ray-failures.parquet")
    )
