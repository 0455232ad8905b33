"""Tests of matmap_utils.materials_map: determinism, batched == separate, save/load, shapes, bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from matmap_utils.materials_map import analysis, autoencoder, training

FAST = dict(
    max_epochs=4, patience=80, comp_hidden=(16, 4), struct_hidden=(16, 4), head_hidden=(8,), device="cpu", threads=1
)


@pytest.fixture(scope="module")
def data():
    return autoencoder.synthetic_descriptors(n=80, d_comp=24, d_struct=16, seed=3)


@pytest.fixture(scope="module")
def sweep(data):
    Xc, Xs, y = data
    return training.train_maps(Xc, Xs, y, Ws=(0.0, 0.1, 1.0), seed=0, **FAST)


def test_split_is_seeded_and_complete():
    a, b, c = autoencoder.make_split(100, 0), autoencoder.make_split(100, 0), autoencoder.make_split(100, 1)
    assert (a == b).all() and not (a == c).all()
    assert (a == "test").sum() == 20 and (a == "val").sum() == 8 and (a == "train").sum() == 72


def test_same_seed_same_metrics(data, sweep):
    Xc, Xs, y = data
    again = training.train_maps(Xc, Xs, y, Ws=(0.0, 0.1, 1.0), seed=0, **FAST)
    pd.testing.assert_frame_equal(sweep.metrics, again.metrics)
    other = training.train_maps(Xc, Xs, y, Ws=(0.0, 0.1, 1.0), seed=1, **FAST)
    assert not np.allclose(sweep.metrics["test_loss_comp"], other.metrics["test_loss_comp"])


def test_batched_equals_separate(data, sweep):
    """Member W=0.1 of the batched sweep follows the trajectory of W=0.1 trained alone."""
    Xc, Xs, y = data
    alone = training.train_maps(Xc, Xs, y, Ws=(0.1,), seed=0, **FAST)
    a, b = sweep[0.1], alone[0.1]
    assert a.meta["best_epoch"] == b.meta["best_epoch"]
    za, zb = a.encode(Xc, Xs), b.encode(Xc, Xs)
    np.testing.assert_allclose(za, zb, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(a.predict_me(Xc, Xs), b.predict_me(Xc, Xs), rtol=1e-3, atol=1e-4)
    # and W matters: the W=1 member differs from W=0 (the ME gradient reaches the encoders)
    assert not np.allclose(sweep[0.0].encode(Xc, Xs), sweep[1.0].encode(Xc, Xs), atol=1e-5)


def test_early_stopping_freezes_each_member(data):
    """A member stops when its validation Loss_all has not improved for `patience` epochs; its
    best epoch is final even if the batch trains on for the other members."""
    Xc, Xs, y = data
    r = training.train_maps(
        Xc,
        Xs,
        y,
        Ws=(0.0, 1.0, 30.0),
        seed=0,
        max_epochs=120,
        patience=4,
        comp_hidden=(16, 4),
        struct_hidden=(16, 4),
        head_hidden=(8,),
        device="cpu",
        threads=1,
    )
    best, stop = np.array(r.metrics["best_epoch"]), np.array(r.info["stop_epoch"])
    hist = r.history[:, :, 3]  # validation Loss_all per epoch and member
    assert r.info["epochs_run"] == stop.max() == len(hist)
    early = stop < r.info["epochs_run"]
    assert early.any()  # W = 30 stops early on this set, the others train on
    np.testing.assert_array_equal((stop - best)[early], 4)
    for k in range(3):
        b = best[k]
        assert hist[b - 1, k] == pytest.approx(hist[:b, k].min())
        assert (hist[b : stop[k], k] >= hist[b - 1, k]).all()
        if early[k]:  # it may improve after it stopped, but its best stays
            assert best[k] <= stop[k]


def test_training_reduces_loss_and_head_learns(data):
    Xc, Xs, y = data
    r = training.train_maps(
        Xc,
        Xs,
        y,
        Ws=(0.0, 1.0),
        seed=0,
        max_epochs=60,
        patience=80,
        device="cpu",
        comp_hidden=(16, 4),
        struct_hidden=(16, 4),
        head_hidden=(8,),
        threads=1,
    )
    h = r.history  # (epochs, K, 4) validation losses
    assert h.shape[1:] == (2, 4)
    assert h[-1, :, 3].min() < h[0, :, 3].min()
    m = r.metrics
    assert m.loc[1.0, "test_r2_me"] > m.loc[0.0, "test_r2_me"]  # W=0 never trains the head
    assert m.loc[1.0, "test_r2_comp"] > 0.5


def test_shapes_encode_decode_predict(data, sweep):
    Xc, Xs, y = data
    m = sweep[0.1]
    z = m.encode(Xc, Xs)
    assert z.shape == (len(Xc), 2) and np.isfinite(z).all()
    dc, ds = m.decode(z[:5, 0], z[:5, 1])
    assert dc.shape == (5, Xc.shape[1]) and ds.shape == (5, Xs.shape[1])
    assert (dc >= 0).all() and (dc <= 1).all()  # sigmoid decoder
    dc1, ds1 = m.decode(0.3, -0.2)
    assert dc1.shape == (1, Xc.shape[1]) and ds1.shape == (1, Xs.shape[1])
    me = m.predict_me(Xc, Xs)
    assert me.shape == (len(Xc),)
    np.testing.assert_allclose(me, m.predict_me_from_codes(z[:, 0], z[:, 1]), rtol=1e-6)
    grid = m.predict_me_from_codes(*np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-1, 1, 5)))
    assert grid.shape == (35,)


def test_map_axes_are_an_exact_monotone_transform_of_the_codes(data, sweep):
    Xc, Xs, y = data
    m = sweep[0.1]
    z, x = m.raw_codes(Xc, Xs), m.encode(Xc, Xs)
    assert m.axis is not None
    # fitted on the training rows: median 0, MAD 1 before the asinh
    tr = sweep.split == "train"
    u = np.sinh(m.encode(Xc[tr], Xs[tr]))
    np.testing.assert_allclose(np.median(u, axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.median(np.abs(u), axis=0), 1.0, rtol=1e-5)
    for j in range(2):  # same order along each axis
        np.testing.assert_array_equal(np.argsort(z[:, j], kind="stable"), np.argsort(x[:, j], kind="stable"))
    np.testing.assert_allclose(m.from_map(x), z, rtol=1e-9, atol=1e-9)
    # decoding map coordinates == decoding the raw codes (reconstruct goes straight through them)
    rc, rs = m.reconstruct(Xc, Xs)
    dc, ds = m.decode(x[:, 0], x[:, 1])
    np.testing.assert_allclose(dc, rc, atol=1e-5)
    np.testing.assert_allclose(ds, rs, atol=1e-5)
    # without axes the map coordinates are the raw codes
    m2 = autoencoder.MaterialsMap(
        m.params,
        config=m.config,
        W=m.W,
        y_mean=m.y_mean,
        y_std=m.y_std,
        comp_columns=m.comp_columns,
        struct_columns=m.struct_columns,
    )
    np.testing.assert_array_equal(m2.encode(Xc, Xs), z)
    np.testing.assert_allclose(m2.predict_me_from_codes(z[:, 0], z[:, 1]), m.predict_me(Xc, Xs), rtol=1e-5)


def test_metrics_columns(sweep):
    cols = {
        "test_loss_comp",
        "test_loss_str",
        "test_loss_me",
        "test_r2_comp",
        "test_r2_struct",
        "test_r2_me",
        "best_epoch",
    }
    assert cols <= set(sweep.metrics.columns)
    assert list(sweep.metrics.index) == [0.0, 0.1, 1.0]


def test_loss_definition_matches_paper(data, sweep):
    """Loss_comp sums squared errors over descriptor dims and averages over samples (Eq. 1)."""
    Xc, Xs, y = data
    m = sweep[0.1]
    rc, rs = m.reconstruct(Xc, Xs)
    ev = autoencoder.evaluate(m, Xc, Xs, y)
    assert ev["loss_comp"] == pytest.approx(((rc - Xc.values) ** 2).sum(1).mean(), rel=1e-6)
    assert ev["r2_comp"] == pytest.approx(
        1 - ((rc - Xc.values) ** 2).sum() / ((Xc.values - Xc.values.mean()) ** 2).sum(), rel=1e-6
    )


def test_save_load_roundtrip(tmp_path, data, sweep):
    Xc, Xs, y = data
    m = sweep[0.1]
    m.meta["note"] = "x"
    path = autoencoder.save_map(m, tmp_path / "map_W0.1.pt")
    assert path.exists() and path.with_suffix(".json").exists()
    cfg = json.loads(path.with_suffix(".json").read_text())
    assert cfg["W"] == 0.1 and len(cfg["comp_columns"]) == Xc.shape[1]
    back = autoencoder.load_map(path)
    np.testing.assert_array_equal(back.encode(Xc, Xs), m.encode(Xc, Xs))
    np.testing.assert_array_equal(back.predict_me(Xc, Xs), m.predict_me(Xc, Xs))
    for a, b in zip(back.decode(0.1, 0.2), m.decode(0.1, 0.2)):
        np.testing.assert_array_equal(a, b)
    assert back.meta["note"] == "x" and back.config == m.config and back.axis == m.axis
    # columns are aligned by name when a DataFrame is given
    np.testing.assert_array_equal(back.encode(Xc[Xc.columns[::-1]], Xs), m.encode(Xc, Xs))


def test_load_errors(tmp_path, data, sweep):
    with pytest.raises(FileNotFoundError):
        autoencoder.load_map(tmp_path / "nothing.pt")
    path = autoencoder.save_map(sweep[0.1], tmp_path / "m.pt")
    js = json.loads(path.with_suffix(".json").read_text())
    js["comp_columns"] = js["comp_columns"][:-1]
    path.with_suffix(".json").write_text(json.dumps(js))
    with pytest.raises(ValueError, match="shape"):
        autoencoder.load_map(path)
    path.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot read"):
        autoencoder.load_map(path)


def test_bad_input(data, sweep):
    Xc, Xs, y = data
    bad = Xc.copy()
    bad.iloc[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        training.train_maps(bad, Xs, y, **FAST)
    with pytest.raises(ValueError, match="number of samples"):
        training.train_maps(Xc.iloc[:-1], Xs, y, **FAST)
    with pytest.raises(ValueError, match="ME has"):
        training.train_maps(Xc, Xs, y.iloc[:-1], **FAST)
    yb = y.copy()
    yb.iloc[0] = np.nan
    with pytest.raises(ValueError, match="ME"):
        training.train_maps(Xc, Xs, yb, **FAST)
    with pytest.raises(ValueError, match="W values"):
        training.train_maps(Xc, Xs, y, Ws=(-1.0,), **FAST)
    m = sweep[0.1]
    with pytest.raises(ValueError, match="columns"):
        m.encode(Xc.values[:, :-1], Xs.values)
    with pytest.raises(ValueError, match="missing"):
        m.encode(Xc.drop(columns=Xc.columns[0]), Xs)
    with pytest.raises(ValueError, match="non-finite"):
        m.encode(bad, Xs)
    with pytest.raises(ValueError, match="differ"):
        m.decode([0.1, 0.2], [0.3])
    with pytest.raises(ValueError, match="finite"):
        m.decode(np.nan, 0.0)


def test_grid_search_ranks(data):
    Xc, Xs, y = data
    g = training.grid_search(Xc, Xs, y, batch_sizes=(16, 32), lrs=(1e-3, 1e-4), weight_decays=(1e-6,), seed=0, **FAST)
    assert len(g) == 4 and sorted(g["rank"]) == [1, 2, 3, 4]
    assert g.iloc[0]["val_loss_all"] == g["val_loss_all"].min()
    # members with different learning rates really differ
    assert g["val_loss_all"].nunique() == 4


def test_place_structures(tmp_path, monkeypatch, data):
    """A map trained on real descriptors of two toy structures places them (and names a failure)."""
    warnings.simplefilter("ignore")
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "cache"))
    D = pytest.importorskip("matmap_utils.materials_map.descriptors")
    from pymatgen.core import Lattice, Structure

    structs = [
        Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["O", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]])
        for a in (4.5, 4.61, 4.7, 4.8)
    ]
    res = D.describe(structs, [f"s{i}" for i in range(4)], n_jobs=1, progress=False)
    sc, ss = D.fit_scaler(res.comp, D.comp_spec()), D.fit_scaler(res.struct, D.struct_spec())
    Xc, Xs = D.transform(res.comp, sc, D.comp_spec()), D.transform(res.struct, ss, D.struct_spec())
    y = np.array([0.5, 0.6, 0.7, 0.8])
    r = training.train_maps(Xc, Xs, y, Ws=(0.1,), seed=0, split=["train", "train", "val", "test"], **FAST)
    m = r[0.1]
    m.meta.update(scaler_comp=sc, scaler_struct=ss, descriptor_settings=None)
    path = autoencoder.save_map(m, tmp_path / "toy.pt")
    out = analysis.place_structures(structs[:2] + [None], path, names=["a", "b", "broken"], n_jobs=1)
    assert list(out.index) == ["a", "b", "broken"]
    np.testing.assert_allclose(
        out.loc[["a", "b"], ["x_comp", "x_struct"]].to_numpy(float),
        m.encode(Xc.iloc[:2], Xs.iloc[:2]),
        rtol=1e-5,
        atol=1e-6,
    )
    assert out.loc["broken", "error"] and np.isnan(out.loc["broken", "x_comp"])
    # the CLI: two good CIFs and one broken file; the broken one is named, the others are placed
    from matmap_utils.cli.main import main

    for i, s in enumerate(structs[:2]):
        s.to(filename=str(tmp_path / f"s{i}.cif"))
    (tmp_path / "bad.cif").write_text("data_x\n_cell_length_a 1\n")
    out_csv = tmp_path / "placed.csv"
    rc = main(
        [
            "map",
            str(tmp_path / "s0.cif"),
            str(tmp_path / "s1.cif"),
            str(tmp_path / "bad.cif"),
            "--model",
            str(path),
            "-o",
            str(out_csv),
            "-j",
            "1",
        ]
    )
    assert rc == 0
    placed = pd.read_csv(out_csv, index_col=0)
    assert list(placed.index) == ["s0", "s1"]
    from matmap_utils.data.structures import read_structures

    _, back, _ = read_structures([tmp_path / "s0.cif", tmp_path / "s1.cif"])
    expect = analysis.place_structures(back, path, names=["s0", "s1"], n_jobs=1)
    np.testing.assert_allclose(
        placed[["x_comp", "x_struct", "ME_pred"]].to_numpy(float),
        expect[["x_comp", "x_struct", "ME_pred"]].to_numpy(float),
        rtol=1e-5,
        atol=1e-6,
    )
    assert main(["map", str(tmp_path / "s0.cif"), "--model", str(tmp_path / "none.pt")]) == 2


def test_per_member_adam_is_adam(data):
    """Grid members with their own learning rates (the per-member Adam of ``_StackedAdam``) follow
    the same trajectories as maps trained alone with that learning rate (torch's fused Adam)."""
    Xc, Xs, y = data
    split = autoencoder.make_split(len(y), 0)
    lrs = (1e-3, 3e-4)
    g = training.grid_search(
        Xc, Xs, y, W=0.1, batch_sizes=(16,), lrs=lrs, weight_decays=(1e-6,), seed=0, split=split, **FAST
    )
    for lr in lrs:
        alone = training.train_maps(Xc, Xs, y, Ws=(0.1,), seed=0, split=split, lr=lr, weight_decay=1e-6, **FAST)
        row = g[g["lr"] == lr].iloc[0]
        assert row["val_loss_all"] == pytest.approx(alone.info["best_val_loss_all"][0], rel=1e-4)
        assert row["best_epoch"] == alone.info["best_epoch"][0]


def test_training_restores_torch_threads(data):
    Xc, Xs, y = data
    before = torch.get_num_threads()
    training.train_maps(Xc, Xs, y, Ws=(0.1,), seed=0, **{**FAST, "threads": before + 1, "max_epochs": 1})
    assert torch.get_num_threads() == before


def test_map_coordinates_are_codes_and_map_axes(data, sweep):
    Xc, Xs, y = data
    m = sweep[0.1]
    c = analysis.map_coordinates(m, Xc, Xs)
    assert list(c.columns) == ["x_comp", "x_struct", "z_comp", "z_struct"] and (c.index == Xc.index).all()
    np.testing.assert_allclose(c[["x_comp", "x_struct"]].to_numpy(), m.encode(Xc, Xs))
    np.testing.assert_allclose(c[["z_comp", "z_struct"]].to_numpy(), m.raw_codes(Xc, Xs))


def test_mean_descriptor_r2_by_hand():
    train = np.zeros((3, 1))
    assert analysis.mean_descriptor_r2(train, np.array([[1.0], [3.0]])) == pytest.approx(1 - 10 / 2)
    # the column means alone earn a positive flattened R² when the columns differ in level:
    # residuals 1+1+1+1 = 4 against 2.25+0.25+0.25+2.25 = 5 around the flattened mean 2.5
    same = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert analysis.mean_descriptor_r2(same, same) == pytest.approx(1 - 4 / 5)


def test_me_landscape_and_its_lowest_point(sweep):
    m = sweep[0.1]
    coords = np.array([[0.0, -1.0], [2.0, 1.0]])
    gx, gy, gz = analysis.me_landscape(m, coords, pad=0.1, n=11)
    assert gx.shape == gy.shape == gz.shape == (11, 11)
    assert gx.min() == pytest.approx(-0.2) and gx.max() == pytest.approx(2.2)
    assert gy.min() == pytest.approx(-1.2) and gy.max() == pytest.approx(1.2)
    assert gz[3, 4] == pytest.approx(m.predict_me_from_codes(gx[3, 4], gy[3, 4])[0])
    # the lowest point inside the data's range, never in the padding
    fake = np.full_like(gz, 5.0)
    fake[0, 0] = -9.0  # in the padding
    fake[5, 6] = 1.0
    assert analysis.lowest_me_within(gx, gy, fake, coords) == (gx[5, 6], gy[5, 6])


def test_decoded_composition_unscales_and_renormalises():
    from matmap_utils.materials_map import descriptors as D

    spec = D.comp_spec()
    frac = spec.block("fraction")
    vec = np.zeros(spec.dim)
    vec[frac.start + 2] = 1.2  # Li
    vec[frac.start + 7] = 0.8  # O
    vec[frac.start + 25] = 0.004  # Fe: below 1 % after normalisation
    vec[frac.start + 11] = -0.3  # Mg: negative outputs are clipped
    scaler = {"blocks": {frac.name: 0.5}}
    assert analysis.decoded_composition(vec, scaler) == "Li 0.60, O 0.40"
    assert analysis.decoded_composition(vec, scaler, top=1) == "Li 0.60"


# -- seeds and splits (issue 17) ---------------------------------------------------------------


def test_chemical_systems_are_sorted_element_sets():
    out = training.chemical_systems([["O", "Li", "Zr"], ("Li", "O", "O"), {"La", "Li", "O"}])
    assert list(out) == ["Li-O-Zr", "Li-O", "La-Li-O"]


def test_grouped_split_keeps_every_group_in_one_part_and_is_seeded():
    rng = np.random.default_rng(0)
    groups = np.array([f"g{k}" for k in rng.integers(0, 30, size=300)], dtype=object)
    a, b, c = (training.grouped_split(groups, s) for s in (0, 0, 1))
    assert (a == b).all() and not (a == c).all()
    for labels in (a, c):
        for g in set(groups):  # no chemical system straddles two parts
            assert len(set(labels[groups == g])) == 1
        n_test, n_val = (labels == "test").sum(), (labels == "val").sum()
        assert 0.1 * len(groups) <= n_test <= np.ceil(0.2 * len(groups))  # first fit up to the target
        assert 1 <= n_val <= np.ceil(0.1 * (len(groups) - n_test)) and (labels == "train").sum() > n_test


def test_grouped_split_falls_back_to_the_smallest_group_and_rejects_too_few():
    groups = np.array(["big"] * 50 + ["mid"] * 30 + ["small"] * 5 + ["tiny"] * 2, dtype=object)
    labels = training.grouped_split(groups, 0, test_frac=0.01, val_frac=0.01)
    assert set(groups[labels == "test"]) == {"tiny"}  # no group fits 1 % of the rows
    with pytest.raises(ValueError, match="at least 3 groups"):
        training.grouped_split(["a", "a", "b"], 0)


def test_seed_study_rows_match_separate_runs(data, tmp_path, monkeypatch):
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path))
    Xc, Xs, y = data
    groups = np.array([f"s{i % 9}" for i in range(len(y))], dtype=object)
    cfg = autoencoder.MapConfig(**FAST)
    study = training.seed_study(Xc, Xs, y.to_numpy(), groups, W=0.1, seeds=[0, 1], config=cfg, cache=False)
    assert list(study["split"]) == ["random", "random", "grouped", "grouped"] and list(study["seed"]) == [0, 1, 0, 1]
    # the random rows are the paper's split of that seed; the grouped rows hold out whole systems
    one = training.train_maps(Xc, Xs, y.to_numpy(), Ws=[0.1], seed=1, config=cfg)
    assert study.loc[1, "test_r2_struct"] == pytest.approx(one.metrics.loc[0.1, "test_r2_struct"])
    split = training.grouped_split(groups, 1, cfg.test_frac, cfg.val_frac)
    assert study.loc[3, "n_test"] == (split == "test").sum() and study.loc[3, "n_test_groups"] == len(
        set(groups[split == "test"])
    )
    summary = training.seed_summary(study)
    r = study[study["split"] == "grouped"]["test_r2_me"]
    assert summary.loc[("grouped", "mean"), "test_r2_me"] == pytest.approx(r.mean())
    assert summary.loc[("grouped", "std"), "test_r2_me"] == pytest.approx(r.std(ddof=1))
    with pytest.raises(ValueError, match="unknown split kind"):
        training.seed_study(Xc, Xs, y.to_numpy(), groups, W=0.1, seeds=[0], config=cfg, kinds=("loco",))


def _chapter02_serial(Xc, Xs, y, groups, cfg, grid):
    """The chapter's serial calls, in its order: the W sweep, the seed study, the grid search."""
    sweep = training.cached_sweep(Xc, Xs, y, Ws=[0.0, 0.1, 1.0], seed=0, config=cfg)
    study = training.seed_study(Xc, Xs, y, groups, W=0.1, seeds=[0, 1], config=cfg)
    runs = [
        training.cached_sweep(Xc, Xs, y, Ws=[0.1], seed=s, config=cfg, split=split)
        for _, s, split in training.seed_splits(groups, [0, 1], cfg)
    ]
    bs, lrs, wds = grid
    table = training.cached_grid_search(
        Xc, Xs, y, W=0.1, batch_sizes=bs, lrs=lrs, weight_decays=wds, seed=0, config=cfg, split=sweep.split
    )
    return sweep, study, runs, table


def _assert_same_sweep(a, b):
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    np.testing.assert_array_equal(a.history, b.history)
    assert list(a.split) == list(b.split) and list(a.maps) == list(b.maps)
    for W in a.maps:
        sa, sb = a.maps[W].state_dict(), b.maps[W].state_dict()
        assert sa.keys() == sb.keys()
        for name in sa:
            assert torch.equal(sa[name], sb[name]), f"W={W} {name}"
        assert a.maps[W].axis == b.maps[W].axis


def test_parallel_plan_fills_caches_bit_identical_to_serial(data, tmp_path, monkeypatch):
    """Chapter 02's trainings filled in parallel workers (one torch thread each) give the serial
    path's metrics, learning curves, parameters and grid table exactly; a warm cache retrains nothing."""
    from matmap_utils.materials_map import training_plan

    Xc, Xs, y = data
    y = y.to_numpy()
    groups = np.array([f"s{i % 9}" for i in range(len(y))], dtype=object)
    cfg = autoencoder.MapConfig(**FAST)
    grid = ([16, 32], [1e-3, 1e-4], [1e-6])
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "serial"))
    serial = _chapter02_serial(Xc, Xs, y, groups, cfg, grid)
    assert not serial[0].info["cached"]

    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "parallel"))
    plan = training_plan.chapter02_plan(
        len(y), groups, Ws=[0.0, 0.1, 1.0], W_map=0.1, seed=0, seeds=[0, 1], config=cfg, grid=grid
    )
    assert [p.kind for p in plan] == ["sweep"] * 5 + ["grid"]
    report = training_plan.fill_caches(Xc, Xs, y, plan, n_jobs=2)
    assert list(report["status"]) == ["trained"] * 6 and report["tasks"].tolist() == [1] * 5 + [2]
    assert not training_plan.was_cached(report, plan[0])

    def no_training(*a, **k):
        raise AssertionError("trained although the cache was warm")

    monkeypatch.setattr(training, "_train_stacked", no_training)
    parallel = _chapter02_serial(Xc, Xs, y, groups, cfg, grid)
    assert parallel[0].info["cached"] and all(r.info["cached"] for r in parallel[2])
    _assert_same_sweep(serial[0], parallel[0])
    for a, b in zip(serial[2], parallel[2]):
        _assert_same_sweep(a, b)
    timing = ["wall_s"]
    pd.testing.assert_frame_equal(serial[1].drop(columns=timing), parallel[1].drop(columns=timing), check_exact=True)
    timing = ["seconds_batch_size_run"]
    pd.testing.assert_frame_equal(serial[3].drop(columns=timing), parallel[3].drop(columns=timing), check_exact=True)
    again = training_plan.fill_caches(Xc, Xs, y, plan, n_jobs=2)
    assert list(again["status"]) == ["cached"] * 6 and again["seconds"].sum() == 0
    assert training_plan.was_cached(again, plan[0])


def test_failing_planned_training_is_reported_and_spares_the_others(data, tmp_path, monkeypatch):
    from matmap_utils.materials_map import training_plan

    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path))
    Xc, Xs, y = data
    y = y.to_numpy()
    cfg = autoencoder.MapConfig(**FAST)
    no_val = tuple(["train"] * (len(y) - 10) + ["test"] * 10)  # no validation rows: train_maps refuses
    plan = [
        training_plan.PlannedTraining("good 0", "sweep", (0.1,), 0, cfg),
        training_plan.PlannedTraining("bad", "sweep", (0.1,), 1, cfg, no_val),
        training_plan.PlannedTraining("good grid", "grid", (0.1,), 2, cfg, None, (16, 32), (1e-3,), (1e-6,)),
    ]
    report = training_plan.fill_caches(Xc, Xs, y, plan, n_jobs=2).set_index("label")
    assert report.loc["bad", "status"] == "failed"
    assert "ValueError" in report.loc["bad", "error"] and "validation" in report.loc["bad", "error"]
    assert report.loc["good 0", "status"] == report.loc["good grid", "status"] == "trained"
    assert training_plan.is_cached(Xc, Xs, y, plan[0]) and training_plan.is_cached(Xc, Xs, y, plan[2])
    assert not training_plan.is_cached(Xc, Xs, y, plan[1])
    assert training.cached_sweep(Xc, Xs, y, Ws=[0.1], seed=0, config=cfg).info["cached"]
    with pytest.raises(ValueError, match="unknown kind"):
        training_plan.PlannedTraining("x", "loco", (0.1,), 0, cfg)


def test_family_members_known_frameworks_serial_equals_parallel():
    """Li-free framework matching (Fig. 6 families) on real MP structures: Li-stuffed and
    substituted garnets / NASICONs join their prototype's family, a plain oxide joins none, and two
    worker processes give exactly the serial table."""
    from matmap_utils.data import datasets

    proto = analysis.PAPER_TABLE1["structure_type"].to_dict()
    protos = ["mp-761986", "mp-942733", "mp-10499", "mp-759280", "mp-768320"]
    members = {
        "mp-1198622": "Garnet",  # Li7La3Hf2O12
        "mp-1198740": "Garnet",  # Li7Nd3Zr2O12
        "mp-18640": "NASICON",  # LiTi2(PO4)3
        "mp-14488": "NASICON",  # Li3In2(PO4)3
        "mp-1177671": "Perovskite",  # Li3La5Ti8O24
    }
    others = ["mp-1960", "mp-13725", "mp-772157"]  # Li2O, Li3PO4, Li4Ti5Nb3O16: no family
    mp = datasets.load_mp_li(ids=protos + list(members) + others)
    serial = analysis.family_members(mp["structure"], {p: proto[p] for p in protos}, n_jobs=1)
    parallel = analysis.family_members(mp["structure"], {p: proto[p] for p in protos}, n_jobs=2)
    pd.testing.assert_frame_equal(serial, parallel)
    assert serial.loc[list(members), "family"].to_dict() == members
    assert (serial.loc[others, "family"] == "").all()
    assert (serial.loc[protos, "matched_prototype"] == protos).all()
