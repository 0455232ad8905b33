"""MEGNet in torch against the ORIGINAL Keras implementation (fixtures in tests/fixtures/megnet/).

The fixtures were produced by megnet 1.3.2 / tensorflow-cpu 2.15.1 (recipe:
tests/fixtures/megnet/make_reference.py, README.md there); the structures are stored in the
fixture exactly as the original parsed them, so these tests compare the same inputs.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from matmap_utils.screening.megnet import kernels, model

FIX = Path(__file__).parent / "fixtures" / "megnet"
MODELS = ("formation_energy", "band_gap")

pytestmark = pytest.mark.mirror  # the model weights come from the data mirror


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIX / "reference.json").read_text())


@pytest.fixture(scope="module")
def ref_features():
    with np.load(FIX / "features.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _structure(d):
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice(d["lattice"]), d["numbers"], d["frac_coords"])


@pytest.fixture(scope="module")
def structures(ref):
    return {i: _structure(ref["structures"][i]) for i in ref["ids"]}


@pytest.fixture(scope="module")
def models():
    from matmap_utils.screening.megnet.model import load_model

    return {k: load_model(k) for k in MODELS}


def test_fixture_is_big_enough(ref):
    assert len(ref["ids"]) >= 20
    assert max(len(ref["structures"][i]["numbers"]) for i in ref["ids"]) >= 80
    assert ref["versions"]["megnet"] == "1.3.2" and ref["versions"]["tensorflow"] == "2.15.1"


@pytest.mark.parametrize("name", MODELS)
def test_model_files_are_the_reference_ones(ref, models, name):
    from matmap_utils.screening.megnet.weights import file_sha256 as _file_sha256

    m = models[name]
    assert _file_sha256(m.hdf5) == ref["models"][name]["sha256"]
    assert _file_sha256(m.json_path) == ref["models"][name]["json_sha256"]
    assert m.cutoff == ref["models"][name]["cutoff"]


@pytest.fixture(params=["kernels", "torch"])
def path(request, models, monkeypatch):
    """Both evaluation paths: quotient graphs + fused numba kernels (the default on a CPU), and
    plain torch ops on the full graph (the GPU path, and small runs before the kernels load)."""

    if request.param == "kernels":
        if not (model.default_reduce() and kernels.available()):
            pytest.skip("numba is not installed")
        monkeypatch.setattr(model, "FAST_MIN_BONDS", 0)
    else:
        for m in models.values():
            monkeypatch.setattr(m, "reduce_graphs", False)
            monkeypatch.setattr(m, "_fused", False)
    return request.param


@pytest.mark.parametrize("name", MODELS)
def test_predictions_equal_original(ref, structures, models, name, path):
    m = models[name]
    ours = m.predict([structures[i] for i in ref["ids"]], ids=ref["ids"], batch_size=8)
    assert list(ours.index) == ref["ids"]
    original = np.array(ref["models"][name]["predict_structures_batch8"])
    diff = np.abs(ours[m.target].to_numpy() - original)
    assert diff.max() <= 1e-4, f"{name}: max |ours - original| = {diff.max():.2e}"
    # the models do differ from each other (the comparison can fail)
    assert np.abs(original).max() > 0.05


@pytest.mark.parametrize("name", MODELS)
def test_site_features_equal_original(ref, ref_features, structures, models, name, path):
    m = models[name]
    feats = m.atom_features([structures[i] for i in ref["feature_ids"]], layers=(0, 1, 2, 3))
    for i, f in zip(ref["feature_ids"], feats):
        for k in range(4):
            expected = ref_features[f"{name}/{i}/V{k}"]
            assert f[k].shape == expected.shape == (len(structures[i]), 16 if k == 0 else 32)
            err = np.abs(f[k] - expected).max()
            assert err <= 1e-4, f"{name} {i} V{k}: max abs diff {err:.2e}"


def test_batch_equals_single(ref, structures, models):
    m = models["formation_energy"]
    ids = ref["ids"][:6] + ref["ids"][-1:]
    batch = m.predict([structures[i] for i in ids], batch_size=64)[m.target].to_numpy()
    single = np.array([m.predict([structures[i]])[m.target].iloc[0] for i in ids])
    small_batches = m.predict([structures[i] for i in ids], batch_size=2)[m.target].to_numpy()
    np.testing.assert_allclose(batch, single, atol=1e-5, rtol=0)
    np.testing.assert_allclose(batch, small_batches, atol=1e-5, rtol=0)


def test_graph_matches_cutoff_definition(structures):
    """Bonds are every pair within the cutoff (both directions), as megnet's get_graphs_within_cutoff."""
    from matmap_utils.screening.megnet.graph import graph_from_arrays, structure_arrays

    s = structures["mp-863659"]  # 4 sites
    g = graph_from_arrays(structure_arrays(s), 5.0)
    assert g.distance.max() <= 5.0 and g.distance.min() > 0
    # brute force over images
    frac = s.frac_coords
    lat = s.lattice.matrix
    count = 0
    rng = range(-4, 5)
    for i in range(len(s)):
        for j in range(len(s)):
            for a in rng:
                for b in rng:
                    for c in rng:
                        d = np.linalg.norm((frac[j] + [a, b, c] - frac[i]) @ lat)
                        count += 1e-8 < d <= 5.0
    assert g.n_bonds == count
    # bonds are symmetric
    pairs = sorted(zip(g.index1.tolist(), g.index2.tolist(), np.round(g.distance, 4).tolist()))
    rev = sorted(zip(g.index2.tolist(), g.index1.tolist(), np.round(g.distance, 4).tolist()))
    assert pairs == rev


def test_smaller_cutoff_from_larger_graph(structures):
    from matmap_utils.screening.megnet.graph import graph_from_arrays, structure_arrays

    for i in ["mp-760808", "mp-1018769"]:
        arr = structure_arrays(structures[i])
        big, small = graph_from_arrays(arr, 5.0).with_cutoff(4.0), graph_from_arrays(arr, 4.0)
        key = lambda g: sorted(zip(g.index1.tolist(), g.index2.tolist(), np.round(g.distance, 5).tolist()))  # noqa: E731
        assert key(big) == key(small)


def test_disordered_site_is_occupancy_weighted_embedding(models):
    from pymatgen.core import Lattice, Structure

    m = models["formation_energy"]
    lat = Lattice.cubic(4.2)
    coords = [[0, 0, 0], [0.5, 0.5, 0.5]]
    dis = Structure(lat, [{"Li": 0.25, "Na": 0.75}, "Cl"], coords)
    li = Structure(lat, ["Li", "Cl"], coords)
    na = Structure(lat, ["Na", "Cl"], coords)
    f_dis, f_li, f_na = m.atom_features([dis, li, na], layers=(0, 1))
    w = m._w[m.embedding_layer]["embeddings"].cpu().numpy()
    np.testing.assert_allclose(f_dis[0][0], 0.25 * w[3] + 0.75 * w[11], atol=1e-6)
    np.testing.assert_allclose(f_dis[0][0], 0.25 * f_li[0][0] + 0.75 * f_na[0][0], atol=1e-6)
    np.testing.assert_allclose(f_dis[0][1], f_li[0][1], atol=1e-6)  # Cl row unchanged in V0
    assert not np.allclose(f_dis[1][0], f_li[1][0])  # but V1 of the site mixes the disorder in
    # vacancies: a half-occupied site is half an embedding
    vac = Structure(lat, [{"Li": 0.5}, "Cl"], coords)
    np.testing.assert_allclose(m.atom_features([vac], layers=(0,))[0][0][0], 0.5 * w[3], atol=1e-6)


def test_no_bonds_is_a_clear_error_and_a_failure_row(models):
    from pymatgen.core import Lattice, Structure

    from matmap_utils.screening.megnet.graph import MEGNetGraphError

    m = models["formation_energy"]
    lonely = Structure(Lattice.cubic(12.0), ["Li"], [[0, 0, 0]])
    with pytest.raises(MEGNetGraphError, match="no bonds within the cutoff"):
        m.structure_to_graph(lonely)
    ok = Structure(Lattice.cubic(4.2), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    df = m.predict([ok, lonely], ids=["ok", "lonely"])
    assert list(df.index) == ["ok"]
    fails = df.attrs["failures"]
    assert list(fails["id"]) == ["lonely"] and "no bonds" in fails["reason"].iloc[0]


def test_isolated_atom_handled_like_original(models):
    """A site without neighbours is kept (the original only warns): its bond message is 0."""
    from pymatgen.core import Lattice, Structure

    m = models["formation_energy"]
    s = Structure(Lattice.cubic(14.0), ["Li", "F", "Li"], [[0, 0, 0], [0.12, 0, 0], [0.5, 0.5, 0.5]])
    g = m.structure_to_graph(s)
    assert g.n_isolated == 1 and 2 not in set(g.index1.tolist())
    pred = m.predict([s])[m.target].iloc[0]
    assert np.isfinite(pred)


def test_bad_species_is_reported():
    from pymatgen.core import DummySpecies, Lattice, Structure

    from matmap_utils.screening.megnet.graph import MEGNetGraphError, structure_arrays

    s = Structure(Lattice.cubic(4.0), [DummySpecies("X"), "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(MEGNetGraphError, match="no MEGNet embedding"):
        structure_arrays(s)


def test_pool_compute_cache_and_features(ref, structures, models, tmp_path, monkeypatch):
    from pymatgen.core import Lattice, Structure

    from matmap_utils.screening.megnet.pool import SiteFeatures, pool_compute

    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path))
    ids = ref["ids"][:3]
    df = pd.DataFrame({"structure": [structures[i] for i in ids]}, index=ids)
    df.loc["lonely", "structure"] = Structure(Lattice.cubic(12.0), ["Li"], [[0, 0, 0]])
    pred, feats, fails = pool_compute(df, layers=(0, 3), n_jobs=1, progress=False)
    assert list(pred.index) == ids and list(fails["id"]) == ["lonely"]
    for name, m in models.items():
        original = np.array(ref["models"][name]["predict_structures_batch8"][:3])
        assert np.abs(pred[m.target].to_numpy() - original).max() <= 1e-4
    direct = models["formation_energy"].atom_features([structures[i] for i in ids], layers=(0, 3))
    for i, d in zip(ids, direct):
        np.testing.assert_allclose(feats[i][3], d[3], atol=1e-6)
        assert feats[i][0].dtype == np.float32
    assert sorted(p.suffix for p in (tmp_path / "compute" / "megnet").iterdir()) == [".npz", ".parquet"]
    # second call: served from the cache, same numbers
    pred2, feats2, _ = pool_compute(df, layers=(0, 3), n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(pred, pred2)
    np.testing.assert_array_equal(feats.arrays[3], feats2.arrays[3])
    # save / load round trip
    feats.save(tmp_path / "f.npz")
    back = SiteFeatures.load(tmp_path / "f.npz")
    assert back.ids == [str(i) for i in feats.ids]
    np.testing.assert_array_equal(back[ids[1]][0], feats[ids[1]][0])


def test_band_gaps_vs_mp_join():
    from matmap_utils.data.datasets import load_mp_band_gaps
    from matmap_utils.screening.megnet.pool import megnet_vs_mp_band_gaps

    mp = load_mp_band_gaps()
    ids = list(mp.index[:3])
    preds = pd.DataFrame({"band_gap_eV": [1.0, 2.0, 3.0], "formation_energy_eV_atom": 0.0}, index=ids + []).rename_axis(
        "id"
    )
    preds.loc["mp-not-in-csv"] = [5.0, 0.0]
    joined, metrics = megnet_vs_mp_band_gaps(preds)
    assert list(joined.index) == ids
    expected = np.mean(np.abs(np.array([1.0, 2.0, 3.0]) - mp.loc[ids, "mp_band_gap_eV"].to_numpy()))
    assert metrics["n"] == 3 and metrics["mae_eV"] == pytest.approx(expected)
    assert metrics["n_csv"] == len(mp)


def test_fixture_structures_are_the_mirror_cifs(ref):
    """The structures of the fixture are the mirror CIFs as our reader parses them."""
    from matmap_utils.data.registry import fetch
    from matmap_utils.data.structures import read_structure

    for i in ref["ids"][:3] + ref["ids"][-1:]:
        ours = read_structure(fetch(f"mp_li/{i}.cif"))
        d = ref["structures"][i]
        assert [s.specie.Z for s in ours] == d["numbers"]
        np.testing.assert_allclose(ours.lattice.matrix, d["lattice"], atol=1e-6)
        delta = ours.frac_coords - np.array(d["frac_coords"])
        np.testing.assert_allclose(delta - np.round(delta), 0, atol=1e-6)


def test_cli(ref, structures, tmp_path, capsys):
    from pymatgen.io.cif import CifWriter

    from matmap_utils.cli.main import main

    ids = ref["ids"][:2]
    for i in ids:
        CifWriter(structures[i]).write_file(tmp_path / f"{i}.cif")
    (tmp_path / "bad.cif").write_text("not a cif\n")
    out = tmp_path / "out.npz"
    rc = main(["megnet", str(tmp_path), "--layers", "0,3", "-o", str(out)])
    assert rc == 0
    err = capsys.readouterr().err
    assert "2 of 3 processed, 1 failed" in err and "bad.cif" in err
    with np.load(out, allow_pickle=False) as z:
        assert list(z["name"]) == sorted(ids)
        order = [ids.index(n) for n in z["name"]]
        for name in MODELS:
            col = "formation_energy_eV_atom" if name == "formation_energy" else "band_gap_eV"
            original = np.array(ref["models"][name]["predict_structures_batch8"])[order]
            assert np.abs(z[col] - original).max() <= 1e-4
        assert z["V0"].shape == (z["offsets"][-1], 16) and z["V3"].shape[1] == 32
    rc = main(["megnet", str(tmp_path / "bad.cif"), "--json"])
    assert rc != 0
    assert main(["megnet", str(tmp_path / f"{ids[0]}.cif"), "--layers", "7"]) == 2


def test_pool_compute_in_worker_processes_equals_in_process(ref, structures, tmp_path, monkeypatch):
    from matmap_utils.screening.megnet.pool import pool_compute

    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path))
    ids = ref["ids"][:4]
    df = pd.DataFrame({"structure": [structures[i] for i in ids]}, index=ids)
    p1, f1, _ = pool_compute(df, layers=(1,), cache=False, n_jobs=1, chunk_size=2, progress=False)
    p2, f2, _ = pool_compute(df, layers=(1,), cache=False, n_jobs=2, chunk_size=2, progress=False)
    pd.testing.assert_frame_equal(p1, p2)
    assert f1.ids == f2.ids == ids
    np.testing.assert_allclose(f1.arrays[1], f2.arrays[1], atol=1e-6)
    assert not list((tmp_path / "compute" / "megnet").iterdir())  # cache=False writes nothing


def test_thread_count_default_and_override(ref, structures, models, monkeypatch):
    from matmap_utils.screening.megnet.model import default_threads

    monkeypatch.setenv("MATMAP_MEGNET_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.delenv("MATMAP_MEGNET_THREADS")
    assert default_threads() == 0  # automatic
    # the thread count changes speed, never the numbers
    m = models["formation_energy"]
    old = m.threads
    try:
        some = [structures[i] for i in ref["ids"][:6]]
        m.threads = 1
        one = m.predict(some)[m.target].to_numpy()
        m.threads = 2
        two = m.predict(some)[m.target].to_numpy()
        # automatic: >= 8 batches -> the first four are timed with 1 and all cores, then one is kept
        m.threads, m.last_threads, m._threads_decided_at = 0, None, -np.inf
        many = [structures[i] for i in ref["ids"]] * 2
        auto = m.predict(many, batch_size=2)[m.target].to_numpy()
        assert m.last_threads in {1, len(os.sched_getaffinity(0))}
        m.threads = 1
        fixed = m.predict(many, batch_size=2)[m.target].to_numpy()
    finally:
        m.threads = old
    np.testing.assert_allclose(one, two, atol=1e-5)
    np.testing.assert_allclose(auto, fixed, atol=1e-5)


def test_scaler_and_model_json(tmp_path):
    from matmap_utils.screening.megnet.weights import Scaler, read_model_json

    y, n = np.array([1.0, 2.0]), np.array([2, 4])
    assert np.array_equal(Scaler(None).inverse_transform(y, n), y)
    std = {"@class": "StandardScaler", "mean": 0.5, "std": 2.0, "is_intensive": True}
    np.testing.assert_allclose(Scaler(std).inverse_transform(y, n), [2.5, 4.5])
    np.testing.assert_allclose(Scaler({**std, "is_intensive": False}).inverse_transform(y, n), [5.0, 18.0])
    with pytest.raises(ValueError, match="not supported"):
        Scaler({"@class": "LogScaler"})
    conf = {
        "graph_converter": {
            "@class": "CrystalGraph",
            "cutoff": 4.0,
            "bond_converter": {"@class": "GaussianDistance", "centers": {"data": [0.0, 1.0]}, "width": 0.5},
        },
        "metadata": {"unit": "eV"},
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(conf))
    m = read_model_json(path)
    assert m.cutoff == 4.0 and m.width == 0.5 and m.centers.tolist() == [0.0, 1.0] and m.scaler.kind == "DummyScaler"
    assert m.metadata == {"unit": "eV"}
    conf["graph_converter"]["bond_converter"]["@class"] = "Other"
    path.write_text(json.dumps(conf))
    with pytest.raises(ValueError, match="bond converter"):
        read_model_json(path)


def test_layer_ops():
    from matmap_utils.screening.megnet.ops import activation, gather, seg_sum, softplus2

    x = torch.tensor([-1.0, 0.0, 2.0])
    assert float(softplus2(torch.tensor(0.0))) == pytest.approx(0.0, abs=1e-7)
    torch.testing.assert_close(
        activation("hard_sigmoid")(torch.tensor([-5.0, 0.0, 1.0])), torch.tensor([0.0, 0.5, 0.7])
    )
    torch.testing.assert_close(activation(None)(x), x)
    assert float(activation("softplus2")(torch.tensor(1.0))) == pytest.approx(math.log1p(math.e) - math.log(2))
    with pytest.raises(ValueError, match="not supported"):
        activation("gelu")
    idx = torch.tensor([0, 2, 0])
    torch.testing.assert_close(seg_sum(x, idx, 4), torch.tensor([1.0, 0.0, 0.0, 0.0]))
    rows = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    torch.testing.assert_close(seg_sum(rows, idx, 3), torch.tensor([[6.0, 8.0], [0.0, 0.0], [3.0, 4.0]]))
    torch.testing.assert_close(gather(rows, torch.tensor([2, 0])), rows[[2, 0]])


def test_cli_json_records():
    from matmap_utils.cli.megnet import json_records

    table = pd.DataFrame(
        {"name": ["a"], "formula": ["Li2O"], "nsites": [3], "formation_energy_eV_atom": [-2.0], "band_gap_eV": [5.0]},
        index=pd.Index(["/x/a.cif"], name="path"),
    )
    feats = [{0: np.array([[0.123456789], [1.0], [2.0]], np.float32)}]
    (rec,) = json_records(table, feats, (0,))
    assert rec["path"] == "/x/a.cif" and rec["nsites"] == 3 and rec["band_gap_eV"] == 5.0
    assert rec["features"]["V0"][0] == [0.1234568]
    assert "features" not in json_records(table, [], ())[0]
