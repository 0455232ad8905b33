"""López et al.'s M–E descriptors from K, G and ρ: identities of isotropic elasticity."""

from __future__ import annotations

import numpy as np
import pytest

from matmap_utils.transport.elastic import COLUMNS, elastic_descriptors, vickers_hardness


def test_poisson_solid_known_answers():
    """ν = 1/4 when K = 5G/3 (a "Poisson solid"): λ = G, v_l/v_t = √3, P_c = 0."""
    G, rho = 30.0, 3.0
    d = elastic_descriptors(5 * G / 3, G, rho).iloc[0]
    assert d["poisson_ratio"] == pytest.approx(0.25)
    assert d["lame_lambda_GPa"] == pytest.approx(G)
    assert d["velocity_ratio"] == pytest.approx(np.sqrt(3.0))
    assert d["cauchy_pressure_GPa"] == pytest.approx(0.0, abs=1e-12)
    assert d["young_modulus_GPa"] == pytest.approx(2 * G * 1.25)  # E = 2G(1 + ν)
    assert d["v_transverse_km_s"] == pytest.approx(np.sqrt(G / rho))  # √(GPa/(g/cm³)) = km/s
    assert d["pugh_ratio"] == pytest.approx(0.6)


def test_identities_hold_for_random_moduli():
    rng = np.random.default_rng(0)
    K = rng.uniform(10, 200, 50)
    G = K * rng.uniform(0.2, 1.2, 50)
    rho = rng.uniform(1, 8, 50)
    d = elastic_descriptors(K, G, rho)
    assert list(d.columns) == list(COLUMNS) and len(COLUMNS) == 13
    E, nu = d["young_modulus_GPa"], d["poisson_ratio"]
    np.testing.assert_allclose(E, 3 * K * (1 - 2 * nu))  # E = 3K(1 − 2ν)
    np.testing.assert_allclose(d["p_wave_modulus_GPa"], d["lame_lambda_GPa"] + 2 * G)  # M = λ + 2G
    v_avg, v_l, v_t = d["v_average_km_s"], d["v_longitudinal_km_s"], d["v_transverse_km_s"]
    assert (v_avg > v_t).all() and (v_avg < v_l).all()
    # the signs López et al. report for Li conductors need κ and ν to move in opposite directions
    assert np.corrcoef(d["pugh_ratio"], nu)[0, 1] < -0.9
    assert np.corrcoef(d["velocity_ratio"], nu)[0, 1] > 0.9


def test_hardness_models_and_bad_rows():
    assert vickers_hardness(100.0, 80.0) > 0 and vickers_hardness(30.0, 10.0) > 0
    assert vickers_hardness(30.0, 10.0, "chen") < 0  # why Tian's model is the default
    with pytest.raises(ValueError, match="unknown hardness"):
        vickers_hardness(1.0, 1.0, "nope")
    d = elastic_descriptors([50.0, -1.0], [20.0, 5.0], [2.0, 2.0])
    assert d.iloc[0].notna().all() and d.iloc[1].isna().all()
