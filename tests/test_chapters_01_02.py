"""Tests of the chapter glue of notebooks 01 and 02 (matmap_utils.chapters.ch01_descriptors,
ch02_autoencoder_map): tables, sentences and metrics by hand on small made-up inputs, figures as
smoke tests with the expected panels."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from matmap_utils.chapters import ch01_descriptors as ch01
from matmap_utils.chapters import ch02_autoencoder_map as ch02
from matmap_utils.chapters import ch02_seeds
from matmap_utils.materials_map import analysis, autoencoder, training
from matmap_utils.materials_map import descriptors as D

FAST = dict(
    max_epochs=3, patience=80, comp_hidden=(16, 4), struct_hidden=(16, 4), head_hidden=(8,), device="cpu", threads=1
)


@pytest.fixture(autouse=True)
def _results(tmp_path, monkeypatch):
    monkeypatch.setenv("MATMAP_RESULTS", str(tmp_path / "results"))
    yield
    plt.close("all")


# -- chapter 01 --------------------------------------------------------------------------------


def _lio() -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = ["mp-942733", "mp-10499", "mp-1"]
    lio = pd.DataFrame(
        {
            "elements": [["Li", "La", "Zr", "O"], ["Li", "Zr", "P", "O"], ["Li", "O"]],
            "nsites": [96, 36, 12],
            "ordered": [True, True, False],
            "reduced_formula": ["Li7La3Zr2O12", "LiZr2(PO4)3", "Li2O"],
        },
        index=pd.Index(ids, name="material_id"),
    )
    lio.attrs["failures"] = [{"file": "x.cif", "reason": "bad"}]
    summary = pd.DataFrame(
        {
            "spacegroup_number": [230, 167, 225],
            "spacegroup_symbol": ["Ia-3d", "R-3c", "Fm-3m"],
            "crystal_system": ["cubic", "trigonal", "cubic"],
        },
        index=lio.index,
    )
    return lio, summary


def _raw(ids, seed=0) -> D.DescriptorResult:
    rng = np.random.default_rng(seed)
    cspec, sspec = D.comp_spec(), D.struct_spec()
    idx = pd.Index(ids, name="material_id")
    comp = pd.DataFrame(rng.uniform(0, 3, (len(ids), cspec.dim)), index=idx, columns=cspec.columns())
    struct = pd.DataFrame(rng.uniform(0, 7, (len(ids), sspec.dim)), index=idx, columns=sspec.columns())
    failures = pd.DataFrame([{"id": "mp-9", "kind": "timeout", "reason": "timeout (after 120 s)"}])
    return D.DescriptorResult(comp, struct, failures, n_cached=2)


def _mig(ids) -> pd.DataFrame:
    mig = pd.DataFrame(
        {
            "E_1D": [0.3, 0.5, np.nan],
            "E_2D": [0.4, 0.6, np.nan],
            "E_3D": [0.45, 0.9, np.nan],
            "reason": ["", "", "BVSE failed (no Li sites)"],
            "oxi_method": ["bv", "nominal", ""],
        },
        index=pd.Index(ids, name="material_id"),
    )
    mig["ME"] = mig["E_3D"]
    return mig


def test_ch01_dataset_text_and_figure():
    lio, summary = _lio()
    text = ch01.dataset_text(lio, summary, limit=3)
    assert "**3** Li–O materials" in text and "a seeded subset of 3" in text
    assert "CIF parse failures: 1" in text and "2–4 elements" in text and "12–96 sites" in text
    assert "3 different space groups, 1 disordered" in text
    assert "all of them" in ch01.dataset_text(lio, summary, limit=0)
    fig = ch01.dataset_figure(lio, summary)
    assert len(fig.axes) == 3 and fig.axes[1].get_title() == "the 20 most frequent of 3 space groups"


def test_ch01_scale_and_save_writes_the_scalers_chapter_02_reads(tmp_path):
    res = _raw(["a", "b", "c"])
    sc = ch01.scale_and_save(res)
    folder = tmp_path / "results" / "01_descriptors"
    assert D.load_scaler(folder / "scaler_comp.json") == sc.scaler_comp
    assert json.loads((folder / "scaler_struct.json").read_text())["dim"] == 858
    for X, spec in ((sc.Xc, sc.cspec), (sc.Xs, sc.sspec)):
        arr = X.to_numpy()
        assert arr.max() == pytest.approx(1.0) and arr.min() >= 0
        for b in spec.blocks:  # every block reaches 1 (its maximum over the set)
            assert arr[:, b.slice].max() == pytest.approx(1.0)
    table = ch01.layout_table(sc)
    assert table.groupby("descriptor")["size"].sum().to_dict() == {"composition": 1782, "structure": 858}
    text = ch01.descriptor_text(sc, res, n_structures=4, seconds=2.4)
    assert "**3** of 4 structures in 2 s (2 from the cache, 1 failed)" in text
    assert set(ch01.block_table(sc)["descriptor"]) == {"composition", "structure"}


def test_ch01_li_cn_text_reads_the_voronoi_statistics():
    res = _raw(list(ch01.EXAMPLES))
    sspec = D.struct_spec()
    col = sspec.columns()[sspec.block("voronoi:Li:stats").start]
    res.struct[col] = [4.0, 6.0, 5.0]
    text = ch01.li_cn_text(res.struct, sspec)
    assert "garnet LLZO 4.00" in text and "NASICON LiZr2(PO4)3 6.00" in text and "over the set 5.00 (median)" in text


def test_ch01_migration_text_and_failures():
    ids = ["mp-942733", "mp-10499", "mp-1"]
    mig = _mig(ids)
    assert ch01.me_coverage(mig) == pytest.approx(2 / 3)
    text = ch01.me_text(mig, seconds=12.0)
    assert "**2** of 3 materials" in text and "**66.7%**" in text and "stage 12 s" in text
    assert "Grid spacing 0.3 Å, at most 80,000 points per cell (0 cells needed a coarser grid)" in text
    coarse = ch01.me_text(mig.assign(resolution=[0.4, 0.6, np.nan]), 1.0, {"resolution": 0.4})
    assert "Grid spacing 0.4 Å" in coarse and "(1 cells needed a coarser grid)" in coarse
    assert "bv 1, nominal 1, none 1" in text
    res = _raw(ids)
    fail = ch01.failures_table(res, mig, pd.Series({"mp-1": "Li2O", "mp-9": "X"}))
    assert fail.to_dict("list") == {
        "material_id": ["mp-9", "mp-1"],
        "stage": ["descriptors", "BVSE"],
        "reason": ["timeout (after 120 s)", "BVSE failed (no Li sites)"],
        "formula": ["X", "Li2O"],
    }
    assert ch01.failures_text(fail) == "2 failure rows (1 descriptor, 1 BVSE)."
    reasons = ch01.failure_reasons(fail)["materials"]
    assert reasons[("BVSE", "BVSE failed")] == 1 and reasons[("descriptors", "timeout")] == 1
    fig = ch01.me_distribution_figure(mig)
    assert len(fig.axes) == 2
    lio, _ = _lio()
    sc = ch01.Scaled(res.comp, res.struct, D.comp_spec(), D.struct_spec(), {}, {})
    rho = {k: {"rho": 0.123456, "n": 16} for k in ("E_1D", "E_2D", "E_3D")}
    times = {"load": 1.04, "descriptors": 2.06, "bvse": 3.0}
    cmp = pd.DataFrame({"ME_paper": [0.5, 0.9, 1.2, 2.0, 0.7], "E_3D": [0.4, 1.0, 1.1, 2.5, 0.6]})
    m = ch01.metrics(lio, sc, res, mig, fail, rho, times, {"resolution": 0.4}, cmp)
    assert m["n_structures"] == 3 and m["n_described"] == 3 and m["n_failed_descriptors"] == 1
    assert m["n_failed"] == 2 and m["n_me"] == 2 and m["me_coverage"] == 0.6667
    assert m["spearman_rho_table1"]["E_3D"] == 0.1235 and m["n_table1"] == 16
    ci = m["spearman_rho_table1_ci95"]
    assert -1 <= ci["lo"] <= ci["hi"] <= 1 and ci["hi"] == 1.0  # the 5 pairs are rank-identical but one
    assert m["time_s"] == {"load": 1.0, "descriptors": 2.1, "bvse": 3.0}
    assert m["bvse_settings"]["resolution"] == 0.4 and m["dims"] == {"composition": 1782, "structure": 858}


def test_ch01_table1_figure_and_text():
    cmp = pd.DataFrame(
        {
            "formula": ["A", "B", "C"],
            "structure_type": ["Garnet", "NASICON", "Perovskite"],
            "ME_paper": [0.9, 0.8, 3.0],
            "E_1D": [0.3, 0.5, 0.4],
            "E_2D": [0.4, 0.6, 0.5],
            "E_3D": [0.5, 0.9, 1.0],
        },
        index=["m1", "m2", "m3"],
    )
    rho = {k: {"rho": 0.5, "n": 3} for k in ("E_1D", "E_2D", "E_3D")}
    fig = ch01.table1_figure(cmp, rho)
    assert len(fig.axes) == 3
    text = ch01.table1_text(cmp, rho, 0.4)
    assert "The median of (ours − paper) is -0.40 eV" in text  # differences -0.4, +0.1, -2.0
    assert "The largest difference is m3 (C, Perovskite)" in text and "(0.4 Å here)" in text
    assert "0.01 eV bisection tolerance" in text and "orderings of one composition" not in text
    # the worst material's E_1D (0.4) is below its E_3D (1.0): the 1D sentence, and it is not closer
    assert "faster channel in one dimension" in text and "no closer to the paper's value" in text
    # no physical story when the numbers do not support it: E_1D = E_3D
    flat = ch01.table1_text(cmp.assign(E_1D=cmp["E_3D"]), rho, 0.4)
    assert "not a 1D-versus-3D matter" in flat and "faster channel" not in flat
    # orderings of one composition: counted and their paper spread computed
    two = ch01.table1_text(cmp.assign(formula=["A", "A", "C"]), rho, 0.4)
    assert "2 × A (spread 0.10 eV)" in two
    fig = ch01.flat_figure(ch01.Scaled(*_scaled_examples(), D.comp_spec(), D.struct_spec(), {}, {}))
    assert len(fig.axes) == 2


def _scaled_examples():
    res = _raw(list(ch01.EXAMPLES))
    return res.comp / 3, res.struct / 7


def test_ch01_examples_figure_has_one_panel_per_block():
    res = _raw(list(ch01.EXAMPLES))
    names = ["rdf:Li-O", "adf:Li"]
    fig = ch01.examples_figure(res.struct, D.struct_spec(), names, "t")
    assert [ax.get_title() for ax in fig.axes] == names
    assert len(fig.axes[0].lines) == 3  # the three examples


# -- chapter 02 --------------------------------------------------------------------------------


def test_ch02_parameters():
    assert ch02.map_weights([0, 1, 0.01], 0.1) == ([0.0, 0.01, 0.1, 1.0], 0.1)
    assert ch02.map_weights([1, 0.1, 0], "0.1") == ([1.0, 0.1, 0.0], 0.1)  # present: order kept
    cfg = ch02.map_config(32, "0.001", 1e-6, 10, 25, 1)
    assert (cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.patience, cfg.max_epochs, cfg.threads) == (
        32,
        0.001,
        1e-6,
        10,
        25,
        1,
    )


def _tables(n=40):
    ids = list(analysis.PAPER_TABLE1.index[:3]) + [f"mp-{i}" for i in range(n - 3)]
    idx = pd.Index(ids, name="material_id")
    Xc = pd.DataFrame(np.ones((n, 4)), index=idx)
    Xs = pd.DataFrame(np.ones((n - 1, 3)), index=idx[1:])  # the first has no structural descriptor
    me = np.linspace(0.2, 2.0, n)
    me[5::7] = np.nan
    mig = pd.DataFrame({"ME": me}, index=idx)
    return Xc, Xs, mig


def test_ch02_select_materials_keeps_table1_and_is_seeded():
    Xc, Xs, mig = _tables()
    ids_all, ids = ch02.select_materials(Xc, Xs, mig, limit=0, seed=0)
    assert len(ids_all) == 39 and list(ids) == [i for i in ids_all if np.isfinite(mig.loc[i, "ME"])]
    _, sub = ch02.select_materials(Xc, Xs, mig, limit=10, seed=0)
    _, again = ch02.select_materials(Xc, Xs, mig, limit=10, seed=0)
    _, other = ch02.select_materials(Xc, Xs, mig, limit=10, seed=1)
    assert len(sub) == 10 and list(sub) == list(again) and list(sub) != list(other)
    assert set(analysis.PAPER_TABLE1.index[1:3]) <= set(sub) and set(sub) <= set(ids)
    Xc_, Xs_, y = ch02.training_data(Xc, Xs, mig, sub)
    assert Xc_.dtypes.unique().tolist() == [np.float32] and Xs_.shape == (10, 3) and y.dtype == float
    text = ch02.data_text(ids_all, mig, sub, Xc_, Xs_, y)
    n_me = len(ids)
    assert f"39 materials have both descriptors, {n_me} of them an ME ({39 - n_me} without)" in text
    assert "**10** materials (4 compositional + 3 structural" in text


@pytest.fixture(scope="module")
def trained():
    Xc, Xs, y = autoencoder.synthetic_descriptors(n=60, d_comp=100, d_struct=20, seed=2)
    sweep = training.train_maps(Xc, Xs, y.to_numpy(), Ws=(0.0, 0.1), seed=0, **FAST)
    split = pd.Series(sweep.split, index=Xc.index, name="split")
    rng = np.random.default_rng(0)
    info = pd.DataFrame(
        {
            "formula": [f"F{i}" for i in range(len(y))],
            "spacegroup": "P1",
            "x_Li": rng.uniform(0, 0.5, len(y)),
            "x_O": rng.uniform(0.3, 0.7, len(y)),
            "ME": y,
        },
        index=Xc.index,
    )
    maps_xy = {W: analysis.map_coordinates(sweep[W], Xc, Xs) for W in (0.0, 0.1)}
    xy = ch02.map_frame(sweep[0.1], maps_xy[0.1], info, split)
    fam = pd.DataFrame({"family": ["Garnet"] * 3 + ["NASICON"] * 2 + [""] * 55}, index=Xc.index)
    return {"Xc": Xc, "Xs": Xs, "y": y, "sweep": sweep, "split": split, "info": info, "maps_xy": maps_xy, "xy": xy}, fam


def test_ch02_map_frame_and_figures(trained):
    t, fam = trained
    xy, model = t["xy"], t["sweep"][0.1]
    np.testing.assert_allclose(xy["ME_pred"], model.predict_me(t["Xc"], t["Xs"]), rtol=1e-5, atol=1e-6)
    assert {"formula", "split", "x_Li", "z_comp"} <= set(xy.columns)
    test = (t["split"] == "test").to_numpy()
    Xc_te, Xs_te, y_te = t["Xc"][test], t["Xs"][test], t["y"][test]
    fig, r2 = ch02.fig3_parity(model, Xc_te, Xs_te, y_te, 0.1)
    assert r2["me"] == pytest.approx(autoencoder.r2_flat(y_te, model.predict_me(Xc_te, Xs_te)))
    assert len(fig.axes) == 3 and fig.axes[2].get_title().startswith("(c) ME: R² =")
    psl = analysis.per_sample_loss(model, Xc_te, Xs_te, y_te).sort_values("loss_all", ascending=False)
    fig = ch02.fig3_worst(model, t["Xc"], t["Xs"], psl, t["info"])
    assert fig.axes[0].get_title().startswith(f"(d) {psl.index[0]} F")
    text = ch02.fig3_text(0.1, {"comp": 0.9, "struct": 0.85, "me": 0.3}, 0.5, 0.6)
    assert "**0.900** (composition) and **0.850**" in text and "adds 0.25 on top" in text
    assert "0.74" not in text and "the seed study below" in text and "Fig. 3c" in text
    assert len(ch02.fig4_map(xy, xy.iloc[:3], t["y"], 0.1).axes) == 2  # the map and its colour bar
    assert "Spearman correlation of ME with x_comp" in ch02.fig4_text(xy)
    assert len(ch02.fig5_fractions(xy).axes) == 4
    fig = ch02.fig6_families(t["maps_xy"], fam, 0.1)
    assert [c.get_label() for c in fig.axes[0].collections[1:]] == ["Garnet (3)", "NASICON (2)", "Perovskite (0)"]
    assert len(ch02.learning_curves_figure(training.history_frame(t["sweep"])).axes) == 4
    mt = t["sweep"].metrics
    assert len(ch02.fig2_losses(mt, [0.0, 0.1]).axes) == 3
    assert ch02.fig2_text(mt).startswith("From W = 0 to W = 0.1: Loss_comp ")
    assert "epochs for the batch of 2 maps" in ch02.training_text(t["sweep"], [0.0, 0.1])


def test_ch02_family_tables(trained):
    t, fam = trained
    counts = ch02.family_counts(fam)
    assert counts.to_dict() == {"Garnet": 3, "NASICON": 2}
    spread = ch02.family_spread(t["maps_xy"], fam, [0.1, 0.0])
    assert list(spread.index) == [("W=0.1", "Garnet"), ("W=0.1", "NASICON"), ("W=0", "Garnet"), ("W=0", "NASICON")]
    garnet = fam.index[:3]
    c = t["maps_xy"][0.0]
    assert spread.loc[("W=0", "Garnet"), "x_comp mean"] == pytest.approx(c.loc[garnet, "x_comp"].mean())
    assert spread.loc[("W=0", "Garnet"), "x_struct std"] == pytest.approx(c.loc[garnet, "x_struct"].std())
    assert spread.loc[("W=0.1", "NASICON"), "n"] == 2


def test_ch02_table1_and_windows(trained):
    t, _ = trained
    xy = t["xy"].copy()
    pid = analysis.PAPER_TABLE1.index[0]
    xy = xy.rename(index={xy.index[0]: pid})
    info = t["info"].rename(index={t["info"].index[0]: pid})
    mig = pd.DataFrame({"ME": [1.25]}, index=[pid])
    t1 = ch02.table1(info, mig, xy)
    assert list(t1.index) == list(analysis.PAPER_TABLE1.index) and t1.columns[0] == "formula"
    assert list(t1.columns[-3:]) == ["x_struct_paper", "x_struct", "split"]
    assert t1.loc[pid, "ME"] == 1.25 and t1.loc[pid, "x_comp"] == xy.loc[pid, "x_comp"]
    assert t1["ME"].notna().sum() == 1
    assert ch02.table1_text(t1.assign(ME=t1["ME_paper"])) == (
        "16 of the 16 have an ME here; Spearman rank correlation of our ME with the paper's over them: +1.00."
    )
    box = (xy["x_comp"].min(), xy["x_comp"].median(), xy["x_struct"].min(), xy["x_struct"].max())
    inside = ch02.inside_window(xy, box)
    assert xy["x_comp"].idxmin() in inside.index and (inside["x_comp"] <= box[1]).all()
    assert list(ch02.window_table(inside)["ME_pred"]) == sorted(inside["ME_pred"])
    points = ch02.decoding_points((0.0, 2.0, -1.0, 1.0), (0.5, 0.25), xy)
    assert points["Fig. 8 window centre"] == (1.0, 0.0) and points["lowest predicted ME"] == (0.5, 0.25)
    assert points["map centre"] == pytest.approx((xy["x_comp"].median(), xy["x_struct"].median()))


def test_ch02_landscape_zoom_decoding_and_interactive(trained):
    t, _ = trained
    xy, model = t["xy"], t["sweep"][0.1]
    coords = xy[["x_comp", "x_struct"]].to_numpy()
    gx, gy, gz = analysis.me_landscape(model, coords, n=20)
    fig = ch02.fig7_landscape(gx, gy, gz, xy, (0.5, 1.5), 0.1)
    assert fig.axes[0].get_title() == "Fig. 7 — predicted ME over the map (W = 0.1)"
    assert f"ranges from {gz.min():.2f} to {gz.max():.2f} eV" in ch02.fig7_text(gx, gy, gz)
    box = analysis.sparse_low_me_window(model, coords)
    inside = ch02.inside_window(xy, box)
    fig = ch02.fig8_zoom(model, inside, box, (0.5, 1.5))
    assert len(fig.axes[0].texts) == len(inside)  # one formula label per material
    scaler = {"blocks": {D.comp_spec().blocks[0].name: 1.0}}
    points = {"a": (0.0, 0.0), "b": (0.5, -0.5)}
    fig, table = ch02.decoding(model, points, t["Xc"], t["Xs"], xy, t["info"], scaler)
    assert list(table.index) == ["a", "b"] and len(fig.axes) == 2
    assert table.loc["b", "ME_pred"] == pytest.approx(model.predict_me_from_codes(0.5, -0.5)[0])
    near = analysis.nearest_materials(xy, (0.5, -0.5), k=3).index
    assert table.loc["b", "nearest materials"].split("; ")[0].startswith(f"{near[0]} ")
    pfig = ch02.interactive_map(xy, (0.5, 1.5), 0.1)
    assert pfig.layout.title.text == "Interactive materials map (W = 0.1)" and len(pfig.data[0].x) == len(xy)


def test_ch02_alternatives_grid_and_metrics(trained):
    t, fam = trained
    sweep, y, split = t["sweep"], t["y"], t["split"]
    test = (split == "test").to_numpy()
    alt = (
        {"PCA": np.column_stack([y.to_numpy(), np.zeros(len(y))])},
        pd.DataFrame({"can_decode": ["yes"], "test_r2_comp": [0.5], "test_r2_struct": [0.4]}, index=["PCA"]),
    )
    compare = ch02.alternatives_table(t["maps_xy"], sweep.metrics, alt, y, test, knn_k=3)
    assert list(compare.index) == ["autoencoder W=0", "autoencoder W=0.1", "PCA"]
    c = alt[0]["PCA"]
    assert compare.loc["PCA", "knn_test_r2_me"] == pytest.approx(
        analysis.knn_r2(c[~test], y[~test], c[test], y[test], k=3)
    )
    assert compare.loc["autoencoder W=0.1", "head_test_r2_me"] == sweep.metrics.loc[0.1, "test_r2_me"]
    assert np.isnan(compare.loc["PCA", "head_test_r2_me"]) and compare.loc["PCA", "test_r2_struct"] == 0.4
    assert "best PCA/UMAP map" in ch02.alternatives_text(compare, [0.0, 0.1], 0.1)
    assert len(ch02.alternatives_figure(alt[0], y, (0.5, 1.5)).axes) == 2
    assert ch02.grid_text(None) == "Grid search skipped in this profile."
    grid = pd.DataFrame(
        {
            "batch_size": [16, 16, 32],
            "lr": [1e-3, 3e-4, 1e-3],
            "weight_decay": [1e-6, 1e-6, 1e-4],
            "val_loss_all": [1.0, 2.0, 3.0],
            "seconds_batch_size_run": [5.0, 5.0, 7.0],
        }
    )
    assert ch02.grid_text(grid) == (
        "Selected by validation Loss_all: batch 16, learning rate 0.001, L2 1e-06 (paper: 16, 0.001, 1e-6)."
    )
    assert ch02.grid_metrics(grid) == {
        "selected": {"batch_size": 16.0, "lr": 0.001, "weight_decay": 1e-06},
        "val_loss_all_selected": 1.0,
        "n_combinations": 3,
        "wall_s": 12.0,
    }
    cfg = autoencoder.MapConfig(**FAST)
    counts = ch02.family_counts(fam)
    m = ch02.metrics(sweep, compare, [0.0, 0.1], 0.1, test, cfg, counts, {"comp": 0.9, "struct": 0.79}, grid)
    assert list(m["W"]) == ["0", "0.1"] and m["W"]["0.1"]["test_r2_me"] == sweep.metrics.loc[0.1, "test_r2_me"]
    assert m["W"]["0"]["knn_test_r2_me"] == compare.loc["autoencoder W=0", "knn_test_r2_me"]
    assert m["n_materials"] == 60 and m["n_test"] == int(test.sum()) and m["families"] == {"Garnet": 3, "NASICON": 2}
    assert m["done_when_r2_ge_0.8"] is False and m["grid_search"]["n_combinations"] == 3
    assert "grid_search" not in ch02.metrics(
        sweep, compare, [0.0, 0.1], 0.1, test, cfg, counts, {"comp": 1, "struct": 1}, None
    )


def test_ch02_saved_maps_and_map_table(tmp_path, trained):
    t, fam = trained
    ch02.save_maps(t["sweep"], [0.0, 0.1], {"profile": "test", "n_materials": 60})
    folder = tmp_path / "results" / "02_autoencoder_map"
    m = autoencoder.load_map(folder / "map_W0.1.pt")
    assert m.meta["profile"] == "test" and m.meta["n_materials"] == 60 and (folder / "map_W0.pt").exists()
    table = ch02.map_table(t["xy"], t["maps_xy"], fam)
    assert "W=0.1:x_comp" in table.columns and "W=0:z_struct" in table.columns and table.columns[-1] == "family"
    assert (table["W=0.1:x_comp"] == t["xy"]["x_comp"]).all()


# -- chapter 02: seeds, splits and computed sentences (issue 17) --------------------------------


def _study() -> pd.DataFrame:
    rows = []
    for kind, base in (("random", 0.85), ("grouped", 0.75)):
        for k, s in enumerate([0, 1, 2]):
            rows.append(
                {
                    "split": kind,
                    "seed": s,
                    "test_r2_comp": base + 0.01 * k,
                    "test_r2_struct": base - 0.1 + 0.02 * k,
                    "test_r2_me": 0.2 + 0.05 * k,
                    "test_loss_comp": 3.0 + 0.1 * k,
                    "test_loss_str": 1.0,
                    "test_loss_me": 0.8,
                    "best_epoch": 10,
                    "n_test": 20 + k,
                    "n_test_groups": 5 + k,
                    "wall_s": 1.0,
                }
            )
    return pd.DataFrame(rows)


def test_ch02_seed_table_text_and_metrics():
    assert ch02_seeds.seeds_of(3, 4) == [3, 4, 5, 6]
    with pytest.raises(ValueError):
        ch02_seeds.seeds_of(0, 0)
    study = _study()
    tab = ch02_seeds.seed_table(study)
    r = tab.loc[(ch02_seeds.SPLIT_NAMES["grouped"], "composition")]
    assert r["seeds"] == 3 and r["mean"] == pytest.approx(0.76) and r["sd"] == pytest.approx(0.01)
    assert r["min"] <= r["ci95_lo"] <= r["mean"] <= r["ci95_hi"] <= r["max"]
    text = ch02_seeds.seed_text(tab, study, 0.1)
    assert "over 3 seeds (mean ± SD)" in text
    assert "grouped by chemical system: composition **0.760 ± 0.010**, structure **0.670 ± 0.020**" in text
    assert text.index("grouped by chemical system") < text.index("random 80/20")
    assert "20–22 materials from 5–7 chemical systems" in text
    m = ch02_seeds.metrics(study, tab, 0.1)
    assert m["headline"] == {
        "split": "grouped",
        "r2_comp": pytest.approx(0.76),
        "r2_struct": pytest.approx(0.67),
        "r2_me": pytest.approx(0.25),
    }
    assert m["seed_study"]["seeds"] == [0, 1, 2] and m["seed_study"]["random"]["r2_me"]["n_seeds"] == 3
    assert m["seed_study"]["grouped"]["r2_comp"]["values"] == pytest.approx([0.75, 0.76, 0.77])
    json.dumps(m)  # serialisable
    fig = ch02_seeds.seed_figure(study)
    assert len(fig.axes) == 3
    plt.close(fig)


def test_ch02_fig2_scale_text_is_computed_from_the_losses_and_the_seeds():
    mt = pd.DataFrame(
        {"test_loss_comp": [3.0, 3.05, 3.1, 4.0], "test_loss_str": [1.5, 1.5, 1.5, 2.0], "test_loss_me": [1.0] * 4},
        index=pd.Index([0.0, 0.1, 1.0, 10.0], name="W"),
    )
    text = ch02_seeds.fig2_scale_text(mt, _study(), 0.1)
    assert "is 4.50 at W = 0" in text  # 3.0 + 1.5
    assert "first reaches a tenth of the reconstruction losses at W = 1 (W·Loss_ME 1.00)" in text
    # over W <= 1 the loss moves by 0.10; the random-split seeds' SD of 4.0, 4.1, 4.2 is 0.10
    assert "moves by 0.10, within twice the seed-to-seed standard deviation at W = 0.1 (0.10" in text
    single = ch02_seeds.fig2_scale_text(mt, None, 0.1)
    assert "A single seed was run" in single


def test_ch02_setup_and_rule_texts_follow_the_code():
    cfg = autoencoder.MapConfig(batch_size=8, lr=0.002, weight_decay=1e-5, patience=7, max_epochs=30)
    text = ch02_seeds.setup_text(cfg, [0.0, 0.1])
    assert "random 20% test set" in text and "10% of the rest (8% of all)" in text and "remaining 72%" in text
    assert "batch 8, learning rate 0.002, L2 1e-05, patience 7 epochs (at most 30)" in text
    assert "W values: 0, 0.1." in text
    assert "windows of 20% of each axis range" in ch02_seeds.window_rule_text()
    assert "ltol 0.3, stol 0.5, angle 10°" in ch02_seeds.family_rule_text()
    note = ch02_seeds.voronoi_note()
    assert f"version {D.VERSION} (frozen)" in note and "the split it was then evaluated on" in note


def test_ch02_grid_budget_caps_the_grid_only_and_reports_capped_candidates():
    from matmap_utils.materials_map import training_plan

    config = autoencoder.MapConfig(max_epochs=3000, patience=80)
    assert ch02_seeds.grid_config(config, 0) is config and ch02_seeds.grid_config(config, 5000) is config
    capped = ch02_seeds.grid_config(config, 500)
    assert capped.max_epochs == 500 and capped.patience == 80 and capped.lr == config.lr
    with pytest.raises(ValueError, match="grid_max_epochs"):
        ch02_seeds.grid_config(config, -1)
    groups = np.array([f"s{i % 7}" for i in range(60)], dtype=object)
    plan = training_plan.chapter02_plan(
        60,
        groups,
        Ws=[0.1],
        W_map=0.1,
        seed=0,
        seeds=[0],
        config=config,
        grid=([16], [1e-3], [1e-6]),
        grid_config=capped,
    )
    assert [p.config.max_epochs for p in plan] == [3000, 3000, 3000, 500]  # the sweep and seed study keep theirs
    # batch 16 ran into the cap (500 epochs): its members still improving within patience were cut
    grid = pd.DataFrame(
        {
            "batch_size": [32, 16, 16],
            "lr": [1e-3, 3e-4, 1e-3],
            "weight_decay": [1e-6, 1e-6, 1e-6],
            "val_loss_all": [1.0, 2.0, 3.0],
            "best_epoch": [474, 470, 300],
            "epochs_run": [480, 500, 500],
        }
    )
    assert ch02_seeds.stopped_by_cap(grid, capped).tolist() == [False, True, False]
    m = ch02_seeds.grid_budget_metrics(grid, capped, config)
    assert m == {"max_epochs_per_candidate": 500, "n_stopped_by_cap": 1, "selected_stopped_by_cap": False}
    text = ch02_seeds.grid_budget_text(grid, capped, config)
    assert "at most 500 epochs" in text and "stopped 1 of 3" in text and "stopped on its own" in text
    full = ch02_seeds.grid_budget_metrics(grid, config, config)
    assert full["max_epochs_per_candidate"] is None and full["n_stopped_by_cap"] == 0
    assert "as the maps" in ch02_seeds.grid_budget_text(grid, config, config)
    assert ch02_seeds.grid_budget_text(None, capped, config) == ""
