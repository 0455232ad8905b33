"""Screening filters, domain flag, enrichment and the bootstrap intervals of chapter 06 (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition
from sklearn.decomposition import PCA
from sklearn.metrics import average_precision_score

from matmap_utils.chapters import ch06_validation as ch06v
from matmap_utils.screening import candidates, filters


def test_two_stage_band_gap_filter():
    g = filters.band_gap_filter(
        pd.Series({"a": 0.5, "b": 2.0}),  # MP gaps win, whatever the classifier says
        pd.Series({"a": 0.99, "b": 0.01, "c": 0.3, "d": 0.9, "e": 0.9}),
        pd.Series({"a": 3.0, "b": 0.1, "c": 2.0, "d": 1.5, "e": 0.7}),
    )
    assert g["Eg_source"].tolist() == ["MP", "MP", "MEGNet", "MEGNet", "MEGNet"]
    assert g["Eg"].tolist() == [0.5, 2.0, 2.0, 1.5, 0.7]
    assert g["gap_reason"].tolist() == ["Eg ≤ 1 eV", None, "metal", None, "Eg ≤ 1 eV"]
    assert g["passes_gap"].tolist() == [False, True, False, True, False]
    none = filters.band_gap_filter(pd.Series(dtype=float), pd.Series({"x": 0.9}), pd.Series({"x": np.nan}))
    assert none.at["x", "gap_reason"] == "no band gap" and none.at["x", "Eg_source"] == "none"


def test_verdict_lists_every_reason():
    f = pd.DataFrame({"P_SI": [0.9, 0.1], "gap_reason": [None, "metal"], "novel": [True, False]})
    assert filters.verdicts(f).tolist() == ["candidate", "not a candidate: metal, P_SI < 0.5, known composition"]


def test_domain_threshold_is_the_95th_percentile_of_training_nn_distances():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(200, 4))
    nn = candidates.training_nn_distances(train)
    assert np.allclose(candidates.pca_distance(train, train[:3]), 0.0, atol=1e-6)  # itself, in pca_distance
    t = PCA(whiten=True).fit_transform(train)  # brute force in the same whitened space
    d = np.linalg.norm(t[:, None] - t[None], axis=-1) + np.diag(np.full(len(t), np.inf))
    assert np.allclose(nn, d.min(1))
    assert candidates.domain_threshold(train) == pytest.approx(np.percentile(nn, 95))
    far = candidates.pca_distance(train, np.full((1, 4), 10.0))
    assert filters.domain_flags(far, candidates.domain_threshold(train)).tolist() == [True]


def test_novelty_against_reference_and_bad_formulas():
    refs, bad = filters.reference_compositions(["Li3PS4", "Li7La3Zr2O12", "not a formula", None])
    assert len(refs) == 2 and len(bad) == 1 and bad[0][0] == "not a formula"
    q = [Composition("Li3PS4"), Composition("Li3.05P1S4"), Composition("LiCl")]
    assert filters.novel_against(refs, q).tolist() == [False, False, True]


def test_enrichment_known_answer():
    rf = np.array([0.0, 0.04, 0.5, 0.9, 0.02])
    pos = np.array([True, True, True, False, False])
    e = filters.enrichment(rf, pos, [0.01, 0.05, 0.5])
    assert e[0.01] == pytest.approx((1 / 3) / 0.01)
    assert e[0.05] == pytest.approx((2 / 3) / 0.05)
    assert e[0.5] == pytest.approx(2.0 * 2 / 3)
    assert np.isnan(filters.enrichment(rf, np.zeros(5, bool), [0.1])[0.1])


def test_cv_interval_contains_the_point_value():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 60)
    folds = [(np.arange(60)[np.arange(60) % 3 != k], np.arange(60)[np.arange(60) % 3 == k]) for k in range(3)]
    proba = {(k, 10): np.clip(y[va] * 0.6 + rng.random((2, len(va))) * 0.5, 0, 1) for k, (_, va) in enumerate(folds)}
    iv = ch06v.cv_interval(proba, folds, y, 10, "auc_pr", n_boot=200, seed=0)
    point = np.mean([np.mean([average_precision_score(y[va], proba[(k, 10)][r]) for r in range(2)])
                     for k, (_, va) in enumerate(folds)])  # fmt: skip
    assert iv.value == pytest.approx(point) and iv.lo <= iv.value <= iv.hi


def test_held_out_matching_and_enrichment_table():
    test = pd.DataFrame({"compound": ["Li3PS4", "Li2O", "LiF"], "superionic": [True, False, True]}, index=[1, 2, 3])
    pool = pd.Series({"mp-1": "Li3PS4", "mp-2": "Li2O", "mp-9": "LiCl"})
    held = ch06v.held_out_in_pool(test, pool)
    assert held["material_id"].tolist() == ["mp-1", "mp-2"]
    screen = pd.DataFrame({"P_SI": np.linspace(1, 0, 20)}, index=[f"mp-{i}" for i in range(20)])
    ranked, enr = ch06v.enrichment_table(screen, held, [0.1], n_boot=50, seed=0)
    assert ranked.set_index("material_id")["rank"].to_dict() == {"mp-1": 2.0, "mp-2": 3.0}
    assert enr[0.1].value == pytest.approx(10.0)  # the one superionic compound is in the top 10 %
