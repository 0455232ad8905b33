"""The glue of chapters 03–05 (matmap_utils.chapters.ch03_aimd_trajectories, ch04_correlograms,
ch05_clustering) on small hand-made tables and trajectories with known answers."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from matmap_utils.chapters import ch03_aimd_trajectories as ch03
from matmap_utils.chapters import ch03_figures as ch03fig
from matmap_utils.chapters import ch04_correlograms as ch04
from matmap_utils.chapters import ch05_clustering as ch05
from matmap_utils.chapters.results import write_table
from matmap_utils.data.trajectories import Trajectory
from matmap_utils.transport import clustering as cl
from matmap_utils.transport.vibrations import VDOS
from matmap_utils.viz import legibility_problems


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("MATMAP_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


# ---------------------------------------------------------------------------------------- ch03


def _run_table():
    return pd.DataFrame(
        {
            "format": ["xdatcar"] * 5 + ["json"],
            "system": ["Li6PS5Cl", "Li6PS5Cl", "Li6PS5Cl", "Li6PS5I", "Li6PS5I", "Na3PS4"],
            "disorder": [0.0, 0.0, 50.0, 0.0, 0.0, np.nan],
            "specie": ["Li"] * 5 + ["Na"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def test_select_argyrodites_keeps_the_first_runs_of_each_condition():
    runs_all = _run_table()
    assert len(ch03.select_argyrodites(runs_all)) == 5
    sub = ch03.select_argyrodites(runs_all, 1)
    assert list(sub.index) == [0, 1, 2]  # reset
    assert list(zip(sub["system"], sub["disorder"])) == [("Li6PS5Cl", 0.0), ("Li6PS5Cl", 50.0), ("Li6PS5I", 0.0)]
    other = ch03.other_runs(runs_all)
    assert other["system"].tolist() == ["Na3PS4"] and list(other.index) == [0]


def test_read_runs_silences_only_the_truncated_frame_notice(monkeypatch):
    def fake_read_runs(run_table, n_jobs=None):
        warnings.warn("run.XDATCAR: last frame truncated, dropped", UserWarning, stacklevel=2)
        warnings.warn("something else", UserWarning, stacklevel=2)
        return ["t"], pd.DataFrame()

    monkeypatch.setattr(ch03.runs, "read_runs", fake_read_runs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trajs, _ = ch03.read_runs(pd.DataFrame(), n_jobs=1)
    assert trajs == ["t"] and [str(w.message) for w in caught] == ["something else"]


def test_disorder_ratios_and_text():
    per_cond = pd.DataFrame(
        {
            "system": ["Li6PS5Cl"] * 3 + ["Li6PS5I"] * 2,
            "disorder": [0.0, 50.0, 100.0, 0.0, 100.0],
            "D_cm2_s": [1e-6, 2e-6, 4e-6, 1e-7, 5e-7],
        }
    )
    r = ch03.disorder_ratios(per_cond)
    assert r["Li6PS5Cl"] == pytest.approx((4.0, 2.0))
    assert r["Li6PS5I"][0] == pytest.approx(5.0) and np.isnan(r["Li6PS5I"][1])  # no 50 % condition
    assert "**4.0** in Li6PS5Cl (50 %: ×2.0)" in ch03.disorder_text(r)


def _traj(seed: int, n_frames: int = 60, dt: float = 100.0) -> Trajectory:
    rng = np.random.default_rng(seed)
    host = rng.uniform(0, 10, size=(1, 4, 3)) + rng.normal(scale=0.05, size=(n_frames, 4, 3))
    walk = np.cumsum(rng.normal(scale=0.3, size=(n_frames, 4, 3)), axis=0) + 5.0
    return Trajectory(["Li"] * 4 + ["S"] * 4, np.eye(3) * 10, np.concatenate([walk, host], axis=1), dt, 500.0)


def test_comparison_groups_pool_the_read_runs_of_a_condition():
    argy = ch03.select_argyrodites(_run_table())
    trajs = [_traj(0), None, _traj(1), _traj(2), _traj(3)]
    other = ch03.other_runs(_run_table())
    groups = ch03.comparison_groups(argy, trajs, other, [_traj(4)])
    assert [g[0][0] for g in groups] == ["Li6PS5Cl", "Li6PS5Cl", "Li6PS5I", "Na3PS4"]
    assert [len(g[1]) for g in groups] == [1, 1, 2, 1]  # the unread run is left out
    assert np.isnan(groups[-1][0][1]) and groups[-1][2] == "Na"


def test_descriptor_table_takes_pooled_D_from_the_conditions():
    argy = ch03.select_argyrodites(_run_table()).iloc[:2]
    per_cond = pd.DataFrame(
        {"system": ["Li6PS5Cl"], "disorder": [0.0], "n_runs": [2]}
        | {c: [v] for c, v in zip(ch03._D_COLUMNS, [1e-5, 1e-6, 1e-5, 2e-5, 3e-5, 0.01])}
    )
    other = pd.DataFrame({"system": ["toy"], "specie": ["Li"]})
    desc = ch03.descriptor_table(argy, [_traj(0), _traj(1)], per_cond, other, [_traj(2)], pd.DataFrame(), 1.5)
    assert desc["system"].tolist() == ["Li6PS5Cl_0p", "toy"]
    assert desc.loc[0, "D_cm2_s"] == 1e-5 and desc.loc[0, "n_runs"] == 2
    assert desc.loc[1, "source"] == "DFT-AIMD (pymatgen test data)"
    np.testing.assert_allclose(desc["log10_D"].iloc[0], -5.0)
    assert np.isnan(desc.loc[0, "omega_mean_meV"])  # 100 fs frames: Nyquist 20.7 meV, no VDOS


def test_metrics_of_chapter_03():
    per_cond = pd.DataFrame({"system": ["Li6PS5Cl"], "disorder": [0.0], "D_cm2_s": [1e-6], "D_err_cm2_s": [1e-7]})
    per_cond_o = pd.DataFrame(
        {"system": ["Li10GeP2S12"], "D_cm2_s": [2e-6], "D_err_cm2_s": [1e-6]}
        | {"Dx_cm2_s": [1e-6], "Dy_cm2_s": [3e-6], "Dz_cm2_s": [8e-6]}
    )
    checks = pd.DataFrame(
        {
            "system": ["Li10GeP2S12"],
            "T_kinetic_K (stated frames)": [6.0],
            "T_kinetic_K (one MD step per frame)": [600.0],
        }
    )
    cmp = pd.DataFrame({"D_ours": [1.0, 1.0, 1.0], "D_ours_err": [0.1, 0.1, 2.0], "ours/pymatgen-1": [0.1, -0.3, 5.0]})
    m = ch03.metrics(
        per_cond=per_cond,
        per_cond_o=per_cond_o,
        checks=checks,
        decisions=pd.DataFrame(
            {"system": ["Li10GeP2S12"], "decision": ["corrected"], "dt_fs": [2.0], "implied_dt_fs": [1.98]}
        ),
        ratios={"Li6PS5Cl": (2.0, 1.5), "Li6PS5I": (3.0, 1.0)},
        cmp=cmp,
        argy_trajs=[1, None, 2],
        gen_ok=pd.DataFrame(),
        arr=None,
        compare_kinisi=False,
    )
    assert m["D_cm2_s"] == {"Li6PS5Cl_0p": [1e-6, 1e-7]} and m["D_other_cm2_s"]["Li10GeP2S12"] == [2e-6, 1e-6]
    assert m["LGPS_Dz_over_Dxy"] == pytest.approx(4.0) and m["LGPS_T_kinetic_one_step_frames_K"] == 600.0
    assert m["disorder_ratio_D100_over_D0"] == {"Li6PS5Cl": 2.0, "Li6PS5I": 3.0}
    assert m["pymatgen_rel_diff_median_abs"] == pytest.approx(0.2)  # the unresolved third row is left out
    assert m["n_argyrodite_runs"] == 2 and m["n_generated_runs"] == 0
    assert "kinisi_rel_diff" not in m and "Ea_eV" not in m
    assert m["frame_interval_decisions"]["Li10GeP2S12"] == {
        "decision": "corrected",
        "dt_fs": 2.0,
        "implied_dt_fs": 1.98,
    }


def test_vdos_figures_use_the_hottest_run_of_each_material():
    e = np.linspace(0, 80, 50)

    def sp(scale):
        return {
            g: VDOS(e, np.exp(-(((e - 20 * scale) / 5) ** 2)), g, 4, 100.0, True) for g in ("Li", "S", "all", "nd", "d")
        }

    spectra = {("A", 600.0): sp(1.0), ("A", 800.0): sp(2.0), ("B", 600.0): sp(1.0)}
    assert {m: T for m, (T, _) in ch03fig.hottest(spectra).items()} == {"A": 800.0, "B": 600.0}
    fig = ch03fig.plot_vdos_species(spectra)
    assert [ax.get_title() for ax in fig.axes] == ["A, 800 K", "B, 600 K"]
    assert len(fig.axes[0].lines) == 4  # Li, S, all, the 30 meV marker
    assert legibility_problems(fig) == []
    fig = ch03fig.plot_vdos_diffusive(spectra)
    assert [line.get_label() for line in fig.axes[0].lines] == ["non-diffusive (4 ions)", "diffusive (4 ions)"]
    assert legibility_problems(fig) == []


def _generated_rows() -> pd.DataFrame:
    rows = []
    for k, mat in enumerate(["LGPS", "Li3PS4", "Li7P3S11"]):
        for T in (600.0, 800.0, 1000.0):
            x = T / 1000
            rows.append(
                {
                    "system": mat,
                    "temperature_K": T,
                    "D_cm2_s": 1e-5 * np.exp(-0.2 / (8.617e-5 * T)) * (k + 1),
                    "D_err_cm2_s": 1e-7,
                    "framework_mobile": T > 900 and k == 2,
                    "omega_mean_meV": 25 + x,
                    "omega30_meV": 14 + x,
                    "omega30_meV_d": 16 + x,
                    "omega30_meV_nd": 13 + x,
                    "Evib_meV_atom": 200 * x,
                    "Fvib_meV_atom": -300 * x,
                    "Svib_kB_atom": 6 + x,
                    "Cv_kB_atom": 2.9 + 0.05 * x,
                    "theta_D_K": 450 + 10 * x,
                    "lindemann": 0.2 + 0.1 * x,
                    "duration_ps": 4.0,
                }
            )
    return pd.DataFrame(rows)


def test_chapter_03_figures_are_legible_at_the_book_width():
    gen = _generated_rows()
    fig = ch03fig.plot_descriptors_vs_T(gen)
    assert len(fig.axes) == len(ch03fig.DESC_PANELS) and legibility_problems(fig) == []
    arr = pd.DataFrame([{"system": "LGPS", "Ea_eV": 0.2, "Ea_err_eV": 0.05, "D0_cm2_s": 1e-3, "n_points": 3}])
    assert legibility_problems(ch03fig.plot_arrhenius(gen, arr)) == []
    lag = np.linspace(0, 5, 20)
    curves = {
        (m, T): {"lag_ps": lag, "msd": lag * T / 100, "msd_P": lag * 0.01}
        for m, T in zip(gen["system"], gen["temperature_K"])
    }
    assert legibility_problems(ch03fig.plot_generated_msd(gen, curves)) == []


def test_found_text_of_chapter_03_states_the_ratios_with_errors():
    per_cond = pd.DataFrame(
        {
            "system": ["Li6PS5I", "Li6PS5I", "Li6PS5Cl", "Li6PS5Cl"],
            "disorder": [0.0, 100.0, 0.0, 100.0],
            "D_cm2_s": [1e-6, 4e-6, 2e-6, 2.2e-6],
            "D_err_cm2_s": [1e-7, 4e-7, 2e-7, 2.2e-7],
            "n_runs": [5, 5, 6, 6],
        }
    )
    per_cond_o = pd.DataFrame({"system": ["Li10GeP2S12"], "Dx_cm2_s": [1.0], "Dy_cm2_s": [1.0], "Dz_cm2_s": [3.0]})
    cmp = pd.DataFrame({"D_ours": [1.0, 2.0], "D_ours_err": [0.1, 0.1], "ours/pymatgen-1": [0.1, -0.3]})
    text = ch03.found_text(per_cond, per_cond_o, cmp, None, pd.DataFrame())
    assert "by 4.0 ± 0.6 in Li6PS5I" in text and "by 1.1 ± 0.2 in Li6PS5Cl" in text
    assert "resolved beyond two standard errors in Li6PS5I" in text and "5–6 runs" in text
    assert "3.0×" in text and "20.0%" in text
    assert 3 <= text.count("\n- ") + 1 <= 6


# ---------------------------------------------------------------------------------------- ch04


def test_parse_sources():
    assert ch04.parse_sources("megnet, bvse,") == ("megnet", "bvse")
    assert ch04.parse_sources("") == ()


def test_usable_columns_drop_constant_and_sparse_descriptors():
    table = pd.DataFrame(
        {
            "li_fraction": [0.1, 0.2, 0.3, 0.4],
            "mobile_ion_charge": [1.0] * 4,
            "bvse_barrier_3d": [0.3, np.nan, np.nan, np.nan],
            "formula": list("abcd"),
        }
    )
    assert ch04.usable_columns(table) == (["li_fraction"], ["mobile_ion_charge"], ["bvse_barrier_3d"])
    assert ch04.stat_columns(["li_fraction", "md_log10_D"]) == ["log10_sigma", "li_fraction"]


def test_optional_sources_report_why_they_are_skipped(monkeypatch):
    table = pd.DataFrame({"x": [1.0, 2.0]}, index=["a", "b"])
    out, status = ch04.add_optional_descriptors(table, pd.Series([None, None], index=["a", "b"]), sources=())
    assert status == {
        "megnet": "skipped: not requested by the parameters",
        "bvse": "skipped: not requested by the parameters",
    }
    pd.testing.assert_frame_equal(out, table)

    def broken(*args, **kwargs):
        raise RuntimeError("model weights missing\nsecond line")

    monkeypatch.setattr(ch04, "_megnet", broken)
    _, status = ch04.add_optional_descriptors(table, pd.Series([None, None], index=["a", "b"]), sources=("megnet",))
    assert status["megnet"] == "skipped: RuntimeError: model weights missing"


def test_read_md_table_goes_through_the_declared_upstream(results):
    md, why = ch04.read_md_table()
    assert md is None and "run notebook 03_aimd_trajectories first" in why
    write_table("03_aimd_trajectories", "md_descriptors", pd.DataFrame({"system": ["x"], "D_cm2_s": [1e-6]}))
    md, why = ch04.read_md_table()
    assert why == "found" and md["system"].tolist() == ["x"]


def test_subsets_mlp_inputs_and_metrics():
    table = pd.DataFrame(
        {
            "anion_class": ["sulfide"] * 3 + ["oxide"] * 2 + ["halide"],
            "spacegroup": [225.0, 225.0, 62.0, 1.0, 1.0, 12.0],
            "li_fraction": np.linspace(0.1, 0.6, 6),
        }
    )
    assert ch04.chemistry_subsets(table, 2) == ["sulfide", "oxide"]
    mlp_df, num_inputs, md_inputs = ch04.mlp_inputs(table, ["spacegroup", "li_fraction", "md_log10_D"])
    assert mlp_df["spacegroup_cat"].tolist()[:3] == ["225", "225", "62"]
    assert num_inputs == ["li_fraction"] and md_inputs == ["md_log10_D"]
    top = pd.DataFrame({"spearman": [0.5], "p_spearman": [1e-3], "n": [6]}, index=["li_fraction"])
    m = ch04.metrics(
        table, pd.DataFrame({"id": [1]}), ["li_fraction"], top, {"a": np.float64(0.2)}, 10, {"n_groups": 3}, {}
    )
    assert m["top5_spearman_log10_sigma"] == [{"descriptor": "li_fraction", "rho": 0.5, "p": 1e-3, "n": 6}]
    assert m["n_materials"] == 6 and m["n_unusable"] == 1 and m["mape"] == {"a": 0.2}
    assert ch04.disagreement_text(top.iloc[:0], top) == "Pearson and Spearman agree for every descriptor here."


# ---------------------------------------------------------------------------------------- ch05


def _sse_table(n: int = 60) -> pd.DataFrame:
    X, y = make_blobs(n_samples=n, centers=3, n_features=3, cluster_std=0.5, random_state=1)
    return pd.DataFrame(
        {
            "formula": [f"Li{i}" for i in range(n)],
            "family": np.where(np.arange(n) < n - 3, "garnet", "rare"),
            "anion_class": np.array(["oxide", "sulfide", "halide"])[y],
            "log10_sigma": X[:, 0],
            "superionic": X[:, 0] > 0,
            "li_fraction": X[:, 0],
            "li_density": X[:, 1],
            "density": X[:, 2],
            "spacegroup": 225.0,
        },
        index=pd.Index([f"id{i}" for i in range(n)], name="ID"),
    )


def test_read_descriptors_reads_chapter_04(results):
    write_table("04_correlograms", "sse_descriptors", _sse_table())
    pd.testing.assert_frame_equal(ch05.read_descriptors(), _sse_table())


def test_matrix_families_and_tables_of_chapter_05():
    table = _sse_table()
    prep = ch05.descriptor_matrix(table, 0.5)
    assert list(prep.X.columns) == ["li_fraction", "li_density", "density"]  # no space-group number
    cats, subcats = ch05.category_maps(prep.X.columns)
    assert set(cats.values()) == {"S-C"} and subcats["li_density"] == "Li environment"
    assert ch05.family_labels(table).value_counts().to_dict() == {"garnet": 57, "other (< 5)": 3}
    res = cl.pca(prep.X, seed=0)
    spaces = ch05.pc_spaces(res)
    km2 = cl.fit_kmeans(spaces["PC1–PC2"], 3, seed=0, order_by="PC1")
    km3 = cl.fit_kmeans(spaces["PC1–PC2–PC3"], 3, seed=0, order_by="PC1")
    agree = ch05.label_agreements(km2.labels, table)
    assert set(agree) == {"anion_class", "family", "superionic"} and agree["anion_class"]["ari"] > 0.9
    clusters = ch05.clusters_table(km2, km3, res, table)
    assert list(clusters.columns) == ["cluster_pc12", "cluster_pc123", "PC1", "PC2", "PC3", *ch05.LABELS, "superionic"]
    stab = pd.Series({"ari_bootstrap": 0.9, "ari_seeds": 1.0})
    by_sub = cl.loadings_by_category(res.loadings, subcats)
    m = ch05.metrics(prep.X, res, {"PC1–PC2": (3, "why"), "PC1–PC2–PC3": (4, "")}, km2, km3, stab, agree, by_sub)
    assert (m["k_chosen"], m["k_chosen_pc123"], m["k_reason"]) == (3, 4, "why")
    assert sum(m["explained_variance_pc1_pc3"]) == pytest.approx(1.0)  # three descriptors, three PCs
    tab, _ = ch05.membership(km2, table, ch05.family_labels(table))
    _, summ = ch05.plot_populations(km2, ch05.family_labels(table), table)
    text = ch05.classes_text(cl.cluster_profiles(prep.X, km2.labels), summ, tab, agree)
    assert text.count("- **class") == 3 and "anion_class: ARI" in text
