"""core.metrics: numpy AUC-PR and MCC equal to scikit-learn's (ties, one class, both callers)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, matthews_corrcoef

from matmap_utils.benchmark import metrics as bmetrics
from matmap_utils.core.metrics import average_precision, mcc


def test_average_precision_and_mcc_equal_sklearn_with_ties():
    rng = np.random.default_rng(1)
    for k in range(40):
        n = int(rng.integers(5, 80))
        y = rng.integers(0, 2, n)
        p = np.round(rng.random(n), 1) if k % 2 else rng.random(n)  # every other case with ties
        if 0 < y.sum() < n:
            assert average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)
        assert mcc(y, p) == pytest.approx(matthews_corrcoef(y, (p >= 0.5).astype(int)), abs=1e-12)
        assert mcc(y, p, 0.3) == pytest.approx(matthews_corrcoef(y, (p >= 0.3).astype(int)), abs=1e-12)


def test_known_answers_and_undefined_cases():
    # ranking 1, 0, 1: AP = 1/2 (1/1) + 1/2 (2/3) = 5/6
    assert average_precision([1, 0, 1], [0.9, 0.8, 0.7]) == pytest.approx(5 / 6)
    assert np.isnan(average_precision([1, 1], [0.2, 0.3]))
    assert mcc([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2]) == 1.0
    assert mcc([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8]) == -1.0
    assert mcc([1, 1, 0], [0.9, 0.8, 0.7]) == 0.0  # one predicted class: 0, as sklearn


def test_obelix_scores_equal_sklearn_on_log10_sigma():
    rng = np.random.default_rng(3)
    y = rng.normal(-6, 2.5, 121)
    pred = y + rng.normal(0, 1.5, 121)
    lab = y >= -4
    assert bmetrics.auc_pr(y, pred) == pytest.approx(average_precision_score(lab, pred), abs=1e-12)
    assert bmetrics.mcc(y, pred) == pytest.approx(matthews_corrcoef(lab, pred >= -4), abs=1e-12)
    assert np.isnan(bmetrics.mcc(np.full(5, -8.0), np.zeros(5)))  # one class in the labels


def test_classification_metrics_equal_sklearn():
    from sklearn.metrics import auc, precision_recall_curve, roc_auc_score

    from matmap_utils.screening.metrics import classification_metrics

    rng = np.random.default_rng(4)
    for k in range(30):
        n = int(rng.integers(4, 60))
        y = rng.integers(0, 2, n)
        p = np.round(rng.random(n), 1) if k % 2 else rng.random(n)
        m = classification_metrics(y, p, threshold=0.4)
        assert m["mcc"] == pytest.approx(matthews_corrcoef(y, (p >= 0.4).astype(int)), abs=1e-12)
        if 0 < y.sum() < n:
            prec, rec, _ = precision_recall_curve(y, p)
            assert m["auc_pr"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
            assert m["auc_pr_trapz"] == pytest.approx(auc(rec, prec), abs=1e-12)
            assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        else:
            assert np.isnan(m["auc_pr"]) and np.isnan(m["roc_auc"]) and np.isnan(m["auc_pr_trapz"])
