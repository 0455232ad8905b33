"""matmap_utils.benchmark.noise: repeat groups of OBELiX and the scatter of their measurements."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from matmap_utils.benchmark import noise, obelix


def test_composition_key_is_the_composition_however_written():
    key = noise.composition_key
    assert key("Li7La3Zr2O12") == key("La6Li14Zr4O24") == key("Li14.0La6.0Zr4.0O24.0")
    assert key("Li1.4Al0.4Ti1.6(PO4)3") == key("Li1.4Al0.4Ti1.6P3O12")
    assert key("Li6.4La3Zr1.4Ta0.6O12") != key("Li6.5La3Zr1.5Ta0.5O12")
    # rounding: a 1e-4 difference in atomic fraction separates at 4 decimals, not at 2
    assert key("Li20.01Sn1.98P4.02S24") != key("Li20Sn2P4S24")
    assert key("Li20.01Sn1.98P4.02S24", decimals=2) == key("Li20Sn2P4S24", decimals=2)
    with pytest.raises(ValueError, match="'Li3Xx'"):
        key("Li3Xx")


def _toy_task() -> pd.DataFrame:
    rows = [
        # id, composition, space group, target, censored, split, DOI
        ("a1", "Li7La3Zr2O12", 230, -3.0, False, "train", "10.1/a"),
        ("a2", "Li14La6Zr4O24", 230, -5.0, False, "train", "10.1/b"),
        ("a3", "Li7La3Zr2O12", 230, -15.0, True, "train", "10.1/c"),  # censored: not a measurement
        ("b1", "Li3PS4", 62, -4.0, False, "train", "10.1/a"),
        ("b2", "Li6P2S8", 62, -4.0, False, "test", "10.1/d"),
        ("b3", "Li3PS4", 62, -7.0, False, "train", "10.1/e"),
        ("c1", "Li3PS4", 225, -2.0, False, "test", "10.1/f"),  # another polymorph: its own group
        ("d1", "Li2O", 225, -9.0, False, "train", "10.1/g"),
    ]
    t = pd.DataFrame(rows, columns=["ID", "True Composition", "Space group #", "target", "censored", "split", "group"])
    return t.set_index("ID")


def test_repeat_groups_known_answer():
    rep = noise.repeat_groups(_toy_task())
    assert sorted(rep.index) == ["a1", "a2", "b1", "b2", "b3"]
    assert rep.loc["a1", "repeat_group"] == rep.loc["a2", "repeat_group"] != rep.loc["b1", "repeat_group"]
    # group a: mean -4, median -4; group b: mean -5, median -4
    assert rep["dev_mean"].to_dict() == pytest.approx({"a1": 1, "a2": -1, "b1": 1, "b2": 1, "b3": -2})
    assert rep["dev_median"].to_dict() == pytest.approx({"a1": 1, "a2": 1, "b1": 0, "b2": 0, "b3": 3})


def test_noise_floor_known_answer():
    f = noise.noise_floor(_toy_task(), n_boot=200, seed=1)
    assert (f["n_groups"], f["n_entries"], f["n_dois"], f["n_cross_split"]) == (2, 5, 4, 1)
    # sum of squared deviations 8 over N = 5 entries in G = 2 groups
    assert f["rms_from_mean"] == pytest.approx(math.sqrt(8 / 5))
    assert f["mad_from_median"] == pytest.approx(1.0)
    assert f["pooled_sd"] == pytest.approx(math.sqrt(8 / 3))
    assert f["floor_mae"] == pytest.approx(math.sqrt(8 / 3) * math.sqrt(2 / math.pi))
    # the other entries' mean: a: -5 for -3 and -3 for -5; b: -5.5, -5.5, -4 for -4, -4, -7
    assert f["loo_mae"] == pytest.approx((2 + 2 + 1.5 + 1.5 + 3) / 5)
    for name in noise.STATISTICS:
        assert f[f"{name}_lo"] <= f[name] + 1e-12 and f[name] - 1e-12 <= f[f"{name}_hi"]


def test_pooled_sd_equals_the_anova_within_group_mean_square():
    """Against a direct computation per group (ddof = 1 variances weighted by their dof)."""
    rng = np.random.default_rng(3)
    sizes = [2, 3, 5, 2, 4]
    rows, y = [], []
    formulas = ["Li2O", "Li3N", "LiF", "LiCl", "Li2S"]
    for f, n in zip(formulas, sizes):
        vals = rng.normal(-5, 1.0, n)
        y.append(vals)
        rows += [(f, 225, v, False, "train", f"10.1/{f}{i}") for i, v in enumerate(vals)]
    t = pd.DataFrame(rows, columns=["True Composition", "Space group #", "target", "censored", "split", "group"])
    f = noise.noise_floor(t, n_boot=50, seed=0)
    within = sum((len(v) - 1) * np.var(v, ddof=1) for v in y) / (sum(sizes) - len(sizes))
    assert f["pooled_sd"] == pytest.approx(math.sqrt(within))
    assert f["mad_from_median"] == pytest.approx(np.mean(np.concatenate([np.abs(v - np.median(v)) for v in y])))
    loo = [abs(v[i] - np.delete(v, i).mean()) for v in y for i in range(len(v))]
    assert f["loo_mae"] == pytest.approx(np.mean(loo))


def test_noise_floor_is_seeded_and_invariant_to_row_order():
    t = _toy_task()
    a = noise.noise_floor(t, n_boot=300, seed=5)
    b = noise.noise_floor(t.iloc[::-1], n_boot=300, seed=5)
    assert a["rms_from_mean"] == pytest.approx(b["rms_from_mean"])
    assert a == noise.noise_floor(t, n_boot=300, seed=5)
    assert a == noise.noise_floor(t, n_boot=300, seed=5, repeats=noise.repeat_groups(t))


def test_no_groups_gives_nan_and_bad_formula_names_the_entry():
    t = _toy_task().drop(index=["a2", "b2", "b3"])
    f = noise.noise_floor(t, n_boot=10)
    assert f["n_groups"] == 0 and math.isnan(f["pooled_sd"])
    bad = _toy_task()
    bad.loc["d1", "True Composition"] = "Li2Qq"
    with pytest.raises(ValueError, match="OBELiX entry d1"):
        noise.repeat_groups(bad)


def test_shared_compositions_counts_test_entries_seen_in_training():
    # b2 (Li3PS4 in another formula-unit count) and c1 (Li3PS4, another space group) are both seen
    assert noise.shared_compositions(_toy_task()) == 2


@pytest.mark.mirror
def test_obelix_release_repeat_groups():
    """Facts of this release: 51 repeat groups of 129 measured entries, every group reported by
    more than one publication, none across the official split."""
    t = obelix.task_frame()
    rep = noise.repeat_groups(t)
    per_group = rep.groupby("repeat_group")
    assert (rep["repeat_group"].nunique(), len(rep)) == (51, 129)
    assert (per_group["group"].nunique() > 1).all()
    assert (per_group["split"].nunique() == 1).all()
    assert not rep["censored"].any()
    f = noise.noise_floor(t, n_boot=200, seed=0)
    assert f["rms_from_mean"] == pytest.approx(0.6139, abs=1e-3)
    assert f["mad_from_median"] == pytest.approx(0.3912, abs=1e-3)


def test_group_table_widest_first():
    tab = noise.group_table(noise.repeat_groups(_toy_task()))
    assert tab["composition"].tolist() == ["Li3PS4", "Li7La3Zr2O12"]  # ranges 3 and 2
    assert tab["range"].tolist() == pytest.approx([3.0, 2.0])
    assert tab["n"].tolist() == [3, 2] and tab["space_group"].tolist() == [62, 230]
    assert tab["sd"].iloc[1] == pytest.approx(np.std([-3.0, -5.0], ddof=1))
