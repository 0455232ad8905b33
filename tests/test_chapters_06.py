"""Chapter 06's tables, text and metrics on small hand-made frames (known answers)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from structures_lib import li2o

from matmap_utils.chapters import ch06_atomsets_screening as ch06
from matmap_utils.chapters import ch06_screening as ch06s
from matmap_utils.chapters import ch06_validation as ch06v
from matmap_utils.screening import filters


def _disordered():
    return Structure(Lattice.cubic(4.0), [{"Li": 0.5, "Na": 0.5}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def _mc():
    return pd.DataFrame(
        {
            "structure": [li2o(), _disordered(), None, li2o(), li2o()],
            "superionic": [True, False, True, False, True],
            "split_test": [False, True, False, False, False],
        },
        index=[10, 11, 12, 13, 14],
    )


def test_labelled_entries_counts_and_text():
    mc = _mc()
    lab = ch06.labelled_entries(mc)
    assert lab["key"].tolist() == ["10", "11", "13", "14"]
    assert lab["disordered"].tolist() == [False, True, False, False]
    sub = ch06.labelled_entries(mc, label_limit=2, seed=3)
    assert len(sub) == 2 and list(sub.index) == sorted(sub.index)
    assert sub.equals(ch06.labelled_entries(mc, label_limit=2, seed=3))  # seeded
    counts = ch06.label_counts(mc, lab)
    assert counts["paper (Table 1)"].tolist() == [548, 211, 337, 55, 493]
    assert counts["with a public (OBELiX) CIF"].tolist() == [4, 2, 2, 1, 3]
    assert counts["used here"].tolist() == [4, 2, 2, 1, 3]
    text = ch06.labels_text(mc, lab, label_limit=0)
    assert text.startswith("4 of the paper's 548 entries have a public structure (1 %)")
    assert "1 of them disordered" in text and "(a CI subset)" not in text


def test_featurized_only_and_mats():
    lab = ch06.labelled_entries(_mc())
    feats = {
        ("CAMN", 0): {"10": np.ones((2, 3)), "11": np.zeros((1, 3)), "13": np.full((1, 3), 2.0)},
        ("CAN", 0): {"10": np.ones((1, 3)), "13": np.ones((1, 3)), "14": np.ones((1, 3))},
    }
    ok = ch06.featurized_only(lab, feats)
    assert ok["key"].tolist() == ["10", "13"]
    m = ch06.mats(feats, ("CAMN", 0), ok)
    assert [x.shape for x in m] == [(2, 3), (1, 3)] and m[1][0, 0] == 2.0


def _kfold():
    return pd.DataFrame(
        {"auc_pr": [0.8, 0.7], "auc_pr_std": [0.1, 0.05], "mcc": [0.4, 0.5], "mcc_std": [0.2, 0.1], "epoch": [10, 20]},
        index=pd.Index(["AS-CAMN-V0", "AS-CAMNS-V1"], name="model_feature"),
    )


def _lr_cv():
    return pd.DataFrame(
        {
            "mean_auc_pr": [0.3, 0.5],
            "mean_mcc": [0.0, 0.0],
            "shuffled_auc_pr": [0.35, 0.45],
            "shuffled_mcc": [0.1, -0.1],
        }
    )


def test_baseline_rows_best_and_kfold_metrics():
    lr_sum = {"auc_pr": 0.6, "auc_pr_std": 0.02, "mcc": 0.3, "mcc_std": 0.04}
    kfold = ch06.with_baseline_rows(_kfold(), lr_sum, _lr_cv())
    assert kfold.loc["LR-Atomistic", ch06.SUMMARY_COLUMNS].tolist() == [0.6, 0.02, 0.3, 0.04]
    np.testing.assert_allclose(kfold.loc["Mean Control", ch06.SUMMARY_COLUMNS], [0.4, np.std([0.3, 0.5], ddof=1), 0, 0])
    np.testing.assert_allclose(
        kfold.loc["Shuffled Control", ch06.SUMMARY_COLUMNS], [0.4, np.std([0.35, 0.45], ddof=1), 0.0, np.sqrt(0.02)]
    )
    assert len(_kfold()) == 2  # the input is not changed
    as_rows, best, beats = ch06.best_kfold(kfold)
    assert best == "AS-CAMN-V0" and list(as_rows.index) == ["AS-CAMN-V0", "AS-CAMNS-V1"] and beats
    paper = pd.DataFrame({"auc_pr": [0.893], "auc_pr_std": [0.01], "mcc": [0.6], "mcc_std": [0.1]}, index=[best])
    cmp = ch06.compare_with_paper(kfold, paper)
    assert cmp.loc[best, "paper_auc_pr"] == 0.893 and np.isnan(cmp.loc["AS-CAMNS-V1", "paper_auc_pr"])
    m = ch06.kfold_metrics(kfold, as_rows, best, beats, lr_sum, paper)
    assert m["kfold_best_config"] == best and m["kfold_auc_pr"] == 0.8 and m["kfold_auc_pr_paper"] == 0.893
    assert m["kfold_mean_control_auc_pr"] == pytest.approx(0.4) and m["kfold_lr_mcc"] == 0.3
    text = ch06.kfold_text(kfold, as_rows, best, beats, paper, lr_sum, 1.0, np.array([0, 1, 1, 0]))
    assert "**AS-CAMN-V0**, AUC-PR 0.800 ± 0.100" in text and "(0.50 here" in text
    kfold.loc["AS-CAMNS-V1", "mcc"] = -0.5  # below the shuffled control
    assert not ch06.best_kfold(kfold)[2]
    fig = ch06.kfold_figure(cmp)
    assert len(fig.axes) == 2 and [t.get_text() for t in fig.axes[1].get_xticklabels()][-1] == "LR-Atomistic"
    plt.close(fig)


def _loco():
    return pd.DataFrame(
        {
            "model_feature": ["AS-CAMNS-V0", "AS-CAMNS-V0", "LR-Atomistic", "LR-Atomistic"],
            "cluster": [1, 4, 1, 4],
            "auc_pr": [0.6, np.nan, 0.5, 0.7],
            "mcc": [0.2, 0.4, 0.0, 0.1],
            "mean_auc_pr": [0.4, 0.5, 0.4, 0.5],
            "shuffled_auc_pr": [0.4, 0.4, 0.4, 0.4],
            "mean_mcc": [0.0, 0.0, 0.0, 0.0],
            "shuffled_mcc": [0.01, 0.03, 0.0, 0.0],
            "note": ["a", "b", "c", "d"],
        }
    )


def test_loco_means_table_and_metrics():
    loco = _loco()
    means = ch06.loco_means(loco)
    assert means.loc["AS-CAMNS-V0", "auc_pr"] == pytest.approx(0.6)  # NaN-mean
    assert means.loc["LR-Atomistic", "mcc"] == pytest.approx(0.05)
    assert "note" not in ch06.loco_for_table(loco) and "model_feature" in ch06.loco_for_table(loco)
    m = ch06.loco_metrics(loco, "AS-CAMN-V0", "AS-CAMNS-V0")  # best not under LOCO: the final one
    assert m["loco_config"] == "AS-CAMNS-V0" and m["loco_mcc"] == pytest.approx(0.3)
    assert m["loco_shuffled_control_mcc"] == pytest.approx(0.02)
    assert ch06.loco_metrics(loco, "LR-Atomistic", "x")["loco_auc_pr"] == pytest.approx(0.6)
    assert set(ch06.loco_metrics(loco, "AS-X-V0", "AS-Y-V1").values()) == {None}
    fig = ch06.loco_figure(loco)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_hpo_tables_text_and_metrics():
    clusters = [1, 4, 7]
    assert ch06.hpo_fold_ids("all", clusters) == [0, 1, 2]
    assert ch06.hpo_fold_ids([7, 1], clusters) == [2, 0]
    hpo = pd.DataFrame(
        {
            "fold": [0, 1],
            "n_val": [5, 3],
            "val_pr_auc": [0.9, np.nan],
            "n_trials": [4, np.nan],
            "wall_s": [12.0, np.nan],
            "skipped": [None, "one class"],
        }
    )
    loco = _loco()
    out = ch06.with_untuned(hpo, loco, clusters, ("CAMNS", 0))
    assert out["cluster"].tolist() == [1, 4] and out["untuned_auc_pr"].iloc[0] == 0.6
    assert "untuned_auc_pr" not in hpo  # the input is not changed
    text = ch06.hpo_text(out, ("CAMNS", 0))
    assert "Search on 1 cluster(s) with AS-CAMNS-V0 features (1 skipped" in text and "against 0.600" in text
    other = ch06.with_untuned(hpo, loco, clusters, ("CAN", 2))
    assert "not among the LOCO configurations" in ch06.hpo_text(other, ("CAN", 2))
    m = ch06.hpo_metrics(out, "CAMNS:0")
    assert m == {
        "hpo_config": "CAMNS:0",
        "hpo_n_clusters": 1,
        "hpo_trials": 4,
        "hpo_best_val_auc_pr_mean": 0.9,
        "hpo_untuned_auc_pr_mean": 0.6,
        "time_hpo_s": 12.0,
    }
    assert ch06.hpo_metrics(None, "x") == {} and ch06.hpo_metrics(out.iloc[1:], "x") == {}


def _pretrain_tab():
    rows = []
    for v, base in (("random init", 0.5), ("pre-trained", 0.6)):
        for e, add in (("best epoch", 0.1), ("last epoch", 0.0)):
            rows.append(
                {"variant": v, "epoch_choice": e, "epoch": 3, "auc_pr": base + add, "auc_pr_std": 0.05, "mcc": base / 2}
            )
    return pd.DataFrame(rows)


def test_pretraining_text_and_metrics():
    tab, info = _pretrain_tab(), {"n_train": 36, "positive_fraction": 0.25, "val_auc_pr": 1.0}
    text = ch06.pretraining_text(tab, info, ("CAMN", 0))
    assert "AUC-PR of AS-CAMN-V0 by +0.100 at the best epoch and +0.100 at the last epoch (MCC +0.050)" in text
    assert "(25 % called non-metals by the MEGNet metal classifier" in text and "toy-sized" in text
    assert "toy-sized" not in ch06.pretraining_text(tab, {**info, "n_train": 5000}, ("CAMN", 0))
    m = ch06.pretrain_metrics(tab, info, "CAMN:0")
    assert m["pretrain_random_best_auc_pr"] == pytest.approx(0.6) and m["pretrain_pretrained_last_mcc"] == 0.3
    assert m["pretrain_n"] == 36 and m["pretrain_task_val_auc_pr"] == 1.0 and len(m) == 11
    assert ch06.pretrain_metrics(None, {}, "x") == {}


def _screen():
    gap = filters.band_gap_filter(
        pd.Series({"mp-1": 2.0, "mp-3": 5.0}),
        pd.Series({"mp-2": 0.9, "mp-4": 0.2, "mp-5": 0.8}),
        pd.Series({"mp-2": 3.0, "mp-4": 1.5, "mp-5": 0.5}),
    )
    screen = pd.DataFrame(
        {
            "formula": ["LiP5", "Li2O", "LiCl", "LiP7", "LiSiAu2"],
            "P_SI": [0.9, 0.7, 0.2, 0.6, 0.95],
            "P_SI_std": [0.05, 0.1, 0.1, 0.2, 0.1],
            "d_train": [1.0, 2.0, 3.0, 4.0, 0.5],
            "out_of_domain": [False, False, False, True, False],
            "disordered": [False, False, False, False, False],
            "novel": [True, False, True, True, True],
        },
        index=pd.Index(["mp-1", "mp-2", "mp-3", "mp-4", "mp-5"], name="material_id"),
    ).join(gap)
    screen["verdict"] = filters.verdicts(screen)
    screen["candidate"] = screen["verdict"].eq("candidate")
    return screen


def test_screening_counts_text_table2_and_ranking():
    screen = _screen()
    assert screen["verdict"].tolist() == [
        "candidate",
        "not a candidate: known composition",
        "not a candidate: P_SI < 0.5",
        "not a candidate: metal",
        "not a candidate: Eg ≤ 1 eV",
    ]
    c = ch06s.screening_counts(screen)
    assert c["n_candidates"] == 1 and c["removed_metal"] == 1 and c["removed_low_gap"] == 1
    assert c["removed_p_si"] == 1 and c["removed_not_novel"] == 1 and c["n_eg_gt_1"] == 3
    text = ch06s.screening_text(screen, n_pool=6, t_screen=3.0, n_fail_oxidation=1, dom_thr=1.5)
    assert text.startswith("Screened 5 MP Li compounds of 6 (1 not featurized, 1 of them")
    assert "1 removed as metals by the classifier, 1 for Eg ≤ 1 eV" in text and "**1 candidates**" in text
    t2 = ch06s.table2(screen)
    assert t2["formula"].tolist() == ["LiP5"] and t2["P_SI (SD)"].iloc[0] == "0.90 (0.05)"
    assert t2["Eg source"].tolist() == ["MP"] and t2["domain"].tolist() == ["in"]
    t2_text = ch06s.table2_text(t2, screen, ["LiSiAu2", "Li15Au4"])
    assert "holds 0 compounds the classifier calls metals" in t2_text and "0 remain in it (none)" in t2_text
    where, text = ch06s.paper_candidates_ranking(screen)
    assert where["formula"].tolist() == ["LiP5", "LiP7"] and where["rank"].tolist() == [2, 4]
    assert "rank among 5 screened" in text and "'Li9B19S33'" in text and "'LiP5'" not in text
    fig = ch06s.screening_figure(screen)
    assert fig.axes[0].get_xlabel() == "P_SI"
    plt.close(fig)


def test_final_and_timing_metrics_and_texts():
    tm, lr = {"auc_pr": 0.9, "mcc": 0.5, "roc_auc": 0.95}, {"auc_pr": 0.8, "mcc": 0.25}
    assert ch06.final_metrics(("CAMNS", 1), 8, 10, tm, lr) == {
        "final_config": "AS-CAMNS-V1",
        "n_ensemble": 8,
        "final_epochs": 10,
        "test_auc_pr": 0.9,
        "test_mcc": 0.5,
        "test_roc_auc": 0.95,
        "test_lr_auc_pr": 0.8,
        "test_lr_mcc": 0.25,
    }
    assert ch06.timing_metrics(kfold=1.5, screen=2.0) == {"time_kfold_s": 1.5, "time_screen_s": 2.0}
    text = ch06.fig6_text(6, 55, 8, 0.4, 10, tm, lr, 0.125)
    assert text.startswith("Test set: 6 of the paper's 55 entries") and "MCC 0.50, ROC-AUC 0.95" in text
    assert text.endswith("moves the ensemble's MCC by 0.12 on average.")
    test = pd.DataFrame({"log10_sigma": [-3.0, -6.0]})
    fig = ch06.fig6_figure(test, np.array([[0.8, 0.2], [0.6, 0.4]]), ("CAMNS", 1), tm)
    assert "CAMNS-V1 ensemble (AUC-PR 0.90, MCC 0.50)" in fig.axes[0].get_title()
    plt.close(fig)


def test_final_epochs_requires_a_cross_validated_configuration():
    cv = pd.DataFrame(
        {
            "fold": [0, 0, 1, 1],
            "epoch": [5, 10, 5, 10],
            "member": [0, 0, 0, 0],
            **{m: [0.5, 0.9, 0.6, 0.8] for m in ("auc_pr", "mcc", "roc_auc")},
            **{f"{c}_{m}": [0.4] * 4 for c in ("mean", "shuffled") for m in ("auc_pr", "mcc", "roc_auc")},
        }
    )
    assert ch06.final_epochs({("CAMNS", 0): cv}, ("CAMNS", 0)) == 10
    with pytest.raises(ValueError, match="must be among the k-fold"):
        ch06.final_epochs({("CAMNS", 0): cv}, ("CAMNS", 1))


def test_logistic_test_fits_on_train_and_scores_the_test_entries():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 20)
    X = rng.normal(size=(40, 2)) + 3.0 * y[:, None]  # separable
    lab = pd.DataFrame({"superionic": y.astype(bool), "split_test": np.arange(40) >= 30})
    m = ch06.logistic_test(X, lab, best_C=10.0)
    assert m["auc_pr"] == 1.0 and m["mcc"] == 1.0
    lab["superionic"] = ~lab["superionic"]  # labels flipped on the training rows too: still perfect
    assert ch06.logistic_test(X, lab, best_C=10.0)["auc_pr"] == 1.0


def test_logistic_test_imputes_from_the_training_rows_only():
    """Missing features of the test rows are imputed by the model fitted on the train + validation
    rows (``baselines.logistic_model``): the metrics equal those of that model, and do not move
    when a test row's known value moves far off (an all-rows median would shift)."""
    rng = np.random.default_rng(2)
    y = np.array([0, 1] * 20)
    X = rng.normal(size=(40, 2)) + 2.0 * y[:, None]
    X[::4, 0] = np.nan  # training and test rows missing feature 0
    lab = pd.DataFrame({"superionic": y.astype(bool), "split_test": np.arange(40) >= 30})
    tr, te = np.arange(30), np.arange(30, 40)
    ref = ch06.baselines.logistic_model(1.0).fit(X[tr], y[tr])
    m = ch06.logistic_test(X, lab, best_C=1.0)
    assert m == ch06.classification_metrics(y[te], ref.predict_proba(X[te])[:, 1])
    assert np.allclose(ref[0].statistics_, np.nanmedian(X[tr], axis=0))


def test_mcc_one_flip_and_settings_texts():
    y = np.array([1, 1, 0, 0])
    # perfect: any one flip gives MCC 1/√3 (confusion 1 FN or 1 FP of four)
    assert ch06v.mcc_one_flip(y, np.array([0.9, 0.8, 0.1, 0.2])) == pytest.approx(1 - 1 / np.sqrt(3))
    text = ch06v.kfold_settings_text(dict(set2set_hidden=64, init_lr=0.01, epochs=30, batch_size=16), 3, 5, 10)
    assert text.startswith("Settings: 5 folds × 3 repeats; dense layers of [64, 64] neurons")
    assert "set2set hidden size 64 (maml's default 512, 8 times larger)" in text and "30 epochs" in text
    assert ch06v.hpo_space_text().startswith("Search space: 2–4 layers of 32–256 neurons")
    gaps = pd.DataFrame({"mp_band_gap_eV": [0.6, 3.0], "e_above_hull_eV": [0.0, 0.05]})
    assert ch06v.band_gap_table_text(gaps).startswith(
        "IonNet MP band-gap table: 2 Li compounds, band gaps 0.60–3.00 eV"
    )


def test_sendek_matrix_leaves_missing_values_for_the_folds(monkeypatch):
    frame = pd.DataFrame(
        {"LLB": [1.0, np.nan], "SBI": [0.5, 0.6], "AFC": [2.0, 3.0], "LASD": [2.0, 2.1], "LLSD": [2.5, np.inf]},
        index=pd.Index(["a", "b"], name="key"),
    )
    monkeypatch.setattr(ch06.baselines, "sendek_frame", lambda structures, keys, n_jobs=1: frame)
    X = ch06.sendek_matrix(pd.DataFrame({"key": ["b", "a"], "structure": [None, None]}), n_jobs=1)
    assert np.isnan(X[0, 0]) and np.isnan(X[0, 4]) and X[1, 0] == 1.0  # not imputed over all rows


def test_band_gap_figure():
    join = pd.DataFrame({"mp_band_gap_eV": [1.0, 2.0], "megnet_band_gap_eV": [1.1, 1.8]})
    fig = ch06.bandgap_figure(join, {"mae_eV": 0.15, "n": 2})
    assert fig.axes[0].get_title() == "MEGNet vs MP: MAE 0.15 eV (n = 2)"
    plt.close(fig)


# ---- LOCO enrichment: ranks under each fold's own model --------------------------------------------
def test_pool_ranks_equal_a_brute_force_rank_with_ties():
    rng = np.random.default_rng(4)
    s = pd.Series(np.round(rng.random(60), 1), index=[f"mp-{i}" for i in range(60)])  # many ties
    r = ch06v.pool_ranks(s)
    for mid, p in s.items():  # 1 + (strictly better) + half of the others tied with it
        assert r[mid] == pytest.approx(1 + (s > p).sum() + 0.5 * ((s == p).sum() - 1))


def _loco_held():
    return pd.DataFrame(
        {
            "fold": [0, 1, 1, 0],
            "cluster": [3, 5, 5, 3],
            "entry": [100, 200, 200, 101],
            "material_id": ["mp-0", "mp-1", "mp-2", "mp-3"],
            "formula": ["A", "B", "B", "C"],
            "superionic": [True, True, True, False],
            "seen": [False, False, False, True],
        }
    )


def test_loco_ranks_come_from_the_model_trained_without_the_cluster():
    """Fold k's model puts its own held-out compound first; every other fold's model puts it last:
    a rank taken from the wrong column would be the pool's last rank, not the first."""
    rng = np.random.default_rng(5)
    ids = [f"mp-{i}" for i in range(20)]
    scores = pd.DataFrame(rng.uniform(0.2, 0.8, (20, 2)), index=ids, columns=[0, 1])
    scores.loc["mp-0"] = [1.0, 0.0]  # held out in fold 0
    scores.loc["mp-1"] = [0.0, 0.99]  # held out in fold 1 (its entry's better polymorph)
    scores.loc["mp-2"] = [0.1, 0.95]
    ranked, enr = ch06v.loco_enrichment_table(scores, _loco_held(), [0.05, 0.1], n_boot=50, seed=0)
    got = ranked.set_index("entry")
    assert sorted(got.index) == [100, 200]  # entry 101 is "seen": left out
    assert got.at[100, "rank"] == 1.0 and got.at[100, "material_id"] == "mp-0"
    assert got.at[200, "material_id"] == "mp-1" and got.at[200, "rank"] == 1.0  # best match per entry
    for _, r in ranked.iterrows():  # brute force: the rank under its own fold's scores
        col = scores[r["fold"]]
        assert r["rank"] == 1 + (col > col[r["material_id"]]).sum()
        assert r["P_SI_fold"] == scores.at[r["material_id"], r["fold"]]
    assert enr[0.05].value == pytest.approx(1 / 0.05)  # both superionic ones at rank fraction 0
    metrics = ch06v.loco_enrichment_metrics(ranked, enr, _loco_held(), n_folds=4, n_members=2)
    assert metrics["loco_enrichment_n_held_out_in_pool"] == 2 and metrics["loco_enrichment_n_folds"] == 4
    assert metrics["loco_enrichment_n_matches_seen_formula"] == 1
    assert metrics["loco_enrichment_top5pct"] == pytest.approx(20.0)


def test_loco_held_out_takes_the_cluster_outside_the_test_set_and_flags_seen_formulas():
    mc = pd.DataFrame(
        {
            "compound": ["Li3PS4", "LiCl", "Li6PS5Cl", "Li2O", "LiF", "Li3PS4"],
            "superionic": [True, False, True, False, True, True],
            "split_test": [False, False, False, False, True, False],
            "loco_cluster": pd.array([0, 0, 1, 1, 0, pd.NA], dtype="Int64"),
        },
        index=[1, 2, 3, 4, 5, 6],
    )
    trval = mc.loc[[1, 2, 3, 4]]  # entries with a structure (6 has none, 5 is a test entry)
    folds = [(np.array([2, 3]), np.array([0, 1])), (np.array([0, 1]), np.array([2, 3]))]
    trval = trval.assign(compound=["Li3PS4", "LiCl", "Li6PS5Cl", "LiCl"])  # entry 4 shares LiCl with entry 2
    pool = pd.Series({"mp-1": "Li3PS4", "mp-2": "LiCl", "mp-3": "Li6PS5Cl", "mp-5": "LiF", "mp-9": "Li2O"})
    held = ch06v.loco_held_out(mc, trval, folds, [0, 1], pool)
    assert held[held.fold == 0].set_index("entry")["seen"].to_dict() == {1: False, 2: True}  # LiCl trained in fold 0
    assert held[held.fold == 1]["entry"].tolist() == [3, 4] and not held["entry"].isin([5, 6]).any()
    assert held.set_index("entry").at[4, "material_id"] == "mp-9"


def test_loco_enrichment_degenerate_cases_are_sentences():
    held = _loco_held().iloc[:0]
    scores = pd.DataFrame({0: [0.5, 0.4]}, index=["mp-0", "mp-1"])
    ranked, enr = ch06v.loco_enrichment_table(scores, held, [0.1], n_boot=20, seed=0)
    text = ch06v.loco_enrichment_text(ranked, enr, held, n_folds=3, n_pool=2, n_members=2, epochs=5)
    assert text.startswith("LOCO: 0 labelled compounds of 0 of the 3 held-out clusters")
    assert text.endswith("the LOCO enrichment is undefined in this run.")
    assert np.isnan(ch06v.loco_enrichment_metrics(ranked, enr, held, 3, 2)["loco_enrichment_top10pct"])
    ranked, enr = ch06v.loco_enrichment_table(
        pd.DataFrame({0: np.linspace(1, 0, 50), 1: np.linspace(0, 1, 50)}, index=[f"mp-{i}" for i in range(50)]),
        _loco_held(), [0.01, 0.5], n_boot=100, seed=0,
    )  # fmt: skip
    text = ch06v.loco_enrichment_text(ranked, enr, _loco_held(), n_folds=2, n_pool=50, n_members=2, epochs=5)
    assert "2 of them are superionic, from 2 clusters" in text
    assert (
        "fewer than one of the 2 superionic compounds in the top 1 %, so the enrichment there is either 0 or at least 50."
        in text
    )  # 2 × 0.5 is one


def test_pool_include_keeps_test_and_some_unseen_loco_matches():
    held = pd.DataFrame({"material_id": ["mp-7", "mp-7", "mp-8"]})
    loco = _loco_held()
    assert ch06v.pool_include(held, loco, 0, 0) == ["mp-7", "mp-8"]
    keep = ch06v.pool_include(held, loco, 8, 0)
    assert keep[:2] == ["mp-7", "mp-8"] and len(keep) == 4 and "mp-3" not in keep  # mp-3 only matches a seen row
    assert keep == ch06v.pool_include(held, loco, 8, 0)  # seeded


def test_fold_pool_scores_are_each_models_ensemble_mean():
    from matmap_utils.screening.atomsets.model import AtomSetsConfig, pack_sets
    from matmap_utils.screening.atomsets.training import train_ensemble

    rng = np.random.default_rng(6)
    mats = {f"mp-{i}": rng.normal(size=(int(rng.integers(1, 5)), 4)).astype(np.float32) for i in range(11)}
    cfg = AtomSetsConfig(input_dim=4, n_neurons=(8,), n_neurons_final=(8,), set2set_hidden=4, epochs=1, batch_size=8)
    y = np.array([0, 1] * 5 + [1])
    models = [train_ensemble(cfg, pack_sets(list(mats.values())), y, seeds=[s, s + 1], device="cpu").model
              for s in (1, 7)]  # fmt: skip
    ids = list(mats)[::-1]
    got = ch06v.fold_pool_scores(models, mats, ids, chunk=4)
    for k, m in enumerate(models):
        want = m.predict_proba(pack_sets([mats[i] for i in ids])).mean(0)
        np.testing.assert_allclose(got[k].to_numpy(), want, rtol=1e-6)
    assert list(got.index) == ids and not np.allclose(got[0], got[1])


def test_random_tail_p_and_verdict_do_not_trust_a_collapsed_bootstrap():
    """21 superionic compounds, none in the top 10 % of a pool of 1000: the bootstrap interval is
    [0, 0], yet a random ranking misses all 21 with probability 0.9^21 — no conclusion."""
    held = pd.DataFrame({"superionic": [True] * 21, "rank_fraction": np.linspace(0.2, 0.9, 21)})
    ranked_enr = ch06v._enrichment_intervals(held, [0.1], n_boot=100, seed=0)
    assert ranked_enr[0.1].lo == ranked_enr[0.1].hi == 0.0
    assert ch06v.random_tail_p(held, [0.1], 1000)[0.1] == pytest.approx(2 * 0.9**21)
    text = ch06v.enrichment_verdict(held, ranked_enr, 1000)
    assert "not distinguishable from random at the top 10 % (too few compounds to conclude there)" in text
    top = pd.DataFrame({"superionic": [True, True, False], "rank_fraction": [0.0, 0.01, 0.5]})
    enr = ch06v._enrichment_intervals(top, [0.05], n_boot=100, seed=0)
    assert ch06v.random_tail_p(top, [0.05], 100)[0.05] == pytest.approx(2 * 0.05**2)  # both in the top 5 %
    assert "better than random at the top 5 %" in ch06v.enrichment_verdict(top, enr, 100)
    m = ch06v.enrichment_metrics(top, enr, prefix="loco_", n_pool=100)
    assert m["loco_enrichment_top5pct_p_random"] == pytest.approx(0.005) and m["loco_enrichment_n_superionic"] == 2


def test_found_text_reads_the_metrics():
    from matmap_utils.chapters import ch06_screening as ch06s

    m = {
        "kfold_best_config": "AS-CAMN-V0", "kfold_auc_pr": 0.8, "kfold_auc_pr_paper": 0.89, "kfold_lr_auc_pr": 0.7,
        "kfold_all_beat_controls": True, "loco_config": "AS-CAMNS-V0", "loco_auc_pr": 0.6,
        "loco_mean_control_auc_pr": 0.4, "n_test": 100, "ci_test_ensemble_auc_pr_paper": 0.86,
        "ci_test_ensemble_mcc_paper": 0.6, "n_screened": 1000, "removed_metal": 7, "removed_low_gap": 3,
        "removed_no_gap": 1, "removed_p_si": 900, "removed_not_novel": 40, "n_candidates": 49,
        "n_candidates_out_of_domain": 5, "enrichment_n_held_out_in_pool": 0,
    }  # fmt: skip
    for pre, vals in {
        "kfold_AS-CAMN-V0": (0.8, 0.7, 0.9),
        "loco_AS-CAMNS-V0": (0.6, 0.5, 0.7),
        "test_ensemble": (0.9, 0.8, 1.0),
    }.items():
        for metric in ("auc_pr", "mcc"):
            m |= {
                f"ci_{pre}_{metric}_value": vals[0],
                f"ci_{pre}_{metric}_lo": vals[1],
                f"ci_{pre}_{metric}_hi": vals[2],
            }
    text = ch06s.found_text(m)
    assert "AUC-PR 0.80 [0.70, 0.90]" in text and "paper's 0.89" in text
    assert "harder than the random folds" in text and "**49 candidates** (5 out of domain)" in text
    assert "removed 7" in text and "say little" not in text and "Does it find" not in text
