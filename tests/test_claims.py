"""López et al.'s claims, tested (chapters/ch04_claims, ch05_claims), the frame-interval decision
(transport.runs) and the fixed-temperature MD selection (transport.sse_md): known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matmap_utils.chapters import ch04_claims as c4
from matmap_utils.chapters import ch05_claims as c5
from matmap_utils.data.trajectories import Trajectory
from matmap_utils.transport import elastic, runs, sse_md


@pytest.mark.parametrize(
    ("paper", "lo", "hi", "n", "expected"),
    [
        (-0.43, -0.3, -0.1, 300, "supported"),
        (0.55, -0.3, -0.1, 300, "contradicted"),  # opposite sign
        (0.55, -0.05, 0.1, 300, "contradicted"),  # compatible with 0, not with +0.55
        (0.55, -0.05, 0.6, 300, "inconclusive"),
        (0.55, 0.1, 0.9, 5, "not testable here"),
        (0.55, np.nan, np.nan, 300, "not testable here"),
    ],
)
def test_verdict_rule(paper, lo, hi, n, expected):
    assert c4.verdict(paper, lo, hi, n) == expected


def test_correlation_claims_on_a_monotonic_toy_table():
    rng = np.random.default_rng(0)
    y = rng.normal(size=60)
    table = pd.DataFrame({"log10_sigma": y, "poisson_ratio": y + 0.1 * rng.normal(size=60), "pugh_ratio": -y})
    md = pd.DataFrame({"material": ["a", "b"], "log10_D": [-5.0, -4.0], "Fvib_meV_atom": [1.0, 2.0]})
    tab = c4.correlation_claims(table, md, n_boot=200)
    assert tab.loc["Spearman(D, ν), Li-based SSEs", "verdict"] == "supported"  # paper +0.55, ours ≈ +1
    assert tab.loc["Spearman(D, κ (Pugh)), Li-based SSEs", "verdict"] == "supported"  # paper −0.56, ours −1
    assert tab.loc["Spearman(D, κ (Pugh)), Li-based SSEs", "rho"] == pytest.approx(-1.0)
    assert tab.loc["Spearman(D, H_V), Li-based SSEs", "verdict"] == "not testable here"  # no column
    row = tab.loc["Spearman(D, F_vib), Li-based SSEs"]
    assert row["verdict"] == "not testable here" and row["n"] == 2 and "only 2" in row["why_not_testable"]
    assert "σ_RT" in tab.loc["Spearman(D, ν), Li-based SSEs", "target"]


def test_md_per_material_keeps_400_600K_li_runs_only():
    md = pd.DataFrame(
        {
            "system": ["A", "A", "B", "C"],
            "reduced_formula": ["Li3PS4", "Li3PS4", "Li7P3S11", "Na3PS4"],
            "specie": ["Li", "Li", "Li", "Na"],
            "temperature_K": [600.0, 800.0, 500.0, 600.0],
            "D_cm2_s": [1e-6, 1e-5, 1e-7, 1e-6],
        }
    )
    out = c4.md_per_material(md).set_index("material")
    assert sorted(out.index) == ["Li3PS4", "Li7P3S11"]
    assert out.loc["Li3PS4", "log10_D"] == pytest.approx(-6.0)  # the 800 K run is left out
    f = sse_md.md_frame(md)
    assert len(sse_md.at_temperature(f)) == 3


def test_join_static_matches_reduced_formulas():
    frame = pd.DataFrame({"material": ["Li3PS4", "LiX"], "temperature_K": [600.0, 600.0]})
    table = pd.DataFrame({"formula": ["Li3PS4", "Li6P2S8"], "density": [1.8, 2.0]})
    out, cols = sse_md.join_static(frame, table, ["density"])
    assert cols == ["static_density"]
    assert out["static_density"].iloc[0] == pytest.approx(1.9) and np.isnan(out["static_density"].iloc[1])


def test_cubic_vrh_and_isotropic_known_answers():
    # isotropic cubic crystal (C11 − C12 = 2 C44): Voigt = Reuss, G = C44
    K, G = elastic.cubic_vrh(200.0, 100.0, 50.0)
    assert K == pytest.approx(400.0 / 3) and G == pytest.approx(50.0)
    K, G = elastic.isotropic_kg(250.0, 100.0)  # ν = 0.25 → K = E / 1.5
    assert K == pytest.approx(250.0 / 1.5) and G == 100.0
    ref = elastic.experimental_reference()
    assert len(ref) >= 5 and ref["source"].str.len().min() > 20
    assert ref.loc["Li2O", "K_exp_GPa"] == pytest.approx((202.0 + 2 * 21.5) / 3)


def test_prototype_structures_have_the_right_density():
    li2o = elastic.prototype_structure("Li2O", "antifluorite", 4.611)
    assert li2o.composition.reduced_formula == "Li2O" and li2o.density == pytest.approx(2.02, abs=0.02)
    licl = elastic.prototype_structure("LiCl", "rocksalt", 5.130)
    assert licl.composition.reduced_formula == "LiCl" and licl.density == pytest.approx(2.07, abs=0.03)
    with pytest.raises(ValueError, match="unknown prototype"):
        elastic.prototype_structure("LiX", "zincblende", 5.0)


def test_join_elastic_fills_rows_with_moduli():
    table = pd.DataFrame({"density": [2.0, 3.0, 2.5]}, index=["a", "b", "c"])
    mod = pd.DataFrame({"K_VRH_GPa": [50.0, 30.0], "G_VRH_GPa": [30.0, 10.0]}, index=["a", "b"])
    out, status = elastic.join_elastic(table, mod, 1)
    assert (
        out.loc[["a", "b"], list(elastic.COLUMNS)].notna().all().all()
        and out.loc["c", "pugh_ratio"] != out.loc["c", "pugh_ratio"]
    )
    assert out.loc["a", "pugh_ratio"] == pytest.approx(0.6) and "2 of 3" in status


def _vibrating(dt_fs: float, stride: int, T: float, n_frames: int = 400, timestep: float = 2.0) -> Trajectory:
    """Atoms on harmonic springs sampled every MD step (2 fs), stored with metadata claiming
    frames every ``dt_fs`` — finite differences at the true step give ≈ T."""
    from ase import units  # lazy: test helper only

    rng = np.random.default_rng(1)
    n, m = 16, 7.0
    kT = units.kB * T
    v_rms = np.sqrt(kT / (m * units._amu) * units._e) * 1e-5  # Å/fs, per component
    omega = 2 * np.pi * 0.01  # rad/fs (10 THz)
    t = np.arange(n_frames) * 2.0
    amp = v_rms / omega * np.sqrt(2)
    phase = rng.uniform(0, 2 * np.pi, (1, n, 3))
    pos = 5.0 + amp * np.sin(omega * t[:, None, None] + phase)
    return Trajectory(["Li"] * n, np.eye(3) * 10, pos, dt_fs, T, None, "<toy>", timestep, stride)


def test_frame_interval_decision_corrects_a_mislabelled_run():
    right = _vibrating(2.0, 1, 600.0)
    d = runs.frame_interval_decision(right)
    assert d["decision"] == "kept" and d["dt_fs"] == 2.0
    wrong = _vibrating(20.0, 10, 600.0)  # same frames, stated every 10 steps
    d = runs.frame_interval_decision(wrong)
    assert d["decision"] == "corrected" and d["dt_fs"] == 2.0 and d["implied_dt_fs"] == pytest.approx(2.0, rel=0.1)
    fixed = runs.retimed(wrong, d["dt_fs"])
    assert fixed.dt_fs == 2.0 and fixed.stride == 1 and fixed.meta["stated_dt_fs"] == 20.0
    hopeless = _vibrating(20.0, 1, 600.0, timestep=20.0)  # a 20 fs MD step: no candidate gives 600 K
    assert runs.frame_interval_decision(hopeless)["decision"] == "excluded"


def test_pca_and_class_claims_on_planted_structure():
    rng = np.random.default_rng(0)
    n = 120
    f = rng.normal(size=n)
    Z = pd.DataFrame(
        {
            "e1": f + 0.05 * rng.normal(size=n),
            "e2": f + 0.05 * rng.normal(size=n),
            "s1": rng.normal(size=n),
            "s2": 0.3 * rng.normal(size=n),
        }
    )
    cats = {"e1": "M-E", "e2": "M-E", "s1": "S-C", "s2": "S-C"}
    rows = {r["claim"]: r for r in c5.pca_claims(Z, cats, n_boot=100)}
    assert rows["PC1 is elastic–vibrational (M–E + D–V)"]["verdict"] == "supported"
    assert rows["PC2 is vibrational (D–V)"]["verdict"] == "not testable here"
    labels = pd.Series(np.repeat([1, 2, 3], 40))
    table = pd.DataFrame({"family": np.repeat(["x", "y", "z"], 40), "anion_class": np.tile(["O", "S"], 60)})
    fam = table["family"]
    crow = {r["claim"]: r for r in c5.class_claims(labels, table, 3, "elbow", fam, n_boot=100)}
    assert crow["elbow + silhouette choose k = 6"]["verdict"] == "contradicted"
    assert crow["the chemistry (family) does not organise the classes (AMI)"]["verdict"] == "contradicted"  # AMI = 1
    assert crow["the chemistry (anion_class) does not organise the classes (AMI)"]["verdict"] == "supported"
    spread = crow["families spread over several clusters (Li: 4 of 6; Na, halide, O: 3 of 6)"]
    assert spread["ours"] == 0.0 and spread["verdict"] == "contradicted"
    tab = c5.claims_table(list(rows.values()), list(crow.values()))
    assert set(c5.claims_metrics(tab)) == set(tab.index)
